"""ACK latency of a `hookwise receive` service under a steady load.

    python -m bench.receiver_ack [--rate 500] [--duration 10] [--inbox sqlite|postgres]

Starts ``python -m hookwise.receiver --app bench.receiver_ack:make_receiver --port 0`` (HTTP
and processing in one process, as ``hookwise receive`` runs by default), then sends signed
1 KiB webhooks open-loop at ``--rate`` per second for ``--duration`` seconds from one aiohttp
client on loopback. Latency runs from each request's scheduled send time to its response, so a
stalled server shows up in the figures instead of slowing the sender down. A one-second warm-up
is sent first and left out. Prints one JSON object: p50/p99/max ACK latency in milliseconds,
the achieved rate, errors, how long after the last ACK every event was processed, the service's
CPU time per request, and the machine's load average (figures from a busy machine mislead).

Bounded: at most 100,000 requests, and the whole run is abandoned after duration + 60 s.
A non-200 answer (a 503 when the inbox is slower than its 5 s pool timeout) counts as an error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bench.measure import payload, percentile
from bench.processes import REPO_ROOT
from hookwise.domain.signing import Signer, new_secret
from hookwise.receiver import Event, Receiver, State, open_inbox

MAX_REQUESTS = 100_000
WARMUP_SECONDS = 1.0


def make_receiver() -> Receiver:
    """The receiver under test (loaded by the service): one no-op async handler."""
    receiver = Receiver(inbox=os.environ["BENCH_INBOX"], secret=os.environ["BENCH_SECRET"])

    @receiver.on("*")
    async def handled(event: Event) -> None:
        return None

    return receiver


async def start_service(inbox: str, secret: str) -> tuple[asyncio.subprocess.Process, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "BENCH_INBOX": inbox, "BENCH_SECRET": secret}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hookwise.receiver",
        "--app", "bench.receiver_ack:make_receiver", "--port", "0",
        cwd=REPO_ROOT, env=env, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    if "listening on " not in line:
        proc.kill()
        raise SystemExit(f"the receiver did not start: {line!r}")
    return proc, line.split("listening on ")[1].split()[0]


def signed_requests(secret: str, count: int) -> list[tuple[bytes, dict[str, str]]]:
    """Bodies and headers, signed ahead of time so the sender stays light."""
    signer = Signer.from_secrets([secret])
    now = int(time.time())
    out = []
    for n in range(count):
        body = json.dumps({**payload(), "id": f"evt_{n}"}).encode()
        headers = signer.headers(f"msg_{uuid.uuid4().hex}", now, body)
        headers["content-type"] = "application/json"
        out.append((body, headers))
    return out


async def send_paced(
    session: aiohttp.ClientSession,
    url: str,
    requests: list[tuple[bytes, dict[str, str]]],
    rate: float,
) -> tuple[list[float], int, float]:
    """Send ``requests`` at ``rate``/s; return latencies (s), errors, and the elapsed time."""
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter() + 0.05

    async def one(i: int, body: bytes, headers: dict[str, str]) -> None:
        nonlocal errors
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        try:
            async with session.post(url, data=body, headers=headers) as resp:
                await resp.read()
                ok = resp.status == 200
        except aiohttp.ClientError:
            ok = False
        if ok:
            latencies.append(time.perf_counter() - due)
        else:
            errors += 1

    await asyncio.gather(*(one(i, b, h) for i, (b, h) in enumerate(requests)))
    return latencies, errors, time.perf_counter() - start


def service_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of the service so far (Linux ``/proc``), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_processed(inbox_url: str, total: int, timeout: float) -> float | None:
    """Seconds until ``total`` items are done (None if not within ``timeout``)."""
    inbox = open_inbox(inbox_url)
    await inbox.open()
    began = time.perf_counter()
    try:
        while time.perf_counter() - began < timeout:
            if (await inbox.counts())[State.DONE] >= total:
                return time.perf_counter() - began
            await asyncio.sleep(0.05)
        return None
    finally:
        await inbox.close()


async def measure(rate: float, duration: float, inbox_url: str, backend: str) -> dict[str, Any]:
    secret = new_secret()
    warm = int(rate * WARMUP_SECONDS)
    count = min(int(rate * duration), MAX_REQUESTS)
    proc, url = await start_service(inbox_url, secret)
    try:
        requests = signed_requests(secret, warm + count)
        connector = aiohttp.TCPConnector(limit=512)
        async with aiohttp.ClientSession(connector=connector) as session:
            warm_latencies, _, _ = await send_paced(session, url, requests[:warm], rate)
            latencies, errors, elapsed = await send_paced(session, url, requests[warm:], rate)
        accepted = len(warm_latencies) + len(latencies)
        processed_after = await wait_processed(inbox_url, accepted, timeout=30)
        cpu = service_cpu_seconds(proc.pid)
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)
    return {
        "scenario": "receiver_ack",
        "inbox": backend,
        "target_rate": rate,
        "achieved_rate": round(count / elapsed, 1),
        "requests": count,
        "errors": errors,
        "p50_ms": round(percentile(latencies, 50) * 1000, 3),
        "p99_ms": round(percentile(latencies, 99) * 1000, 3),
        "max_ms": round(max(latencies, default=float("nan")) * 1000, 3),
        "all_processed_s_after_last_ack": (
            None if processed_after is None else round(processed_after, 3)
        ),
        "body_bytes": len(requests[0][0]),
        "service_cpu_ms_per_request": (
            None if cpu is None else round(cpu * 1000 / (warm + count), 3)
        ),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    if args.inbox == "sqlite":
        with tempfile.TemporaryDirectory(prefix="hookwise-ack-") as tmp:
            return await measure(args.rate, args.duration, f"sqlite:///{tmp}/inbox.db", "sqlite")
    from bench.pg import create_db, db_url, drop_db

    name = f"hookwise_ack_{os.getpid()}"
    await create_db(name)
    try:
        return await measure(args.rate, args.duration, db_url(name), "postgres")
    finally:
        await drop_db(name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=500.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of measured load")
    parser.add_argument("--inbox", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.duration <= 0:
        parser.error("--rate and --duration must be positive")
    result = asyncio.run(asyncio.wait_for(main_async(args), args.duration + 60 + WARMUP_SECONDS))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
