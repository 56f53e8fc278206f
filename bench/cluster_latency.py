"""Cluster ingest, its cost and its latency: ``hookwise api`` + 1 ``hookwise worker`` on PostgreSQL.

Issue 18 (target 3) asks for cluster ingest near embedded ingest *and* the ingest → first
attempt p99 ≤ 25 ms at half load, which the embedded ``latency`` figure measures only for
``hookwise serve``. One run, on a fresh migrated database with the API and one worker up:

- *API ingest*: 64 clients post 3,000 messages to an app whose endpoint is paused (nothing is
  delivered meanwhile), with the CPU (``/proc`` utime + stime) of the API process and of the
  database's PostgreSQL backends over the messages accepted;
- *end to end*: the same 64 clients post for 4 s to a second app whose endpoint is active;
  what arrives at the sink meanwhile is what the cluster sustains end to end;
- *ingest → first attempt*: paced open-loop load at half that (``BENCH_CLUSTER_LATENCY_RATE``
  fixes the rate instead), 1 s of warm-up then 8 s measured, to a third app; per message, from
  the moment the client starts its POST to the first arrival of its ``webhook-id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os

from bench import pg
from bench.cpu import CpuMeter
from bench.hookwise_scenarios import LATENCY_P99, await_ids, await_sink, serving, sizes
from bench.hookwise_service import (
    Api,
    ingest,
    ingest_paced,
    probe,
    run_cli,
    service_env,
    start_worker,
)
from bench.measure import percentile
from bench.processes import Proc
from bench.registry import Metric, RunContext, Scenario, Unavailable, register

INGEST_MESSAGES = 3_000
E2E_SECONDS = 4.0
RATE_ENV = "BENCH_CLUSTER_LATENCY_RATE"


def fixed_rate() -> float | None:
    """``$BENCH_CLUSTER_LATENCY_RATE`` (msg/s) when set: the paced load, instead of half the
    end-to-end max."""
    raw = os.environ.get(RATE_ENV, "").strip()
    if not raw:
        return None
    try:
        rate = float(raw)
    except ValueError as exc:
        raise Unavailable(f"{RATE_ENV}={raw!r} is not a number", permanent=True) from exc
    if not math.isfinite(rate) or rate <= 0:
        raise Unavailable(f"{RATE_ENV}={raw!r} is not a positive rate", permanent=True)
    return rate


async def _ingest_cost(api: Api, app: str, api_pid: int, db: str) -> tuple[float, float, float]:
    """(msg/s, API CPU µs / message, PostgreSQL CPU µs / message) of a closed-loop ingest."""
    watch = await pg.connect(db)
    try:
        mine = await watch.fetchval("SELECT pg_backend_pid()")
        api_cpu, pg_cpu = CpuMeter(), CpuMeter()
        api_cpu.sample([api_pid])
        pg_cpu.sample(set(await pg.backend_pids(db)) - {mine})
        accepted, seconds = await ingest(api, app, INGEST_MESSAGES, 15.0)
        api_cpu.sample()
        pg_cpu.sample(set(await pg.backend_pids(db)) - {mine}, new_from_zero=True)
    finally:
        await watch.close()
    us = 1e6 / max(1, accepted)
    return accepted / seconds, api_cpu.seconds() * us, pg_cpu.seconds() * us


async def run_cluster_latency(ctx: RunContext) -> dict[str, float]:
    """Ingest rate and cost, end-to-end max, and ingest → first attempt, on the cluster."""
    probe(ctx)
    rate = fixed_rate()
    db = f"hwbench_{os.getpid()}_clat{ctx.run_index}"
    await pg.create_db(db)
    procs: list[Proc] = []
    try:
        env = service_env(pg.db_url(db))
        await asyncio.to_thread(run_cli, ctx, ["migrate"], env)
        tag = f"cluster-latency-r{ctx.run_index}"
        async with serving(ctx, "api", env, f"{tag}-api", "bench-clat-ingest") as served:
            api, _key, held_app = served
            assert api.proc is not None
            procs = [api.proc]
            held = await api.create_endpoint(held_app, ctx.sink.url("/hw/clat-held"))
            await api.set_status(held_app, [held], "paused")
            e2e_app = await api.create_app("bench-clat-e2e")
            await api.create_endpoint(e2e_app, ctx.sink.url("/hw/clat-e2e"))
            lat_app = await api.create_app("bench-clat-latency")
            await api.create_endpoint(lat_app, ctx.sink.url("/rec/clat"))
            before = await pg.backends(db)
            procs.append(start_worker(ctx, env, f"{tag}-worker"))
            await pg.wait_backends(db, before + 1, timeout=30)

            ingest_rate, api_us, pg_us = await _ingest_cost(api, held_app, api.proc.pid, db)

            ctx.sink.reset()
            posted, seconds = await ingest(api, e2e_app, 10**6, E2E_SECONDS)
            e2e_rate = min(posted, int(ctx.sink.stats()["ok"])) / seconds
            await await_sink(ctx, "ok", posted, sizes(ctx).drain_timeout, procs)

            offered = rate if rate is not None else e2e_rate / 2
            ctx.sink.reset()  # the warm-up's arrivals alone, so that they are seen arriving
            warm = await ingest_paced(api, lat_app, offered, 1.0)  # warm-up, not counted
            await await_ids(ctx, warm.keys(), 15.0)  # none of it may land in the measurement
            ctx.sink.reset()
            answered: dict[str, float] = {}
            duration = sizes(ctx).latency_seconds
            sent = await ingest_paced(api, lat_app, offered, duration, answered)
            await await_sink(ctx, "ok", len(sent), 30.0, procs)
            first = await await_ids(ctx, sent.keys(), 15.0)
    finally:
        for proc in procs[1:]:
            await asyncio.to_thread(proc.stop)
        with contextlib.suppress(Exception):
            await pg.wait_backends(db, 0, timeout=10, settle=0.2)
        await pg.drop_db(db)
    latencies = [(first[m] - t) * 1000 for m, t in sent.items() if m in first]
    answers = [(answered[m] - t) * 1000 for m, t in sent.items()]
    after = [(first[m] - answered[m]) * 1000 for m in sent if m in first]
    if len(latencies) < len(sent):
        ctx.notes.append(f"cluster: {len(sent) - len(latencies)} of {len(sent)} not arrived")
    return {
        "ingest_rate": ingest_rate,
        "cpu_api_us": api_us,
        "cpu_postgres_us": pg_us,
        "e2e_rate": e2e_rate,
        "offered_rate": offered,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies, default=float("nan")),
        "answer_p50_ms": percentile(answers, 50),
        "answer_p99_ms": percentile(answers, 99),
        "after_p50_ms": percentile(after, 50),
        "after_p99_ms": percentile(after, 99),
        "late_pct": 100.0 * sum(x > 100 for x in latencies) / max(1, len(latencies)),
    }


register(
    Scenario(
        name="cluster-latency",
        allowance=120,
        title="hookwise cluster (PostgreSQL): ingest cost, ingest → first attempt",
        run=run_cluster_latency,
        metrics=(
            Metric("ingest_rate", "API ingest, 64 clients (endpoint paused)", "msg/s"),
            Metric("cpu_api_us", "API CPU µs / message", "µs"),
            Metric("cpu_postgres_us", "PostgreSQL CPU µs / message", "µs"),
            Metric("e2e_rate", "delivered meanwhile (1 worker, end-to-end max)", "msg/s"),
            Metric("offered_rate", f"offered load (½ end-to-end max, or ${RATE_ENV})", "msg/s"),
            Metric("p50_ms", "ingest → first attempt p50", "ms", digits=1),
            Metric("p99_ms", "ingest → first attempt p99", "ms", (LATENCY_P99,), digits=1),
            Metric("max_ms", "ingest → first attempt max", "ms", digits=1),
            Metric("answer_p50_ms", "of which the API's answer (202), p50", "ms", digits=1),
            Metric("answer_p99_ms", "of which the API's answer (202), p99", "ms", digits=1),
            Metric("after_p50_ms", "of which answer → first attempt, p50", "ms", digits=1),
            Metric("after_p99_ms", "of which answer → first attempt, p99", "ms", digits=1),
            Metric("late_pct", "first attempts later than 100 ms", "%", digits=2),
        ),
    )
)  # fmt: skip
