"""SQLite: keys, apps, event types and endpoints (the cold paths)."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import orjson

from hookwise.domain.errors import Conflict, NotFound
from hookwise.domain.ids import new_id
from hookwise.domain.models import ApiKey, App, Endpoint, EventType, NewEndpoint, Page, Scope
from hookwise.domain.secretbox import SecretBox
from hookwise.sqlite.writer import SqliteFile
from hookwise.store import rows
from hookwise.store.paging import page

_ENDPOINT_JSON = {"events", "retry_schedule"}
_ENDPOINT_FIELDS = {
    "url", "description", "events", "retry_schedule", "timeout_seconds",
    "rate_limit_per_second", "max_in_flight", "headers", "status", "paused_reason",
}  # fmt: skip


class SqliteResources:
    """CRUD of the slow-changing resources."""

    _db: SqliteFile
    _box: SecretBox

    def _enc(self, secret: str) -> str:
        raise NotImplementedError

    def _dec(self, stored: str) -> str:
        raise NotImplementedError

    # api keys ------------------------------------------------------------------------------
    async def create_api_key(
        self, *, key_id: str, name: str, key_hash: str, prefix: str, app_id: str | None
    ) -> ApiKey:
        now = time.time()
        scope: Scope = "app" if app_id else "admin"

        def op(c: sqlite3.Connection) -> None:
            c.execute(
                "INSERT INTO api_keys (id, name, key_hash, prefix, scope, app_id, created_at)"
                " VALUES (?,?,?,?,?,?,?)",
                (key_id, name, key_hash, prefix, scope, app_id, now),
            )

        await self._db.write(op)
        return ApiKey(key_id, name, prefix, scope, app_id, rows.ts(now))

    async def get_api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        def op(c: sqlite3.Connection) -> ApiKey | None:
            r = c.execute("SELECT * FROM api_keys WHERE key_hash = ?", (key_hash,)).fetchone()
            return rows.api_key(r) if r else None

        return await self._db.read(op)

    async def list_api_keys(
        self, *, app_id: str | None, limit: int, cursor: str | None
    ) -> Page[ApiKey]:
        def op(c: sqlite3.Connection) -> Page[ApiKey]:
            sql, args = "SELECT * FROM api_keys WHERE 1=1", []
            if app_id:
                sql += " AND app_id = ?"
                args.append(app_id)
            if cursor:
                sql += " AND id < ?"
                args.append(cursor)
            sql += " ORDER BY id DESC LIMIT ?"
            return page(c.execute(sql, (*args, limit + 1)).fetchall(), limit, rows.api_key)

        return await self._db.read(op)

    async def delete_api_key(self, key_id: str) -> ApiKey:
        def op(c: sqlite3.Connection) -> ApiKey:
            r = c.execute("DELETE FROM api_keys WHERE id = ? RETURNING *", (key_id,)).fetchone()
            if r is None:
                raise NotFound("api key", key_id)
            return rows.api_key(r)

        return await self._db.write(op)

    # apps ----------------------------------------------------------------------------------
    async def create_app(
        self, *, name: str, uid: str | None, metadata: dict[str, Any], results_inline_budget: int
    ) -> App:
        now = time.time()
        app_id = new_id("app")

        def op(c: sqlite3.Connection) -> App:
            try:
                r = c.execute(
                    "INSERT INTO apps (id, uid, name, metadata, results_inline_budget,"
                    " created_at, updated_at) VALUES (?,?,?,?,?,?,?) RETURNING *",
                    (app_id, uid, name, rows.dumps(metadata), results_inline_budget, now, now),
                ).fetchone()
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"an app with uid {uid!r} exists already") from exc
            return rows.app(r)

        return await self._db.write(op)

    async def get_app(self, app_id_or_uid: str) -> App:
        def op(c: sqlite3.Connection) -> App:
            r = c.execute(
                "SELECT * FROM apps WHERE id = ? OR uid = ? LIMIT 1", (app_id_or_uid,) * 2
            ).fetchone()
            if r is None:
                raise NotFound("app", app_id_or_uid)
            return rows.app(r)

        return await self._db.read(op)

    async def list_apps(self, *, limit: int, cursor: str | None) -> Page[App]:
        def op(c: sqlite3.Connection) -> Page[App]:
            r = c.execute(
                "SELECT * FROM apps WHERE id < ? ORDER BY id DESC LIMIT ?",
                (cursor or "~", limit + 1),
            ).fetchall()
            return page(r, limit, rows.app)

        return await self._db.read(op)

    async def update_app(self, app_id: str, changes: dict[str, Any]) -> App:
        sets = {k: (rows.dumps(v) if k == "metadata" else v) for k, v in changes.items()}
        sets["updated_at"] = time.time()

        def op(c: sqlite3.Connection) -> App:
            assign = ", ".join(f"{k} = ?" for k in sets)
            try:
                r = c.execute(
                    f"UPDATE apps SET {assign} WHERE id = ? RETURNING *", (*sets.values(), app_id)
                ).fetchone()
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"an app with uid {changes.get('uid')!r} exists already") from exc
            if r is None:
                raise NotFound("app", app_id)
            return rows.app(r)

        return await self._db.write(op)

    async def delete_app(self, app_id: str) -> None:
        def op(c: sqlite3.Connection) -> None:
            if c.execute("DELETE FROM apps WHERE id = ?", (app_id,)).rowcount == 0:
                raise NotFound("app", app_id)
            for table in (
                "endpoints", "messages", "message_tags", "deliveries", "attempts", "jobs",
                "job_results", "api_keys",
            ):  # fmt: skip
                c.execute(f"DELETE FROM {table} WHERE app_id = ?", (app_id,))

        await self._db.write(op)

    # event types ---------------------------------------------------------------------------
    async def create_event_type(
        self, *, name: str, description: str, schema: dict[str, Any] | None
    ) -> EventType:
        now = time.time()

        def op(c: sqlite3.Connection) -> EventType:
            try:
                r = c.execute(
                    "INSERT INTO event_types (name, description, schema, archived, created_at,"
                    " updated_at) VALUES (?,?,?,0,?,?) RETURNING *",
                    (name, description, rows.dumps(schema) if schema else None, now, now),
                ).fetchone()
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"event type {name!r} exists already") from exc
            return rows.event_type(r)

        return await self._db.write(op)

    async def get_event_type(self, name: str) -> EventType:
        def op(c: sqlite3.Connection) -> EventType:
            r = c.execute("SELECT * FROM event_types WHERE name = ?", (name,)).fetchone()
            if r is None:
                raise NotFound("event type", name)
            return rows.event_type(r)

        return await self._db.read(op)

    async def list_event_types(
        self, *, limit: int, cursor: str | None, include_archived: bool
    ) -> Page[EventType]:
        def op(c: sqlite3.Connection) -> Page[EventType]:
            sql = "SELECT * FROM event_types WHERE name > ?"
            if not include_archived:
                sql += " AND archived = 0"
            r = c.execute(sql + " ORDER BY name LIMIT ?", (cursor or "", limit + 1)).fetchall()
            return page(r, limit, rows.event_type, key="name")

        return await self._db.read(op)

    async def update_event_type(self, name: str, changes: dict[str, Any]) -> EventType:
        sets = dict(changes)
        if "schema" in sets:
            sets["schema"] = rows.dumps(sets["schema"]) if sets["schema"] else None
        sets["updated_at"] = time.time()

        def op(c: sqlite3.Connection) -> EventType:
            assign = ", ".join(f"{k} = ?" for k in sets)
            r = c.execute(
                f"UPDATE event_types SET {assign} WHERE name = ? RETURNING *",
                (*sets.values(), name),
            ).fetchone()
            if r is None:
                raise NotFound("event type", name)
            return rows.event_type(r)

        return await self._db.write(op)

    async def delete_event_type(self, name: str) -> None:
        def op(c: sqlite3.Connection) -> None:
            if c.execute("DELETE FROM event_types WHERE name = ?", (name,)).rowcount == 0:
                raise NotFound("event type", name)

        await self._db.write(op)

    # endpoints -----------------------------------------------------------------------------
    async def create_endpoint(self, new: NewEndpoint) -> Endpoint:
        now = time.time()
        ep_id = new_id("ep")

        def op(c: sqlite3.Connection) -> Endpoint:
            r = c.execute(
                "INSERT INTO endpoints (app_id, id, url, description, events, secret,"
                " previous_secrets, retry_schedule, timeout_seconds, rate_limit_per_second,"
                " max_in_flight, headers, status, paused_reason, consecutive_failures, kind,"
                " rl_next_at, created_at, updated_at)"
                " VALUES (?,?,?,?,?,?,'[]',?,?,?,?,?,?,NULL,0,?,0,?,?) RETURNING *",
                (
                    new.app_id,
                    ep_id,
                    new.url,
                    new.description,
                    rows.dumps(list(new.events)),
                    self._enc(new.secret),
                    rows.dumps(list(new.retry_schedule)),
                    new.timeout_seconds,
                    new.rate_limit_per_second,
                    new.max_in_flight,
                    rows.headers_column(new.headers, self._enc),
                    new.status,
                    new.kind,
                    now,
                    now,
                ),
            ).fetchone()
            return rows.endpoint(r, self._dec)

        return await self._db.write(op)

    async def get_endpoint(self, app_id: str, endpoint_id: str) -> Endpoint:
        def op(c: sqlite3.Connection) -> Endpoint:
            r = c.execute(
                "SELECT * FROM endpoints WHERE app_id = ? AND id = ?", (app_id, endpoint_id)
            ).fetchone()
            if r is None:
                raise NotFound("endpoint", endpoint_id)
            return rows.endpoint(r, self._dec)

        return await self._db.read(op)

    async def list_endpoints(
        self, app_id: str, *, limit: int, cursor: str | None, kind: str = "endpoint"
    ) -> Page[Endpoint]:
        def op(c: sqlite3.Connection) -> Page[Endpoint]:
            r = c.execute(
                "SELECT * FROM endpoints WHERE app_id = ? AND kind = ? AND id < ?"
                " ORDER BY id DESC LIMIT ?",
                (app_id, kind, cursor or "~", limit + 1),
            ).fetchall()
            return page(r, limit, lambda x: rows.endpoint(x, self._dec))

        return await self._db.read(op)

    async def update_endpoint(
        self, app_id: str, endpoint_id: str, changes: dict[str, Any]
    ) -> Endpoint:
        now = time.time()
        sets: dict[str, Any] = {}
        for k, v in changes.items():
            if k not in _ENDPOINT_FIELDS:
                raise ValueError(f"unknown endpoint field {k}")
            if k in _ENDPOINT_JSON:
                v = rows.dumps(list(v) if isinstance(v, tuple) else v)
            elif k == "headers":
                v = rows.headers_column(v, self._enc)
            sets[k] = v
        status = changes.get("status")
        if status == "active":
            sets["consecutive_failures"] = 0
            sets["paused_reason"] = None
        sets["updated_at"] = now

        def op(c: sqlite3.Connection) -> Endpoint:
            assign = ", ".join(f"{k} = ?" for k in sets)
            r = c.execute(
                f"UPDATE endpoints SET {assign} WHERE app_id = ? AND id = ? RETURNING *",
                (*sets.values(), app_id, endpoint_id),
            ).fetchone()
            if r is None:
                raise NotFound("endpoint", endpoint_id)
            if status == "paused":
                c.execute(
                    "UPDATE deliveries SET status = 'held', updated_at = ? WHERE app_id = ?"
                    " AND endpoint_id = ? AND status = 'pending'",
                    (now, app_id, endpoint_id),
                )
            elif status == "active":
                c.execute(
                    "UPDATE deliveries SET status = 'pending', next_attempt_at = ?,"
                    " retry_base = attempt_count, lease_owner = NULL, updated_at = ?"
                    " WHERE app_id = ? AND endpoint_id = ? AND status = 'held'",
                    (now, now, app_id, endpoint_id),
                )
            return rows.endpoint(r, self._dec)

        ep = await self._db.write(op)
        if status == "active":
            self._wake()
        return ep

    async def delete_endpoint(self, app_id: str, endpoint_id: str) -> None:
        now = time.time()

        def op(c: sqlite3.Connection) -> None:
            n = c.execute(
                "DELETE FROM endpoints WHERE app_id = ? AND id = ?", (app_id, endpoint_id)
            ).rowcount
            if n == 0:
                raise NotFound("endpoint", endpoint_id)
            c.execute(
                "UPDATE deliveries SET status = 'canceled', lease_owner = NULL,"
                " next_attempt_at = NULL, updated_at = ? WHERE app_id = ? AND endpoint_id = ?"
                " AND status IN ('pending', 'held')",
                (now, app_id, endpoint_id),
            )

        await self._db.write(op)

    async def rotate_endpoint_secret(
        self, app_id: str, endpoint_id: str, new_secret: str, old_valid_until: float
    ) -> Endpoint:
        now = time.time()

        def op(c: sqlite3.Connection) -> Endpoint:
            r = c.execute(
                "SELECT secret, previous_secrets FROM endpoints WHERE app_id = ? AND id = ?",
                (app_id, endpoint_id),
            ).fetchone()
            if r is None:
                raise NotFound("endpoint", endpoint_id)
            prev = [p for p in orjson.loads(r["previous_secrets"]) if p[1] > now]
            prev.insert(0, [r["secret"], old_valid_until])
            out = c.execute(
                "UPDATE endpoints SET secret = ?, previous_secrets = ?, updated_at = ?"
                " WHERE app_id = ? AND id = ? RETURNING *",
                (self._enc(new_secret), rows.dumps(prev), now, app_id, endpoint_id),
            ).fetchone()
            return rows.endpoint(out, self._dec)

        return await self._db.write(op)

    async def job_target_endpoint(self, app_id: str, url: str, secret: str) -> Endpoint:
        def find(c: sqlite3.Connection) -> Endpoint | None:
            r = c.execute(
                "SELECT * FROM endpoints WHERE app_id = ? AND kind = 'job_target' AND url = ?",
                (app_id, url),
            ).fetchone()
            return rows.endpoint(r, self._dec) if r else None

        found = await self._db.read(find)
        if found:
            return found
        new = NewEndpoint(app_id=app_id, url=url, secret=secret, kind="job_target")
        ep = await self.create_endpoint(new)
        # two concurrent creators: keep the oldest, drop ours
        winner = await self._db.write(
            lambda c: c.execute(
                "SELECT id FROM endpoints WHERE app_id = ? AND kind = 'job_target' AND url = ?"
                " ORDER BY id LIMIT 1",
                (app_id, url),
            ).fetchone()["id"]
        )
        if winner != ep.id:
            await self.delete_endpoint(app_id, ep.id)
            return await self.get_endpoint(app_id, winner)
        return ep

    def _wake(self) -> None:
        raise NotImplementedError
