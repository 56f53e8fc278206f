"""Issue 19's figures: a bulk change over 1,000,000 rows of app A while 64 clients post to app B.

``python -m bench.run --only bulk`` (embedded, SQLite) or ``--only bulk-pg`` (cluster:
``hookwise api`` + one ``hookwise worker`` on PostgreSQL). Not part of the default run: each
figure takes a few minutes. Three figures each:

- **release**: app A's endpoint is paused with 1,000,000 held deliveries; ``PATCH {"status":
  "active"}``;
- **recover**: app A's endpoint has 1,000,000 failed deliveries; ``POST …/recover`` since
  before the first;
- **prune**: 1,000,000 old messages, each delivered once (its attempt and delivery); ``hookwise
  prune --older-than 30d`` runs as its own process.

Set-up: hookwise writes one row of each kind through its API (a message to the paused endpoint,
delivered once for prune); the service is stopped and the row is cloned in SQL (``bench.clone``)
into the file or database; the service starts again. Then B's 64 clients post for
``before_s``, the change starts, and they go on posting until it is done (at most
``during_s``); the service's memory is sampled from ``/proc`` throughout, and for ``drain_s``
more while A's backlog drains.

Reported: B's ingest p50 / p99 before and during the change; the change's rate (rows/s: the
operation's ``done`` over its time, or the rows prune printed over its run); how long the call
took to answer; the RSS of ``serve`` (embedded) or of the worker (cluster): before the change,
peak, end (the last 5 s), and at the peak how much was anonymous memory (heap) and how much
mapped files.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench import clone, pg
from bench import hookwise_service as hw
from bench.measure import IN_FLIGHT, percentile
from bench.processes import Proc, stop_many
from bench.registry import Metric, RunContext, Scenario, Target, Unavailable, register

MB = 1024 * 1024
DAY = 86400.0


@dataclass(frozen=True)
class BulkSizes:
    """How big and how long (``BENCH_BULK_ROWS`` / ``BENCH_BULK_DRAIN_S`` to iterate faster or
    watch a whole drain)."""

    rows: int = int(os.environ.get("BENCH_BULK_ROWS", "1000000"))
    before_s: float = 6.0
    during_s: float = float(os.environ.get("BENCH_BULK_DURING_S", "150"))  # the change at most
    drain_s: float = float(os.environ.get("BENCH_BULK_DRAIN_S", "30"))
    sample_s: float = 0.5


# --- measuring --------------------------------------------------------------------------------


class Load:
    """64 clients posting to one app until stopped: each request's start and duration."""

    def __init__(self, api: hw.Api, app: str, limit_s: float) -> None:
        self.api, self.app = api, app
        self.samples: list[tuple[float, float]] = []
        self._stop = asyncio.Event()
        self._hard_stop = time.monotonic() + limit_s
        self._tasks: list[asyncio.Task[None]] = []

    async def _client(self) -> None:
        body = hw.message_body()
        while not self._stop.is_set() and time.monotonic() < self._hard_stop:
            started = time.monotonic()
            await self.api.post_message(self.app, body)
            self.samples.append((started, time.monotonic() - started))

    def start(self) -> None:
        """Start the clients."""
        self._tasks = [asyncio.create_task(self._client()) for _ in range(IN_FLIGHT)]

    async def stop(self) -> None:
        """Stop the clients; a client's failure is raised here."""
        self._stop.set()
        await asyncio.gather(*self._tasks)

    def ms(self, since: float, until: float) -> list[float]:
        """Durations (ms) of the requests that started in ``[since, until)``."""
        return [d * 1000 for t, d in self.samples if since <= t < until]


