"""A PostgreSQL server of a test's own, for tests that must restart one.

``initdb`` and ``pg_ctl`` from the installed server binaries make it in a temp folder, on a free
port, its unix socket in that folder (``bench.pg_server``, which the scaling benchmark uses
too): restarting it disturbs nobody (the machine's shared server, which the rest of the suite
uses, is never touched). ``initdb`` refuses to run as root, so as root the folder belongs to
the ``postgres`` user and the commands run as that user.

Without the server binaries the test is skipped, loudly; under CI (``CI=true``) it fails.
"""

from __future__ import annotations

import glob
import shutil
from pathlib import Path

import pytest

from bench.pg_server import PgServer
from tests.pg import CI


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


class ThrowawayPostgres(PgServer):
    """``bench.pg_server.PgServer`` with durability off (``fsync``, ``full_page_writes``): the
    tests restart it, they do not time its commits. ``init`` + ``start``, then ``remove``."""

    def __init__(self, bin_dir: Path) -> None:
        super().__init__({"fsync": "off", "full_page_writes": "off"}, bin_dir)
