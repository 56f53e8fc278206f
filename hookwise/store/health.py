"""An endpoint's health read from its attempts, written once for both databases.

Every statement is a range of the index ``ix_attempts_endpoint_health`` (``app_id,
endpoint_id, status, started_at, duration_ms``): the windows and the chart read the index
alone (both statuses: two ranges), the last success and the last failure are one step back
from the end of their status's range. At 100,000 attempts of one endpoint in the last day the
whole read stays within the console's page budget (``bench/console.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hookwise.domain.health import (
    DAY,
    HOUR,
    MINUTES,
    EndpointHealth,
    LastAttempt,
    Minute,
    Window,
    nearest_rank,
)
from hookwise.store.sql import Tx, fetch, fetchrow

# $1 app, $2 endpoint; what follows each statement's own marks
_OF = "FROM attempts WHERE app_id = $1 AND endpoint_id = $2"
_BOTH = f"{_OF} AND status IN ('failed', 'succeeded')"

# $3 start of the day, $4 start of the hour, $5 now
_COUNTS = (
    "SELECT status, count(*) AS day_n, SUM(CASE WHEN started_at >= $4 THEN 1 ELSE 0 END)"
    f" AS hour_n {_BOTH} AND started_at >= $3 AND started_at <= $5 GROUP BY status"
)
# $3 start, $4 now, $5 and $6 the ranks of p50 and p95 (nearest rank)
_RANKED = (
    "SELECT rn, d FROM (SELECT duration_ms AS d, ROW_NUMBER() OVER (ORDER BY duration_ms)"
    f" AS rn {_BOTH} AND started_at >= $3 AND started_at <= $4) s WHERE rn = $5 OR rn = $6"
)
# $3 status, $4 now
_LAST = (
    f"SELECT id, started_at, response_status_code, error_message {_OF} AND status = $3"
    " AND started_at <= $4 ORDER BY started_at DESC LIMIT 1"
)
# $3 start of the chart, $4 now: the minute of each attempt, floored on both databases
# (SQLite's CAST truncates, PostgreSQL's rounds: one above x is taken back down)
_PER_MINUTE = (
    "SELECT m, status, count(*) AS n FROM (SELECT status, CAST(x AS INTEGER) - CASE WHEN"
    " CAST(x AS INTEGER) > x THEN 1 ELSE 0 END AS m FROM (SELECT status, (started_at - $3) / 60"
    f" AS x {_BOTH} AND started_at >= $3 AND started_at <= $4) s) t GROUP BY m, status"
)


def _when(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _last(r: Any) -> LastAttempt | None:
    if r is None:
        return None
    return LastAttempt(
        r["id"], _when(r["started_at"]), r["response_status_code"], r["error_message"]
    )


def _window(
    app_id: str, endpoint_id: str, now: float, seconds: float, ok: int, n: int
) -> Tx[Window]:
    """The window's percentiles (one sort of its durations), given its counts."""
    p50, p95 = nearest_rank(50, n), nearest_rank(95, n)
    at: dict[int, float] = {}
    if n:
        found = yield fetch(_RANKED, app_id, endpoint_id, now - seconds, now, p50, p95)
        at = {int(r["rn"]): float(r["d"]) for r in found}
    return Window(seconds, n, ok, at.get(p50), at.get(p95))


def endpoint_health(app_id: str, endpoint_id: str, now: float) -> Tx[EndpointHealth]:
    """The endpoint's health as of ``now`` (seconds): attempts started after ``now`` are not
    counted, so a figure is the same whenever it is read."""
    counts = yield fetch(_COUNTS, app_id, endpoint_id, now - DAY, now - HOUR, now)
    day = {r["status"]: int(r["day_n"]) for r in counts}
    hour = {r["status"]: int(r["hour_n"]) for r in counts}
    hour_w = yield from _window(
        app_id, endpoint_id, now, HOUR, hour.get("succeeded", 0), sum(hour.values())
    )
    day_w = yield from _window(
        app_id, endpoint_id, now, DAY, day.get("succeeded", 0), sum(day.values())
    )
    ok = yield fetchrow(_LAST, app_id, endpoint_id, "succeeded", now)
    bad = yield fetchrow(_LAST, app_id, endpoint_id, "failed", now)
    start = now - MINUTES * 60
    per: dict[tuple[int, str], int] = {}
    for r in (yield fetch(_PER_MINUTE, app_id, endpoint_id, start, now)):
        key = (min(int(r["m"]), MINUTES - 1), r["status"])  # one started at ``now`` exactly
        per[key] = per.get(key, 0) + int(r["n"])
    minutes = tuple(
        Minute(_when(start + 60 * i), per.get((i, "succeeded"), 0), per.get((i, "failed"), 0))
        for i in range(MINUTES)
    )
    return EndpointHealth(_when(now), hour_w, day_w, _last(ok), _last(bad), minutes)