@dataclass
class Memory:
    """``/proc`` memory of one process, sampled in the background: (time, VmRSS, RssAnon,
    RssFile) in MB."""

    proc: Proc
    interval: float
    samples: list[tuple[float, float, float, float]] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            m = self.proc.memory()
            if m:
                self.samples.append(
                    (time.monotonic(), m["VmRSS"] / MB, m["RssAnon"] / MB, m["RssFile"] / MB)
                )
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        """Start sampling."""
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop sampling."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def figures(self, since: float) -> dict[str, float]:
        """RSS before ``since`` and, from then on, peak (with its anon/file parts) and end."""
        before = [s for s in self.samples if s[0] < since][-4:]
        after = [s for s in self.samples if s[0] >= since]
        if not after:
            raise Unavailable(f"no memory samples of {self.proc.name}")
        peak = max(after, key=lambda s: s[1])
        end = [s[1] for s in after if s[0] >= after[-1][0] - 5.0]
        start = sum(s[1] for s in before) / len(before) if before else after[0][1]
        return {
            "rss_start_mb": start,
            "rss_peak_mb": peak[1],
            "rss_end_mb": sum(end) / len(end),
            "rss_anon_mb": peak[2],
            "rss_file_mb": peak[3],
        }


# --- the service ------------------------------------------------------------------------------


@dataclass
class Service:
    """A running hookwise: the process serving the API and the one delivering (the same one
    when embedded), measured by ``memory``."""

    procs: list[Proc]
    api: hw.Api
    worker: Proc


@dataclass(frozen=True)
class Site:
    """Where a figure runs: embedded on a SQLite file, or cluster on a PostgreSQL database."""

    cluster: bool
    env: dict[str, str]
    db: str  # the SQLite path, or the PostgreSQL database's name

    @property
    def label(self) -> str:
        return "cluster" if self.cluster else "embedded"


@contextlib.asynccontextmanager
async def service(ctx: RunContext, site: Site, key: str, tag: str) -> AsyncIterator[Service]:
    """``hookwise serve``, or ``hookwise api`` + one ``hookwise worker``, ready; stopped on
    exit."""
    name = f"bulk-{site.label}-{tag}-r{ctx.run_index}"
    procs: list[Proc] = []
    try:
        server, base = hw.start_server(ctx, "api" if site.cluster else "serve", site.env, name)
        procs.append(server)
        worker = server
        if site.cluster:
            worker = hw.start_worker(ctx, site.env, f"{name}-worker")
            procs.append(worker)
        async with hw.Api(base, key, server) as api:
            await api.wait_ready(timeout=120)
            yield Service(procs, api, worker)
    finally:
        await asyncio.to_thread(stop_many, procs)


@dataclass(frozen=True)
class Setup:
    """What the API wrote before the clone: A's endpoint and its one message, B's app."""

    key: str
    app_a: str
    ep_a: str
    seed: str
    app_b: str


async def set_up(ctx: RunContext, site: Site, figure: str) -> Setup:
    """Apps A and B through the API, A's endpoint paused and one message held for it (for
    prune, delivered); then the service stops, so the clone has the database to itself."""
    key = await asyncio.to_thread(hw.create_admin_key, ctx, site.env)
    async with service(ctx, site, key, f"{figure}-setup") as svc:
        api = svc.api
        await api.ensure_event_type()
        app_a, app_b = await api.create_app("bulk-a"), await api.create_app("bulk-b")
        ep_a = await api.create_endpoint(app_a, ctx.sink.url(f"/hw/bulk-a-{figure}"))
        await api.create_endpoint(app_b, ctx.sink.url(f"/hw/bulk-b-{figure}"))
        await api.set_status(app_a, [ep_a], "paused")
        seed = await api.post_message(app_a, hw.message_body())
        if figure == "prune":
            await api.set_status(app_a, [ep_a], "active")
            await _until_attempted(api, app_a, seed)
    return Setup(key, app_a, ep_a, seed, app_b)


