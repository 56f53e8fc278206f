"""Settings read from ``HOOKWISE_*`` variables: what an empty or wrong value means."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hookwise.settings import Settings


@pytest.mark.parametrize(("value", "read"), [("", None), ("  ", None), ("0", 0), ("64", 64)])
def test_lease_ahead_set_but_empty_is_the_default(
    monkeypatch: pytest.MonkeyPatch, value: str, read: int | None
) -> None:
    monkeypatch.setenv("HOOKWISE_LEASE_AHEAD", value)
    assert Settings().lease_ahead == read


@pytest.mark.parametrize("value", ["-1", "many"])
def test_lease_ahead_refuses_what_is_no_count(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("HOOKWISE_LEASE_AHEAD", value)
    with pytest.raises(ValidationError, match="lease_ahead"):
        Settings()
