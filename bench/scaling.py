"""Issue 18's scaling model, checked on this machine with the whole path pinned by ``taskset``.

``python -m bench.scaling`` makes a throwaway PostgreSQL server (``bench.pg_server``), a
template database of held deliveries (the cluster figure's, ``bench.hookwise_scenarios``), and
then, for 1 core (CPU 0) and 2 cores (CPUs 0,1) in turn, pins itself to those CPUs and
(re)starts the server, the sink, ``hookwise api`` and ``hookwise worker`` from there, so that
each inherits the affinity: nothing of the path runs elsewhere. Per configuration:

- *drain*: a copy of the template, 1 API + 1 worker (and 2 workers on 2 cores), released; the
  rate between 10 % and 90 % of the arrivals at the sink, and in the same window the CPU
  (``/proc``, ``bench.cpu``) of every process: worker(s), API, PostgreSQL (the postmaster and
  every process it forked: backends, WAL writer, checkpointer, autovacuum), the sink, and this
  harness (its polling);
- *ingest*: 64 clients post to the API (endpoint paused); messages/s and the CPU of the API,
  PostgreSQL and the harness (the clients) per message;
- *end to end*: the same clients post to an active endpoint with 1 worker running; what
  arrives at the sink meanwhile, per second.

Each is compared with ``bench.scaling_model.predict``: N / the sum of the CPU per unit of every
process measured (end to end: the ingest and drain costs added, both measured apart), and the
cores' time is split from ``/proc/stat`` into the path's, other processes', idle and stolen.
Then the figures for 8 and 32 cores. Configurations alternate from round to round.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import uvloop

from bench import pg, scaling_model
from bench.cpu import CpuMeter
from bench.hookwise_scenarios import (
    ClusterTemplate,
    await_recorded,
    await_sink,
    cluster_template,
)
from bench.hookwise_service import Api, ingest, service_env, start_server, start_worker
from bench.measure import crossing
from bench.pg_server import PgServer, system_settings
from bench.processes import REPO_ROOT, Proc, stop_all, stop_many
from bench.registry import RunContext, Unavailable
from bench.sink_client import SinkHandle

CONFIGS = {1: {0}, 2: {0, 1}}
TICK = float(os.sysconf("SC_CLK_TCK"))
RESULTS = REPO_ROOT / "bench" / "results" / "scaling.json"
ROLES = ("worker", "api", "postgres", "sink", "harness")
SHARE_FIELDS = [f.name for f in fields(scaling_model.Shares)]


def pin(pid: int, cpus: set[int]) -> None:
    """Pin every thread of ``pid`` to ``cpus`` (children it starts later inherit it)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(int(tid), cpus)


def check_pinned(pids: Iterable[int], cpus: set[int]) -> None:
    """Raise unless every thread of every one of ``pids`` (still running) runs on ``cpus``."""
    for pid in pids:
        with contextlib.suppress(OSError):  # gone meanwhile (a backend that ended)
            for tid in os.listdir(f"/proc/{pid}/task"):
                got = os.sched_getaffinity(int(tid))
                if got != cpus:
                    raise RuntimeError(f"pid {pid} (thread {tid}) runs on {got}, not {cpus}")


def core_ticks(cpus: Iterable[int]) -> dict[str, float]:
    """``/proc/stat`` ticks of ``cpus`` summed: total, idle (+ iowait), steal."""
    wanted = {f"cpu{c}" for c in cpus}
    out = {"total": 0.0, "idle": 0.0, "iowait": 0.0, "steal": 0.0}
    with open("/proc/stat") as f:
        for line in f:
            name, *fields = line.split()
            if name in wanted:
                v = [float(x) for x in fields[:8]]
                out["total"] += sum(v)
                out["idle"] += v[3] + v[4]
                out["iowait"] += v[4]
                out["steal"] += v[7]
    return out


