"""PostgreSQL for tests: a template database migrated once per run, one copy per test.

The template (``hookwise_tpl_<pid>``) is migrated once per session; each test gets its own
database made from it with ``CREATE DATABASE … TEMPLATE`` and dropped afterwards. Copies are
made ahead of time and dropped later on a helper thread, so a test waits for neither.
Databases left behind by runs that died (their pid is gone) are dropped at the next start.

Without a reachable server the PostgreSQL half of the suite is skipped, loudly (the reason is in
the header and in the summary); under CI (``CI=true``) a missing server fails those tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

PG_ADMIN_URL = os.environ.get("HOOKWISE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
CI = os.environ.get("CI") == "true"
TEMPLATE = f"hookwise_tpl_{os.getpid()}"
_COPY_PREFIX = f"hookwise_t_{os.getpid()}_"
_OURS = re.compile(r"^hookwise_(?:tpl_(\d+)|t_(\d+)_\d+)$")
_SPARES = 2

T = TypeVar("T")


def url_for(database: str) -> str:
    """The URL of ``database`` on the test server."""
    parts = urlsplit(PG_ADMIN_URL)
    return urlunsplit(parts._replace(path=f"/{database}"))


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion on a fresh loop in a fresh thread (safe from any context,
    including a running event loop)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(make())
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


async def _admin(*statements: str, fetch: str | None = None) -> list[Any]:
    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        for sql in statements:
            await conn.execute(sql)
        return list(await conn.fetch(fetch)) if fetch else []
    finally:
        await conn.close()


def admin(*statements: str, fetch: str | None = None) -> list[Any]:
    """Run statements on the admin database (outside any transaction)."""
    return run_async(lambda: _admin(*statements, fetch=fetch))


def _probe() -> str | None:
    try:
        admin("SELECT 1")
    except Exception as exc:
        return f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {type(exc).__name__}: {exc}"
    return None


PG_PROBLEM = _probe()

if PG_PROBLEM is None or CI:
    BACKENDS: list[Any] = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
else:
    BACKENDS = [
        "sqlite",
        pytest.param(
            "postgres",
            marks=[pytest.mark.postgres, pytest.mark.skip(reason=f"SKIPPED: {PG_PROBLEM}")],
        ),
    ]
BACKEND_NAMES = ["sqlite", "postgres"]


def pg_header() -> list[str]:
    """Lines for the pytest header: where the PostgreSQL tests run, or loudly why they do not."""
    if PG_PROBLEM is None:
        return [f"postgres: {url_for('…')} (template {TEMPLATE}, one database per test)"]
    if CI:
        return [f"ERROR: {PG_PROBLEM}; CI=true, so every PostgreSQL test FAILS"]
    return [f"WARNING: {PG_PROBLEM}; every PostgreSQL test is SKIPPED (CI=true makes it fail)"]


def require_postgres() -> None:
    """Skip (or, under CI, fail) the calling test when PostgreSQL is not reachable."""
    if PG_PROBLEM is not None:
        if CI:
            pytest.fail(f"{PG_PROBLEM} (CI=true: a missing PostgreSQL is a failure)")
        pytest.skip(PG_PROBLEM)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _drop_stale() -> None:
    """Drop databases of earlier runs whose process is gone."""
    names = [r["datname"] for r in admin(fetch="SELECT datname FROM pg_database")]
    for name in names:
        m = _OURS.match(name)
        if m and not _alive(int(m[1] or m[2])):
            with contextlib.suppress(Exception):
                admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Copies:
    """Databases made from the template ahead of time, and dropped later, on one thread."""

    def __init__(self, template: str) -> None:
        self.template = template
        self._names = (f"{_COPY_PREFIX}{n}" for n in itertools.count())
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        self._jobs: queue.PriorityQueue[tuple[int, int, str, str]] = queue.PriorityQueue()
        self._seq = itertools.count()
        self._thread = threading.Thread(target=self._work, name="pg-copies", daemon=True)
        self._thread.start()
        for _ in range(_SPARES):
            self._add("create", next(self._names))

    def take(self) -> str:
        """A fresh database (a spare when one is ready); another spare is started."""
        self._add("create", next(self._names))
        got = self._ready.get(timeout=120)
        if isinstance(got, BaseException):
            raise got
        return got

    def give_back(self, name: str) -> None:
        """Drop ``name`` soon (creating spares comes first)."""
        self._add("drop", name)

    def close(self) -> None:
        """Drop every database this run made, the template last."""
        self._jobs.put((9, next(self._seq), "stop", ""))
        self._thread.join(timeout=120)
        leftovers = []
        while not self._ready.empty():
            got = self._ready.get()
            if isinstance(got, str):
                leftovers.append(got)
        for name in [*leftovers, self.template]:
            with contextlib.suppress(Exception):
                admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _add(self, kind: str, name: str) -> None:
        self._jobs.put((0 if kind == "create" else 1, next(self._seq), kind, name))

    def _work(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            while True:
                _, _, kind, name = self._jobs.get()
                if kind == "stop":
                    return
                if kind == "create":
                    sql = f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'
                else:
                    sql = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
                error = self._retry(loop, sql)
                if kind == "create":
                    self._ready.put(name if error is None else error)
        finally:
            loop.close()

    @staticmethod
    def _retry(loop: asyncio.AbstractEventLoop, sql: str) -> BaseException | None:
        # the server may be restarting (the pg_restart test): keep trying for a while
        deadline = time.monotonic() + 60
        while True:
            try:
                loop.run_until_complete(_admin(sql))
                return None
            except Exception as exc:
                if time.monotonic() > deadline:
                    return exc
                time.sleep(0.5)


_copies: Copies | None = None


@pytest.fixture(scope="session")
def pg_template() -> Iterator[Copies]:
    """The migrated template of this run and its copies (dropped at the end of the session)."""
    global _copies
    require_postgres()
    from hookwise.store.migrate import upgrade

    _drop_stale()
    admin(f'DROP DATABASE IF EXISTS "{TEMPLATE}"', f'CREATE DATABASE "{TEMPLATE}"')
    upgrade(url_for(TEMPLATE))
    _copies = Copies(TEMPLATE)
    try:
        yield _copies
    finally:
        _copies.close()
        _copies = None


def postgres_url_for(request: pytest.FixtureRequest) -> str:
    """A fresh, migrated database for the requesting test, dropped after it."""
    require_postgres()
    copies: Copies = request.getfixturevalue("pg_template")
    name = copies.take()
    request.addfinalizer(lambda: copies.give_back(name))
    return url_for(name)
