"""Retry schedules and Retry-After parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookwise.domain.errors import InvalidInput
from hookwise.domain.schedule import RetrySchedule, retry_after_delay


def test_default_and_seed_schedules() -> None:
    assert RetrySchedule.parse(None).delays == (1, 2, 4, 8, 16)
    assert RetrySchedule.parse([2, 4, 8]).max_attempts == 4
    assert RetrySchedule.parse([60] * 5).next_delay(5) == 60
    assert RetrySchedule.parse([]).next_delay(1) is None


@given(st.lists(st.floats(min_value=0, max_value=86400), max_size=50))
def test_next_delay_walks_the_schedule(delays: list[float]) -> None:
    s = RetrySchedule.parse(delays)
    assert [s.next_delay(i) for i in range(1, len(delays) + 1)] == delays
    assert s.next_delay(len(delays) + 1) is None
    assert s.next_delay(0) == 0


@pytest.mark.parametrize("bad", [[-1], ["1"], [True], [1e12], [1] * 51])
def test_bad_schedules_name_the_field(bad: list[object]) -> None:
    with pytest.raises(InvalidInput) as e:
        RetrySchedule.parse(bad)  # type: ignore[arg-type]
    assert e.value.field.startswith("retry_schedule")


def test_retry_after() -> None:
    assert retry_after_delay(None) is None
    assert retry_after_delay("7") == 7
    assert retry_after_delay("99999", cap=60) == 60
    assert retry_after_delay("garbage") is None
    assert retry_after_delay("-5") == 0
    when = datetime.now(UTC) + timedelta(seconds=30)
    got = retry_after_delay(format_datetime(when, usegmt=True))
    assert got is not None and 25 <= got <= 31


@given(st.text(max_size=40))
def test_retry_after_never_raises(text: str) -> None:
    got = retry_after_delay(text, cap=100)
    assert got is None or 0 <= got <= 100
