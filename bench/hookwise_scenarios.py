"""The hookwise figures of issue 6, measured at the sink, never by trusting the service.

Each figure starts the service as a user would (``hookwise serve`` on a fresh SQLite file, or
``hookwise api`` + N x ``hookwise worker`` on a fresh PostgreSQL database), makes an admin key
with ``hookwise keys create --admin`` and talks to the documented REST API. To time a *drain*
rather than the ingest, endpoints are paused while messages are accepted (their deliveries are
``held``) and re-enabled at once with ``PATCH {"status": "active"}`` (held deliveries become due
now); the cluster figures start their workers only when the backlog is in place.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import pg
from bench.cpu import CpuMeter, cpu_seconds
from bench.hookwise_service import (
    Api,
    create_admin_key,
    ingest,
    ingest_paced,
    message_body,
    probe,
    run_cli,
    service_env,
    start_server,
    start_worker,
)
from bench.measure import crossing, percentile, value_at, window_rate
from bench.processes import Proc, stop_many
from bench.registry import Metric, RunContext, Scenario, Target, Unavailable, register

RETRY_SCHEDULE = [1, 2, 4, 8, 16]  # hookwise's documented default, set explicitly
MB = 1024 * 1024


@dataclass(frozen=True)
class Sizes:
    """How much work each figure does (bounded; see README for the time each takes)."""

    embedded_messages: int = 15_000
    ingest_timeout: float = 12.0  # ingest stops at the count or the time, whichever first
    drain_timeout: float = 30.0
    e2e_seconds: float = 6.0
    latency_seconds: float = 8.0
    cluster_messages: int = 6_000
    cluster_workers: tuple[int, ...] = (1, 2, 4)
    fanout_messages: int = 200
    fanout_endpoints: int = 50
    isolation_messages: int = 600
    isolation_healthy: int = 10
    backlog_rows: int = 1_000_000
    backlog_seconds: float = 60.0
    failure_messages: int = 3_000
    failure_paced_seconds: float = 6.0


FULL = Sizes()
SMOKE = Sizes(embedded_messages=3_000, ingest_timeout=5.0, drain_timeout=10.0, e2e_seconds=2.0)


def sizes(ctx: RunContext) -> Sizes:
    """The sizes of this run."""
    return SMOKE if ctx.smoke else FULL


# --- helpers -------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def serving(
    ctx: RunContext, command: str, env: dict[str, str], proc_name: str, app_name: str
) -> AsyncIterator[tuple[Api, str, str]]:
    """``hookwise {command}`` (``serve`` or ``api``) on ``env``'s database, ready, with the
    bench's event type and a new app: (admin API, admin key, app id); stopped on exit."""
    key = await asyncio.to_thread(create_admin_key, ctx, env)
    proc, base = start_server(ctx, command, env, proc_name)
    try:
        async with Api(base, key, proc) as api:
            await api.wait_ready()
            await api.ensure_event_type()
            yield api, key, await api.create_app(app_name)
    finally:
        await asyncio.to_thread(proc.stop)


@contextlib.asynccontextmanager
async def embedded(ctx: RunContext, name: str) -> AsyncIterator[tuple[Api, str]]:
    """A fresh ``hookwise serve`` on its own SQLite file; (admin API, a new app's id).

    With ``HOOKWISE_OPERATIONS_APP`` set, that app (by uid) is made too, its endpoint off the
    sink (a closed port): the figures then include the operational events' cost."""
    probe(ctx)
    data_dir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=ctx.work_dir))
    env = service_env(f"sqlite:///{data_dir / 'hw.db'}")
    proc_name = f"{name}-r{ctx.run_index}-serve"
    async with serving(ctx, "serve", env, proc_name, f"bench-{name}") as (api, _key, app):
        ops = os.environ.get("HOOKWISE_OPERATIONS_APP")
        if ops:
            made = await api.call("POST", "/v1/apps", {"name": "operations", "uid": ops})
            await api.create_endpoint(made["id"], "http://127.0.0.1:9/ops")
        yield api, app


