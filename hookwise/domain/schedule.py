"""Retry schedules: the seconds to wait before each retry of a delivery."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC

from hookwise.domain.errors import InvalidInput

DEFAULT_RETRY_SCHEDULE: tuple[float, ...] = (1, 2, 4, 8, 16)
MAX_RETRIES = 50
MAX_DELAY_SECONDS = 7 * 24 * 3600
RETRY_AFTER_CAP_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """``delays[i]`` is the wait before retry ``i + 1``; ``()`` means no retries."""

    delays: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE

    @classmethod
    def parse(cls, value: Sequence[float] | None, field: str = "retry_schedule") -> RetrySchedule:
        """Validate a user-given schedule (None = the default)."""
        if value is None:
            return cls()
        if len(value) > MAX_RETRIES:
            raise InvalidInput(field, f"at most {MAX_RETRIES} retries")
        delays = []
        for i, d in enumerate(value):
            if isinstance(d, bool) or not isinstance(d, int | float):
                raise InvalidInput(f"{field}[{i}]", "must be a number of seconds")
            if not 0 <= d <= MAX_DELAY_SECONDS:
                raise InvalidInput(f"{field}[{i}]", f"must be between 0 and {MAX_DELAY_SECONDS}")
            delays.append(float(d))
        return cls(tuple(delays))

    @property
    def max_attempts(self) -> int:
        """The first attempt plus one per retry."""
        return len(self.delays) + 1

    def next_delay(self, attempts_made: int) -> float | None:
        """Seconds until the next attempt after ``attempts_made`` attempts, None when exhausted."""
        if attempts_made < 1:
            return 0.0
        if attempts_made > len(self.delays):
            return None
        return self.delays[attempts_made - 1]


def retry_after_delay(header: str | None, cap: float = RETRY_AFTER_CAP_SECONDS) -> float | None:
    """Seconds a ``Retry-After`` header asks for (seconds or HTTP date), capped; None if absent."""
    if header is None:
        return None
    text = header.strip()
    try:
        seconds = float(text)
    except ValueError:
        from datetime import datetime
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = (when - datetime.now(UTC)).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, min(seconds, cap))
