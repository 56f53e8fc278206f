"""The ceiling: a plain aiohttp ``ClientSession`` posting 1 KiB JSON, 64 in flight, one process.

No persistence, no signing, no retries: the rate nobody can beat from Python with aiohttp.
Bounded by a request count and a duration, whichever comes first, after a short warm-up.

``python -m bench.ceiling --url http://127.0.0.1:PORT/ceiling`` prints one JSON line
``{"requests", "errors", "seconds", "rate"}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

import aiohttp

from bench.measure import IN_FLIGHT, payload_bytes


@dataclass(frozen=True)
class CeilingResult:
    """What one ceiling run measured."""

    requests: int
    errors: int
    seconds: float
    rate: float


async def _post_loop(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    budget: list[int],
    deadline: float,
    counts: list[int],
) -> None:
    headers = {"Content-Type": "application/json"}
    while budget[0] > 0 and time.monotonic() < deadline:
        budget[0] -= 1
        try:
            async with session.post(url, data=body, headers=headers) as resp:
                await resp.read()
                counts[0 if resp.status < 300 else 1] += 1
        except aiohttp.ClientError:
            counts[1] += 1


async def measure(
    url: str,
    *,
    count: int,
    duration: float,
    concurrency: int = IN_FLIGHT,
    warmup: float = 0.5,
) -> CeilingResult:
    """Post until ``count`` requests or ``duration`` seconds (after ``warmup``) have passed."""
    if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("the ceiling only sends to loopback")
    body = payload_bytes()
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        if warmup > 0:
            end = time.monotonic() + warmup
            await asyncio.gather(
                *(_post_loop(session, url, body, [10**9], end, [0, 0]) for _ in range(concurrency))
            )
        budget, counts = [count], [0, 0]
        start = time.monotonic()
        deadline = start + duration
        await asyncio.gather(
            *(_post_loop(session, url, body, budget, deadline, counts) for _ in range(concurrency))
        )
        seconds = time.monotonic() - start
    return CeilingResult(counts[0], counts[1], seconds, counts[0] / seconds)


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m bench.ceiling``."""
    p = argparse.ArgumentParser(prog="python -m bench.ceiling", description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True, help="a sink URL on loopback")
    p.add_argument("--count", type=int, default=500_000, help="stop after this many requests")
    p.add_argument("--duration", type=float, default=5.0, help="stop after this many seconds")
    p.add_argument("--concurrency", type=int, default=IN_FLIGHT)
    p.add_argument("--warmup", type=float, default=0.5)
    p.add_argument("--no-uvloop", action="store_true", help="use the stdlib event loop")
    args = p.parse_args(argv)
    coro = measure(
        args.url,
        count=args.count,
        duration=args.duration,
        concurrency=args.concurrency,
        warmup=args.warmup,
    )
    if args.no_uvloop:
        result = asyncio.run(coro)
    else:
        import uvloop

        result = uvloop.run(coro)
    print(json.dumps(asdict(result)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
