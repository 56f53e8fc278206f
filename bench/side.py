"""Builds of ``hookwise serve`` side by side, all up at once, in alternating short rounds.

On a shared machine whose speed swings from minute to minute, runs of one build after the
other compare two different machines. Here every build runs its own ``serve`` (its own SQLite
file and app, one shared sink) for the whole measurement, and each round gives every build the
same burst, one after the other, in an order that alternates from round to round:

- *ingest*: ``--messages`` posts from 64 clients with the endpoint paused; ``serve``'s CPU
  (``/proc``, all threads) per message;
- *drain*: the endpoint made active until the sink has them all; CPU per delivery (the
  release's steps included), and the rate between 10 % and 90 % of the arrivals (as
  ``bench.run``'s drains);
- *end to end*: ``--e2e-seconds`` of posting with the endpoint active; *delivered meanwhile*
  (msg/s) and CPU per message until the sink has every message posted.

The table gives each build's median over the rounds (and min-max)::

    python -m bench.side --rounds 12 main=/work/main/.venv/bin/hookwise \\
        new=.venv/bin/hookwise
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench import hookwise_scenarios as hs
from bench.cpu import cpu_seconds
from bench.hookwise_service import Api, ingest
from bench.measure import window_rate
from bench.registry import RunContext
from bench.run import RESULTS_DIR
from bench.sink_client import SinkHandle

ROWS = (
    ("ingest_us", "CPU µs / message ingested"),
    ("drain_us", "CPU µs / delivery drained"),
    ("drain_rate", "drain, deliveries/s (10-90 %)"),
    ("e2e_rate", "delivered meanwhile, msg/s"),
    ("e2e_us", "CPU µs / message end to end"),
)


class Build:
    """One build's ``serve``, its app and endpoint, and what each round measured."""

    def __init__(self, label: str, api: Api, app: str, endpoint: str) -> None:
        self.label, self.api, self.app, self.endpoint = label, api, app, endpoint
        self.samples: dict[str, list[float]] = {key: [] for key, _ in ROWS}

    def cpu(self) -> float:
        pid = self.api.proc.pid if self.api.proc else None
        now = cpu_seconds(pid) if pid is not None else None
        if now is None:
            raise RuntimeError(f"{self.label}: serve is gone")
        return now


async def _until_sink_has(sink: SinkHandle, count: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while int(sink.stats()["ok"]) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


async def one_round(b: Build, sink: SinkHandle, messages: int, e2e_seconds: float) -> None:
    """Ingest (paused), drain, then end to end, for build ``b``."""
    api = b.api
    await api.set_status(b.app, [b.endpoint], "paused")
    sink.reset()
    c0 = b.cpu()
    done, _ = await ingest(api, b.app, messages, 30.0)
    c1 = b.cpu()
    sink.reset()
    await api.set_status(b.app, [b.endpoint], "active")
    await _until_sink_has(sink, done)
    c2 = b.cpu()
    drained = window_rate(sink.timeline(), done, field=2)
    sink.reset()
    posted, took = await ingest(api, b.app, 10**6, e2e_seconds)
    arrived = int(sink.stats()["ok"])
    await _until_sink_has(sink, posted)
    c3 = b.cpu()
    per = 1e6 / max(1, done)
    b.samples["ingest_us"].append((c1 - c0) * per)
    b.samples["drain_us"].append((c2 - c1) * per)
    b.samples["drain_rate"].append(drained)
    b.samples["e2e_rate"].append(min(posted, arrived) / took)
    b.samples["e2e_us"].append((c3 - c2) * 1e6 / max(1, posted))


async def side_by_side(
    specs: list[tuple[str, str]], rounds: int, messages: int, e2e_seconds: float
) -> list[Build]:
    log_dir = RESULTS_DIR / "logs"
    sink = SinkHandle.start(log_dir)
    work = Path(tempfile.mkdtemp(prefix="hookwise-side-"))
    try:
        async with contextlib.AsyncExitStack() as stack:
            builds = []
            for label, exe in specs:
                os.environ["BENCH_HOOKWISE"] = exe  # hs.embedded starts this build
                ctx = RunContext(sink=sink, smoke=False, log_dir=log_dir, work_dir=work)
                api, app = await stack.enter_async_context(hs.embedded(ctx, f"side-{label}"))
                endpoint = await api.create_endpoint(app, sink.url(f"/hw/side-{label}"))
                builds.append(Build(label, api, app, endpoint))
            for r in range(rounds):
                for b in builds if r % 2 == 0 else builds[::-1]:
                    await one_round(b, sink, messages, e2e_seconds)
                line = "  ".join(
                    f"{b.label}: " + " ".join(f"{v[-1]:.0f}" for v in b.samples.values())
                    for b in builds
                )
                print(f"round {r + 1}/{rounds} (load {os.getloadavg()[0]:.1f})  {line}", flush=True)
            return builds
    finally:
        sink.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("builds", nargs="+", help="label=path of a hookwise executable")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--messages", type=int, default=5000, help="per ingest burst")
    parser.add_argument("--e2e-seconds", type=float, default=3.0)
    args = parser.parse_args()
    specs = [tuple(b.split("=", 1)) for b in args.builds]
    if any(len(s) != 2 for s in specs):
        parser.error("each build is label=path")
    load = os.getloadavg()
    builds = asyncio.run(
        side_by_side([(s[0], s[1]) for s in specs], args.rounds, args.messages, args.e2e_seconds)
    )
    now = os.getloadavg()[0]
    print(f"\nmedians of {args.rounds} rounds (min-max); load {load[0]:.1f} → {now:.1f}")
    for key, title in ROWS:
        cells = []
        for b in builds:
            v = b.samples[key]
            cells.append(f"{b.label} {statistics.median(v):,.0f} ({min(v):,.0f}-{max(v):,.0f})")
        print(f"{title:30s} " + "   ".join(cells))


if __name__ == "__main__":
    main()
