"""Drive a hookwise service from outside, through its documented interface only.

Processes: ``hookwise serve`` (embedded, SQLite), ``hookwise api`` and ``hookwise worker``
(cluster, PostgreSQL), ``hookwise migrate`` and ``hookwise keys create --admin``. HTTP: the REST
API of ``PRODUCT.md`` (apps, endpoints, messages, attempts). Anything that does not behave as
documented raises ``Unavailable`` with what went wrong, so the harness shows the reason instead
of crashing while the service is being written.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench.measure import IN_FLIGHT, payload
from bench.poster import Poster
from bench.processes import REPO_ROOT, Proc
from bench.registry import RunContext, Unavailable

EVENT_TYPE = "invoice.paid"
ALLOW_NETWORKS = "127.0.0.0/8,::1/128"


def executable() -> Path:
    """The hookwise command: ``$BENCH_HOOKWISE`` or the project venv's ``.venv/bin/hookwise``."""
    return Path(os.environ.get("BENCH_HOOKWISE", REPO_ROOT / ".venv" / "bin" / "hookwise"))


def probe(ctx: RunContext) -> Path:
    """The hookwise executable once it answers ``--help``; ``Unavailable`` otherwise (cached)."""
    cached = ctx.cache.get("hookwise_probe")
    if isinstance(cached, Path):
        return cached
    if isinstance(cached, str):
        raise Unavailable(cached, permanent=True)
    exe = executable()
    reason: str | None = None
    if not exe.exists():
        reason = f"no hookwise executable at {exe} (pip install -e .)"
    else:
        try:
            done = subprocess.run(
                [str(exe), "--help"], capture_output=True, text=True, timeout=60, cwd=REPO_ROOT
            )
            if done.returncode != 0:
                reason = f"`hookwise --help` failed: {_last_lines(done.stderr or done.stdout)}"
        except (OSError, subprocess.TimeoutExpired) as exc:
            reason = f"`hookwise --help` failed: {exc}"
    if reason is not None:
        ctx.cache["hookwise_probe"] = reason
        raise Unavailable(reason, permanent=True)
    ctx.cache["hookwise_probe"] = exe
    return exe


def _last_lines(text: str, n: int = 3) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-n:]) or "(no output)"


def service_env(db_url: str) -> dict[str, str]:
    """The environment every hookwise process of the benchmark gets."""
    # warning: the service's per-request and per-attempt INFO lines are not what is measured
    return {
        "HOOKWISE_DB": db_url,
        "HOOKWISE_ALLOW_NETWORKS": ALLOW_NETWORKS,
        "HOOKWISE_LOG_LEVEL": "warning",
    }


