"""An endpoint's health read from its attempts, written once for both databases.

Every statement is a range of the index ``ix_attempts_endpoint_health`` (``app_id,
endpoint_id, started_at, status, duration_ms``), read from its newest end: the windows and
the chart read the index alone, the last success and the last failure are the first entry of
their status walking back (far back only for an endpoint that has failed for long).

The windows are the day's newest ``SAMPLE`` attempts, one walk back from now, counted there
and ranked here (SQLite sorts 10,000 durations in ~35-70 ms under load, Python in ~2 ms). With
100,000 attempts in the day, counting them all and sorting their durations in SQL took
~250-500 ms on SQLite under load (``bench/console.py``), over the page's budget; the walk costs
the same at any volume.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hookwise.domain.health import (
    DAY,
    HOUR,
    MINUTES,
    SAMPLE,
    EndpointHealth,
    LastAttempt,
    Minute,
    window,
)
from hookwise.store.sql import Dialect, Tx, fetch, fetchrow

# $1 app, $2 endpoint; what follows each statement's own marks
_OF = "FROM attempts WHERE app_id = $1 AND endpoint_id = $2"

# $3 start of the day, $4 now, $5 how many, $6 start of the hour: the day's newest attempts
# (one walk back along the endpoint's range of the index), counted, and their durations in
# one text (``h`` before those of the hour): 5,000 rows read into Python made the garbage
# collector's full passes the page's p95 (~100 ms of CPU; 9 ms without them)
_NEWEST = (
    "SELECT count(*) AS n, SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END) AS ok,"
    " SUM(CASE WHEN started_at >= $6 THEN 1 ELSE 0 END) AS hour_n,"
    " SUM(CASE WHEN started_at >= $6 AND status = 'succeeded' THEN 1 ELSE 0 END) AS hour_ok,"
    " {} AS ms FROM (SELECT status, started_at, duration_ms"
    f" {_OF} AND started_at >= $3 AND started_at <= $4 ORDER BY started_at DESC LIMIT $5) u"
)
_DURATION = "CASE WHEN started_at >= $6 THEN 'h' ELSE '' END || CAST(duration_ms AS TEXT)"
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
    f" AS x {_OF} AND started_at >= $3 AND started_at <= $4) s) t GROUP BY m, status"
)


def _when(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _last(r: Any) -> LastAttempt | None:
    if r is None:
        return None
    return LastAttempt(
        r["id"], _when(r["started_at"]), r["response_status_code"], r["error_message"]
    )


def endpoint_health(
    dialect: Dialect, app_id: str, endpoint_id: str, now: float
) -> Tx[EndpointHealth]:
    """The endpoint's health as of ``now`` (seconds): attempts started after ``now`` are not
    counted, so a figure is the same whenever it is read."""
    newest = _NEWEST.format(dialect.joined(_DURATION))
    r = yield fetchrow(newest, app_id, endpoint_id, now - DAY, now, SAMPLE, now - HOUR)
    day, hour = [], []
    for text in (r["ms"] or "").split(",") if r["n"] else ():
        if text.startswith("h"):
            hour.append(float(text[1:]))
            day.append(hour[-1])
        else:
            day.append(float(text))
    hour_w = window(HOUR, int(r["hour_n"] or 0), int(r["hour_ok"] or 0), hour, SAMPLE)
    day_w = window(DAY, int(r["n"]), int(r["ok"] or 0), day, SAMPLE)
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
