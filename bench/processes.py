"""Child processes that are always killed: each in its own process group, stopped on exit.

Every server, worker and sender the benchmark starts goes through ``Proc``. A ``Proc`` is
stopped by its ``stop()`` (called from ``finally`` blocks), and as a last resort by an ``atexit``
hook and the harness's signal handlers, so nothing outlives a run. Only the process groups this
module created are signalled, by their id.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

REPO_ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

_LIVE: set[Proc] = set()
_MEMORY_LINES = frozenset({"VmRSS", "RssAnon", "RssFile", "RssShmem"})


class Proc:
    """A child process in its own session, its output going to a log file."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        capture_stdout: bool = False,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        # The checkout goes on the path of the harness's own interpreter only (``-m bench.…``):
        # another program (``$BENCH_HOOKWISE``, another build's venv) must run its own code, and
        # the checkout first on its path would silently run this one's hookwise instead.
        checkout = {"PYTHONPATH": str(REPO_ROOT)} if self.argv[:1] == [PYTHON] else {}
        full_env = {**os.environ, **checkout, **(env or {})}
        self.popen = subprocess.Popen(
            self.argv,
            cwd=REPO_ROOT,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if capture_stdout else self._log,
            stderr=self._log,
            start_new_session=True,
        )
        self.pid = self.popen.pid
        _LIVE.add(self)

    def alive(self) -> bool:
        """True while the process runs."""
        return self.popen.poll() is None

    def readline(self, timeout: float) -> str | None:
        """One line of captured stdout, or None if none came within ``timeout`` seconds."""
        stream = self.popen.stdout
        if stream is None:
            return None
        with selectors.DefaultSelector() as sel:
            sel.register(stream, selectors.EVENT_READ)
            if not sel.select(timeout):
                return None
        line = stream.readline()
        return line.decode(errors="replace").strip() if line else None

    def stop(self, grace: float = 3.0) -> None:
        """SIGTERM the process group, then SIGKILL what is left after ``grace`` seconds."""
        try:
            if self.popen.poll() is None:
                _signal_group(self.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.popen.wait(timeout=grace)
            # Children (prefork pools) may outlive their parent: the group goes in any case.
            _signal_group(self.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=grace)
        finally:
            _LIVE.discard(self)
            if self.popen.stdout is not None:
                self.popen.stdout.close()
            self._log.close()

    def tail(self, lines: int = 6) -> str:
        """The last lines of the process's log (for error messages)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])

    def rss_bytes(self) -> int:
        """Resident memory of the process (0 when it is gone)."""
        return self.memory().get("VmRSS", 0)

    def memory(self) -> dict[str, int]:
        """The process's memory lines of ``/proc/PID/status`` in bytes: ``VmRSS`` and its parts
        ``RssAnon`` (heap, stacks), ``RssFile`` (mapped files) and ``RssShmem``; empty when it
        is gone."""
        out: dict[str, int] = {}
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    name, _, rest = line.partition(":")
                    if name in _MEMORY_LINES:
                        out[name] = int(rest.split()[0]) * 1024
        except OSError:
            return {}
        return out

    def __hash__(self) -> int:
        return self.pid

    def __repr__(self) -> str:
        return f"Proc({self.name!r}, pid={self.pid})"


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def stop_many(procs: Sequence[Proc], grace: float = 3.0) -> None:
    """Stop several processes at once: SIGTERM to all, one shared grace period, then SIGKILL."""
    for proc in procs:
        if proc.alive():
            _signal_group(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
    for proc in procs:
        proc.stop(grace=grace)


def stop_all() -> None:
    """Stop every process still running (atexit and signal handlers)."""
    stop_many(list(_LIVE), grace=1.0)


@contextlib.contextmanager
def running(*procs: Proc) -> Iterator[tuple[Proc, ...]]:
    """Stop the given processes when the block ends, however it ends."""
    try:
        yield procs
    finally:
        for proc in procs:
            proc.stop()


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until it is truthy or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


atexit.register(stop_all)


async def report_of(
    name: str,
    argv: list[str],
    log_dir: Path,
    timeout: float,
    *,
    meanwhile: Callable[[], Awaitable[None]] | None = None,
) -> dict[str, Any]:
    """Run a sender program in its own process and read the one JSON line it prints at the
    end (``bench.ceiling``, ``bench.engine``, ``bench.store_path``); ``meanwhile`` runs every
    0.25 s until then (sampling what the program drives). The process is stopped whatever
    happens."""
    proc = Proc(name, argv, log_path=log_dir / f"{name}.log", capture_stdout=True)
    deadline = time.monotonic() + timeout
    try:
        while True:  # a line already printed is read even once the program has exited
            if meanwhile is not None:
                await meanwhile()
            step = 0.25 if meanwhile is not None else deadline - time.monotonic()
            line = await asyncio.to_thread(proc.readline, max(0.0, step))
            if line is not None or not proc.alive() or time.monotonic() >= deadline:
                break
    finally:
        await asyncio.to_thread(proc.stop)
    if not line:
        raise RuntimeError(f"{name} printed nothing: {proc.tail()}")
    return cast(dict[str, Any], json.loads(line))
