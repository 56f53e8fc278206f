"""PostgreSQL: keys, apps, event types and endpoints (the cold paths)."""

from __future__ import annotations

import time
from typing import Any, Literal

import asyncpg
import orjson

from hookwise.domain.errors import Conflict, NotFound
from hookwise.domain.ids import new_id
from hookwise.domain.models import ApiKey, App, Endpoint, EventType, NewEndpoint, Page
from hookwise.store import rows
from hookwise.store.paging import page
from hookwise.store.postgres.listener import NOTIFY_SQL
from hookwise.store.postgres.pool import Pools, affected

_ENDPOINT_JSON = {"events", "retry_schedule"}
_ENDPOINT_FIELDS = {
    "url", "description", "events", "retry_schedule", "timeout_seconds",
    "rate_limit_per_second", "max_in_flight", "headers", "status", "paused_reason",
}  # fmt: skip
_APP_FIELDS = {"name", "uid", "metadata", "results_inline_budget"}
_EVENT_TYPE_FIELDS = {"description", "schema", "archived"}
_APP_TABLES = (
    "endpoints", "messages", "message_tags", "deliveries", "attempts", "jobs", "job_results",
    "api_keys",
)  # fmt: skip


def _assign(sets: dict[str, Any], first: int = 1) -> str:
    return ", ".join(f"{k} = ${i}" for i, k in enumerate(sets, start=first))