async def _until_attempted(api: hw.Api, app: str, message: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = await api.call("GET", f"/v1/apps/{app}/attempts?message_id={message}")
        if page["data"]:
            return
        await asyncio.sleep(0.1)
    raise Unavailable(f"the seed message {message} was not attempted in {timeout:.0f}s")


def clones(series: clone.Series, figure: str, now: float) -> list[clone.Clone]:
    """The rows each figure needs, cloned from the seed message (``g`` microseconds apart)."""
    if figure == "prune":
        old = f"{now - 40 * DAY} + g * 1e-6"
        done = {"attempt_count": "1", "next_attempt_at": "NULL", "last_attempt_at": old,
                "last_status_code": "200"}  # fmt: skip
        return [
            clone.Clone("messages", "id", clone.message_overrides(series, old)),
            clone.Clone(
                "deliveries",
                "message_id",
                clone.delivery_overrides(series, "succeeded", old, **done),
            ),
            clone.Clone("attempts", "message_id", clone.attempt_overrides(series, old)),
        ]
    at = f"{now - 3600} + g * 1e-6"
    more = {}
    if figure == "recover":
        more = {"attempt_count": "6", "next_attempt_at": "NULL", "last_attempt_at": at,
                "last_status_code": "500"}  # fmt: skip
    status = "failed" if figure == "recover" else "held"
    deliveries = clone.delivery_overrides(series, status, at, **more)
    return [
        clone.Clone("messages", "id", clone.message_overrides(series, at)),
        clone.Clone("deliveries", "message_id", deliveries),
    ]


def seed_sqlite(path: str, rows: list[clone.Clone], key: str, n: int) -> float:
    """Run the clones ``n`` times each in the SQLite file at ``path`` (no one else has it open);
    seconds taken."""
    start = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")
        conn.execute("BEGIN IMMEDIATE")
        for c in rows:
            cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{c.table}")')]
            conn.execute(clone.clone_sql(clone.SQLITE, c, cols), (key, n))
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return time.perf_counter() - start


async def site_for(ctx: RunContext, cluster: bool, figure: str) -> Site:
    """A fresh SQLite file, or a fresh PostgreSQL database dropped at the end of the run."""
    if not cluster:
        hw.probe(ctx)
        data = Path(tempfile.mkdtemp(prefix=f"bulk-{figure}-", dir=ctx.work_dir))
        path = str(data / "hw.db")
        ctx.cleanups.append(lambda: asyncio.to_thread(shutil.rmtree, data, True))
        return Site(False, hw.service_env(f"sqlite:///{path}"), path)
    name = f"hwbench_bulk_{figure}_{os.getpid()}"
    await pg.create_db(name)
    ctx.cleanups.append(lambda: pg.drop_db(name))
    site = Site(True, hw.service_env(pg.db_url(name)), name)
    await asyncio.to_thread(hw.run_cli, ctx, ["migrate"], site.env)
    return site


# --- the figures ------------------------------------------------------------------------------

Progress = Callable[[], Awaitable[tuple[bool, float]]]  # (finished, rows done so far)


@dataclass(frozen=True)
class Started:
    """A bulk change under way: how long its call took to answer (None: it answers when done,
    as ``hookwise prune``), and how to follow it."""

    answer_s: float | None
    progress: Progress


Change = Callable[[RunContext, Site, Service, Setup], Awaitable[Started]]


async def measure(
    ctx: RunContext, site: Site, setup: Setup, figure: str, change: Change
) -> dict[str, float]:
    """B's clients post; after ``before_s`` the change starts; until it is done (or
    ``during_s``) they go on; memory is sampled throughout and ``drain_s`` beyond."""
    sz = BulkSizes()
    async with service(ctx, site, setup.key, figure) as svc:
        memory = Memory(svc.worker, sz.sample_s)
        memory.start()
        load = Load(svc.api, setup.app_b, sz.before_s + sz.during_s + 30)
        try:
            load.start()
            await asyncio.sleep(sz.before_s)
            t0 = time.monotonic()
            started = await change(ctx, site, svc, setup)
            finished, done = await _follow(svc, started.progress, t0 + sz.during_s)
            t1 = time.monotonic()
            await load.stop()
            if not finished:
                ctx.notes.append(f"{figure}: {done:,.0f} rows in {sz.during_s:.0f}s, unfinished")
            await asyncio.sleep(sz.drain_s)
        finally:
            await load.stop()
            await memory.stop()
    before, during = load.ms(t0 - sz.before_s + 1.0, t0), load.ms(t0, t1)
    p99_before, p99_during = percentile(before, 99), percentile(during, 99)
    ctx.notes.append(
        f"{site.label} {figure}: {len(before)} requests of B before, {len(during)} during "
        f"({t1 - t0:.1f}s), worst during {max(during, default=float('nan')):,.0f} ms"
    )
    return {
        "p50_before_ms": percentile(before, 50),
        "p99_before_ms": p99_before,
        "p50_during_ms": percentile(during, 50),
        "p99_during_ms": p99_during,
        "p99_ratio": p99_during / p99_before,
        "rate": done / max(1e-9, t1 - t0),
        "answer_ms": (t1 - t0 if started.answer_s is None else started.answer_s) * 1000,
        **memory.figures(t0),
    }


async def _follow(svc: Service, progress: Progress, deadline: float) -> tuple[bool, float]:
    finished, done = False, 0.0
    while time.monotonic() < deadline:
        finished, done = await progress()
        if finished:
            break
        for proc in svc.procs:
            if not proc.alive():
                raise Unavailable(f"{proc.name} exited: {proc.tail()}")
        await asyncio.sleep(0.25)
    return finished, done


_RELEASE = (
    "SELECT status, done FROM operations WHERE app_id = $1 AND endpoint_id = $2"
    " AND kind = 'release' ORDER BY created_at DESC LIMIT 1"
)


async def read_row(site: Site, sql: str, *args: object) -> tuple[object, ...] | None:
    """One row of a query on the site's database, read from outside the service."""
    if site.cluster:
        conn = await pg.connect(site.db)
        try:
            row = await conn.fetchrow(sql, *args)
            return None if row is None else tuple(row)
        finally:
            await conn.close()

    def read() -> tuple[object, ...] | None:
        with contextlib.closing(sqlite3.connect(f"file:{site.db}?mode=ro", uri=True)) as c:
            row = c.execute(sql.replace("$", "?"), args).fetchone()
            return None if row is None else tuple(row)

    return await asyncio.to_thread(read)


async def release(ctx: RunContext, site: Site, svc: Service, s: Setup) -> Started:
    """``PATCH {"status": "active"}``; progress: the release operation's row (the API shows
    none), read from the database."""
    started = time.perf_counter()
    await svc.api.set_status(s.app_a, [s.ep_a], "active")
    answer = time.perf_counter() - started

    async def progress() -> tuple[bool, float]:
        row = await read_row(site, _RELEASE, s.app_a, s.ep_a)
        if row is None:  # released inline, all of it
            return True, float(BulkSizes().rows)
        return row[0] != "running", float(str(row[1]))

    return Started(answer, progress)


async def recover(ctx: RunContext, site: Site, svc: Service, s: Setup) -> Started:
    """``POST …/recover`` since two hours ago; progress: ``GET …/operations/{id}``."""
    since = datetime.fromtimestamp(time.time() - 2 * 3600, UTC).isoformat()
    path = f"/v1/apps/{s.app_a}/endpoints/{s.ep_a}/recover"
    started = time.perf_counter()
    op = await svc.api.call("POST", path, {"since": since})
    answer = time.perf_counter() - started

    async def progress() -> tuple[bool, float]:
        now = await svc.api.call("GET", f"/v1/apps/{s.app_a}/operations/{op['id']}")
        return now["status"] != "running", float(now["done"])

    return Started(answer, progress)


async def prune(ctx: RunContext, site: Site, svc: Service, s: Setup) -> Started:
    """``hookwise prune --older-than 30d`` as its own process; its answer comes when it is
    done, with the rows it deleted (attempts and messages: deliveries go with their
    message)."""
    exe = hw.probe(ctx)
    proc = Proc(
        f"bulk-{site.label}-prune-r{ctx.run_index}-cli",
        [str(exe), "prune", "--older-than", "30d"],
        env=site.env,
        log_path=ctx.log_dir / f"bulk-{site.label}-prune-cli.log",
        capture_stdout=True,
    )
    ctx.cleanups.append(lambda: asyncio.to_thread(proc.stop))

    async def progress() -> tuple[bool, float]:
        if proc.alive():
            return False, 0.0
        line: str | None = None
        for _ in range(50):  # its last line: "pruned 1,999,998 rows older than 30d"
            line = await asyncio.to_thread(proc.readline, 1.0)
            if line is None or line.startswith("pruned "):
                break
        words = (line or "").split()
        count = words[1].replace(",", "") if len(words) > 1 else ""
        if proc.popen.returncode != 0 or not count.isdigit():
            raise Unavailable(f"hookwise prune: {line or proc.tail()}")
        return True, float(count)

    return Started(None, progress)


FIGURES: dict[str, Change] = {"release": release, "recover": recover, "prune": prune}


def figure_run(figure: str, cluster: bool) -> Callable[[RunContext], Awaitable[dict[str, float]]]:
    """The ``run`` of one figure: set up, clone, measure."""

    async def run(ctx: RunContext) -> dict[str, float]:
        sz = BulkSizes()
        site = await site_for(ctx, cluster, figure)
        setup = await set_up(ctx, site, figure)
        now = time.time()
        if cluster:
            seconds = await pg.seed(site.db, clones(clone.PG, figure, now), setup.seed, sz.rows - 1)
        else:
            rows = clones(clone.SQLITE, figure, now)
            seconds = await asyncio.to_thread(seed_sqlite, site.db, rows, setup.seed, sz.rows - 1)
        ctx.notes.append(f"{site.label} {figure}: {sz.rows:,} rows cloned in {seconds:.0f}s")
        return await measure(ctx, site, setup, figure, FIGURES[figure])

    return run


def metrics(process: str, rate: str, answer: str) -> tuple[Metric, ...]:
    """The rows of one figure."""
    flat = Target("<=", "≤ 250 MB", value=250)
    return (
        Metric("p50_before_ms", "B ingest p50, before", "ms", digits=1),
        Metric("p99_before_ms", "B ingest p99, before", "ms", digits=1),
        Metric("p50_during_ms", "B ingest p50, during", "ms", digits=1),
        Metric("p99_during_ms", "B ingest p99, during", "ms", digits=1),
        Metric("p99_ratio", "p99 during / before", "x", (Target("<=", "≤ 2x", value=2),), digits=2),
        Metric("rate", rate, "rows/s"),
        Metric("answer_ms", answer, "ms"),
        Metric("rss_start_mb", f"{process} RSS before", "MB"),
        Metric("rss_peak_mb", f"{process} RSS peak", "MB", (flat,)),
        Metric("rss_end_mb", f"{process} RSS end (last 5 s)", "MB", (flat,)),
        Metric("rss_anon_mb", "  of the peak: anonymous (heap)", "MB"),
        Metric("rss_file_mb", "  of the peak: mapped files", "MB"),
    )  # fmt: skip


_ANSWERS = {"release": "PATCH answered in", "recover": "POST recover answered in",
            "prune": "prune command took (answers when done)"}  # fmt: skip
_RATES = {"release": "release rate", "recover": "recover rate",
          "prune": "prune rate (rows it printed)"}  # fmt: skip

for _cluster in (False, True):
    for _figure in FIGURES:
        _where = "cluster (PostgreSQL)" if _cluster else "embedded (SQLite)"
        register(
            Scenario(
                name=f"bulk-{_figure}" + ("-pg" if _cluster else ""),
                group="bulk-pg" if _cluster else "bulk",
                on_demand=True,
                runs=1,
                allowance=600,
                title=f"hookwise bulk {_figure}, {BulkSizes().rows:,} rows, {_where}, B posting",
                run=figure_run(_figure, _cluster),
                metrics=metrics(
                    "worker" if _cluster else "serve", _RATES[_figure], _ANSWERS[_figure]
                ),
            )
        )
