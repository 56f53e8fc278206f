"""Rows written before times and rates were bounded (a rate limit of 1e-300 put next_attempt_at
near 1e300) still read, and migration 0007 brings them back into range: on every store."""

from __future__ import annotations

import itertools
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from hookwise.store.migrate import upgrade
from tests.conftest import Api
from tests.pg import admin, require_postgres, run_async, url_for

_names = itertools.count(900)


def _execute(db_url: str, *statements: str) -> None:
    if db_url.startswith("sqlite:///"):
        with sqlite3.connect(db_url.removeprefix("sqlite:///")) as c:
            for sql in statements:
                c.execute(sql)
        return

    async def run() -> None:
        conn = await asyncpg.connect(db_url)
        try:
            for sql in statements:
                await conn.execute(sql)
        finally:
            await conn.close()

    run_async(run)


async def test_a_time_past_year_9999_still_reads(api: Api, db_url: str) -> None:
    app = await api.app()
    await api.endpoint(app["id"], url="https://example.com/h")
    await api.send(app["id"])
    _execute(db_url, "UPDATE deliveries SET next_attempt_at = 1e300")
    r = await api.http.get(f"/v1/apps/{app['id']}/deliveries")
    assert r.status_code == 200, r.text
    assert r.json()["data"][0]["next_attempt_at"] == "9999-12-31T23:59:59.000Z"


@pytest.fixture(params=["sqlite", "postgres"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    require_postgres()
    name = f"hookwise_t_{os.getpid()}_{next(_names)}"
    admin(f"CREATE DATABASE {name}")
    try:
        yield url_for(name)
    finally:
        admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_migration_0007_brings_rates_and_times_into_range(empty_db: str) -> None:
    upgrade(empty_db, "0006")
    far = 1e300
    _execute(
        empty_db,
        "INSERT INTO endpoints (app_id, id, url, description, events, secret, previous_secrets,"
        " retry_schedule, timeout_seconds, rate_limit_per_second, max_in_flight, headers,"
        " status, consecutive_failures, rl_next_at, created_at, updated_at) VALUES ('app_1',"
        f" 'ep_1', 'https://example.com/h', '', '[]', 's', '[]', '[1]', 10, 1e-300, 64, '{{}}',"
        f" 'active', 0, {far}, 0, 0)",
        "INSERT INTO deliveries (app_id, id, message_id, endpoint_id, status, attempt_count,"
        " retry_base, next_attempt_at, trigger, created_at, updated_at) VALUES ('app_1', 'dlv_1',"
        f" 'msg_1', 'ep_1', 'pending', 0, 0, {far}, 'scheduled', 0, 0)",
    )
    before = time.time()
    upgrade(empty_db)

    async def read() -> tuple[float, float, float]:
        if empty_db.startswith("sqlite:///"):
            with sqlite3.connect(empty_db.removeprefix("sqlite:///")) as c:
                rate, rl = c.execute(
                    "SELECT rate_limit_per_second, rl_next_at FROM endpoints"
                ).fetchone()
                (due,) = c.execute("SELECT next_attempt_at FROM deliveries").fetchone()
                return rate, rl, due
        conn = await asyncpg.connect(empty_db)
        try:
            ep = await conn.fetchrow("SELECT rate_limit_per_second, rl_next_at FROM endpoints")
            due = await conn.fetchval("SELECT next_attempt_at FROM deliveries")
            return ep[0], ep[1], due
        finally:
            await conn.close()

    rate, rl, due = run_async(read)
    assert rate == 0.01
    assert before <= rl <= time.time() and before <= due <= time.time()
