"""hookwise's delivery engine alone: the real worker and HTTP sender, the store left out.

What one delivery costs hookwise's own process *besides* its store: the worker's claim → send →
record cycle, the signing, the HTTP/1.1 client, the outcome, the attempt results, with the
store's part replaced by a list in memory (``Backlog``: claims are taken from it at once, and
records are forgotten). Set beside the embedded drain (the same process with SQLite) and the
cluster's worker (with PostgreSQL), it splits a delivery's cost into the engine's and the
store's: the ceiling is a bar for the engine too, which persists nothing here either.

``python -m bench.engine --url http://127.0.0.1:PORT/engine --count N`` prints one JSON line
``{"delivered", "seconds", "cpu_us"}`` (``cpu_us``: the process's CPU per delivery over the
drain, every thread).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import deque
from collections.abc import Callable, Collection, Sequence
from typing import Any

import orjson
import uvloop

from bench.measure import IN_FLIGHT, payload, window_rate
from bench.processes import PYTHON, report_of
from bench.registry import Metric, RunContext, Scenario, register
from hookwise.delivery.sender import HttpSender
from hookwise.delivery.worker import Worker, WorkerConfig
from hookwise.domain.models import AttemptResult, ClaimedDelivery
from hookwise.egress.ssrf import NetworkPolicy
from hookwise.store.roles import Turn

COUNT, COUNT_SMOKE = 30_000, 5_000
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # 24 bytes of key, as the API makes them


class Backlog:
    """The worker's queue as a list in memory: one endpoint whose ``max_in_flight`` holds
    (an answer frees its slot, as in the stores), claims handed out at once, records dropped.
    An instrument, not a store: nothing is leased, retried or kept."""

    overlapping_writes = 1
    leases_ahead = 0

    def __init__(self, claims: Sequence[ClaimedDelivery], max_in_flight: int) -> None:
        self._due = deque(claims)
        self._cap = max_in_flight
        self._out = 0  # claimed, not yet recorded

    @property
    def lease_holder(self) -> str | None:
        return None

    def _take(self, limit: int, finished: Callable[[], list[str]] | None) -> list[ClaimedDelivery]:
        in_flight = self._out - (len(finished()) if finished else 0)
        n = max(0, min(limit, self._cap - in_flight, len(self._due)))
        self._out += n
        return [self._due.popleft() for _ in range(n)]

    async def claim_due(self, *, worker_id: str, limit: int, lease_seconds: float,
                        finished: Callable[[], list[str]] | None = None,
                        ahead: int = 0) -> list[ClaimedDelivery]:  # fmt: skip
        await asyncio.sleep(0)
        return self._take(limit, finished)

    async def record_attempts(self, results: Sequence[AttemptResult], *, pause_after: int) -> None:
        self._out -= len(results)

    async def record_and_claim(self, results: Sequence[AttemptResult], *, pause_after: int,
                               worker_id: str, limit: int, lease_seconds: float,
                               finished: Callable[[], list[str]] | None = None,
                               turn: Turn | None = None,
                               ahead: int = 0) -> list[ClaimedDelivery]:  # fmt: skip
        if turn is not None:
            await turn.before_record()
            turn.recorded()
            await turn.before_claim()
        await asyncio.sleep(0)
        self._out -= len(results)
        return self._take(limit, finished) if limit > 0 else []

    async def release(self, claims: Sequence[ClaimedDelivery], *, at: float) -> None:
        self._due.extendleft(reversed(claims))
        self._out -= len(claims)

    async def inactive_endpoints(self, endpoint_ids: Collection[str]) -> set[str]:
        return set()

    async def reserve_send_slots(self, endpoint_id: str, count: int, per_second: float) -> float:
        return time.time()

    async def next_due_at(self) -> float | None:
        return time.time() if self._due or self._out else None

    async def wait_for_work(self, timeout: float) -> None:
        await asyncio.sleep(timeout)  # every delivery is due from the start: nothing comes later


def claims(url: str, count: int) -> list[ClaimedDelivery]:
    """``count`` claims of one endpoint, each carrying hookwise's envelope of the bench's
    1 KiB payload (what the embedded figure's deliveries carry)."""
    now = int(time.time())
    out = []
    for i in range(count):
        msg = f"msg_{i:026d}"
        body = orjson.dumps({"event": "bench.event", "id": msg, "timestamp": "2026-12-07T00:00:00Z",
                             "data": payload()})  # fmt: skip
        out.append(ClaimedDelivery(
            delivery_id=f"dlv_{i:026d}", app_id="app_bench", message_id=msg,
            endpoint_id="ep_bench", job_id=None, attempt_count=0, retry_base=0,
            trigger="scheduled", body=body, url=url, secrets=(SECRET,), headers={},
            timeout_seconds=10.0, retry_schedule=(5.0, 300.0), rate_limit_per_second=None,
            msg_timestamp=now, max_in_flight=IN_FLIGHT,
        ))  # fmt: skip
    return out


async def drain(url: str, count: int) -> dict[str, Any]:
    """Deliver ``count`` claims to ``url`` with the real worker and sender."""
    backlog = Backlog(claims(url, count), IN_FLIGHT)
    sender = HttpSender(NetworkPolicy.from_setting("127.0.0.0/8,::1/128"))
    await sender.start()
    worker = Worker(backlog, sender, WorkerConfig(), worker_id="bench-engine")  # type: ignore[arg-type]
    try:
        c0, t0 = time.process_time(), time.monotonic()
        await worker.drain(timeout=120.0)
        cpu, took = time.process_time() - c0, time.monotonic() - t0
    finally:
        await sender.close()
    return {"delivered": count, "seconds": took, "cpu_us": cpu * 1e6 / count}


async def run_engine(ctx: RunContext) -> dict[str, float]:
    """``python -m bench.engine`` in its own process against the sink: the rate where the
    requests arrive (10-90 % of the drain, as every drain here), the CPU from the process."""
    count = COUNT_SMOKE if ctx.smoke else COUNT
    ctx.sink.reset()
    argv = [PYTHON, "-m", "bench.engine", "--url", ctx.sink.url("/engine"), "--count", str(count)]
    result = await report_of("engine", argv, ctx.log_dir, 150.0)
    arrived = int(ctx.sink.stats()["ok"])
    if arrived < count:
        raise RuntimeError(f"sink saw {arrived} < {count} sent")
    return {"rate": window_rate(ctx.sink.timeline(), count, field=2), "cpu_us": result["cpu_us"]}


register(
    Scenario(
        name="engine",
        title="hookwise's delivery engine alone (worker + HTTP client, no store)",
        allowance=40,
        run=run_engine,
        metrics=(
            Metric("rate", "delivery (drain), nothing persisted", "deliv/s", rate=True),
            Metric("cpu_us", "CPU µs / delivery (the process)", "µs"),
        ),
    )
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--count", type=int, default=30_000)
    args = parser.parse_args()
    print(json.dumps(uvloop.run(drain(args.url, args.count))), flush=True)


if __name__ == "__main__":
    main()
