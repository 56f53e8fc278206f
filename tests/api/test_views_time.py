"""Timestamps in API answers: RFC 3339, UTC, milliseconds, a Z."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from hookwise.api.views import iso, rfc3339


def _reference(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)))
def test_rfc3339_matches_isoformat(naive: datetime) -> None:
    value = naive.replace(tzinfo=UTC)
    assert rfc3339(value) == _reference(value)
    # the per-second cache must not leak into a neighbouring second
    later = value + timedelta(microseconds=999_999)
    assert rfc3339(later) == _reference(later)
    assert rfc3339(value) == _reference(value)


def test_other_offsets_and_none() -> None:
    plus_two = datetime(2026, 1, 1, 2, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert rfc3339(plus_two) == "2026-01-01T02:00:00.123+02:00"  # shown as given, not moved
    assert iso(None) is None
    assert iso(datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC)) == (
        "1969-12-31T23:59:59.500Z"
    )
    assert iso(datetime(1970, 1, 1, 0, 0, 0, 300_000, tzinfo=UTC)) == "1970-01-01T00:00:00.300Z"