@contextlib.asynccontextmanager
async def template_api(
    ctx: RunContext, name: str, label: str
) -> AsyncIterator[tuple[Api, str, str, str]]:
    """A new PostgreSQL database ``name`` (dropped at the end of the harness run), migrated,
    with ``hookwise api`` on it, an app and its endpoint held (paused) at the sink's
    ``/hw/{label}``: (admin API, admin key, app id, endpoint id). The API is stopped and its
    connections gone on exit, so the database can serve as a template."""
    probe(ctx)
    await pg.create_db(name)
    ctx.cleanups.append(lambda: pg.drop_db(name))
    env = service_env(pg.db_url(name))
    await asyncio.to_thread(run_cli, ctx, ["migrate"], env)
    async with serving(ctx, "api", env, f"{label}-template-api", f"bench-{label}") as served:
        api, key, app = served
        ep = await api.create_endpoint(app, ctx.sink.url(f"/hw/{label}"))
        await api.set_status(app, [ep], "paused")
        yield api, key, app, ep
    await pg.wait_backends(name, 0, timeout=10, settle=0.2)


async def await_sink(
    ctx: RunContext, field: str, target: int, timeout: float, procs: Iterable[Proc] = ()
) -> bool:
    """Wait until the sink's ``field`` count reaches ``target``; False on timeout.

    A service process that exits meanwhile raises ``Unavailable`` with its last log lines.
    """
    watched = list(procs)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if int(ctx.sink.stats()[field]) >= target:
            return True
        for proc in watched:
            if not proc.alive():
                raise Unavailable(f"{proc.name} exited: {proc.tail()}")
        await asyncio.sleep(0.05)
    return False


def drain_rate(ctx: RunContext, total: int, released_at: float) -> float:
    """Deliveries/s of a drain of ``total``: the 10-90 % window, or the partial rate."""
    rate = window_rate(ctx.sink.timeline(), total, field=2)
    if math.isfinite(rate):
        return rate
    ctx.notes.append(f"drain of {total} did not reach 90 % in time: partial rate")
    return int(ctx.sink.stats()["ok"]) / max(1e-9, time.time() - released_at)


def first_pass_rates(ctx: RunContext, total: int, released_at: float) -> tuple[float, float]:
    """(answers/s, successes/s) between 10 % and 90 % of the first ``total`` answers."""
    timeline = ctx.sink.timeline()
    a, b = crossing(timeline, total * 0.1, 1), crossing(timeline, total * 0.9, 1)
    if a is None or b is None or b <= a:
        rate = drain_rate(ctx, total, released_at)
        return rate, rate
    ok_a, ok_b = value_at(timeline, a, 2), value_at(timeline, b, 2)
    return total * 0.8 / (b - a), (ok_b - ok_a) / (b - a)


def half_max_rate(ctx: RunContext) -> float:
    """Half of what embedded hookwise sustains end to end: ingest and delivery at once, as they
    run in use (in one process they share its CPU, so each alone is not the system's max)."""
    rate = ctx.medians.get("embedded.e2e_rate")
    if rate is None or not math.isfinite(rate) or rate <= 0:
        raise Unavailable("needs the embedded end-to-end figure of this run")
    return rate / 2


def first_arrivals(records: list[list[Any]]) -> dict[str, float]:
    """The first arrival time of each webhook-id."""
    first: dict[str, float] = {}
    for t, _path, wid, _status in records:
        if wid is not None and (wid not in first or t < first[wid]):
            first[wid] = t
    return first


async def await_ids(ctx: RunContext, ids: Iterable[str], timeout: float) -> dict[str, float]:
    """First arrival time of each of ``ids``, waiting up to ``timeout`` s for the missing ones.

    Counting requests is not enough here: a redelivered message counts twice.
    """
    wanted = set(ids)
    deadline = time.monotonic() + timeout
    while True:
        first = first_arrivals(ctx.sink.records())
        missing = wanted - first.keys()
        if not missing or time.monotonic() > deadline:
            duplicates = int(ctx.sink.stats()["requests"]) - len(first)
            if duplicates > 0:
                ctx.notes.append(f"{duplicates} repeated deliveries of the same webhook-id")
            return first
        await asyncio.sleep(0.5)


# --- 3. embedded: ingest and delivery --------------------------------------------------------


