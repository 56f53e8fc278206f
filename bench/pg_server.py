"""A throwaway PostgreSQL server for figures that pin the whole path to chosen CPUs.

The machine's server cannot be pinned (nor should its affinity or its configuration ever be
touched), so ``bench.scaling`` makes its own: ``initdb`` in a temp folder, its own port on
127.0.0.1, and the durability settings (``fsync``, ``synchronous_commit``, …) read from the
machine's server so that a commit costs what it costs there. ``start`` runs ``pg_ctl`` from a
process whose CPU affinity the postmaster, and every backend it forks, inherit. ``remove``
stops it and deletes the folder. As root, the folder belongs to ``postgres`` and the commands
run as that user (``initdb`` refuses root).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from bench import pg
from bench.hookwise_service import free_port

BIN = Path(os.environ.get("BENCH_PG_BIN", "/usr/lib/postgresql/15/bin"))
SERVER_USER = "postgres"
# what a commit and a checkpoint cost: copied from the machine's server
COPIED_SETTINGS = (
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "wal_sync_method",
    "shared_buffers",
    "max_wal_size",
    "checkpoint_timeout",
)


class PgServer:
    """One initdb'd cluster in a temp folder, trusted connections from loopback only (also the
    test suite's throwaway server, ``tests.cluster.throwaway``)."""

    def __init__(
        self, settings: Mapping[str, str], bin_dir: Path = BIN, prefix: str = "hookwise-pg-"
    ) -> None:
        self.bin = bin_dir
        self.settings = dict(settings)
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix=prefix))
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
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        """The URL of ``database`` on it."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [*self._as, str(self.bin / tool), *args], capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} {args[:1]} failed: {done.stdout}{done.stderr}{log}")

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = [f"-p {self.port}", f"-k {self.root}", "-c listen_addresses=127.0.0.1"]
        options += [f"-c {name}={value}" for name, value in self.settings.items()]
        self._run("pg_ctl", action, "-D", str(self.data), "-l", str(self.log), "-w",
                  "-t", "60", "-o", " ".join(options), *extra)  # fmt: skip

    def init(self) -> None:
        """``initdb``: a fresh cluster, user ``postgres``, trust auth."""
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync", "--no-instructions")  # fmt: skip

    def start(self) -> None:
        """Start it; the postmaster inherits the CPU affinity of the calling thread."""
        self._pg_ctl("start")

    def restart(self) -> None:
        """Restart it the way an operator would (fast shutdown, then start)."""
        self._pg_ctl("restart", "-m", "fast")

    def stop(self, mode: str = "fast") -> None:
        """Stop it, if it runs."""
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "stop", "-D", str(self.data), "-m", mode, "-w")

    def remove(self) -> None:
        """Stop it (immediate shutdown) and delete its folder."""
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def postmaster(self) -> int:
        """The postmaster's pid."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def pids(self) -> set[int]:
        """The postmaster and every process it forked (backends, background processes)."""
        pm = self.postmaster()
        try:
            children = Path(f"/proc/{pm}/task/{pm}/children").read_text().split()
        except OSError:
            return {pm}
        return {pm, *map(int, children)}


async def system_settings() -> dict[str, str]:
    """``COPIED_SETTINGS`` as the machine's server has them (``bench.pg``'s server)."""
    conn = await pg.connect()
    try:
        rows = await conn.fetch(
            "SELECT name, current_setting(name) AS value FROM pg_settings WHERE name = ANY($1)",
            list(COPIED_SETTINGS),
        )
        return {r["name"]: r["value"] for r in rows}
    finally:
        await conn.close()
