"""Fixtures for the receiver tests: both inbox backends, a signing test sender, condition waits.

PostgreSQL tests use a database created for this session (``CREATE DATABASE`` from the
``test`` database, dropped at the end) and a table name of their own inside it. When the server
is unreachable they are skipped with the reason, unless ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import pytest

from hookwise.domain.signing import new_secret
from hookwise.receiver import Inbox, PostgresInbox, SqliteInbox

PG_ADMIN_DSN = os.environ.get("HOOKWISE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _with_db(dsn: str, name: str) -> str:
    base, _, _ = dsn.rpartition("/")
    return f"{base}/{name}"


_OURS = re.compile(r"^hookwise_receiver_(\d+)_[0-9a-f]{8}$")


async def _execute(sql: str) -> list[str]:
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        return [r[0] for r in await conn.fetch(sql)]
    finally:
        await conn.close()


def _admin(sql: str) -> list[str]:
    """Run ``sql`` on the admin database from a thread of its own (safe inside a running loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _execute(sql)).result()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _drop_leftovers() -> None:
    """Drop the databases of earlier runs that died before their teardown."""
    for name in _admin("SELECT datname FROM pg_database"):
        match = _OURS.match(name)
        if match and not _alive(int(match.group(1))):
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """A fresh database for this test session; dropped afterwards."""
    name = f"hookwise_receiver_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        _drop_leftovers()
        _admin(f'CREATE DATABASE "{name}"')
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        reason = f"PostgreSQL unreachable at {PG_ADMIN_DSN} ({exc!r}): PostgreSQL inbox NOT TESTED"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield _with_db(PG_ADMIN_DSN, name)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """The inbox backend a test runs against."""
    return str(request.param)


@pytest.fixture
def make_inbox(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[], Inbox]:
    """A factory of inboxes in one place (same file / same table), for the chosen backend."""
    if backend == "sqlite":
        path = tmp_path / "inbox.db"
        return lambda: SqliteInbox(path)
    dsn = request.getfixturevalue("pg_dsn")
    table = f"inbox_{uuid.uuid4().hex[:12]}"
    return lambda: PostgresInbox(dsn, table=table)


@pytest.fixture
async def inbox(make_inbox: Callable[[], Inbox]) -> AsyncIterator[Inbox]:
    """An open inbox of the chosen backend."""
    box = make_inbox()
    await box.open()
    try:
        yield box
    finally:
        await box.close()


@pytest.fixture
def secret() -> str:
    """A fresh ``whsec_`` secret."""
    return new_secret()