async def run_embedded(ctx: RunContext) -> dict[str, float]:
    """Ingest N messages through the API (endpoint paused), then time the drain at the sink."""
    sz = sizes(ctx)
    async with embedded(ctx, "embedded") as (api, app):
        ep = await api.create_endpoint(app, ctx.sink.url("/hw/embedded"))
        await api.set_status(app, [ep], "paused")
        ctx.sink.reset()
        cpu = _ServeCpu(api.proc)
        accepted, seconds = await ingest(api, app, sz.embedded_messages, sz.ingest_timeout)
        cpu_ingest = cpu.per(accepted)
        leaked = int(ctx.sink.stats()["requests"])
        if leaked:
            ctx.notes.append(f"{leaked} deliveries arrived while the endpoint was paused")
        ctx.sink.reset()
        released = time.time()
        await api.set_status(app, [ep], "active")
        await await_sink(ctx, "ok", accepted, sz.drain_timeout, [api.proc] if api.proc else [])
        cpu_drain = cpu.per(accepted)
        rate = drain_rate(ctx, accepted, released)
        stats = ctx.sink.stats()
        recorded, complete = await api.count_attempts(app, limit=accepted + 100, timeout=20)
        if not complete:
            ctx.notes.append("paging the attempts log took over 20 s: count incomplete")
        # End to end: the same 64 clients with the endpoint active, so that ingest and delivery
        # share the process as they do in use. What arrives at the sink while the clients post
        # is what the service sustains end to end.
        ctx.sink.reset()
        cpu.per(1)  # from here: the end to end, until all it posted is delivered
        posted, e2e_seconds = await ingest(api, app, 10**6, sz.e2e_seconds)
        e2e_rate = min(posted, int(ctx.sink.stats()["ok"])) / e2e_seconds
        await await_sink(ctx, "ok", posted, sz.drain_timeout, [api.proc] if api.proc else [])
        cpu_e2e = cpu.per(posted)
    return {
        "ingest_rate": accepted / seconds,
        "delivery_rate": rate,
        "e2e_rate": e2e_rate,
        "e2e_ingest_rate": posted / e2e_seconds,
        "drain_s": float(stats["last"]) - released,
        "recorded_pct": 100.0 * recorded / max(1, int(stats["requests"])),
        "cpu_ingest_us": cpu_ingest,
        "cpu_drain_us": cpu_drain,
        "cpu_e2e_us": cpu_e2e,
    }


class _ServeCpu:
    """The CPU of ``hookwise serve`` (all its threads) from ``/proc``, per unit of work done
    since the last reading."""

    def __init__(self, proc: Proc | None) -> None:
        self._pid = proc.pid if proc else None
        self._last = self._read()

    def _read(self) -> float | None:
        return cpu_seconds(self._pid) if self._pid is not None else None

    def per(self, units: int) -> float:
        """µs of CPU per unit since the previous call (NaN if the process cannot be read)."""
        before, self._last = self._last, self._read()
        if before is None or self._last is None or units <= 0:
            return float("nan")
        return (self._last - before) * 1e6 / units


# --- 3b. embedded: ingest → first attempt at half of the max rate ---------------------------


async def run_latency(ctx: RunContext) -> dict[str, float]:
    """Paced ingest at half the max rate; ingest → first attempt per message at the sink.

    The clock starts when the client starts its ``POST …/messages`` (so it includes the API's
    own latency) and stops when the request arrives at the sink; both are wall-clock times on
    this machine.
    """
    sz = sizes(ctx)
    rate = half_max_rate(ctx)
    async with embedded(ctx, "latency") as (api, app):
        await api.create_endpoint(app, ctx.sink.url("/rec/latency"))
        warm = await ingest_paced(api, app, rate, 1.0)  # warm-up, not counted
        await await_sink(ctx, "ok", len(warm), 15.0)  # none of it may land in the measurement
        ctx.sink.reset()
        sent = await ingest_paced(api, app, rate, sz.latency_seconds)
        await await_sink(ctx, "ok", len(sent), 30.0, [api.proc] if api.proc else [])
        first = await await_ids(ctx, sent.keys(), 15.0)
    latencies = [(first[m] - t) * 1000 for m, t in sent.items() if m in first]
    if len(latencies) < len(sent):
        ctx.notes.append(f"{len(sent) - len(latencies)} of {len(sent)} not arrived after 45 s")
    return {
        "offered_rate": rate,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
    }


# --- 4. cluster on PostgreSQL -----------------------------------------------------------------


@dataclass
class ClusterTemplate:
    """A PostgreSQL database holding a paused endpoint and N held deliveries."""

    db: str
    key: str
    app: str
    endpoint: str
    messages: int
    ingest_rates: list[float]


