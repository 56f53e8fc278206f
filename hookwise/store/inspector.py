"""The ``Inspector`` role, written once for both databases: request bins and their captures.

A capture is one transaction (after a read that turns unknown bins away): the bin's row is read
(locked on PostgreSQL, so the captures of one bin are kept in turn and the cap holds), the
request is inserted, and the captures past the bin's cap go, oldest first. Expired bins are read
as missing at once and deleted, with their captures, in a small batch whenever a bin is made.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from hookwise.domain.errors import NotFound
from hookwise.domain.ids import new_id
from hookwise.domain.models import Page
from hookwise.store.paging import after, newest_of, page
from hookwise.store.rules import inspector as rules
from hookwise.store.sql import Handle, Tx, execute, fetch, fetchrow

_CAPTURES = newest_of("inspector_captures", "bin_id")
_BIN = "SELECT * FROM inspector_bins WHERE id = $1 AND expires_at > $2"
# $1 bin, $2 how many to keep: every capture older than the newest $2 (from the $2 + 1st on)
_TRIM = (
    "DELETE FROM inspector_captures WHERE bin_id = $1 AND id <= (SELECT id FROM"
    " inspector_captures WHERE bin_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)"
)
_EXPIRED = "SELECT id FROM inspector_bins WHERE expires_at <= $1 LIMIT $2"
PRUNE_BATCH = 100


@dataclass(frozen=True, slots=True)
class Bin:
    """A URL that records every request sent to it and answers ``status``."""

    id: str
    app_id: str | None
    name: str | None
    status: int
    created_at: float
    expires_at: float


@dataclass(frozen=True, slots=True)
class Capture:
    """One request a bin received (``body`` cut at the limit when ``truncated``)."""

    bin_id: str
    id: str
    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    body_size: int
    truncated: bool
    received_at: float


@dataclass(frozen=True, slots=True)
class Limits:
    """How long a bin lives and how much it keeps."""

    ttl_seconds: float = 86400.0
    max_captures: int = 100
    max_body_bytes: int = 65536


def _bin(r: Any) -> Bin:
    return Bin(r["id"], r["app_id"], r["name"], r["status"], r["created_at"], r["expires_at"])


def _capture(r: Any) -> Capture:
    headers = tuple((str(k), str(v)) for k, v in orjson.loads(r["headers"]))
    return Capture(
        r["bin_id"], r["id"], r["method"], r["path"], r["query"], headers, bytes(r["body"]),
        r["body_size"], bool(r["truncated"]), r["received_at"],
    )  # fmt: skip


class Inspector:
    """Request bins over one database ``Handle``."""

    def __init__(self, db: Handle, limits: Limits | None = None) -> None:
        self._db = db
        self.limits = limits or Limits()
        self._lock = _BIN + db.dialect.for_update
        self._any = db.dialect.any("bin_id", "$1")
        self._any_id = db.dialect.any("id", "$1")

    async def create_bin(self, *, app_id: str | None, name: object, status: object) -> Bin:
        """A new bin owned by ``app_id`` (None: an admin's); expired bins go first."""
        await self.prune_expired()
        now = time.time()
        b = Bin(
            new_id("bin"), app_id, rules.bin_name(name), rules.bin_status(status), now,
            now + self.limits.ttl_seconds,
        )  # fmt: skip

        def tx() -> Tx[None]:
            yield execute(
                "INSERT INTO inspector_bins (id, app_id, name, status, created_at, expires_at)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                b.id, b.app_id, b.name, b.status, b.created_at, b.expires_at,
            )  # fmt: skip

        await self._db.write(tx)
        return b

    async def get_bin(self, bin_id: str) -> Bin:
        """The bin, unless it is missing or expired (NotFound)."""

        def tx() -> Tx[Bin]:
            r = yield fetchrow(_BIN, bin_id, time.time())
            if r is None:
                raise NotFound("bin", bin_id)
            return _bin(r)

        return await self._db.read(tx)

    async def list_bins(self, *, app_id: str | None, limit: int, cursor: str | None) -> Page[Bin]:
        """Live bins, newest first: those of ``app_id``, or every one when it is None."""
        sql, args = (
            "SELECT * FROM inspector_bins WHERE id < $1 AND expires_at > $2",
            [
                cursor or "~",
                time.time(),
            ],
        )
        if app_id is not None:
            args.append(app_id)
            sql += " AND app_id = $3"

        def tx() -> Tx[Page[Bin]]:
            r = yield fetch(f"{sql} ORDER BY id DESC LIMIT ${len(args) + 1}", *args, limit + 1)
            return page(r, limit, _bin)

        return await self._db.read(tx)

    async def delete_bin(self, bin_id: str) -> None:
        """Delete the bin and its captures (NotFound when it is not there)."""

        def tx() -> Tx[None]:
            n = yield execute("DELETE FROM inspector_bins WHERE id = $1", bin_id)
            if not n:
                raise NotFound("bin", bin_id)
            yield execute("DELETE FROM inspector_captures WHERE bin_id = $1", bin_id)

        await self._db.write(tx)

    async def capture(
        self,
        bin_id: str,
        *,
        method: str,
        path: str,
        query: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
    ) -> tuple[Bin, Capture]:
        """Record a request in a live bin (NotFound otherwise); the bin and the capture. Anyone
        may send to ``/inspect/…``: a bin that is not there is found so on a read, without a
        turn of the (SQLite: single) writer."""
        await self.get_bin(bin_id)
        now = time.time()
        kept, truncated = rules.cut(body, self.limits.max_body_bytes)
        c = Capture(
            bin_id, new_id("req"), method[:16], path, query, tuple(rules.masked(headers)), kept,
            len(body), truncated, now,
        )  # fmt: skip
        keep = self.limits.max_captures
        lock = self._lock

        def tx() -> Tx[Bin]:
            r = yield fetchrow(lock, bin_id, now)
            if r is None:
                raise NotFound("bin", bin_id)
            yield execute(
                "INSERT INTO inspector_captures (bin_id, id, method, path, query, headers, body,"
                " body_size, truncated, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
                " $9, $10)",
                c.bin_id, c.id, c.method, c.path, c.query, orjson.dumps(c.headers).decode(),
                c.body, c.body_size, c.truncated, c.received_at,
            )  # fmt: skip
            yield execute(_TRIM, bin_id, keep)
            return _bin(r)

        return await self._db.write(tx), c

    async def list_captures(self, bin_id: str, *, limit: int, cursor: str | None) -> Page[Capture]:
        """A live bin's captures, newest first (NotFound when the bin is not live)."""

        def tx() -> Tx[Page[Capture]]:
            if (yield fetchrow(_BIN, bin_id, time.time())) is None:
                raise NotFound("bin", bin_id)
            r = yield fetch(_CAPTURES, bin_id, after(cursor), limit + 1)
            return page(r, limit, _capture)

        return await self._db.read(tx)

    async def get_capture(self, bin_id: str, capture_id: str) -> Capture:
        """One capture of a live bin (NotFound otherwise)."""

        def tx() -> Tx[Capture]:
            if (yield fetchrow(_BIN, bin_id, time.time())) is not None:
                r = yield fetchrow(
                    "SELECT * FROM inspector_captures WHERE bin_id = $1 AND id = $2",
                    bin_id,
                    capture_id,
                )
                if r is not None:
                    return _capture(r)
            raise NotFound("capture", capture_id)

        return await self._db.read(tx)

    async def prune_expired(self, *, now: float | None = None) -> int:
        """Delete up to a batch of expired bins with their captures; how many bins went."""
        array = self._db.dialect.array
        cutoff = time.time() if now is None else now
        captures = f"DELETE FROM inspector_captures WHERE {self._any}"
        bins = f"DELETE FROM inspector_bins WHERE {self._any_id}"

        def tx() -> Tx[int]:
            ids = [r["id"] for r in (yield fetch(_EXPIRED, cutoff, PRUNE_BATCH))]
            if ids:
                yield execute(captures, array(ids))
                yield execute(bins, array(ids))
            return len(ids)

        return await self._db.write(tx)
