"""The top-level surface is chosen on purpose and every name in it resolves."""

from __future__ import annotations

import hookwise


def test_all_is_sorted_and_complete() -> None:
    assert hookwise.__all__ == sorted(hookwise.__all__)
    for name in hookwise.__all__:
        assert getattr(hookwise, name) is not None, name


def test_unknown_name_is_an_attribute_error() -> None:
    try:
        hookwise.nope  # noqa: B018
    except AttributeError as exc:
        assert "nope" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
