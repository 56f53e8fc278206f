"""The stores' half of a delivery: hookwise's claims and records alone, no HTTP.

The other half of ``bench.engine``: a fresh store (SQLite file or PostgreSQL database) gets one
app, one endpoint (``max_in_flight`` 64) and ``count`` messages through its own API, then one
claim-and-record loop drains them through the store's queue, as a worker's writes do
(``record_and_claim`` of 64 at a time), each attempt a success made by the worker's own
``decide``, nothing sent. The process's CPU per delivery (every thread; on PostgreSQL also the
database's backends, read by the harness) is what the store costs a delivery; beside the engine's
it tells where a delivery's CPU goes.

``python -m bench.store_path --db URL --count N`` prints one JSON line ``{"delivered",
"seconds", "cpu_us"}`` once drained.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import orjson
import uvloop

from bench import pg
from bench.cpu import CpuMeter
from bench.measure import IN_FLIGHT, payload
from bench.processes import PYTHON, report_of
from bench.registry import Metric, RunContext, Scenario, Unavailable, register
from hookwise.delivery.outcome import decide
from hookwise.delivery.sender import SendResult
from hookwise.delivery.turns import WriteTurn
from hookwise.domain.models import NewEndpoint, NewMessage
from hookwise.domain.signing import new_secret
from hookwise.store import open_store

COUNT = 20_000
_TIMEOUT = 150.0
_SENT_HEAD = "POST /store-path HTTP/1.1\nHost: 127.0.0.1"


async def drain(db_url: str, count: int) -> dict[str, Any]:
    """Seed ``count`` messages into a fresh store at ``db_url``, then claim and record them."""
    store = await open_store(db_url)
    try:
        app = await store.resources.create_app(
            name="store-path", uid=None, metadata={}, results_inline_budget=0
        )
        await store.resources.create_endpoint(NewEndpoint(
            app_id=app.id, url="http://127.0.0.1:9/store-path", secret=new_secret(),
            max_in_flight=IN_FLIGHT,
        ))  # fmt: skip
        body = orjson.dumps(payload())
        for first in range(0, count, 256):  # concurrent enqueues: group commits, as the API's
            await asyncio.gather(*[
                store.messages.enqueue_message(NewMessage(app.id, "bench.event", body))
                for _ in range(min(256, count - first))
            ])  # fmt: skip
        queue, done = store.queue, 0
        c0, t0 = time.process_time(), time.monotonic()
        claims = await queue.claim_due(worker_id="store-path", limit=IN_FLIGHT, lease_seconds=60)
        while claims:
            now = time.time()
            sent = SendResult(200, None, None, 1.0, now, None, _SENT_HEAD, "content-length: 0")
            results = [decide(c, sent, retry_after_cap=3600) for c in claims]
            done += len(results)
            claims = await queue.record_and_claim(
                results, pause_after=10, worker_id="store-path", limit=IN_FLIGHT,
                lease_seconds=60, turn=WriteTurn(),
            )  # fmt: skip
        cpu, took = time.process_time() - c0, time.monotonic() - t0
    finally:
        await store.close()
    if done != count:
        raise RuntimeError(f"drained {done} of {count}")
    return {"delivered": done, "seconds": took, "cpu_us": cpu * 1e6 / done}


async def _measure(ctx: RunContext, db_url: str, name: str, pg_db: str | None) -> dict[str, float]:
    argv = [PYTHON, "-m", "bench.store_path", "--db", db_url, "--count", str(COUNT)]
    meter = CpuMeter()

    async def sample_backends() -> None:  # the database's, while the program runs
        meter.sample(await pg.backend_pids(pg_db) if pg_db is not None else ())

    result = await report_of(name, argv, ctx.log_dir, _TIMEOUT, meanwhile=sample_backends)
    out = {"cpu_us": float(result["cpu_us"]), "rate": result["delivered"] / result["seconds"]}
    if pg_db is not None:
        out["cpu_pg_us"] = meter.seconds() * 1e6 / result["delivered"]
    return out


async def run_sqlite(ctx: RunContext) -> dict[str, float]:
    path = ctx.work_dir / f"store-path-{ctx.run_index}.db"
    return await _measure(ctx, f"sqlite:///{path}", "store-path", None)


async def run_postgres(ctx: RunContext) -> dict[str, float]:
    name = f"hookwise_store_path_{ctx.run_index}"
    try:
        await pg.create_db(name)
    except OSError as exc:
        raise Unavailable(f"PostgreSQL: {exc}") from exc
    try:
        return await _measure(ctx, pg.db_url(name), "store-path-pg", name)
    finally:
        await pg.drop_db(name)


_ROWS = (
    Metric("rate", "claims and records, one loop", "deliv/s"),
    Metric("cpu_us", "CPU µs / delivery (the process)", "µs"),
)
register(
    Scenario(
        name="store-path",
        title="hookwise's store alone: claim + record, no HTTP, embedded (SQLite)",
        allowance=60,
        run=run_sqlite,
        metrics=_ROWS,
    )
)
register(
    Scenario(
        name="store-path-pg",
        title="hookwise's store alone: claim + record, no HTTP, cluster (PostgreSQL)",
        allowance=60,
        run=run_postgres,
        metrics=(*_ROWS, Metric("cpu_pg_us", "PostgreSQL CPU µs / delivery", "µs")),
    )
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--count", type=int, default=COUNT)
    args = parser.parse_args()
    print(json.dumps(uvloop.run(drain(args.db, args.count))), flush=True)


if __name__ == "__main__":
    main()
