"""The baseline: what a Python team builds instead of hookwise.

A Celery app on the local Redis (a database number of its own, ``BENCH_CELERY_DB``, default 13,
flushed before and after each run) with one task that does
``requests.post(url, json=payload, timeout=10)`` and raises for a non-2xx status, retried with
``autoretry_for=(requests.RequestException,)`` and ``retry_backoff=True``. It records nothing.

``measure()`` enqueues N tasks with no worker running (timing the enqueue), then starts a
worker as a subprocess (prefork pool, concurrency 2; or threads pool, 64) and times the drain
by counting arrivals at the sink. The worker is always killed, whatever happens.

This module is also the worker's ``-A`` target: ``celery -A bench.celery_baseline worker``.

``python -m bench.celery_baseline --url http://127.0.0.1:PORT/celery --pool prefork`` measures
once against a running sink and prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import redis
import requests
from celery import Celery  # type: ignore[import-untyped]

from bench.measure import payload, window_rate
from bench.processes import PYTHON, Proc
from bench.registry import Unavailable
from bench.sink_client import SinkHandle

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
BROKER_DB = int(os.environ.get("BENCH_CELERY_DB", "13"))
QUEUE = "hookwise-bench"

app = Celery("bench_celery", broker=f"redis://{REDIS_HOST}:{REDIS_PORT}/{BROKER_DB}")
app.conf.update(
    task_ignore_result=True,
    task_default_queue=QUEUE,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task(  # type: ignore[untyped-decorator]
    name="bench.deliver",  # the same whether this module runs as __main__ or is imported
    autoretry_for=(requests.RequestException,),
    retry_backoff=True,
    retry_kwargs={"max_retries": 5},
)
def deliver(url: str, body: dict[str, Any]) -> int:
    """POST one webhook; any failure (including a non-2xx answer) is retried by Celery."""
    response = requests.post(url, json=body, timeout=10)
    response.raise_for_status()
    return response.status_code


@dataclass(frozen=True)
class CeleryResult:
    """What one baseline run measured."""

    pool: str
    concurrency: int
    count: int
    delivered: int
    enqueue_rate: float
    rate: float  # steady drain rate, 10 %-90 % of the tasks (see measure.window_rate)
    drain_rate: float  # count / (last arrival - first arrival)
    worker_to_done_s: float  # worker spawn to last arrival (includes its start-up)
    timed_out: bool


def _broker() -> redis.Redis:
    if BROKER_DB == 0:
        raise Unavailable("BENCH_CELERY_DB=0 refused: the baseline flushes its database")
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=BROKER_DB, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise Unavailable(f"Redis at {REDIS_HOST}:{REDIS_PORT}: {exc}") from exc
    return client


def worker_argv(pool: str, concurrency: int) -> list[str]:
    """The command line of a baseline worker."""
    return [
        PYTHON, "-m", "celery", "-A", "bench.celery_baseline", "worker",
        "--pool", pool, "--concurrency", str(concurrency), "-Q", QUEUE,
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--loglevel", "WARNING", "-n", f"bench-{pool}-{os.getpid()}@%h",
    ]  # fmt: skip


def measure(
    sink: SinkHandle,
    *,
    pool: str,
    concurrency: int,
    count: int,
    timeout: float,
    log_dir: Path,
) -> CeleryResult:
    """Enqueue ``count`` deliveries, start a worker, wait (at most ``timeout`` s) for the drain."""
    broker = _broker()
    broker.flushdb()
    sink.reset()
    url = sink.url(f"/celery/{pool}")
    body = payload()
    try:
        start = time.perf_counter()
        for _ in range(count):
            deliver.delay(url, body)
        enqueue_rate = count / (time.perf_counter() - start)
        worker = Proc(
            f"celery-{pool}",
            worker_argv(pool, concurrency),
            log_path=log_dir / f"celery-{pool}.log",
        )
        try:
            spawned = time.time()
            deadline = time.monotonic() + timeout
            drained = False
            while not drained and worker.alive() and time.monotonic() < deadline:
                drained = sink.wait_for("ok", count, timeout=1.0)
            if not drained and not worker.alive():
                raise RuntimeError(f"celery worker exited: {worker.tail()}")
        finally:
            worker.stop(grace=3.0)
    finally:
        broker.flushdb()
        broker.close()
    stats, timeline = sink.stats(), sink.timeline()
    delivered = int(stats["ok"])
    span = stats["last"] - stats["first"]
    return CeleryResult(
        pool=pool,
        concurrency=concurrency,
        count=count,
        delivered=delivered,
        enqueue_rate=enqueue_rate,
        rate=window_rate(timeline, count, field=2) if drained else delivered / timeout,
        drain_rate=delivered / span if span > 0 else float("nan"),
        worker_to_done_s=stats["last"] - spawned if delivered else float("nan"),
        timed_out=not drained,
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m bench.celery_baseline`` (against a running sink)."""
    p = argparse.ArgumentParser(prog="python -m bench.celery_baseline")
    p.add_argument("--sink-port", type=int, required=True, help="port of a running bench.sink")
    p.add_argument("--pool", choices=["prefork", "threads"], default="prefork")
    p.add_argument("--concurrency", type=int, default=None, help="default: 2 prefork, 64 threads")
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--timeout", type=float, default=60.0)
    args = p.parse_args(argv)
    concurrency = args.concurrency or (2 if args.pool == "prefork" else 64)
    sink = SinkHandle(None, args.sink_port)
    result = measure(
        sink,
        pool=args.pool,
        concurrency=concurrency,
        count=args.count,
        timeout=args.timeout,
        log_dir=Path("bench/results/logs"),
    )
    print(json.dumps(asdict(result)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
