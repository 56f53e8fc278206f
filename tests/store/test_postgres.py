"""What only the PostgreSQL store does: NOTIFY wake-ups across processes, and surviving lost
connections (every driver error is StoreUnavailable; the pools and the listener reconnect)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine

from hookwise.delivery.sender import SendResult
from hookwise.delivery.worker import Worker, WorkerConfig
from hookwise.domain.errors import StoreUnavailable
from hookwise.domain.models import ClaimedDelivery, NewEndpoint, NewMessage
from hookwise.store.migrate import sqlalchemy_url
from hookwise.store.postgres import PostgresStore
from hookwise.store.postgres.pool import Pools
from hookwise.store.rules import attempts
from hookwise.store.tables import metadata
from tests.pg import postgres_url_for
from tests.store.conftest import result

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    return postgres_url_for(request)


@pytest.fixture
async def two(pg_url: str) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    a, b = PostgresStore(pg_url), PostgresStore(pg_url)
    await a.open()
    await b.open()
    yield a, b
    await a.close()
    await b.close()


async def _index_definitions(conn: asyncpg.Connection, schema: str) -> dict[str, str]:
    rows = await conn.fetch(
        "SELECT indexname, replace(indexdef, $1 || '.', '') AS d FROM pg_indexes"
        " WHERE schemaname = $1 AND tablename = ANY($2::text[])",
        schema,
        list(metadata.tables),
    )
    return {r["indexname"]: r["d"] for r in rows}


async def test_migrated_indexes_are_the_declared_ones_predicates_included(pg_url: str) -> None:
    # Alembic's comparison (tests/store/test_contract.py) does not look at an index's WHERE:
    # here the migrated database's indexes are compared, as PostgreSQL prints them, with the
    # ones ``tables.metadata`` creates in a schema of their own
    engine = create_async_engine(sqlalchemy_url(pg_url), poolclass=pool.NullPool)
    apart = {"schema_translate_map": {None: "declared"}}
    async with engine.begin() as aconn:
        await aconn.exec_driver_sql("CREATE SCHEMA declared")
        await aconn.run_sync(lambda c: metadata.create_all(c.execution_options(**apart)))
    await engine.dispose()
    conn = await asyncpg.connect(pg_url)
    try:
        migrated = await _index_definitions(conn, "public")
        declared = await _index_definitions(conn, "declared")
    finally:
        await conn.close()
    assert "ix_deliveries_endpoint_due" in declared
    assert migrated == declared


async def _enqueue(store: PostgresStore) -> str:
    app = await store.resources.create_app(
        name="a", uid=None, metadata={}, results_inline_budget=1024
    )
    await store.resources.create_endpoint(
        NewEndpoint(app_id=app.id, url="http://127.0.0.1:9", secret="s")
    )
    enq = await store.messages.enqueue_message(
        NewMessage(app_id=app.id, event_type="a.b", body=b"{}")
    )
    return enq.delivery_ids[0]


async def _kill_connections(url: str, application: str) -> int:
    db = url.rpartition("/")[2]
    conn = await asyncpg.connect(url.rpartition("/")[0] + "/postgres")
    try:
        return len(
            await conn.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = $1 AND application_name = $2",
                db,
                application,
            )
        )
    finally:
        await conn.close()


async def _listening(store: PostgresStore) -> None:
    await store.queue.wait_for_work(0.05)  # starts the listener
    await asyncio.wait_for(store._listener.connected.wait(), 5)


async def test_a_recorded_attempt_is_an_attempts_row_then_its_outcome(pg_url: str) -> None:
    # the record statement inserts a ``recorded_attempt``'s first fields as ``ATTEMPT_COLUMNS``
    # (migration 0020): the type's fields must be those columns, in that order, with their types
    conn = await asyncpg.connect(pg_url)
    try:
        fields = await conn.fetch(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a"
            " JOIN pg_type t ON t.typrelid = a.attrelid WHERE t.typname = 'recorded_attempt'"
            " AND a.attnum > 0 ORDER BY a.attnum"
        )
        columns = {
            r["column_name"]: r["data_type"]
            for r in await conn.fetch(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = 'attempts'"
            )
        }
    finally:
        await conn.close()
    names = [f["attname"] for f in fields]
    inserted = [c.strip() for c in attempts.ATTEMPT_COLUMNS.split(",")]
    assert names == [*inserted, "outcome", "next_attempt_at"]
    storage = {
        "text": "character varying",
        "integer": "integer",
        "double precision": "double precision",
    }
    for f in fields[: len(inserted)]:  # each field converts to its column without loss
        assert columns[f["attname"]] in (storage[f["type"]], f["type"]), f["attname"]


async def test_an_operation_started_in_another_process_wakes_the_stepper(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    # the API process starts a bulk operation (a release, a recover) and runs no stepper: the
    # workers' steppers must take it up now, not at their next poll (30 s here)
    api, worker = two
    await _listening(worker)
    await worker.operations.wait_for_start(0)  # the wake-up of connecting, if any: spent
    waiting = asyncio.create_task(worker.operations.wait_for_start(30))
    await asyncio.sleep(0)  # the stepper is waiting now
    api.operations.started()
    await asyncio.wait_for(waiting, 5)


async def test_notify_wakes_a_worker_in_another_process(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    api, worker = two
    await _listening(worker)
    waiting = asyncio.create_task(worker.queue.wait_for_work(30))
    await asyncio.sleep(0.1)
    t0 = time.monotonic()
    await _enqueue(api)
    await asyncio.wait_for(waiting, 5)
    assert time.monotonic() - t0 < 1.0
    claims = await worker.queue.claim_due(worker_id="w", limit=10, lease_seconds=30)
    assert len(claims) == 1


async def test_unreachable_server_is_store_unavailable() -> None:
    store = PostgresStore("postgresql://postgres@127.0.0.1:1/nowhere")
    with pytest.raises(StoreUnavailable) as err:
        await store.open()
    assert isinstance(err.value.__cause__, OSError | asyncpg.PostgresError)
    assert err.value.status_code == 503
    with pytest.raises(StoreUnavailable):
        await store.ping()
    await store.close()


async def test_lost_connections_fail_once_then_reconnect(
    pg_url: str, two: tuple[PostgresStore, PostgresStore]
) -> None:
    api, worker = two
    dlv = await _enqueue(api)
    await worker.queue.wait_for_work(0.05)
    await asyncio.wait_for(worker._listener.connected.wait(), 5)
    assert await _kill_connections(pg_url, "hookwise") >= 2
    assert await _kill_connections(pg_url, "hookwise-listen") == 1
    for _ in range(100):  # the listener notices
        if not worker._listener.connected.is_set():
            break
        await asyncio.sleep(0.02)
    failures = 0
    for _ in range(3):  # every pool notices on first use and reconnects by itself
        try:
            await api.ping()
            claims = await worker.queue.claim_due(worker_id="w", limit=5, lease_seconds=30)
            break
        except StoreUnavailable as exc:
            assert exc.status_code == 503 and exc.__cause__ is not None
            failures += 1
    else:
        pytest.fail("the store did not reconnect")
    assert failures <= 2
    assert [c.delivery_id for c in claims] == [dlv]
    # the listener reconnected too: a new message still wakes the worker at once
    await asyncio.wait_for(worker._listener.connected.wait(), 10)
    waiting = asyncio.create_task(worker.queue.wait_for_work(30))
    await asyncio.sleep(0.1)
    await _enqueue(api)
    await asyncio.wait_for(waiting, 5)


async def test_a_batch_recorded_twice_counts_once(two: tuple[PostgresStore, PostgresStore]) -> None:
    # the connection can drop after COMMIT succeeded but before its answer: the worker keeps
    # the batch and records it again, which must neither fail forever nor count twice
    store, _ = two
    await _enqueue(store)
    claims = await store.queue.claim_due(worker_id="w", limit=10, lease_seconds=30)
    batch = [result(c, ok=False, retry_at=time.time() + 600) for c in claims]
    await store.queue.record_attempts(batch, pause_after=10)
    await store.queue.record_attempts(batch, pause_after=10)
    (c,) = claims
    ep = await store.resources.get_endpoint(c.app_id, c.endpoint_id)
    assert ep.consecutive_failures == 1
    d = await store.messages.get_delivery(c.app_id, c.delivery_id)
    assert d.attempt_count == 1


async def test_an_endpoint_at_its_cap_wakes_workers_when_room_frees(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    # idle workers do not poll an endpoint at its in-flight cap: next_due_at points at its
    # first lease to run out, and a record that frees room sooner notifies the others
    busy, idle = two
    app = await busy.resources.create_app(
        name="a", uid=None, metadata={}, results_inline_budget=1024
    )
    await busy.resources.create_endpoint(
        NewEndpoint(app_id=app.id, url="http://127.0.0.1:9", secret="s", max_in_flight=2)
    )
    for _ in range(5):
        await busy.messages.enqueue_message(NewMessage(app_id=app.id, event_type="a.b", body=b"{}"))
    claims = await busy.queue.claim_due(worker_id="busy", limit=10, lease_seconds=30)
    assert len(claims) == 2
    due = await idle.queue.next_due_at()
    assert due is not None and due > time.time() + 25  # the leases' end, not the backlog
    await idle.queue.wait_for_work(0.05)
    await asyncio.wait_for(idle._listener.connected.wait(), 5)
    waiting = asyncio.create_task(idle.queue.wait_for_work(30))
    await asyncio.sleep(0.1)
    await busy.queue.record_attempts([result(claims[0], ok=True)], pause_after=10)
    await asyncio.wait_for(waiting, 5)
    assert len(await idle.queue.claim_due(worker_id="idle", limit=10, lease_seconds=30)) == 1


async def test_deliveries_is_vacuumed_like_a_queue(pg_url: str) -> None:
    conn = await asyncpg.connect(pg_url)
    try:
        options = await conn.fetchval(
            "SELECT reloptions FROM pg_class WHERE relname = 'deliveries'"
        )
    finally:
        await conn.close()
    assert "autovacuum_vacuum_scale_factor=0.01" in options
    assert "autovacuum_analyze_scale_factor=0.02" in options


async def test_the_hot_path_plans_without_bitmaps_and_claims_commit_without_waiting(
    pg_url: str,
) -> None:
    pools = Pools(pg_url)
    await pools.open()
    try:
        settings = {}
        for which in ("main", "claim", "record"):
            async with pools.connection(which) as c:
                settings[which] = (
                    await c.fetchval("SHOW enable_bitmapscan"),
                    await c.fetchval("SHOW synchronous_commit"),
                )
    finally:
        await pools.close()
    # a claim lost with the server is claimed and sent again; a record waits for the disk
    assert settings == {"main": ("on", "on"), "claim": ("off", "off"), "record": ("off", "on")}


class _Sent:
    """A transport that answers 200 at once and remembers what it sent."""

    def __init__(self) -> None:
        self.sent = asyncio.Event()

    async def send(self, claim: ClaimedDelivery) -> SendResult:
        self.sent.set()
        return SendResult(200, "ok", None, 1.0, time.time())


async def test_a_wake_up_while_the_worker_looks_is_not_lost(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    # the worker claims (nothing), then asks when something is next due (nothing): a message
    # committed between that answer and the worker's wait notifies while nobody waits. That
    # wake-up must still end the wait, or the message waits for the next poll (30 s here)
    api, store = two
    await _listening(store)
    real = store.queue.next_due_at
    woken = asyncio.Event()

    async def next_due_at() -> float | None:
        answer = await real()
        if not woken.is_set():
            seen = store._listener.notifications
            await _enqueue(api)
            while store._listener.notifications == seen:  # the NOTIFY arrived: nobody waited
                await asyncio.sleep(0.01)
            woken.set()
        return answer

    store.queue.next_due_at = next_due_at  # type: ignore[method-assign]
    transport = _Sent()
    worker = Worker(store.queue, transport, WorkerConfig(poll_interval=30))
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        await asyncio.wait_for(woken.wait(), 5)
        await asyncio.wait_for(transport.sent.wait(), 5)
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
