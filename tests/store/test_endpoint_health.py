"""``Messages.endpoint_health`` on every Store: exact figures on known attempts (windows,
nearest-rank percentiles, last success and failure, the minutes of the chart), and the plans
that keep it within the console's budget."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import asyncpg
import pytest

from hookwise.domain.health import MINUTES, nearest_rank, window
from hookwise.domain.models import NewEndpoint, NewMessage
from hookwise.store import Store
from hookwise.store import health as sql
from hookwise.store.migrate import upgrade
from hookwise.store.sql import sqlite_marks
from tests.pg import postgres_url_for
from tests.store.conftest import result

NOW = 1_800_000_000.0  # a fixed now: the figures do not depend on the clock

# (seconds before NOW, succeeded, duration ms, status code)
Shot = tuple[float, bool, float, int]


async def _endpoint(store: Store, app_id: str | None = None) -> tuple[str, str]:
    if app_id is None:
        app_id = (
            await store.resources.create_app(
                name="a", uid=None, metadata={}, results_inline_budget=1024
            )
        ).id
    ep = await store.resources.create_endpoint(
        NewEndpoint(app_id=app_id, url="http://127.0.0.1:9/h", secret="s", retry_schedule=())
    )
    return app_id, ep.id


async def _attempts(store: Store, app_id: str, ep: str, shots: list[Shot]) -> list[str]:
    """Record one attempt per shot (through the queue, as a worker would); their ids."""
    for _ in shots:
        await store.messages.enqueue_message(
            NewMessage(app_id=app_id, event_type="a.b", body=b"{}", only_endpoint_id=ep)
        )
    claims = await store.queue.claim_due(worker_id="w", limit=len(shots), lease_seconds=30)
    assert len(claims) == len(shots)
    results = [
        dataclasses.replace(result(c, ok=ok, status=code, started_at=NOW - ago), duration_ms=ms)
        for c, (ago, ok, ms, code) in zip(claims, shots, strict=True)
    ]
    await store.queue.record_attempts(results, pause_after=1000)
    return [r.attempt_id for r in results]


def test_nearest_rank() -> None:
    assert nearest_rank(50, 0) == 0 and nearest_rank(95, 0) == 0
    assert nearest_rank(50, 1) == 1 and nearest_rank(95, 1) == 1
    assert nearest_rank(50, 2) == 1 and nearest_rank(95, 2) == 2
    assert nearest_rank(50, 10) == 5 and nearest_rank(95, 10) == 10
    assert nearest_rank(95, 20) == 19 and nearest_rank(95, 100) == 95
    assert nearest_rank(100, 7) == 7 and nearest_rank(0, 7) == 1


def test_a_window_of_the_newest_attempts() -> None:
    assert window(60, 0, 0, [], 3) == window(60, 0, 0, [], 0)
    assert window(60, 0, 0, [], 3).success_rate is None
    w = window(60, 3, 2, [5.0, 1.0, 3.0], 3)
    assert (w.attempts, w.succeeded, w.failed, w.more) == (3, 2, 1, True)
    assert (w.p50_ms, w.p95_ms) == (3.0, 5.0)
    assert window(60, 1, 0, [2.0], 3).success_rate == 0.0


async def test_no_attempts(store: Store) -> None:
    app_id, ep = await _endpoint(store)
    h = await store.messages.endpoint_health(app_id, ep, NOW)
    for w in (h.hour, h.day):
        assert (w.attempts, w.succeeded, w.success_rate, w.p50_ms, w.p95_ms) == (
            0,
            0,
            None,
            None,
            None,
        )
    assert h.last_success is None and h.last_failure is None
    assert len(h.minutes) == MINUTES and not any(m.succeeded or m.failed for m in h.minutes)
    assert h.minutes[0].start.timestamp() == NOW - 3600
    assert h.minutes[-1].start.timestamp() == NOW - 60


async def test_one_attempt_is_its_own_percentiles(store: Store) -> None:
    app_id, ep = await _endpoint(store)
    (att,) = await _attempts(store, app_id, ep, [(30, False, 42.5, 503)])
    h = await store.messages.endpoint_health(app_id, ep, NOW)
    for w in (h.hour, h.day):
        assert (w.attempts, w.succeeded, w.failed, w.success_rate) == (1, 0, 1, 0.0)
        assert w.p50_ms == w.p95_ms == 42.5
    assert h.last_success is None
    assert h.last_failure is not None
    assert (h.last_failure.attempt_id, h.last_failure.status_code) == (att, 503)
    assert h.last_failure.error == "HTTP 503"
    assert h.last_failure.at.timestamp() == NOW - 30
    assert [(m.succeeded, m.failed) for m in h.minutes][-1] == (0, 1)


async def test_exact_figures_on_known_attempts(store: Store) -> None:
    app_id, ep = await _endpoint(store)
    _, other = await _endpoint(store, app_id)
    hour: list[Shot] = [  # 10 in the last hour: 7 succeeded; 10..100 ms
        (60 * i + 5, i not in (2, 5, 8), 10.0 * (i + 1), 200 if i not in (2, 5, 8) else 500)
        for i in range(10)
    ]
    day: list[Shot] = [(7200 + 60 * i, True, 1000.0 * (i + 1), 200) for i in range(10)]
    outside: list[Shot] = [
        (2 * 86400, True, 99999.0, 200),  # two days ago: no window, but still the last success?
        (-60, False, 99999.0, 502),  # after now: not counted at all
    ]
    ids = await _attempts(store, app_id, ep, hour + day + outside)
    await _attempts(store, app_id, other, [(10, False, 5.0, 500)])  # another endpoint's

    h = await store.messages.endpoint_health(app_id, ep, NOW)
    assert (h.hour.attempts, h.hour.succeeded, h.hour.failed) == (10, 7, 3)
    assert h.hour.success_rate == pytest.approx(0.7)
    assert (h.hour.p50_ms, h.hour.p95_ms) == (50.0, 100.0)  # ranks 5 and 10 of 10
    assert not h.hour.more and not h.day.more
    assert (h.day.attempts, h.day.succeeded) == (20, 17)
    assert (h.day.p50_ms, h.day.p95_ms) == (100.0, 9000.0)  # ranks 10 and 19 of 20
    assert h.last_success is not None and h.last_failure is not None
    assert h.last_success.attempt_id == ids[0] and h.last_success.status_code == 200
    assert h.last_success.error is None
    assert h.last_failure.attempt_id == ids[2] and h.last_failure.status_code == 500
    # the chart: minute 59 is the last 60 s before now; i-th hour shot is 60 i + 5 s ago
    per = [(m.succeeded, m.failed) for m in h.minutes]
    assert sum(s + f for s, f in per) == 10
    assert per[59] == (1, 0) and per[57] == (0, 1) and per[50] == (1, 0) and per[49] == (0, 0)

    # two days on: nothing in the windows, and the last success and failure are still found
    h = await store.messages.endpoint_health(app_id, ep, NOW + 2 * 86400)
    assert h.day.attempts == 0 and h.day.success_rate is None and h.day.p95_ms is None
    assert h.last_success is not None and h.last_success.attempt_id == ids[0]
    assert h.last_failure is not None and h.last_failure.attempt_id == ids[21]  # after NOW


async def test_percentiles_are_over_the_newest_attempts_of_a_busy_window(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql, "SAMPLE", 4)
    app_id, ep = await _endpoint(store)
    # newest first: 10, 20, … 100 ms; 1 in 3 failed (the newest of each status are merged)
    await _attempts(store, app_id, ep, [(60 * i + 5, i % 3 != 1, 10.0 * (i + 1), 200)
                                         for i in range(10)])  # fmt: skip
    h = await store.messages.endpoint_health(app_id, ep, NOW)
    for w in (h.hour, h.day):  # the newest 4: 10, 20, 30, 40 ms, one failed
        assert (w.attempts, w.more, w.succeeded) == (4, True, 3)
        assert (w.p50_ms, w.p95_ms) == (20.0, 40.0)  # ranks 2 and 4
    monkeypatch.setattr(sql, "SAMPLE", 11)
    h = await store.messages.endpoint_health(app_id, ep, NOW)
    assert (h.hour.attempts, h.hour.more, h.hour.p95_ms) == (10, False, 100.0)


async def test_the_chart_puts_each_attempt_in_its_minute(store: Store) -> None:
    app_id, ep = await _endpoint(store)
    await _attempts(store, app_id, ep, [
        (0, True, 1.0, 200),  # at now exactly: the last minute
        (59.5, False, 1.0, 500),  # the last minute too
        (60, True, 1.0, 200),  # the last minute's start
        (60.5, True, 1.0, 200),  # the minute before
        (3600, True, 1.0, 200),  # the first minute's start
        (3600.5, False, 1.0, 500),  # before the chart
    ])  # fmt: skip
    h = await store.messages.endpoint_health(app_id, ep, NOW)
    per = [(m.succeeded, m.failed) for m in h.minutes]
    assert per[59] == (2, 1) and per[58] == (1, 0) and per[0] == (1, 0)
    assert sum(s + f for s, f in per) == 5
    assert h.hour.attempts == 5  # the hour's window starts where the chart does


STATEMENTS = {
    "newest": (sql._NEWEST.format("count(*)"), ("app", "ep", NOW - 86400, NOW, 11, NOW - 3600)),
    "last": (sql._LAST, ("app", "ep", "failed", NOW)),
    "per_minute": (sql._PER_MINUTE, ("app", "ep", NOW - 3600, NOW)),
}


@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_sqlite_reads_health_from_its_index(tmp_path: Path, name: str) -> None:
    upgrade(f"sqlite:///{tmp_path / 'h.db'}")
    text, args = STATEMENTS[name]
    with sqlite3.connect(tmp_path / "h.db") as conn:
        steps = [str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + sqlite_marks(text), args)]
    searches = [s for s in steps if "attempts" in s]
    assert searches and all("USING" in s and "ix_attempts_endpoint_health" in s for s in searches)
    if name != "last":  # the row's error and code are read from the table, once
        assert all("COVERING INDEX" in s for s in searches), steps


@pytest.mark.postgres
async def test_postgres_reads_health_from_its_index(request: pytest.FixtureRequest) -> None:
    conn = await asyncpg.connect(postgres_url_for(request))  # a fresh migrated database
    # 2,000 attempts over 100 endpoints, then the planner's statistics. Over 10, the plan
    # turned on the visibility map: when the VACUUM could not mark the pages all-visible
    # (once in a full run of the suite), reading the hour's 90 attempts of every endpoint by
    # ``ix_attempts_started`` and filtering them cost less than fetching ep3's 9 from the heap
    try:
        await conn.execute(
            "INSERT INTO attempts (app_id, id, delivery_id, message_id, endpoint_id,"
            " attempt_number, status, duration_ms, started_at, url, trigger)"
            " SELECT 'app', 'att_' || i, 'dlv_' || i, 'msg_' || i, 'ep' || (i % 100), 1,"
            " CASE WHEN i % 7 = 0 THEN 'failed' ELSE 'succeeded' END, i % 300,"
            " $1 - i * 40, 'http://x', 'auto' FROM generate_series(1, 2000) i",
            NOW,
        )
        await conn.execute("VACUUM ANALYZE attempts")
        for name, (text, args) in STATEMENTS.items():
            args = tuple("ep3" if a == "ep" else a for a in args)
            plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + text, *args))
            assert "ix_attempts_endpoint_health" in plan and "Seq Scan" not in plan, (name, plan)
    finally:
        await conn.close()