def run_cli(ctx: RunContext, args: Sequence[str], env: dict[str, str], timeout: float = 60) -> str:
    """Run a one-shot hookwise command; its stdout, or ``Unavailable`` when it fails."""
    exe = probe(ctx)
    try:
        done = subprocess.run(
            [str(exe), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO_ROOT,
            env={**os.environ, **env},
        )
    except subprocess.TimeoutExpired as exc:
        raise Unavailable(f"`hookwise {' '.join(args)}` timed out after {timeout:.0f}s") from exc
    if done.returncode != 0:
        msg = _last_lines(done.stderr or done.stdout)
        raise Unavailable(f"`hookwise {' '.join(args)}` exited {done.returncode}: {msg}")
    return done.stdout


def create_admin_key(ctx: RunContext, env: dict[str, str]) -> str:
    """``hookwise keys create --admin``: the key is the last line of its stdout."""
    out = run_cli(ctx, ["keys", "create", "--admin"], env)
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    if not lines:
        raise Unavailable("`hookwise keys create --admin` printed no key")
    tokens = [t for t in lines[-1].split() if t.startswith("hwk_")]
    return tokens[-1] if tokens else lines[-1]


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(ctx: RunContext, command: str, env: dict[str, str], name: str) -> tuple[Proc, str]:
    """Start ``hookwise serve`` or ``hookwise api`` on a free port; (process, base URL)."""
    exe = probe(ctx)
    port = free_port()
    argv = [str(exe), command, "--host", "127.0.0.1", "--port", str(port)]
    full_env = {**env, "HOOKWISE_HOST": "127.0.0.1", "HOOKWISE_PORT": str(port)}
    proc = Proc(name, argv, env=full_env, log_path=ctx.log_dir / f"{name}.log")
    return proc, f"http://127.0.0.1:{port}"


def start_worker(ctx: RunContext, env: dict[str, str], name: str) -> Proc:
    """Start one ``hookwise worker``."""
    exe = probe(ctx)
    return Proc(name, [str(exe), "worker"], env=env, log_path=ctx.log_dir / f"{name}.log")


class Api:
    """The REST API of a running hookwise, as an admin (aiohttp, up to 64+ connections)."""

    def __init__(self, base: str, key: str, proc: Proc | None = None) -> None:
        self.base = base
        self.proc = proc
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=IN_FLIGHT + 8),
            timeout=aiohttp.ClientTimeout(total=60),
        )
        # message creation, the request the load figures repeat, goes through a leaner client
        self.poster = Poster(base, self.headers)
        self._framed: dict[tuple[str, bytes], bytes] = {}

    async def close(self) -> None:
        """Close the HTTP session."""
        self.poster.close()
        await self.session.close()

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def wait_ready(self, timeout: float = 40.0) -> None:
        """Wait until ``GET /v1/auth/validate-key`` answers 200."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc is not None and not self.proc.alive():
                raise Unavailable(f"{self.proc.name} exited: {self.proc.tail()}")
            try:
                async with self.session.get(
                    self.base + "/v1/auth/validate-key", headers=self.headers
                ) as resp:
                    if resp.status == 200:
                        return
                    last = f"{resp.status} {(await resp.text())[:200]}"
            except aiohttp.ClientError as exc:
                last = str(exc) or type(exc).__name__
            await asyncio.sleep(0.2)
        tail = self.proc.tail() if self.proc is not None else ""
        raise Unavailable(f"API not ready after {timeout:.0f}s ({last}) {tail}".strip())

    async def call(self, method: str, path: str, body: Any = None, ok: Sequence[int] = ()) -> Any:
        """One API call; its decoded JSON. An unexpected status raises ``Unavailable``."""
        data = orjson.dumps(body) if body is not None else None
        async with self.session.request(
            method, self.base + path, data=data, headers=self.headers
        ) as resp:
            raw = await resp.read()
            if resp.status >= 300 and resp.status not in ok:
                text = raw[:300].decode(errors="replace")
                raise Unavailable(f"{method} {path} answered {resp.status}: {text}")
            return orjson.loads(raw) if raw else None

    async def ensure_event_type(self) -> None:
        """Register the benchmark's event type (a conflict means it exists)."""
        await self.call("POST", "/v1/event-types", {"name": EVENT_TYPE}, ok=(409, 422))

    async def create_app(self, name: str) -> str:
        """``POST /v1/apps``: the new app's id."""
        return str((await self.call("POST", "/v1/apps", {"name": name}))["id"])

    async def create_endpoint(self, app: str, url: str, **fields: Any) -> str:
        """``POST /v1/apps/{app}/endpoints``: the new endpoint's id."""
        body = {"url": url, **fields}
        return str((await self.call("POST", f"/v1/apps/{app}/endpoints", body))["id"])

    async def set_status(self, app: str, endpoints: Sequence[str], status: str) -> None:
        """PATCH the endpoints' ``status`` (``paused`` holds deliveries, ``active`` releases)."""
        for ep in endpoints:
            await self.call("PATCH", f"/v1/apps/{app}/endpoints/{ep}", {"status": status})

    async def post_message(self, app: str, body: bytes) -> str:
        """``POST /v1/apps/{app}/messages`` with a pre-serialised body; the message id."""
        framed = self._framed.get((app, body))
        if framed is None:
            framed = self._framed[(app, body)] = self.poster.frame(f"/v1/apps/{app}/messages", body)
        try:
            status, raw = await self.poster.post(framed)
        except (OSError, TimeoutError) as exc:
            raise Unavailable(f"POST /v1/apps/{app}/messages failed: {exc}") from exc
        if status != 202:
            text = raw[:300].decode(errors="replace")
            raise Unavailable(f"POST /v1/apps/{app}/messages answered {status}: {text}")
        return str(orjson.loads(raw)["id"])

    async def count_attempts(self, app: str, limit: int, timeout: float) -> tuple[int, bool]:
        """Page through ``GET /v1/apps/{app}/attempts``; (rows seen, whether it got to the end).

        Stops at the last page, after ``limit`` rows or after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        seen, cursor = 0, None
        while seen < limit:
            if time.monotonic() > deadline:
                return seen, False
            query = f"?limit=1000&cursor={cursor}" if cursor else "?limit=1000"
            page = await self.call("GET", f"/v1/apps/{app}/attempts{query}")
            seen += len(page["data"])
            cursor = page.get("next_cursor")
            if not cursor or not page["data"]:
                break
        return seen, True


def message_body() -> bytes:
    """The body of ``POST …/messages``: the benchmark's event with its 1 KiB payload."""
    return orjson.dumps({"event_type": EVENT_TYPE, "payload": payload()})


async def ingest(api: Api, app: str, count: int, timeout: float) -> tuple[int, float]:
    """Post ``count`` messages from 64 concurrent clients; (accepted, seconds).

    Bounded by ``count`` and ``timeout``; the first failure stops every client.
    """
    body = message_body()
    budget = [count]
    accepted = [0]
    deadline = time.monotonic() + timeout

    async def client() -> None:
        while budget[0] > 0 and time.monotonic() < deadline:
            budget[0] -= 1
            await api.post_message(app, body)
            accepted[0] += 1

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(IN_FLIGHT)))
    return accepted[0], time.perf_counter() - start


async def ingest_paced(
    api: Api, app: str, rate: float, duration: float, answers: dict[str, float] | None = None
) -> dict[str, float]:
    """Post at ``rate`` messages/s for ``duration`` s (open loop, at most 64 in flight).

    Returns each accepted message id with the wall-clock time its request started (and puts
    the time its answer came in ``answers``).
    """
    body = message_body()
    total = max(1, int(rate * duration))
    sent: dict[str, float] = {}
    next_index = [0]
    t0 = time.monotonic() + 0.05
    hard_stop = t0 + duration * 2 + 5

    async def client() -> None:
        while next_index[0] < total and time.monotonic() < hard_stop:
            i = next_index[0]
            next_index[0] += 1
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            started = time.time()
            message = await api.post_message(app, body)
            sent[message] = started
            if answers is not None:
                answers[message] = time.time()

    await asyncio.gather(*(client() for _ in range(IN_FLIGHT)))
    return sent
