"""The PostgreSQL store vacuums ``deliveries`` while a backlog drains, between autovacuum's
visits (``hookwise.store.postgres.vacuum``): with the thresholds lowered, a drain vacuums the
table; under them, it does not."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import asyncpg
import pytest

from hookwise.domain.models import NewEndpoint, NewMessage
from hookwise.store.postgres import PostgresStore
from hookwise.store.postgres.vacuum import due
from tests.pg import postgres_url_for
from tests.store.conftest import result

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    return postgres_url_for(request)


@pytest.fixture
async def store(pg_url: str) -> AsyncIterator[PostgresStore]:
    s = PostgresStore(pg_url)
    await s.open()
    yield s
    await s.close()


async def _drain_round(store: PostgresStore, app_id: str, n: int) -> None:
    """Enqueue ``n`` messages, claim them and record them delivered: two dead versions each."""
    for _ in range(n):
        await store.messages.enqueue_message(
            NewMessage(app_id=app_id, event_type="a.b", body=b"{}")
        )
    claims = await store.queue.claim_due(worker_id="w", limit=n, lease_seconds=30)
    assert len(claims) == n
    await store.queue.record_attempts([result(c, ok=True) for c in claims], pause_after=10)


async def _table_stats(pg_url: str) -> tuple[int, int]:
    """(dead versions, manual vacuums) of ``deliveries``, as the server's statistics have them."""
    conn = await asyncpg.connect(pg_url)
    try:
        row = await conn.fetchrow(
            "SELECT n_dead_tup, vacuum_count FROM pg_stat_user_tables"
            " WHERE relid = to_regclass('deliveries')"
        )
    finally:
        await conn.close()
    assert row is not None
    return int(row["n_dead_tup"]), int(row["vacuum_count"])


async def _app(store: PostgresStore) -> str:
    app = await store.resources.create_app(
        name="a", uid=None, metadata={}, results_inline_budget=1024
    )
    await store.resources.create_endpoint(
        NewEndpoint(app_id=app.id, url="http://127.0.0.1:9", secret="s", max_in_flight=100)
    )
    return app.id


async def test_a_drain_vacuums_deliveries_once_enough_versions_are_dead(
    store: PostgresStore, pg_url: str
) -> None:
    store.vacuum.check_every, store.vacuum.dead_min, store.vacuum.share = 10, 40, 0.0
    app_id = await _app(store)
    assert (await _table_stats(pg_url))[1] == 0
    # the records' statistics reach the server within a second or so of their commits: drain
    # in rounds until a record has seen them and the vacuum ran (bounded)
    deadline = time.monotonic() + 30
    while (await _table_stats(pg_url))[1] == 0:
        assert time.monotonic() < deadline, "no vacuum of deliveries within 30 s"
        await _drain_round(store, app_id, 20)
        await store.vacuum.settled()
    dead, vacuums = await _table_stats(pg_url)
    assert vacuums >= 1
    assert dead < 40  # what the vacuum removed, less what the rounds since left


async def test_a_drain_under_the_thresholds_does_not_vacuum(
    store: PostgresStore, pg_url: str
) -> None:
    store.vacuum.check_every, store.vacuum.dead_min, store.vacuum.share = 10, 10**9, 0.0
    app_id = await _app(store)
    deadline = time.monotonic() + 30
    # until the statistics show as many dead versions as made the first test vacuum, and then
    # one round more: no vacuum all the same
    while (await _table_stats(pg_url))[0] < 40:
        assert time.monotonic() < deadline, "the statistics never showed the dead versions"
        await _drain_round(store, app_id, 20)
        await store.vacuum.settled()
    await _drain_round(store, app_id, 20)
    await store.vacuum.settled()
    assert (await _table_stats(pg_url))[1] == 0


def test_a_vacuum_is_due_past_both_thresholds() -> None:
    assert not due(99_999, 0, dead_min=100_000, share=0.05)
    assert due(100_000, 0, dead_min=100_000, share=0.05)
    assert due(100_000, 2_000_000, dead_min=100_000, share=0.05)
    assert not due(100_000, 2_000_001, dead_min=100_000, share=0.05)  # a large table waits
    assert due(100_000, -1.0, dead_min=100_000, share=0.05)  # reltuples -1: never analyzed
