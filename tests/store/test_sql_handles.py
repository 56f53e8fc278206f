"""Transactions written once (``store.sql``) on both real databases: marks, shapes, the
all-or-nothing commit, ``Duplicate`` and array parameters behave the same on each."""

from __future__ import annotations

from typing import Any

import pytest

from hookwise.store import Store
from hookwise.store.sql import (
    Duplicate,
    Handle,
    Tx,
    execute,
    executemany,
    fetch,
    fetchrow,
    fetchval,
    sqlite_marks,
)


def _handle(store: Store) -> Handle:
    handle: Handle = store._handle  # type: ignore[attr-defined]  # the seam under test
    return handle


def _meta(prefix: str) -> Tx[list[Any]]:
    rows: list[Any] = yield fetch(
        "SELECT name, value FROM meta WHERE name LIKE $1 ORDER BY name", prefix
    )
    return rows


def test_sqlite_marks_keep_their_numbers() -> None:
    assert sqlite_marks("SELECT $2, $1, $12 WHERE a = $1") == "SELECT ?2, ?1, ?12 WHERE a = ?1"


async def test_every_shape_answers_the_same(store: Store) -> None:
    db = _handle(store)

    def write() -> Tx[tuple[Any, ...]]:
        yield executemany(
            "INSERT INTO meta (name, value) VALUES ($1, $2)", [("t.a", "1"), ("t.b", "2")]
        )
        n = yield execute("UPDATE meta SET value = $2 || value WHERE name LIKE $1", "t.%", "x")
        row = yield fetchrow("SELECT value FROM meta WHERE name = $1", "t.a")
        none = yield fetchrow("SELECT value FROM meta WHERE name = $1", "t.zzz")
        val = yield fetchval("SELECT count(*) FROM meta WHERE name LIKE $1", "t.%")
        return n, row["value"], none, val

    assert await db.write(write) == (2, "x1", None, 2)
    assert [tuple(r) for r in await db.read(lambda: _meta("t.%"))] == [("t.a", "x1"), ("t.b", "x2")]


async def test_a_transaction_that_raises_leaves_nothing(store: Store) -> None:
    db = _handle(store)

    def tx() -> Tx[None]:
        yield execute("INSERT INTO meta (name, value) VALUES ($1, $2)", "r.a", "1")
        raise LookupError("changed my mind")

    with pytest.raises(LookupError):
        await db.write(tx)
    assert await db.read(lambda: _meta("r.%")) == []


async def test_a_duplicate_is_thrown_into_the_transaction(store: Store) -> None:
    db = _handle(store)
    insert = "INSERT INTO meta (name, value) VALUES ($1, $2)"
    await db.write(lambda: (yield execute(insert, "d.a", "1")))

    def conflicting() -> Tx[None]:
        yield execute(insert, "d.b", "2")
        try:
            yield execute(insert, "d.a", "again")
        except Duplicate as exc:
            raise KeyError("d.a") from exc

    with pytest.raises(KeyError):
        await db.write(conflicting)
    assert [r["name"] for r in await db.read(lambda: _meta("d.%"))] == ["d.a"]

    def going_on() -> Tx[str]:
        yield execute(insert, "d.c", "3")
        try:
            yield execute(insert, "d.a", "again")
        except Duplicate:
            return "ignored"  # not allowed: PostgreSQL has aborted the transaction
        return "inserted"

    with pytest.raises(RuntimeError, match="after a Duplicate"):
        await db.write(going_on)
    assert [r["name"] for r in await db.read(lambda: _meta("d.%"))] == ["d.a"]


async def test_an_array_parameter_matches_its_members(store: Store) -> None:
    db = _handle(store)
    d = db.dialect
    names = [("a.1", "1"), ("a.2", "2"), ("a.3", "3")]
    await db.write(
        lambda: (yield executemany("INSERT INTO meta (name, value) VALUES ($1, $2)", names))
    )

    def pick() -> Tx[list[str]]:
        rows = yield fetch(
            f"SELECT name FROM meta WHERE {d.any('name', '$1')} ORDER BY name",
            d.array(["a.1", "a.3", "zz"]),
        )
        return [r["name"] for r in rows]

    assert await db.read(pick) == ["a.1", "a.3"]


async def test_rows_inserted_at_once_take_their_fields_and_constants(store: Store) -> None:
    db = _handle(store)
    into = "job_results (app_id, job_id, seq, item_id, status, result, error, created_at)"
    values = "$1, 'j', $2, $3, 'failed', NULL, $4, $5"
    types = ("text", "int", "text", "text", "float8")
    rows = [("app", n, f"i{n}", None if n % 2 else '{"n": 1}', n / 2) for n in range(1, 4)]

    def tx() -> Tx[list[Any]]:
        yield db.dialect.insert_rows(into, values, types, rows)
        yield db.dialect.insert_rows(into, values, types, [])
        found: list[Any] = yield fetch("SELECT * FROM job_results ORDER BY seq")
        return found

    got = [
        (r["app_id"], r["job_id"], r["seq"], r["item_id"], r["status"], r["error"], r["created_at"])
        for r in await db.write(tx)
    ]
    assert got == [
        ("app", "j", 1, "i1", "failed", None, 0.5),
        ("app", "j", 2, "i2", "failed", '{"n": 1}', 1.0),
        ("app", "j", 3, "i3", "failed", None, 1.5),
    ]