async def cluster_template(ctx: RunContext) -> ClusterTemplate:
    """Build (once per harness run) the template every cluster measurement copies."""
    cached = ctx.cache.get("cluster_template")
    if isinstance(cached, ClusterTemplate):
        return cached
    sz = sizes(ctx)
    name = f"hwbench_tpl_{os.getpid()}"
    async with template_api(ctx, name, "cluster") as (api, key, app, ep):
        rates, total = [], 0
        for _ in range(3):  # three measured chunks: three ingest samples
            n, secs = await ingest(api, app, sz.cluster_messages // 3, sz.ingest_timeout)
            rates.append(n / secs)
            total += n
    tpl = ClusterTemplate(name, key, app, ep, total, rates)
    ctx.cache["cluster_template"] = tpl
    return tpl


@dataclass(frozen=True)
class Drain:
    """A cluster drain: its rate, and the CPU per delivery of the workers and PostgreSQL."""

    rate: float
    worker_us: float
    postgres_us: float


async def _follow_backends(
    db: str, meter: CpuMeter, stop: asyncio.Event, mine: int, every: float = 0.25
) -> None:
    """Sample the CPU of ``db``'s PostgreSQL backends but ``mine`` until ``stop`` (new ones:
    pool connections opened during the drain, autovacuum workers, count from their start)."""
    while True:
        meter.sample(set(await pg.backend_pids(db)) - {mine}, new_from_zero=True)
        if stop.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


async def await_recorded(conn: Any, timeout: float) -> None:
    """Wait (bounded) until no delivery is pending: every attempt recorded."""
    deadline = time.monotonic() + timeout
    sql = "SELECT count(*) FROM deliveries WHERE status = 'pending'"
    while await conn.fetchval(sql) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


async def _timed_drain(
    ctx: RunContext, api: Api, tpl: ClusterTemplate, procs: list[Proc], watch: Any
) -> Drain:
    """Re-enable the endpoint and time the drain of its deliveries (``procs``: the API, then
    the workers; ``watch``: a connection to ``db``, whose backend is the harness's, not
    counted)."""
    db, mine = await watch.fetchrow("SELECT current_database(), pg_backend_pid()")
    worker_cpu, pg_cpu, stop = CpuMeter(), CpuMeter(), asyncio.Event()
    worker_cpu.sample(p.pid for p in procs[1:])
    pg_cpu.sample(set(await pg.backend_pids(db)) - {mine})
    follower = asyncio.create_task(_follow_backends(db, pg_cpu, stop, mine))
    released = time.time()
    try:
        await api.set_status(tpl.app, [tpl.endpoint], "active")
        await await_sink(ctx, "ok", tpl.messages, sizes(ctx).drain_timeout, procs)
        await await_recorded(watch, 5.0)
    finally:
        stop.set()
        await follower
    worker_cpu.sample()
    us = 1e6 / tpl.messages
    rate = drain_rate(ctx, tpl.messages, released)
    return Drain(rate, worker_cpu.seconds() * us, pg_cpu.seconds() * us)


async def _held_to_pending(db: str) -> None:
    """Make the copy's held deliveries pending, their endpoint still paused: the state right
    after a pause, before its deliveries are held. Nothing is claimed until the endpoint is
    re-enabled, and then nothing is left to release: the drain that follows is the workers'
    claims and records alone. The harness's own update leaves a dead version of every row,
    which a ``VACUUM`` takes away, as after an ingest."""
    conn = await pg.connect(db)
    try:
        await conn.execute("UPDATE deliveries SET status = 'pending' WHERE status = 'held'")
        await conn.execute("VACUUM ANALYZE deliveries")
    finally:
        await conn.close()


async def cluster_drain(
    ctx: RunContext, tpl: ClusterTemplate, workers: int, *, release: bool = False
) -> Drain:
    """Copy the template, start 1 API and ``workers`` workers, re-enable the endpoint, time
    the drain; the CPU (``/proc``) of the workers and of the database's backends from then to
    the last attempt recorded, per delivery. The deliveries wait pending (``_held_to_pending``)
    unless ``release``: then they are held, and the drain goes at the pace the release sets
    them pending, in steps that leave the database half its time (issue 19)."""
    db = f"hwbench_{os.getpid()}_w{workers}{'r' if release else ''}"
    await pg.create_db(db, template=tpl.db)
    if not release:
        await _held_to_pending(db)
    env = service_env(pg.db_url(db))
    tag = f"cluster-r{ctx.run_index}-w{workers}"
    procs: list[Proc] = []
    try:
        api_proc, base = start_server(ctx, "api", env, f"{tag}-api")
        procs.append(api_proc)
        async with Api(base, tpl.key, api_proc) as api:
            await api.wait_ready()
            before = await pg.backends(db)
            spawned = time.monotonic()
            procs += [start_worker(ctx, env, f"{tag}-{i}") for i in range(workers)]
            await pg.wait_backends(db, before + workers, timeout=30)
            if ctx.run_index == 0:
                ctx.notes.append(
                    f"{workers} worker(s) connected in {time.monotonic() - spawned:.1f}s"
                )
            for proc in procs:
                if not proc.alive():
                    raise Unavailable(f"{proc.name} exited: {proc.tail()}")
            ctx.sink.reset()
            watch = await pg.connect(db)
            try:
                return await _timed_drain(ctx, api, tpl, procs, watch)
            finally:
                await watch.close()
    finally:
        await asyncio.to_thread(stop_many, procs)
        await pg.drop_db(db)


async def run_cluster(ctx: RunContext) -> dict[str, float]:
    """Delivery rate with 1 API + 1, 2 and 4 workers on PostgreSQL."""
    tpl = await cluster_template(ctx)
    out: dict[str, float] = {}
    for n in sizes(ctx).cluster_workers:
        drain = await cluster_drain(ctx, tpl, n)
        out[f"w{n}"] = drain.rate
        if n == 1:
            out["cpu_worker_us"], out["cpu_postgres_us"] = drain.worker_us, drain.postgres_us
    released = await cluster_drain(ctx, tpl, 1, release=True)
    out["w1_release"] = released.rate
    out["cpu_worker_release_us"] = released.worker_us
    out["cpu_postgres_release_us"] = released.postgres_us
    out["scale_2"] = out["w2"] / out["w1"] if out.get("w1") else float("nan")
    out["ingest_rate"] = tpl.ingest_rates[ctx.run_index % len(tpl.ingest_rates)]
    return out


# --- 5. fan-out -----------------------------------------------------------------------------


async def run_fanout(ctx: RunContext) -> dict[str, float]:
    """Messages to 50 endpoints: deliveries/s of a burst, and one message reaching all 50."""
    sz = sizes(ctx)
    n_ep = sz.fanout_endpoints
    async with embedded(ctx, "fanout") as (api, app):
        for i in range(n_ep):
            await api.create_endpoint(app, ctx.sink.url(f"/rec/fan/{i}"))
        watched = [api.proc] if api.proc else []
        ctx.sink.reset()
        accepted, _ = await ingest(api, app, sz.fanout_messages, sz.ingest_timeout)
        total = accepted * n_ep
        await await_sink(ctx, "ok", total, sz.drain_timeout, watched)
        rate = drain_rate(ctx, total, float(ctx.sink.stats()["reset_at"]))
        singles = []
        for _ in range(5):  # one message alone, the system otherwise idle
            ctx.sink.reset()
            started = time.time()
            await ingest(api, app, 1, 10.0)
            if await await_sink(ctx, "ok", n_ep, 10.0, watched):
                singles.append((float(ctx.sink.stats()["last"]) - started) * 1000)
    return {"delivery_rate": rate, "one_message_ms": percentile(singles, 50)}


# --- 6. isolation ---------------------------------------------------------------------------


async def isolation_variant(ctx: RunContext, with_dead: bool) -> float:
    """Healthy deliveries/s for 10 healthy endpoints, with or without one that never answers."""
    sz = sizes(ctx)
    name = "isolation-dead" if with_dead else "isolation-clean"
    async with embedded(ctx, name) as (api, app):
        healthy = [
            await api.create_endpoint(app, ctx.sink.url(f"/iso/{i}"), timeout_seconds=10)
            for i in range(sz.isolation_healthy)
        ]
        dead = (
            [await api.create_endpoint(app, ctx.sink.url("/dead/iso"), timeout_seconds=10)]
            if with_dead
            else []
        )
        await api.set_status(app, healthy + dead, "paused")
        accepted, _ = await ingest(api, app, sz.isolation_messages, sz.ingest_timeout)
        total = accepted * len(healthy)
        ctx.sink.reset()
        released = time.time()
        await api.set_status(app, dead + healthy, "active")  # the dead one competes from the start
        await await_sink(ctx, "ok", total, sz.drain_timeout, [api.proc] if api.proc else [])
        if with_dead:
            ctx.notes.append(f"dead endpoint: {ctx.sink.stats()['dead']} attempts arrived")
        return drain_rate(ctx, total, released)


async def run_isolation(ctx: RunContext) -> dict[str, float]:
    """What a dead endpoint (10 s timeout) costs ten healthy ones.

    The two variants alternate which goes first from run to run, so a drift of the machine's
    load during a run does not always favour the same one.
    """
    rates: dict[bool, float] = {}
    for with_dead in (False, True) if ctx.run_index % 2 == 0 else (True, False):
        rates[with_dead] = await isolation_variant(ctx, with_dead=with_dead)
    clean, dead = rates[False], rates[True]
    return {"clean_rate": clean, "dead_rate": dead, "cost_pct": 100.0 * (1.0 - dead / clean)}


# --- 7. backlog -----------------------------------------------------------------------------


async def backlog_template(ctx: RunContext) -> str:
    """A PostgreSQL database with ``backlog_rows`` pending deliveries (built once per run)."""
    cached = ctx.cache.get("backlog_template")
    if isinstance(cached, str):
        return cached
    sz = sizes(ctx)
    name = f"hwbench_backlog_tpl_{os.getpid()}"
    async with template_api(ctx, name, "backlog") as (api, _key, app, ep):
        seed = await api.post_message(app, message_body())  # held: the seed stays undelivered
        await api.set_status(app, [ep], "active")
    seconds = await pg.seed_backlog(name, seed, sz.backlog_rows - 1)
    ctx.notes.append(f"{sz.backlog_rows:,} deliveries seeded in {seconds:.0f}s")
    ctx.cache["backlog_template"] = name
    return name


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


async def run_backlog(ctx: RunContext) -> dict[str, float]:
    """One worker drains a 1,000,000-delivery backlog for 60 s: RSS and claim latency."""
    sz = sizes(ctx)
    tpl = await backlog_template(ctx)
    db = f"hwbench_{os.getpid()}_backlog"
    await pg.create_db(db, template=tpl)
    env = service_env(pg.db_url(db))
    sampler = pg.ClaimSampler(db)
    rss: list[tuple[float, float]] = []
    worker: Proc | None = None
    try:
        ctx.sink.reset()
        worker = start_worker(ctx, env, f"backlog-r{ctx.run_index}-worker")
        sampler.start()
        t0 = time.time()
        while (elapsed := time.time() - t0) < sz.backlog_seconds:
            if not worker.alive():
                raise Unavailable(f"{worker.name} exited: {worker.tail()}")
            rss.append((elapsed, worker.rss_bytes() / MB))
            await asyncio.sleep(1.0)
        stats = ctx.sink.stats()
    finally:
        await sampler.stop()
        if worker is not None:
            await asyncio.to_thread(worker.stop)
        await pg.drop_db(db)
    third = sz.backlog_seconds / 3
    early = sampler.claim_ms(t0, t0 + third)
    late = sampler.claim_ms(t0 + 2 * third, t0 + sz.backlog_seconds + 5)
    if not sampler.count():
        ctx.notes.append("no claim statement (SKIP LOCKED) seen in pg_stat_activity")
    elif ctx.run_index == 0:
        ctx.notes.append(
            f"{sampler.count()} claim statements sampled, {len(sampler.samples)} distinct texts"
        )
    warm = [m for t, m in rss if t >= 10]
    return {
        "delivery_rate": int(stats["ok"]) / sz.backlog_seconds,
        "rss_max_mb": max((m for _, m in rss), default=float("nan")),
        "rss_growth_mb": _mean(warm[-10:]) - _mean(warm[:10]),
        "claim_p50_early_ms": early,
        "claim_p50_late_ms": late,
        "claim_growth": late / early if early > 0 else float("nan"),
    }


# --- 8. failure mix -------------------------------------------------------------------------


def retry_lateness(records: list[list[Any]], schedule: list[int]) -> list[float]:
    """Actual minus scheduled delay (ms) of every retry that followed a failed attempt.

    Attempts of one message are its arrivals in time order; the delay before retry k is
    ``schedule[k]`` after attempt k failed (measured from the failed attempt's arrival).
    """
    by_id: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for t, _path, wid, status in records:
        if wid is not None:
            by_id[wid].append((t, status))
    out = []
    for arrivals in by_id.values():
        arrivals.sort()
        for k in range(min(len(arrivals) - 1, len(schedule))):
            (t_fail, status), (t_next, _) = arrivals[k], arrivals[k + 1]
            if status != 200:
                out.append((t_next - t_fail - schedule[k]) * 1000)
    return out


async def run_failure_mix(ctx: RunContext) -> dict[str, float]:
    """Every 5th attempt answered 500: drain rate, then retry timing at half load."""
    sz = sizes(ctx)
    try:
        paced_rate = half_max_rate(ctx)
    except Unavailable:
        paced_rate = 200.0
        ctx.notes.append("paced phase at 200 msg/s (no embedded figures)")
    async with embedded(ctx, "failure") as (api, app):
        watched = [api.proc] if api.proc else []
        drain_ep = await api.create_endpoint(
            app, ctx.sink.url("/flaky/drain"), retry_schedule=RETRY_SCHEDULE
        )
        await api.set_status(app, [drain_ep], "paused")
        accepted, _ = await ingest(api, app, sz.failure_messages, sz.ingest_timeout)
        ctx.sink.reset()
        released = time.time()
        await api.set_status(app, [drain_ep], "active")
        # The first pass: the first `accepted` answers are each message's first attempt (no
        # retry is due before 1 s). Waiting for 90 % *successes* instead would time the 1 s
        # retry schedule, not hookwise.
        await await_sink(ctx, "requests", accepted, sz.drain_timeout, watched)
        attempt_rate, ok_rate = first_pass_rates(ctx, accepted, released)
        await api.set_status(app, [drain_ep], "paused")
        await api.create_endpoint(app, ctx.sink.url("/flaky/paced"), retry_schedule=RETRY_SCHEDULE)
        ctx.sink.reset()
        sent = await ingest_paced(api, app, paced_rate, sz.failure_paced_seconds)
        # Retries due within 1 + 2 + 4 s of the last message are waited for; rarer ones are not.
        await await_sink(ctx, "ok", len(sent), 12.0, watched)
        records = [r for r in ctx.sink.records() if r[1] == "/flaky/paced" and r[2] in sent]
    lateness = retry_lateness(records, RETRY_SCHEDULE)
    return {
        "attempt_rate": attempt_rate,
        "delivery_rate": ok_rate,
        "lateness_p50_ms": percentile(lateness, 50),
        "lateness_p99_ms": percentile(lateness, 99),
        "retries_timed": float(len(lateness)),
    }


# --- the registry -----------------------------------------------------------------------------

CEILING, CELERY = "ceiling.rate", "celery-prefork.rate"
BEAT_CELERY = Target(">=", "≥ 14x Celery prefork", relative_to=CELERY, factor=14.0)


#: Ingest → first attempt at half load, embedded and cluster alike (issues 6 and 18).
LATENCY_P99 = Target("<=", "≤ 25 ms", value=25)


def of_ceiling(share: float) -> Target:
    """At least ``share`` of the aiohttp ceiling of the same run (issue 18's targets)."""
    return Target(">=", f"≥ {share:.0%} of ceiling", relative_to=CEILING, factor=share)


register(
    Scenario(
        name="embedded",
        allowance=130,
        title="hookwise embedded (SQLite)",
        smoke=True,
        run=run_embedded,
        metrics=(
            Metric("ingest_rate", "API ingest, 64 clients", "msg/s",
                   (Target(">=", "≥ 3,000 msg/s", value=3000),)),
            Metric("delivery_rate", "delivery (drain)", "deliv/s",
                   (of_ceiling(1.0), BEAT_CELERY), rate=True),
            Metric("drain_s", "drain time", "s", digits=1),
            Metric("e2e_ingest_rate", "API ingest while delivering", "msg/s"),
            Metric("e2e_rate", "delivered meanwhile (end-to-end max)", "msg/s",
                   (of_ceiling(0.45),), rate=True),
            Metric("recorded_pct", "attempts in the API / arrivals", "%",
                   (Target(">=", "100 %", value=100),), digits=1),
            Metric("cpu_ingest_us", "serve CPU µs / message (ingest)", "µs"),
            Metric("cpu_drain_us", "serve CPU µs / delivery (drain)", "µs"),
            Metric("cpu_e2e_us", "serve CPU µs / message (end to end: ingested and delivered)",
                   "µs"),
        ),
    )
)  # fmt: skip
register(
    Scenario(
        name="latency",
        allowance=50,
        title="hookwise embedded: ingest → first attempt",
        run=run_latency,
        metrics=(
            Metric("offered_rate", "offered load (½ end-to-end max)", "msg/s"),
            Metric("p50_ms", "p50", "ms", digits=1),
            Metric("p99_ms", "p99", "ms", (LATENCY_P99,), digits=1),
        ),
    )
)  # fmt: skip
register(
    Scenario(
        name="cluster",
        allowance=170,
        prepare=cluster_template,
        title="hookwise cluster (PostgreSQL), 1 API + N workers",
        run=run_cluster,
        metrics=(
            Metric("ingest_rate", "API ingest, 64 clients", "msg/s",
                   (Target(">=", "≥ 90 % of embedded ingest", relative_to="embedded.ingest_rate",
                           factor=0.9),)),
            Metric("w1", "1 worker (6,000 pending)", "deliv/s", (of_ceiling(0.8), BEAT_CELERY),
                   rate=True),
            Metric("w2", "2 workers", "deliv/s", rate=True),
            Metric("w4", "4 workers", "deliv/s", rate=True),
            Metric("scale_2", "2 workers / 1 worker (sharing one endpoint's 64 slots)", "x",
                   (Target(">=", "≥ 1.7x", value=1.7),), digits=2),
            Metric("cpu_worker_us", "worker CPU µs / delivery (1 worker)", "µs",
                   (Target("<=", "≤ 100 µs", value=100),)),
            Metric("cpu_postgres_us", "PostgreSQL CPU µs / delivery (1 worker)", "µs",
                   (Target("<=", "≤ 90 µs", value=90),)),
            Metric("w1_release", "1 worker, the 6,000 held released (paced by the release)",
                   "deliv/s", rate=True),
            Metric("cpu_worker_release_us", "worker CPU µs / delivery (released, as above)",
                   "µs"),
            Metric("cpu_postgres_release_us",
                   "PostgreSQL CPU µs / delivery (released, as above)", "µs"),
        ),
    )
)  # fmt: skip
register(
    Scenario(
        name="fanout",
        allowance=60,
        title="hookwise fan-out: 1 message → 50 endpoints",
        run=run_fanout,
        metrics=(
            Metric("delivery_rate", "delivery", "deliv/s", rate=True),
            Metric("one_message_ms", "one message reaches all 50", "ms", digits=1),
        ),
    )
)  # fmt: skip
register(
    Scenario(
        name="isolation",
        allowance=90,
        title="hookwise isolation: 10 healthy + 1 dead (10 s timeout)",
        run=run_isolation,
        metrics=(
            Metric("clean_rate", "healthy, no dead endpoint", "deliv/s", rate=True),
            Metric("dead_rate", "healthy, with the dead endpoint", "deliv/s", rate=True),
            Metric("cost_pct", "cost of the dead endpoint", "%",
                   (Target("<=", "≤ 5 %", value=5),), digits=1),
        ),
    )
)  # fmt: skip
register(
    Scenario(
        name="backlog",
        allowance=235,
        prepare=backlog_template,
        title="hookwise backlog: 1,000,000 pending (PostgreSQL), 1 worker, 60 s",
        run=run_backlog,
        metrics=(
            Metric("delivery_rate", "delivery while draining", "deliv/s", (of_ceiling(0.6),),
                   rate=True),
            Metric("rss_max_mb", "worker RSS, max", "MB",
                   (Target("<=", "≤ 250 MB", value=250),)),
            Metric("rss_growth_mb", "worker RSS growth (10-20 s → last 10 s)", "MB",
                   (Target("<=", "flat (≤ 25 MB)", value=25),), digits=1),
            Metric("claim_p50_early_ms", "claim p50, first 20 s", "ms", digits=2),
            Metric("claim_p50_late_ms", "claim p50, last 20 s", "ms", digits=2),
            Metric("claim_growth", "claim latency late / early", "x",
                   (Target("<=", "flat (≤ 1.5x)", value=1.5),), digits=2),
        ),
    )
)  # fmt: skip
register(
    Scenario(
        name="failure-mix",
        allowance=100,
        title="hookwise failure mix: 20 % of attempts answered 500",
        run=run_failure_mix,
        metrics=(
            Metric("attempt_rate", "attempts (drain, first pass)", "req/s", rate=True),
            Metric("delivery_rate", "successful deliveries (same window)", "deliv/s", rate=True),
            Metric("lateness_p50_ms", "retry lateness p50 (½ load)", "ms", digits=1),
            Metric("lateness_p99_ms", "retry lateness p99 (½ load)", "ms",
                   (Target("<=", "≤ 250 ms", value=250),), digits=1),
            Metric("retries_timed", "retries timed", "n"),
        ),
    )
)  # fmt: skip