@dataclass
class Series:
    """Cumulative CPU seconds per role and the cores' ticks, sampled over time."""

    times: list[float] = field(default_factory=list)
    cpu: list[dict[str, float]] = field(default_factory=list)
    ticks: list[dict[str, float]] = field(default_factory=list)

    def at(self, t: float) -> tuple[dict[str, float], dict[str, float]]:
        """Both readings at ``t``, interpolated between the samples around it."""
        i = next((k for k, s in enumerate(self.times) if s >= t), len(self.times) - 1)
        if i == 0 or self.times[i] <= t:
            return self.cpu[i], self.ticks[i]
        t0, t1 = self.times[i - 1], self.times[i]
        w = (t - t0) / (t1 - t0)

        def mix(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
            return {k: a[k] + (b[k] - a[k]) * w for k in b}

        return mix(self.cpu[i - 1], self.cpu[i]), mix(self.ticks[i - 1], self.ticks[i])

    def between(self, a: float, b: float) -> tuple[dict[str, float], dict[str, float]]:
        """CPU seconds per role and the cores' ticks spent between ``a`` and ``b``."""
        (cpu_a, ticks_a), (cpu_b, ticks_b) = self.at(a), self.at(b)
        return (
            {k: cpu_b[k] - cpu_a.get(k, 0.0) for k in cpu_b},
            {k: ticks_b[k] - ticks_a[k] for k in ticks_b},
        )


@contextlib.asynccontextmanager
async def metered(
    roles: dict[str, Callable[[], Iterable[int]]], cpus: set[int], every: float = 0.1
) -> AsyncIterator[Series]:
    """Sample the CPU of each role's processes (``roles``: how to find their pids now) and
    the ticks of ``cpus`` every ``every`` s while the block runs."""
    meters = {role: CpuMeter() for role in roles}
    series = Series()

    def sample(first: bool) -> None:
        for role, pids in roles.items():
            meters[role].sample(pids(), new_from_zero=not first)
        series.times.append(time.time())
        series.cpu.append({role: m.seconds() for role, m in meters.items()})
        series.ticks.append(core_ticks(cpus))

    async def loop() -> None:
        while True:
            await asyncio.sleep(every)
            sample(False)

    sample(True)
    task = asyncio.create_task(loop())
    try:
        yield series
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sample(False)


@dataclass
class Figure:
    """One measured rate, the CPU per unit of each role in its window, and the cores' shares."""

    name: str
    cores: int
    rate: float
    costs: dict[str, float]  # µs per unit
    shares: scaling_model.Shares

    def row(self) -> dict[str, Any]:
        return {**asdict(self), "shares": asdict(self.shares)}


def figure(name: str, cores: int, series: Series, a: float, b: float, units: float) -> Figure:
    """The figure of ``units`` done between ``a`` and ``b``."""
    cpu, ticks = series.between(a, b)
    costs = {role: s * 1e6 / units for role, s in cpu.items()}
    shares = scaling_model.Shares.of(sum(cpu.values()), ticks, TICK)
    return Figure(name, cores, units / (b - a), costs, shares)


@dataclass
class Bench:
    """What every measurement shares: the server, the template, the sink, the run context."""

    server: PgServer
    tpl: ClusterTemplate
    ctx: RunContext
    sink: SinkHandle
    cores: int
    cpus: set[int]
    seq: int = 0

    def roles(self, api: Proc, workers: list[Proc]) -> dict[str, Callable[[], Iterable[int]]]:
        sink = self.sink.proc
        return {
            "worker": lambda: [w.pid for w in workers],
            "api": lambda: [api.pid],
            "postgres": self.server.pids,
            "sink": lambda: [sink.pid] if sink else [],
            "harness": lambda: [os.getpid()],
        }

    async def copy(self) -> tuple[str, dict[str, str]]:
        self.seq += 1
        db = f"scaling_{self.cores}c_{self.seq}"
        await pg.create_db(db, template=self.tpl.db)
        return db, service_env(pg.db_url(db))

    async def start(self, env: dict[str, str], db: str, workers: int) -> tuple[Api, list[Proc]]:
        tag = f"scaling-{self.cores}c-{self.seq}"
        api_proc, base = start_server(self.ctx, "api", env, f"{tag}-api")
        procs = [api_proc]
        api = Api(base, self.tpl.key, api_proc)
        try:
            await api.wait_ready()
            before = await pg.backends(db)
            procs += [start_worker(self.ctx, env, f"{tag}-w{i}") for i in range(workers)]
            if workers:
                await pg.wait_backends(db, before + workers, timeout=30)
            for proc in procs:
                if not proc.alive():
                    raise Unavailable(f"{proc.name} exited: {proc.tail()}")
            check_pinned([p.pid for p in procs] + sorted(self.server.pids()), self.cpus)
        except BaseException:
            await api.close()
            await asyncio.to_thread(stop_many, procs)
            raise
        return api, procs

    async def drain(self, workers: int) -> Figure:
        """Release the template's held deliveries to ``workers`` workers; the 10-90 % window."""
        db, env = await self.copy()
        api, procs = await self.start(env, db, workers)
        total = self.tpl.messages
        try:
            self.sink.reset()
            async with metered(self.roles(procs[0], procs[1:]), self.cpus) as series:
                await api.set_status(self.tpl.app, [self.tpl.endpoint], "active")
                if not await await_sink(self.ctx, "ok", total, 60.0, procs):
                    raise Unavailable(f"drain of {total} not done in 60 s")
            timeline = self.sink.timeline()
            a, b = crossing(timeline, total * 0.1, 2), crossing(timeline, total * 0.9, 2)
            if a is None or b is None or b <= a:
                raise Unavailable("no 10-90 % window in the sink's timeline")
            watch = await pg.connect(db)
            try:
                await await_recorded(watch, 10.0)
            finally:
                await watch.close()
            return figure(f"drain, {workers} worker(s)", self.cores, series, a, b, total * 0.8)
        finally:
            await api.close()
            await asyncio.to_thread(stop_many, procs)
            await pg.drop_db(db)

    async def ingest_and_e2e(self, messages: int, seconds: float) -> tuple[Figure, Figure]:
        """Ingest ``messages`` (endpoint paused), then end to end for ``seconds`` with 1 worker."""
        db, env = await self.copy()
        api, procs = await self.start(env, db, 0)
        try:
            async with metered(self.roles(procs[0], []), self.cpus) as series:
                t0 = time.time()
                accepted, _ = await ingest(api, self.tpl.app, messages, 30.0)
                t1 = time.time()
            ing = figure("ingest", self.cores, series, t0, t1, accepted)
            app = await api.create_app("scaling-e2e")
            await api.create_endpoint(app, self.sink.url("/hw/e2e"))
            before = await pg.backends(db)
            procs.append(start_worker(self.ctx, env, f"scaling-{self.cores}c-{self.seq}-e2e"))
            await pg.wait_backends(db, before + 1, timeout=30)
            self.sink.reset()
            async with metered(self.roles(procs[0], procs[1:]), self.cpus) as series:
                t0 = time.time()
                posted, _ = await ingest(api, app, 10**7, seconds)
                t1 = time.time()
                delivered = int(self.sink.stats()["ok"])
            e2e = figure("end to end", self.cores, series, t0, t1, min(posted, delivered))
            await await_sink(self.ctx, "ok", posted, 60.0, procs)
            return ing, e2e
        finally:
            await api.close()
            await asyncio.to_thread(stop_many, procs)
            await pg.drop_db(db)


async def measure_config(
    server: PgServer, tpl: ClusterTemplate, ctx: RunContext, cores: int, args: argparse.Namespace
) -> list[Figure]:
    """Every figure on ``cores`` cores: pin this process and the sink, restart the server
    under the pin (its processes inherit it, as do the API and workers started then)."""
    cpus = CONFIGS[cores]
    sink = ctx.sink
    pin(os.getpid(), cpus)
    if sink.proc is not None:  # one sink for the run (the template's endpoint points at it)
        pin(sink.proc.pid, cpus)
    try:
        await asyncio.to_thread(server.stop)
        await asyncio.to_thread(server.start)
        bench = Bench(server, tpl, ctx, sink, cores, cpus)
        check_pinned([sink.proc.pid] if sink.proc else [], cpus)
        out = [await bench.drain(1)]
        if cores > 1:
            out.append(await bench.drain(2))
        out += list(await bench.ingest_and_e2e(args.messages, args.e2e_seconds))
        return out
    finally:
        pin(os.getpid(), set(range(os.cpu_count() or 1)))


def median_figure(figs: list[Figure]) -> Figure:
    """Median rate, median cost per role, median shares of several runs of one figure."""

    def med(values: Iterable[float]) -> float:
        return statistics.median(list(values))

    shares = scaling_model.Shares(*(med(getattr(f.shares, k) for f in figs) for k in SHARE_FIELDS))
    costs = {r: med(f.costs[r] for f in figs) for r in figs[0].costs}
    return Figure(figs[0].name, figs[0].cores, med(f.rate for f in figs), costs, shares)


# --- the report ------------------------------------------------------------------------------

LOCAL = ("worker", "api", "postgres", "sink")  # the harness (clients, polling) is left out
UNITS = {"drain": "deliveries/s", "ingest": "messages/s", "end to end": "messages/s"}


def _costs_text(costs: dict[str, float]) -> str:
    parts = [f"{r} {costs[r]:.0f}" for r in ROLES if costs.get(r, 0.0) >= 0.5]
    return ", ".join(parts) + f" = {sum(costs.values()):.0f} µs"


def check_lines(fig: Figure, predicted_costs: dict[str, float] | None = None) -> list[str]:
    """The check of one figure: measured, predicted, error, and where the cores' time went."""
    costs = predicted_costs or fig.costs
    pred = scaling_model.predict(fig.cores, costs)
    quiet = scaling_model.quiet_rate(fig.cores, costs, fig.shares.idle)
    busy = scaling_model.busy_rate(fig.cores, costs, fig.shares)
    err = scaling_model.error_pct(pred, fig.rate)
    err_quiet = scaling_model.error_pct(quiet, fig.rate)
    err_busy = scaling_model.error_pct(busy, fig.rate)
    sh = fig.shares
    verdict = "✓" if abs(err) <= 15 else "✗"
    return [
        f"{fig.name} on {fig.cores} core(s): measured {fig.rate:,.0f}, "
        f"predicted {pred:,.0f} ({err:+.1f} % {verdict} within 15 %)",
        f"    CPU per unit: {_costs_text(costs)}",
        f"    cores: path {sh.path:.0%}, other processes {sh.others:.0%}, idle {sh.idle:.0%} "
        f"(iowait {sh.iowait:.0%}), stolen {sh.steal:.0%}",
        f"    with the idle share: {quiet:,.0f} ({err_quiet:+.1f} %); "
        f"on the path's share: {busy:,.0f} ({err_busy:+.1f} %)",
    ]


def scale_lines(drain: Figure, ing: Figure, e2e_fig: Figure) -> list[str]:
    """The figures for 8 and 32 cores from the per-unit costs measured on ``drain.cores``
    (end to end: its own costs, measured with ingest and delivery at once)."""
    d = {r: drain.costs[r] for r in LOCAL}
    e2e = {r: e2e_fig.costs[r] for r in LOCAL}
    one_worker = scaling_model.process_bound(d["worker"])
    one_api = scaling_model.process_bound(ing.costs["api"])
    lines = [
        f"from the costs on {drain.cores} cores: delivery {_costs_text(d)}; "
        f"end to end {_costs_text(e2e)} per message",
        f"one worker process <= {one_worker:,.0f} deliveries/s (draining), "
        f"{scaling_model.process_bound(e2e['worker']):,.0f} (end to end); one API process <= "
        f"{one_api:,.0f} messages/s (ingest), {scaling_model.process_bound(e2e['api']):,.0f} "
        "(end to end)",
    ]
    for cores in (8, 32):
        dl = scaling_model.scale_out(cores, d, "sink", ["worker"])
        ee = scaling_model.scale_out(cores, e2e, "sink", ["worker", "api"])
        lines += [
            f"{cores} cores: drain {dl.rate:,.0f} deliveries/s with the sink on them, "
            f"{dl.rate_without:,.0f} without ({dl.processes['worker']} worker processes, "
            f"PostgreSQL {dl.cores_by_role['postgres']:.1f} cores); end to end {ee.rate:,.0f} / "
            f"{ee.rate_without:,.0f} messages/s ({ee.processes['worker']} worker and "
            f"{ee.processes['api']} API processes, PostgreSQL {ee.cores_by_role['postgres']:.1f} "
            "cores)",
        ]
    lines.append(saturation_line(e2e))
    return lines


def saturation_line(e2e: dict[str, float]) -> str:
    """What saturates first end to end: with one API and one worker process, the one whose
    single process bounds the rate lower; with processes added, PostgreSQL, the one server."""
    bounds = sorted(
        (scaling_model.process_bound(e2e[role]), name)
        for role, name in (("api", "the API"), ("worker", "the worker"))
    )
    (first, first_name), (second, second_name) = bounds
    share = e2e["postgres"] / sum(us for role, us in e2e.items() if role != "sink")
    return (
        f"saturates first: with 1 API + 1 worker, {first_name} (one process) at {first:,.0f} "
        f"messages/s end to end, then {second_name} at {second:,.0f}; with those added as "
        f"needed, PostgreSQL, the one server: {share:.0%} of the CPU of every message"
    )


def report(results: dict[int, list[list[Figure]]]) -> tuple[list[str], dict[str, Any]]:
    """The checks on each configuration (medians of the rounds) and the scale-out figures."""
    lines: list[str] = []
    medians: dict[int, dict[str, Figure]] = {}
    for cores, rounds in sorted(results.items()):
        by_name: dict[str, list[Figure]] = {}
        for run in rounds:
            for fig in run:
                by_name.setdefault(fig.name, []).append(fig)
        medians[cores] = {name: median_figure(figs) for name, figs in by_name.items()}
        m = medians[cores]
        lines.append(f"--- {cores} core(s), CPUs {sorted(CONFIGS[cores])}, {len(rounds)} round(s)")
        for name, fig in m.items():
            if name == "end to end":
                combined = scaling_model.combine(m["ingest"].costs, m["drain, 1 worker(s)"].costs)
                lines += check_lines(fig, combined)
                own = scaling_model.predict(cores, fig.costs)
                busy = scaling_model.busy_rate(cores, fig.costs, fig.shares)
                lines.append(
                    f"    its own CPU per message, {_costs_text(fig.costs)}, predicts {own:,.0f} "
                    f"({scaling_model.error_pct(own, fig.rate):+.1f} %), on the path's share "
                    f"{busy:,.0f} ({scaling_model.error_pct(busy, fig.rate):+.1f} %)"
                )
            else:
                lines += check_lines(fig)
    base = max(medians)
    lines.append("--- 8 and 32 cores (receiver and load generator elsewhere, or not)")
    m = medians[base]
    lines += scale_lines(m["drain, 1 worker(s)"], m["ingest"], m["end to end"])
    data = {
        "runs": {str(c): [[f.row() for f in run] for run in rs] for c, rs in results.items()},
        "medians": {str(c): {n: f.row() for n, f in m.items()} for c, m in medians.items()},
    }
    return lines, data


async def run(args: argparse.Namespace) -> int:
    """Build the server and the template, measure every configuration, print the report."""
    work = Path(tempfile.mkdtemp(prefix="hookwise-scaling-"))
    log_dir = REPO_ROOT / "bench" / "results" / "logs" / "scaling"
    settings = {**await system_settings(), **dict(kv.split("=", 1) for kv in args.pg)}
    server = PgServer(settings, prefix="hookwise-scaling-pg-")
    results: dict[int, list[list[Figure]]] = {c: [] for c in args.cores}
    try:
        await asyncio.to_thread(server.init)
        await asyncio.to_thread(server.start)
        pg.PG_PORT = server.port  # every bench.pg call now goes to the throwaway server
        ctx = RunContext(
            sink=SinkHandle.start(log_dir), smoke=False, log_dir=log_dir, work_dir=work
        )
        tpl = await cluster_template(ctx)
        print(f"server: {settings}; template: {tpl.messages} held deliveries", flush=True)
        for r in range(args.rounds):
            order = args.cores if r % 2 == 0 else list(reversed(args.cores))
            for cores in order:
                figs = await measure_config(server, tpl, ctx, cores, args)
                results[cores].append(figs)
                load = os.getloadavg()[0]
                print(f"round {r + 1}, {cores} core(s), load {load:.1f}: "
                      + "; ".join(f"{f.name} {f.rate:,.0f}" for f in figs), flush=True)  # fmt: skip
    finally:
        stop_all()
        await asyncio.to_thread(server.remove)
        shutil.rmtree(work, ignore_errors=True)
    lines, data = report(results)
    print("\n".join(lines))
    data["load_end"] = os.getloadavg()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.scaling``."""
    p = argparse.ArgumentParser(prog="python -m bench.scaling", description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3, help="rounds of every configuration")
    p.add_argument("--cores", default="1,2", help="configurations: 1 (CPU 0), 2 (CPUs 0,1)")
    p.add_argument("--messages", type=int, default=6000, help="messages of the ingest figure")
    p.add_argument("--e2e-seconds", type=float, default=6.0, help="end-to-end posting time")
    p.add_argument("--pg", action="append", default=[], metavar="NAME=VALUE",
                   help="a server setting other than the system one (diagnosis)")  # fmt: skip
    args = p.parse_args(argv)
    args.cores = [int(c) for c in args.cores.split(",")]
    if os.cpu_count() is None or max(args.cores) > (os.cpu_count() or 1):
        p.error(f"this machine has {os.cpu_count()} CPUs")
    return uvloop.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
