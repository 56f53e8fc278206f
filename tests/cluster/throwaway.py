"""A PostgreSQL server of a test's own, for tests that must restart one.

``initdb`` and ``pg_ctl`` from the installed server binaries make it in a temp folder, on a free
port, its unix socket in that folder: restarting it disturbs nobody (the machine's shared server,
which the rest of the suite uses, is never touched). ``initdb`` refuses to run as root, so as
root the folder belongs to the ``postgres`` user and the commands run as that user.

Without the server binaries the test is skipped, loudly; under CI (``CI=true``) it fails.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.pg import CI
from tests.processes import free_port

SERVER_USER = "postgres"


def server_bin() -> Path | None:
    """The folder of the installed server's ``initdb`` and ``pg_ctl`` (the newest version)."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    found = [Path(d) for d in glob.glob("/usr/lib/postgresql/*/bin") if Path(d, "initdb").exists()]
    found.sort(key=lambda d: [int(p) for p in d.parent.name.split(".") if p.isdigit()])
    return found[-1] if found else None


def require_server_bin() -> Path:
    """``server_bin()``, or skip (under CI: fail) the calling test, loudly."""
    where = server_bin()
    if where is None:
        problem = "SKIPPED: no PostgreSQL server binaries (initdb, pg_ctl) to make a throwaway one"
        if CI:
            pytest.fail(f"{problem} (CI=true: a missing initdb is a failure)")
        pytest.skip(problem)
    return where


class ThrowawayPostgres:
    """One initdb'd cluster in a temp folder, trusted connections from loopback only."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="hookwise-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam(SERVER_USER)
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", SERVER_USER, "--"]

    @property
    def url(self) -> str:
        """The URL of its ``postgres`` database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url_for(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [*self._as, str(self.bin / tool), *args], capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} {args[:1]} failed: {done.stdout}{done.stderr}{log}")

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c full_page_writes=off"
        )
        self._run("pg_ctl", action, "-D", str(self.data), "-l", str(self.log), "-w",
                  "-t", "60", "-o", options, *extra)  # fmt: skip

    def start(self) -> None:
        """initdb (a fresh cluster, user ``postgres``, trust auth) and start it."""
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync", "--no-instructions")  # fmt: skip
        self._pg_ctl("start")

    def restart(self) -> None:
        """Restart it the way an operator would (fast shutdown, then start)."""
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        """Stop it (if running) and remove its folder."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError):
                self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w")
        shutil.rmtree(self.root, ignore_errors=True)
