"""Run ``hookwise`` commands as real processes for end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

HOOKWISE = str(Path(sys.executable).parent / "hookwise")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env(db_url: str, **extra: str) -> dict[str, str]:
    e = dict(os.environ)
    e.update({"HOOKWISE_DB": db_url, "HOOKWISE_ALLOW_NETWORKS": "127.0.0.0/8,::1/128"})
    e.update(extra)
    return e


def admin_key(db_url: str) -> str:
    out = subprocess.run(
        [HOOKWISE, "keys", "create", "--admin", "--db", db_url],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return out.stdout.strip().splitlines()[-1]


class Proc:
    """A hookwise process with its log file."""

    def __init__(self, args: list[str], environ: dict[str, str], log: Path) -> None:
        self.log = log
        self._fh = log.open("ab")
        self.popen = subprocess.Popen(
            [HOOKWISE, *args], env=environ, stdout=self._fh, stderr=subprocess.STDOUT
        )

    def kill(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)

    def terminate(self, timeout: float = 30) -> int:
        self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(timeout)

    async def stop(self, timeout: float = 30) -> int:
        """SIGTERM, and the exit code, awaited without blocking this event loop: the test's
        own servers (a receiver the process is sending to) keep answering meanwhile."""
        self.popen.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(self.popen.wait, timeout)

    def close(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(10)
        self._fh.close()


async def wait_healthy(base_url: str, proc: Proc, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as c:
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                raise RuntimeError(f"hookwise exited: {proc.log.read_text()[-2000:]}")
            try:
                if (await c.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise TimeoutError(f"hookwise did not become healthy: {proc.log.read_text()[-2000:]}")
