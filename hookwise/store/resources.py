"""The ``Resources`` role, written once for both databases: api keys, apps, event types and
endpoints (the cold paths; what their changes mean is in ``rules.endpoints``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson

from hookwise.domain.envelope import PayloadFormat
from hookwise.domain.errors import Conflict, NotFound
from hookwise.domain.ids import new_id
from hookwise.domain.models import ApiKey, App, Endpoint, EventType, NewEndpoint, Page, Scope
from hookwise.domain.secretbox import SecretBox
from hookwise.store import rows
from hookwise.store.backlog import start
from hookwise.store.operational import OperationalEvents, notify
from hookwise.store.paging import page
from hookwise.store.rules import endpoints as rules
from hookwise.store.rules import operational
from hookwise.store.sql import Duplicate, Handle, Tx, execute, fetch, fetchrow, fetchval

# what an app owns, deleted with it (no foreign keys: see ``tables``)
_APP_TABLES = (
    "endpoints", "messages", "message_tags", "deliveries", "attempts", "jobs", "job_results",
    "api_keys", "operations", "console_sessions", "portal_links",
)  # fmt: skip
_ENDPOINT = "SELECT * FROM endpoints WHERE app_id = $1 AND id = $2"
_STATUS = "SELECT status FROM endpoints WHERE app_id = $1 AND id = $2"


def _assign(sets: dict[str, Any], first: int) -> str:
    return ", ".join(f"{k} = ${i}" for i, k in enumerate(sets, start=first))


def _one(r: Any, what: str, key: str) -> Any:
    if r is None:
        raise NotFound(what, key)
    return r


class Resources:
    """CRUD of the slow-changing resources over one database ``Handle``; ``box`` seals the
    secrets and custom headers at rest; ``started`` wakes this process's stepper when a
    re-enable leaves a release to run in the background (``operations``); ``told`` says
    whether a pause or an enable is told to an operations app (``operational``)."""

    def __init__(
        self,
        db: Handle,
        box: SecretBox,
        *,
        started: Callable[[], None] = lambda: None,
        told: OperationalEvents | None = None,
    ) -> None:
        self._db = db
        self._box = box
        self._started = started
        self._told = told

    def _endpoint(self, r: Any) -> Endpoint:
        return rows.endpoint(r, self._box.decrypt)

    # api keys ------------------------------------------------------------------------------
    async def create_api_key(
        self, *, key_id: str, name: str, key_hash: str, prefix: str, app_id: str | None
    ) -> ApiKey:
        now = time.time()
        scope: Scope = "app" if app_id else "admin"

        def tx() -> Tx[None]:
            try:
                yield execute(
                    "INSERT INTO api_keys (id, name, key_hash, prefix, scope, app_id, created_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    key_id, name, key_hash, prefix, scope, app_id, now,
                )  # fmt: skip
            except Duplicate as exc:
                raise Conflict("this api key exists already") from exc

        await self._db.write(tx)
        return ApiKey(key_id, name, prefix, scope, app_id, rows.ts(now))

    async def get_api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        def tx() -> Tx[ApiKey | None]:
            r = yield fetchrow("SELECT * FROM api_keys WHERE key_hash = $1", key_hash)
            return rows.api_key(r) if r else None

        return await self._db.read(tx)

    async def list_api_keys(
        self, *, app_id: str | None, limit: int, cursor: str | None
    ) -> Page[ApiKey]:
        sql, args = "SELECT * FROM api_keys WHERE id < $1", [cursor or "~"]
        if app_id:
            args.append(app_id)
            sql += " AND app_id = $2"

        def tx() -> Tx[Page[ApiKey]]:
            r = yield fetch(f"{sql} ORDER BY id DESC LIMIT ${len(args) + 1}", *args, limit + 1)
            return page(r, limit, rows.api_key)

        return await self._db.read(tx)

    async def delete_api_key(self, key_id: str) -> ApiKey:
        def tx() -> Tx[ApiKey]:
            r = yield fetchrow("DELETE FROM api_keys WHERE id = $1 RETURNING *", key_id)
            key = rows.api_key(_one(r, "api key", key_id))
            yield execute("DELETE FROM console_sessions WHERE key_id = $1", key_id)  # signed out
            return key

        return await self._db.write(tx)

    # apps ----------------------------------------------------------------------------------
    async def create_app(
        self,
        *,
        name: str,
        uid: str | None,
        metadata: dict[str, Any],
        results_inline_budget: int,
        payload_format: PayloadFormat = "envelope",
        job_profile: dict[str, Any] | None = None,
        max_items_per_job: int | None = None,
        portal_name: str | None = None,
        portal_color: str | None = None,
    ) -> App:
        now = time.time()
        profile = None if job_profile is None else rows.dumps(job_profile)

        def tx() -> Tx[App]:
            try:
                r = yield fetchrow(
                    "INSERT INTO apps (id, uid, name, metadata, results_inline_budget,"
                    " payload_format, created_at, updated_at, job_profile, max_items_per_job,"
                    " portal_name, portal_color)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11) RETURNING *",
                    new_id("app"), uid, name, rows.dumps(metadata), results_inline_budget,
                    payload_format, now, profile, max_items_per_job, portal_name, portal_color,
                )  # fmt: skip
            except Duplicate as exc:
                raise Conflict(f"an app with uid {uid!r} exists already") from exc
            return rows.app(r)

        return await self._db.write(tx)

    async def get_app(self, app_id_or_uid: str) -> App:
        def tx() -> Tx[App]:
            r = yield fetchrow(
                "SELECT * FROM apps WHERE id = $1 OR uid = $1 ORDER BY id = $1 DESC LIMIT 1",
                app_id_or_uid,
            )
            return rows.app(_one(r, "app", app_id_or_uid))

        return await self._db.read(tx)

    async def list_apps(self, *, limit: int, cursor: str | None) -> Page[App]:
        def tx() -> Tx[Page[App]]:
            r = yield fetch(
                "SELECT * FROM apps WHERE id < $1 ORDER BY id DESC LIMIT $2",
                cursor or "~",
                limit + 1,
            )
            return page(r, limit, rows.app)

        return await self._db.read(tx)

    async def update_app(self, app_id: str, changes: dict[str, Any]) -> App:
        sets = rules.app_sets(changes, time.time())

        def tx() -> Tx[App]:
            try:
                r = yield fetchrow(
                    f"UPDATE apps SET {_assign(sets, 2)} WHERE id = $1 RETURNING *",
                    app_id,
                    *sets.values(),
                )
            except Duplicate as exc:
                raise Conflict(f"an app with uid {changes.get('uid')!r} exists already") from exc
            return rows.app(_one(r, "app", app_id))

        return await self._db.write(tx)

    async def delete_app(self, app_id: str) -> None:
        """Delete the app and everything it owns."""

        def tx() -> Tx[None]:
            if (yield execute("DELETE FROM apps WHERE id = $1", app_id)) == 0:
                raise NotFound("app", app_id)
            for table in _APP_TABLES:
                yield execute(f"DELETE FROM {table} WHERE app_id = $1", app_id)

        await self._db.write(tx)

    # event types ---------------------------------------------------------------------------
    async def create_event_type(
        self, *, name: str, description: str, schema: dict[str, Any] | None
    ) -> EventType:
        now = time.time()

        def tx() -> Tx[EventType]:
            try:
                r = yield fetchrow(
                    "INSERT INTO event_types (name, description, schema, archived, created_at,"
                    " updated_at) VALUES ($1, $2, $3, false, $4, $4) RETURNING *",
                    name, description, rows.dumps(schema) if schema else None, now,
                )  # fmt: skip
            except Duplicate as exc:
                raise Conflict(f"event type {name!r} exists already") from exc
            return rows.event_type(r)

        return await self._db.write(tx)

    async def get_event_type(self, name: str) -> EventType:
        def tx() -> Tx[EventType]:
            r = yield fetchrow("SELECT * FROM event_types WHERE name = $1", name)
            return rows.event_type(_one(r, "event type", name))

        return await self._db.read(tx)

    async def list_event_types(
        self, *, limit: int, cursor: str | None, include_archived: bool
    ) -> Page[EventType]:
        sql = "SELECT * FROM event_types WHERE name > $1"
        if not include_archived:
            sql += " AND NOT archived"

        def tx() -> Tx[Page[EventType]]:
            r = yield fetch(sql + " ORDER BY name LIMIT $2", cursor or "", limit + 1)
            return page(r, limit, rows.event_type, key="name")

        return await self._db.read(tx)

    async def update_event_type(self, name: str, changes: dict[str, Any]) -> EventType:
        sets = rules.event_type_sets(changes, time.time())

        def tx() -> Tx[EventType]:
            r = yield fetchrow(
                f"UPDATE event_types SET {_assign(sets, 2)} WHERE name = $1 RETURNING *",
                name,
                *sets.values(),
            )
            return rows.event_type(_one(r, "event type", name))

        return await self._db.write(tx)

    async def delete_event_type(self, name: str) -> None:
        def tx() -> Tx[None]:
            if (yield execute("DELETE FROM event_types WHERE name = $1", name)) == 0:
                raise NotFound("event type", name)

        await self._db.write(tx)

    # endpoints -----------------------------------------------------------------------------
    async def create_endpoint(self, new: NewEndpoint) -> Endpoint:
        now = time.time()
        seal = self._box.encrypt

        def tx() -> Tx[Endpoint]:
            r = yield fetchrow(
                "INSERT INTO endpoints (app_id, id, url, description, events, secret,"
                " previous_secrets, retry_schedule, timeout_seconds, rate_limit_per_second,"
                " max_in_flight, headers, status, paused_reason, consecutive_failures, kind,"
                " rl_next_at, created_at, updated_at, payload_format)"
                " VALUES ($1, $2, $3, $4, $5, $6, '[]', $7, $8, $9, $10, $11, $12, NULL, 0, $13,"
                " 0, $14, $14, $15) RETURNING *",
                new.app_id,
                new_id("ep"),
                new.url,
                new.description,
                rows.dumps(list(new.events)),
                seal(new.secret),
                rows.dumps(list(new.retry_schedule)),
                float(new.timeout_seconds),
                None if new.rate_limit_per_second is None else float(new.rate_limit_per_second),
                new.max_in_flight,
                rows.headers_column(new.headers, seal),
                new.status,
                new.kind,
                now,
                new.payload_format,
            )
            return self._endpoint(r)

        return await self._db.write(tx)

    async def get_endpoint(self, app_id: str, endpoint_id: str) -> Endpoint:
        def tx() -> Tx[Endpoint]:
            r = yield fetchrow(_ENDPOINT, app_id, endpoint_id)
            return self._endpoint(_one(r, "endpoint", endpoint_id))

        return await self._db.read(tx)

    async def list_endpoints(
        self, app_id: str, *, limit: int, cursor: str | None, kind: str = "endpoint"
    ) -> Page[Endpoint]:
        def tx() -> Tx[Page[Endpoint]]:
            r = yield fetch(
                "SELECT * FROM endpoints WHERE app_id = $1 AND kind = $2 AND id < $3"
                " ORDER BY id DESC LIMIT $4",
                app_id, kind, cursor or "~", limit + 1,
            )  # fmt: skip
            return page(r, limit, self._endpoint)

        return await self._db.read(tx)

    async def update_endpoint(
        self, app_id: str, endpoint_id: str, changes: dict[str, Any]
    ) -> Endpoint:
        """Change fields. ``status: paused`` holds pending deliveries; ``status: active``
        resets ``consecutive_failures``, and the held deliveries become due (the oldest first).
        Either takes effect with the endpoint's row (a claim takes only an active endpoint's
        deliveries); the deliveries change a first step at once, the rest in the background in
        bounded steps (``backlog``, ``operations``). A change of status is told to the
        operations app, if any, in the same transaction (``operational``)."""
        now = time.time()
        sets = rules.endpoint_sets(changes, self._box.encrypt, now)
        then = rules.deliveries_on_status(changes)
        watch = None if then is None or self._told is None else self._told.watch
        dialect = self._db.dialect

        # The endpoint row is locked first, then its deliveries: the same order as a record of
        # attempts, so a pause racing a batch of failures cannot deadlock.
        def tx() -> Tx[tuple[Endpoint, bool, bool]]:
            was = None
            if watch is not None:  # the status it changes from, the row locked
                was = yield fetchval(_STATUS + dialect.for_update, app_id, endpoint_id)
            r = yield fetchrow(
                f"UPDATE endpoints SET {_assign(sets, 3)} WHERE app_id = $1 AND id = $2"
                " RETURNING *",
                app_id,
                endpoint_id,
                *sets.values(),
            )
            _one(r, "endpoint", endpoint_id)
            running = due = False
            if then is not None:
                running = yield from start(then, app_id, endpoint_id, now)
            if watch is not None and (told := operational.status_changed(was, r)):
                due = yield from notify(dialect, watch, [told], now)
            return self._endpoint(r), running, due

        ep, running, due = await self._db.write(tx)
        if then == "release" or due:
            self._db.wake()
        if running:
            self._started()
        return ep

    async def delete_endpoint(self, app_id: str, endpoint_id: str) -> None:
        """Delete it; its pending and held deliveries become ``canceled``: a first step at
        once, the rest in the background (none is sent meanwhile: a claim joins the
        endpoint's row, which is gone)."""
        now = time.time()

        def tx() -> Tx[bool]:
            n = yield execute(
                "DELETE FROM endpoints WHERE app_id = $1 AND id = $2", app_id, endpoint_id
            )
            if n == 0:
                raise NotFound("endpoint", endpoint_id)
            running: bool = yield from start("cancel", app_id, endpoint_id, now)
            return running

        if await self._db.write(tx):
            self._started()

    async def rotate_endpoint_secret(
        self, app_id: str, endpoint_id: str, new_secret: str, old_valid_until: float
    ) -> Endpoint:
        now = time.time()
        sealed = self._box.encrypt(new_secret)
        lock = self._db.dialect.for_update

        def tx() -> Tx[Endpoint]:
            r = _one(
                (yield fetchrow(_ENDPOINT + lock, app_id, endpoint_id)), "endpoint", endpoint_id
            )
            prev = rules.rotated_secrets(
                orjson.loads(r["previous_secrets"]), r["secret"], old_valid_until, now
            )
            out = yield fetchrow(
                "UPDATE endpoints SET secret = $3, previous_secrets = $4, updated_at = $5"
                " WHERE app_id = $1 AND id = $2 RETURNING *",
                app_id, endpoint_id, sealed, rows.dumps(prev), now,
            )  # fmt: skip
            return self._endpoint(out)

        return await self._db.write(tx)
