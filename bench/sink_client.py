"""Start the sink (``bench.sink``) as a separate process and read its counters."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.processes import PYTHON, Proc


class SinkError(RuntimeError):
    """The sink did not start or does not answer."""


class SinkHandle:
    """A running sink: its base URL and its control interface (plain blocking HTTP).

    Control calls are short local requests (well under a millisecond of the sink's time);
    the harness makes them between phases, never inside a load loop.
    """

    def __init__(self, proc: Proc | None, port: int) -> None:
        self.proc = proc
        self.port = port
        self.base = f"http://127.0.0.1:{port}"

    @classmethod
    def start(cls, log_dir: Path, *, cpu: int | None = None, fail_every: int = 5) -> SinkHandle:
        """Start ``python -m bench.sink`` on a free loopback port and wait for it."""
        argv = [PYTHON, "-m", "bench.sink", "--port", "0", "--fail-every", str(fail_every)]
        if cpu is not None:
            argv += ["--cpu", str(cpu)]
        proc = Proc("sink", argv, log_path=log_dir / "sink.log", capture_stdout=True)
        line = proc.readline(timeout=15.0)
        if not line or not line.startswith("listening "):
            proc.stop()
            raise SinkError(f"sink did not start: {line or proc.tail()}")
        handle = cls(proc, int(line.split()[1]))
        handle.get("/__health")
        return handle

    def url(self, path: str) -> str:
        """The full URL of ``path`` on the sink."""
        return self.base + path

    def get(self, path: str, timeout: float = 30.0) -> Any:
        """GET a control path and decode its JSON."""
        try:
            with urllib.request.urlopen(self.base + path, timeout=timeout) as resp:
                return json.loads(resp.read())
        except OSError as exc:
            raise SinkError(f"sink control {path} failed: {exc}") from exc

    def reset(self) -> None:
        """Forget every count and record."""
        self.get("/__reset")

    def stats(self) -> dict[str, Any]:
        """Counts since the last reset (see ``bench.sink``)."""
        result: dict[str, Any] = self.get("/__stats")
        return result

    def timeline(self) -> list[list[float]]:
        """``[t, answered, ok]`` samples since the last reset."""
        result: list[list[float]] = self.get("/__timeline")
        return result

    def records(self) -> list[list[Any]]:
        """Every recorded arrival ``[t, path, webhook_id, status]`` since the last reset."""
        out: list[list[Any]] = []
        while True:
            page = self.get(f"/__records?since={len(out)}")
            out.extend(page["records"])
            if not page["records"] or len(out) >= page["total"]:
                return out

    def count_with_prefix(self, prefix: str, stats: dict[str, Any] | None = None) -> int:
        """Requests that arrived on paths starting with ``prefix``."""
        by_path = (stats or self.stats())["by_path"]
        return sum(int(v["count"]) for p, v in by_path.items() if p.startswith(prefix))

    def wait_for(self, field: str, target: int, timeout: float, interval: float = 0.1) -> bool:
        """Wait until ``stats()[field] >= target``; False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if int(self.stats()[field]) >= target:
                return True
            if time.monotonic() >= deadline or not self.alive():
                return False
            time.sleep(interval)

    def alive(self) -> bool:
        """True while the sink process runs (always True for a sink this handle did not start)."""
        return self.proc is None or self.proc.alive()

    def stop(self) -> None:
        """Stop the sink process (if this handle started it)."""
        if self.proc is not None:
            self.proc.stop()
