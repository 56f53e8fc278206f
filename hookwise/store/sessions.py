"""The ``Sessions`` role, written once for both databases: who is signed in to the console, and
the single-use portal links that open a session of one app.

Only tokens' SHA-256 hashes are stored. A session signed in with an API key names the key, and
is read joined with it: a revoked key (its row gone) ends the session on the next request, and
``Resources.delete_api_key`` deletes its sessions in the same transaction. Expired sessions and
links are deleted in a small batch whenever a new one is made.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from hookwise.domain.models import ApiKey
from hookwise.store import rows
from hookwise.store.rules import sessions as rules
from hookwise.store.rules.sessions import Lifetimes, LinkRefusal
from hookwise.store.sql import Handle, Tx, execute, fetch, fetchrow

SessionKind = Literal["admin", "app", "portal"]
PRUNE_BATCH = 100
LINK_KEPT_SECONDS = 7 * 86400.0  # an expired link still says "expired" for a week, then goes
_FIND = (
    "SELECT s.*, k.name AS key_name, k.prefix AS key_prefix, k.scope AS key_scope,"
    " k.app_id AS key_app_id, k.created_at AS key_created_at FROM console_sessions s"
    " LEFT JOIN api_keys k ON k.id = s.key_id WHERE s.token_hash = $1"
)


@dataclass(frozen=True, slots=True)
class Session:
    """A console session: an admin's, an app key's, or a portal session of one app."""

    token_hash: str
    kind: SessionKind
    app_id: str | None
    key: ApiKey | None  # the key it was signed in with (None: a portal session)
    created_at: float
    last_seen_at: float
    expires_at: float


def _session(r: Any) -> Session:
    key = None
    if r["key_id"] is not None:
        key = ApiKey(
            r["key_id"], r["key_name"], r["key_prefix"], r["key_scope"], r["key_app_id"],
            rows.ts(r["key_created_at"]),
        )  # fmt: skip
    return Session(
        r["token_hash"], r["kind"], r["app_id"], key, r["created_at"], r["last_seen_at"],
        r["expires_at"],
    )  # fmt: skip


class Sessions:
    """Console sessions and portal links over one database ``Handle``."""

    def __init__(self, db: Handle, lifetimes: Lifetimes | None = None) -> None:
        self._db = db
        self.lifetimes = lifetimes or Lifetimes()
        self._any = db.dialect.any("token_hash", "$1")

    async def start_session(self, key: ApiKey, *, now: float | None = None) -> tuple[str, Session]:
        """A new session of someone who signed in with ``key``: (its token, the session)."""
        kind: SessionKind = "admin" if key.scope == "admin" else "app"
        return await self._start(kind, key.app_id, key, now)

    async def _start(
        self, kind: SessionKind, app_id: str | None, key: ApiKey | None, now: float | None
    ) -> tuple[str, Session]:
        await self.prune_sessions(now=now)
        at = time.time() if now is None else now
        token, hashed = rules.new_token(rules.SESSION_PREFIX)
        s = Session(hashed, kind, app_id, key, at, at, at + self.lifetimes.max_seconds)

        def tx() -> Tx[None]:
            yield from _insert(s)

        await self._db.write(tx)
        return token, s

    async def find_session(self, token: str, *, now: float | None = None) -> Session | None:
        """The live session of ``token`` (None: unknown, ended, idle too long, or its key
        revoked); its ``last_seen_at`` is moved on at most once a minute."""
        at = time.time() if now is None else now
        hashed = rules.digest(token)

        def read() -> Tx[Any]:
            return (yield fetchrow(_FIND, hashed))

        r = await self._db.read(read)
        if r is None or (r["key_id"] is not None and r["key_name"] is None):
            return None
        s = _session(r)
        if not rules.is_live(s.last_seen_at, s.expires_at, at, self.lifetimes):
            return None
        if rules.touch_due(s.last_seen_at, at):

            def touch() -> Tx[None]:
                yield execute(
                    "UPDATE console_sessions SET last_seen_at = $2 WHERE token_hash = $1",
                    hashed,
                    at,
                )

            await self._db.write(touch, durable=False)
        return s

    async def end_session(self, token: str) -> None:
        """Sign out: the session's row goes, so its cookie no longer works anywhere."""
        hashed = rules.digest(token)

        def tx() -> Tx[None]:
            yield execute("DELETE FROM console_sessions WHERE token_hash = $1", hashed)

        await self._db.write(tx)

    async def create_portal_link(
        self, app_id: str, ttl_seconds: float, *, now: float | None = None
    ) -> tuple[str, float]:
        """A single-use link into ``app_id``'s portal: (its token, when it expires)."""
        await self.prune_sessions(now=now)
        at = time.time() if now is None else now
        token, hashed = rules.new_token(rules.LINK_PREFIX)
        expires_at = at + ttl_seconds

        def tx() -> Tx[None]:
            yield execute(
                "INSERT INTO portal_links (token_hash, app_id, created_at, expires_at)"
                " VALUES ($1, $2, $3, $4)",
                hashed, app_id, at, expires_at,
            )  # fmt: skip

        await self._db.write(tx)
        return token, expires_at

    async def check_portal_link(
        self, token: str, *, now: float | None = None
    ) -> LinkRefusal | None:
        """Why the portal link cannot be used, or None while it can; it stays unused."""
        at = time.time() if now is None else now
        hashed = rules.digest(token)

        return await self._db.read(lambda: _refused(hashed, at))

    async def open_portal_link(
        self, token: str, *, now: float | None = None
    ) -> tuple[str, Session] | LinkRefusal:
        """Use a portal link once: a new portal session of its app (its token and the session),
        or why the link cannot be used. Two requests racing with one link: one session."""
        at = time.time() if now is None else now
        hashed = rules.digest(token)
        session_token, session_hash = rules.new_token(rules.SESSION_PREFIX)

        def tx() -> Tx[tuple[str, Session] | LinkRefusal]:
            r = yield fetchrow(
                "UPDATE portal_links SET used_at = $2 WHERE token_hash = $1"
                " AND used_at IS NULL AND expires_at > $2 RETURNING app_id",
                hashed, at,
            )  # fmt: skip
            if r is None:  # refused, or a racing opener took it a moment ago: used
                return (yield from _refused(hashed, at)) or "used"
            s = Session(
                session_hash, "portal", r["app_id"], None, at, at, at + self.lifetimes.max_seconds
            )
            yield from _insert(s)
            return session_token, s

        return await self._db.write(tx)

    async def prune_sessions(self, *, now: float | None = None) -> int:
        """Delete up to a batch each of ended sessions and of links a week past their end (until
        then a link still says it expired or was used); how many rows went."""
        at = time.time() if now is None else now
        idle_since = at - self.lifetimes.idle_seconds
        array, any_hash = self._db.dialect.array, self._any

        def tx() -> Tx[int]:
            gone = 0
            for table, where, args in (
                ("console_sessions", "expires_at <= $1 OR last_seen_at <= $2", (at, idle_since)),
                ("portal_links", "expires_at <= $1", (at - LINK_KEPT_SECONDS,)),
            ):
                found = yield fetch(
                    f"SELECT token_hash FROM {table} WHERE {where} LIMIT {PRUNE_BATCH}", *args
                )
                if found:
                    hashes = [f["token_hash"] for f in found]
                    gone += yield execute(f"DELETE FROM {table} WHERE {any_hash}", array(hashes))
            return gone

        return await self._db.write(tx)


def _refused(hashed: str, at: float) -> Tx[LinkRefusal | None]:
    """Why the link of ``hashed`` cannot be opened at ``at`` (None: it can)."""
    link = yield fetchrow(
        "SELECT used_at, expires_at FROM portal_links WHERE token_hash = $1", hashed
    )
    if link is None:
        return "unknown"
    return rules.link_refusal(link["used_at"], link["expires_at"], at)


def _insert(s: Session) -> Tx[None]:
    yield execute(
        "INSERT INTO console_sessions (token_hash, kind, app_id, key_id, created_at,"
        " last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        s.token_hash, s.kind, s.app_id, None if s.key is None else s.key.id, s.created_at,
        s.last_seen_at, s.expires_at,
    )  # fmt: skip
