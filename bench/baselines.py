"""The reference figures: the aiohttp ceiling and the Celery baselines (prefork and threads)."""

from __future__ import annotations

import asyncio

from bench import celery_baseline
from bench.processes import PYTHON, report_of
from bench.registry import Metric, RunContext, Scenario, register

CEILING_SECONDS, CEILING_SECONDS_SMOKE = 5.0, 2.0
CELERY_TASKS = {"prefork": 1_200, "threads": 1_000}
CELERY_TASKS_SMOKE = 500
CELERY_TIMEOUT, CELERY_TIMEOUT_SMOKE = 60.0, 12.0


async def run_ceiling(ctx: RunContext) -> dict[str, float]:
    """``python -m bench.ceiling`` in its own process against the sink."""
    seconds = CEILING_SECONDS_SMOKE if ctx.smoke else CEILING_SECONDS
    ctx.sink.reset()
    argv = [PYTHON, "-m", "bench.ceiling", "--url", ctx.sink.url("/ceiling"),
            "--duration", str(seconds), "--count", "2000000"]  # fmt: skip
    result = await report_of("ceiling", argv, ctx.log_dir, seconds + 60)
    arrived = int(ctx.sink.stats()["ok"])
    if arrived < result["requests"]:
        raise RuntimeError(f"sink saw {arrived} < {result['requests']} sent")
    return {"rate": float(result["rate"])}


def _celery(pool: str, concurrency: int) -> Scenario:
    async def run(ctx: RunContext) -> dict[str, float]:
        result = await asyncio.to_thread(
            celery_baseline.measure,
            ctx.sink,
            pool=pool,
            concurrency=concurrency,
            count=CELERY_TASKS_SMOKE if ctx.smoke else CELERY_TASKS[pool],
            timeout=CELERY_TIMEOUT_SMOKE if ctx.smoke else CELERY_TIMEOUT,
            log_dir=ctx.log_dir,
        )
        if result.timed_out:
            ctx.notes.append(f"drain not finished in time ({result.delivered}/{result.count})")
        return {"rate": result.rate, "enqueue_rate": result.enqueue_rate}

    return Scenario(
        name=f"celery-{pool}",
        title=f"Celery + Redis + requests, {pool} pool ({concurrency})",
        smoke=pool == "prefork",
        allowance=60,
        run=run,
        metrics=(
            Metric("rate", "delivery (drain)", "deliv/s", rate=True),
            Metric("enqueue_rate", "enqueue (delay)", "msg/s"),
        ),
    )


register(
    Scenario(
        name="ceiling",
        title="Ceiling: aiohttp ClientSession, 1 process",
        smoke=True,
        allowance=30,
        run=run_ceiling,
        metrics=(Metric("rate", "POST rate, 64 in flight", "req/s", rate=True),),
    )
)
register(_celery("prefork", 2))
register(_celery("threads", 64))
