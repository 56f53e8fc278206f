"""An endpoint's health: success rate and latency over a window, its last success and
failure, and its attempts per minute (the console's endpoint page).

A window's figures are of its newest ``SAMPLE`` attempts (all of them, in all but the busiest
windows), so that a page costs the same however busy the endpoint: ``more`` says the window
held that many or more. Latency percentiles are **nearest-rank** over those attempts, failed
ones included (a timeout is the slowest answer an endpoint gives): the p-th percentile of
``n`` durations sorted ascending is the one at rank ``ceil(p / 100 * n)`` (1-based). One
attempt is its own p50 and p95; no attempt has none.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

HOUR = 3600.0
DAY = 86400.0
MINUTES = 60
SAMPLE = 5_000
"""A window's figures are of its newest attempts, at most this many."""
"""The chart's span: this many one-minute buckets, the last one ending now."""


def nearest_rank(p: float, n: int) -> int:
    """The 1-based rank of the ``p``-th percentile among ``n`` sorted values (0 when n = 0)."""
    if n <= 0:
        return 0
    return min(n, max(1, math.ceil(p / 100 * n)))


@dataclass(frozen=True, slots=True)
class Window:
    """The newest attempts started in the last ``seconds`` (``more``: it held ``SAMPLE`` or
    more; the figures are of its newest ``SAMPLE``)."""

    seconds: float
    attempts: int
    succeeded: int
    p50_ms: float | None
    p95_ms: float | None
    more: bool = False

    @property
    def failed(self) -> int:
        """Attempts of the window that failed."""
        return self.attempts - self.succeeded

    @property
    def success_rate(self) -> float | None:
        """Succeeded / attempts, from 0 to 1 (None without attempts)."""
        return self.succeeded / self.attempts if self.attempts else None


def window(
    seconds: float, attempts: int, succeeded: int, durations: Sequence[float], limit: int
) -> Window:
    """A window's figures: ``attempts`` of which ``succeeded``, lasting ``durations`` ms;
    ``limit`` the most a window is counted to (``more``: it reached it)."""
    if not durations:
        return Window(seconds, 0, 0, None, None)
    ranked = sorted(durations)
    p50, p95 = nearest_rank(50, len(ranked)), nearest_rank(95, len(ranked))
    return Window(seconds, attempts, succeeded, ranked[p50 - 1], ranked[p95 - 1], attempts >= limit)


@dataclass(frozen=True, slots=True)
class LastAttempt:
    """The newest attempt of one outcome."""

    attempt_id: str
    at: datetime
    status_code: int | None
    error: str | None


@dataclass(frozen=True, slots=True)
class Minute:
    """The attempts of one minute of the chart, starting at ``start``."""

    start: datetime
    succeeded: int
    failed: int


@dataclass(frozen=True, slots=True)
class EndpointHealth:
    """What the endpoint page shows of how deliveries to an endpoint have gone, as of ``now``."""

    now: datetime
    hour: Window
    day: Window
    last_success: LastAttempt | None
    last_failure: LastAttempt | None
    minutes: tuple[Minute, ...]  # oldest first, MINUTES of them