class PostgresResources:
    """CRUD of the slow-changing resources."""

    _db: Pools

    def _enc(self, secret: str) -> str:
        raise NotImplementedError

    def _dec(self, stored: str) -> str:
        raise NotImplementedError

    def _wake(self) -> None:
        raise NotImplementedError

    # api keys ------------------------------------------------------------------------------
    async def create_api_key(
        self, *, key_id: str, name: str, key_hash: str, prefix: str, app_id: str | None
    ) -> ApiKey:
        now = time.time()
        scope: Literal["admin", "app"] = "app" if app_id else "admin"
        async with self._db.connection() as c:
            try:
                await c.execute(
                    "INSERT INTO api_keys (id, name, key_hash, prefix, scope, app_id, created_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    key_id, name, key_hash, prefix, scope, app_id, now,
                )  # fmt: skip
            except asyncpg.UniqueViolationError as exc:
                raise Conflict("this api key exists already") from exc
        return ApiKey(key_id, name, prefix, scope, app_id, rows.ts(now))

    async def get_api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        r = await self._db.fetchrow("SELECT * FROM api_keys WHERE key_hash = $1", key_hash)
        return rows.api_key(r) if r else None

    async def list_api_keys(
        self, *, app_id: str | None, limit: int, cursor: str | None
    ) -> Page[ApiKey]:
        sql, args = "SELECT * FROM api_keys WHERE true", []
        if app_id:
            args.append(app_id)
            sql += f" AND app_id = ${len(args)}"
        if cursor:
            args.append(cursor)
            sql += f" AND id < ${len(args)}"
        sql += f" ORDER BY id DESC LIMIT ${len(args) + 1}"
        return page(await self._db.fetch(sql, *args, limit + 1), limit, rows.api_key)

    async def delete_api_key(self, key_id: str) -> ApiKey:
        r = await self._db.fetchrow("DELETE FROM api_keys WHERE id = $1 RETURNING *", key_id)
        if r is None:
            raise NotFound("api key", key_id)
        return rows.api_key(r)

    # apps ----------------------------------------------------------------------------------
    async def create_app(
        self, *, name: str, uid: str | None, metadata: dict[str, Any], results_inline_budget: int
    ) -> App:
        now = time.time()
        async with self._db.connection() as c:
            try:
                r = await c.fetchrow(
                    "INSERT INTO apps (id, uid, name, metadata, results_inline_budget,"
                    " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
                    new_id("app"), uid, name, rows.dumps(metadata), results_inline_budget,
                    now, now,
                )  # fmt: skip
            except asyncpg.UniqueViolationError as exc:
                raise Conflict(f"an app with uid {uid!r} exists already") from exc
        return rows.app(r)

    async def get_app(self, app_id_or_uid: str) -> App:
        r = await self._db.fetchrow(
            "SELECT * FROM apps WHERE id = $1 OR uid = $1 ORDER BY id = $1 DESC LIMIT 1",
            app_id_or_uid,
        )
        if r is None:
            raise NotFound("app", app_id_or_uid)
        return rows.app(r)

    async def list_apps(self, *, limit: int, cursor: str | None) -> Page[App]:
        if cursor:
            r = await self._db.fetch(
                "SELECT * FROM apps WHERE id < $1 ORDER BY id DESC LIMIT $2", cursor, limit + 1
            )
        else:
            r = await self._db.fetch("SELECT * FROM apps ORDER BY id DESC LIMIT $1", limit + 1)
        return page(r, limit, rows.app)

    async def update_app(self, app_id: str, changes: dict[str, Any]) -> App:
        sets = {k: (rows.dumps(v) if k == "metadata" else v) for k, v in changes.items()}
        if set(sets) - _APP_FIELDS:
            raise ValueError(f"unknown app fields {sorted(set(sets) - _APP_FIELDS)}")
        sets["updated_at"] = time.time()
        sql = f"UPDATE apps SET {_assign(sets, 2)} WHERE id = $1 RETURNING *"
        async with self._db.connection() as c:
            try:
                r = await c.fetchrow(sql, app_id, *sets.values())
            except asyncpg.UniqueViolationError as exc:
                raise Conflict(f"an app with uid {changes.get('uid')!r} exists already") from exc
        if r is None:
            raise NotFound("app", app_id)
        return rows.app(r)

    async def delete_app(self, app_id: str) -> None:
        async with self._db.transaction() as c:
            if affected(await c.execute("DELETE FROM apps WHERE id = $1", app_id)) == 0:
                raise NotFound("app", app_id)
            for table in _APP_TABLES:
                await c.execute(f"DELETE FROM {table} WHERE app_id = $1", app_id)

    # event types ---------------------------------------------------------------------------
    async def create_event_type(
        self, *, name: str, description: str, schema: dict[str, Any] | None
    ) -> EventType:
        now = time.time()
        async with self._db.connection() as c:
            try:
                r = await c.fetchrow(
                    "INSERT INTO event_types (name, description, schema, archived, created_at,"
                    " updated_at) VALUES ($1, $2, $3, false, $4, $4) RETURNING *",
                    name, description, rows.dumps(schema) if schema else None, now,
                )  # fmt: skip
            except asyncpg.UniqueViolationError as exc:
                raise Conflict(f"event type {name!r} exists already") from exc
        return rows.event_type(r)

    async def get_event_type(self, name: str) -> EventType:
        r = await self._db.fetchrow("SELECT * FROM event_types WHERE name = $1", name)
        if r is None:
            raise NotFound("event type", name)
        return rows.event_type(r)

    async def list_event_types(
        self, *, limit: int, cursor: str | None, include_archived: bool
    ) -> Page[EventType]:
        sql = "SELECT * FROM event_types WHERE name > $1"
        if not include_archived:
            sql += " AND NOT archived"
        r = await self._db.fetch(sql + " ORDER BY name LIMIT $2", cursor or "", limit + 1)
        return page(r, limit, rows.event_type, key="name")

    async def update_event_type(self, name: str, changes: dict[str, Any]) -> EventType:
        sets = dict(changes)
        if set(sets) - _EVENT_TYPE_FIELDS:
            raise ValueError(f"unknown event type fields {sorted(set(sets) - _EVENT_TYPE_FIELDS)}")
        if "schema" in sets:
            sets["schema"] = rows.dumps(sets["schema"]) if sets["schema"] else None
        if "archived" in sets:
            sets["archived"] = bool(sets["archived"])
        sets["updated_at"] = time.time()
        r = await self._db.fetchrow(
            f"UPDATE event_types SET {_assign(sets, 2)} WHERE name = $1 RETURNING *",
            name,
            *sets.values(),
        )
        if r is None:
            raise NotFound("event type", name)
        return rows.event_type(r)

    async def delete_event_type(self, name: str) -> None:
        if await self._db.execute("DELETE FROM event_types WHERE name = $1", name) == 0:
            raise NotFound("event type", name)

    # endpoints -----------------------------------------------------------------------------
    async def create_endpoint(self, new: NewEndpoint) -> Endpoint:
        now = time.time()
        r = await self._db.fetchrow(
            "INSERT INTO endpoints (app_id, id, url, description, events, secret,"
            " previous_secrets, retry_schedule, timeout_seconds, rate_limit_per_second,"
            " max_in_flight, headers, status, paused_reason, consecutive_failures, kind,"
            " rl_next_at, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, '[]', $7, $8, $9, $10, $11, $12, NULL, 0, $13, 0,"
            " $14, $14) RETURNING *",
            new.app_id,
            new_id("ep"),
            new.url,
            new.description,
            rows.dumps(list(new.events)),
            self._enc(new.secret),
            rows.dumps(list(new.retry_schedule)),
            float(new.timeout_seconds),
            None if new.rate_limit_per_second is None else float(new.rate_limit_per_second),
            new.max_in_flight,
            rows.headers_column(new.headers, self._enc),
            new.status,
            new.kind,
            now,
        )
        assert r is not None  # INSERT … RETURNING always answers a row
        return rows.endpoint(r, self._dec)

    async def get_endpoint(self, app_id: str, endpoint_id: str) -> Endpoint:
        r = await self._db.fetchrow(
            "SELECT * FROM endpoints WHERE app_id = $1 AND id = $2", app_id, endpoint_id
        )
        if r is None:
            raise NotFound("endpoint", endpoint_id)
        return rows.endpoint(r, self._dec)

    async def list_endpoints(
        self, app_id: str, *, limit: int, cursor: str | None, kind: str = "endpoint"
    ) -> Page[Endpoint]:
        sql, args = "SELECT * FROM endpoints WHERE app_id = $1 AND kind = $2", [app_id, kind]
        if cursor:
            args.append(cursor)
            sql += " AND id < $3"
        r = await self._db.fetch(f"{sql} ORDER BY id DESC LIMIT ${len(args) + 1}", *args, limit + 1)
        return page(r, limit, lambda x: rows.endpoint(x, self._dec))

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
            elif k in ("timeout_seconds", "rate_limit_per_second") and v is not None:
                v = float(v)
            sets[k] = v
        status = changes.get("status")
        if status == "active":
            sets["consecutive_failures"] = 0
            sets["paused_reason"] = None
        sets["updated_at"] = now
        # The endpoint row is locked first, then its deliveries: the same order as
        # record_attempts, so a pause racing a batch of failures cannot deadlock.
        async with self._db.transaction() as c:
            r = await c.fetchrow(
                f"UPDATE endpoints SET {_assign(sets, 3)} WHERE app_id = $1 AND id = $2"
                " RETURNING *",
                app_id,
                endpoint_id,
                *sets.values(),
            )
            if r is None:
                raise NotFound("endpoint", endpoint_id)
            if status == "paused":
                await c.execute(
                    "UPDATE deliveries SET status = 'held', updated_at = $3 WHERE app_id = $1"
                    " AND endpoint_id = $2 AND status = 'pending'",
                    app_id, endpoint_id, now,
                )  # fmt: skip
            elif status == "active":
                n = await c.execute(
                    "UPDATE deliveries SET status = 'pending', next_attempt_at = $3,"
                    " retry_base = attempt_count, lease_owner = NULL, updated_at = $3"
                    " WHERE app_id = $1 AND endpoint_id = $2 AND status = 'held'",
                    app_id, endpoint_id, now,
                )  # fmt: skip
                if affected(n):
                    await c.execute(NOTIFY_SQL)
        if status == "active":
            self._wake()
        return rows.endpoint(r, self._dec)

    async def delete_endpoint(self, app_id: str, endpoint_id: str) -> None:
        async with self._db.transaction() as c:
            n = await c.execute(
                "DELETE FROM endpoints WHERE app_id = $1 AND id = $2", app_id, endpoint_id
            )
            if affected(n) == 0:
                raise NotFound("endpoint", endpoint_id)
            await c.execute(
                "UPDATE deliveries SET status = 'canceled', lease_owner = NULL,"
                " next_attempt_at = NULL, updated_at = $3 WHERE app_id = $1 AND endpoint_id = $2"
                " AND status IN ('pending', 'held')",
                app_id, endpoint_id, time.time(),
            )  # fmt: skip

    async def rotate_endpoint_secret(
        self, app_id: str, endpoint_id: str, new_secret: str, old_valid_until: float
    ) -> Endpoint:
        now = time.time()
        async with self._db.transaction() as c:
            r = await c.fetchrow(
                "SELECT secret, previous_secrets FROM endpoints WHERE app_id = $1 AND id = $2"
                " FOR UPDATE",
                app_id,
                endpoint_id,
            )
            if r is None:
                raise NotFound("endpoint", endpoint_id)
            prev = [p for p in orjson.loads(r["previous_secrets"]) if p[1] > now]
            prev.insert(0, [r["secret"], old_valid_until])
            out = await c.fetchrow(
                "UPDATE endpoints SET secret = $3, previous_secrets = $4, updated_at = $5"
                " WHERE app_id = $1 AND id = $2 RETURNING *",
                app_id, endpoint_id, self._enc(new_secret), rows.dumps(prev), now,
            )  # fmt: skip
        return rows.endpoint(out, self._dec)

    async def job_target_endpoint(self, app_id: str, url: str, secret: str) -> Endpoint:
        find = (
            "SELECT * FROM endpoints WHERE app_id = $1 AND kind = 'job_target' AND url = $2"
            " ORDER BY id LIMIT 1"
        )
        found = await self._db.fetchrow(find, app_id, url)
        if found:
            return rows.endpoint(found, self._dec)
        ep = await self.create_endpoint(
            NewEndpoint(app_id=app_id, url=url, secret=secret, kind="job_target")
        )
        # two concurrent creators: both see both rows now; the oldest wins, the other goes
        winner = await self._db.fetchrow(find, app_id, url)
        if winner is not None and winner["id"] != ep.id:
            await self.delete_endpoint(app_id, ep.id)
            return rows.endpoint(winner, self._dec)
        return ep
