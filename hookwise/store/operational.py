"""Operational events (``domain.operational``): turned on for an operations app, and committed
as its messages in the transaction of the change they tell of.

``OperationalEvents`` is one per store, shared by the roles that make the changes (the queue's
record of attempts, ``Resources``' pause and enable). While ``watch`` is None (no operations
app) they tell nothing, at the cost of one attribute read. ``start`` turns them on and puts
the four event types in the catalog (``GET /v1/event-types``), keeping what an operator
changed there.

``notify`` is the statements that commit a batch of notices, each step one statement for the
whole batch: the apps' ``uid`` and the operations app by id or uid (none: nothing is told), the
event type of the exhausted deliveries' messages, then every event as a message of the
operations app with its deliveries (``event_messages``).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence

from hookwise.domain import operational as events
from hookwise.domain.ids import new_id
from hookwise.store import event_messages, rows
from hookwise.store.rules import operational
from hookwise.store.rules.messages import Event
from hookwise.store.rules.operational import Notice, Watch
from hookwise.store.sql import Dialect, Handle, Tx, execute, fetch, fetchval

_APP = "SELECT id FROM apps WHERE id = $1 OR uid = $1 ORDER BY id = $1 DESC LIMIT 1"
_CATALOG = (
    "INSERT INTO event_types (name, description, schema, archived, created_at, updated_at)"
    " VALUES ($1, $2, $3, false, $4, $4) ON CONFLICT (name) DO NOTHING"
)


class OperationalEvents:
    """Whether and where operational events go (``watch``), for one store's roles."""

    def __init__(self, db: Handle) -> None:
        self._db = db
        self.watch: Watch | None = None

    async def start(self, app: str, *, failing_after: int = 0) -> bool:
        """Send operational events to the endpoints of ``app`` (its id or uid) from now on,
        and add their types to the catalog; whether that app exists yet (until it does, what
        happens is told to nobody)."""
        now = time.time()

        def tx() -> Tx[bool]:
            for e in events.CATALOG:
                yield execute(_CATALOG, e.name, e.description, rows.dumps(e.schema), now)
            return (yield fetchval(_APP, app)) is not None

        found = await self._db.write(tx)
        self.watch = Watch(app, failing_after)
        return found

    def stop(self) -> None:
        """Tell nothing from now on."""
        self.watch = None


def notify(dialect: Dialect, watch: Watch, notices: Sequence[Notice], now: float) -> Tx[bool]:
    """Statements, in the transaction of the change: ``notices`` as messages of the operations
    app with their deliveries; whether one is due (to wake the workers for)."""
    if not notices:
        return False
    app_ids = sorted({n.app_id for n in notices})
    found = yield fetch(
        f"SELECT id, uid FROM apps WHERE {dialect.any('id', '$1')} OR id = $2 OR uid = $2",
        dialect.array(app_ids),
        watch.app,
    )
    uids = {r["id"]: r["uid"] for r in found}
    ops = operational.operations_app(uids, watch.app)
    if ops is None:
        return False
    notices = operational.about_others(notices, ops)
    if not notices:
        return False
    types = yield from _event_types(dialect, notices)
    out = []
    for n in notices:
        data = {**n.data, "app_uid": uids.get(n.app_id)}
        if n.event_type == events.EXHAUSTED:
            data["event_type"] = types.get((n.app_id, n.data["message_id"]))
        msg_id = new_id("msg")
        out.append(Event(msg_id, n.event_type, events.body(n.event_type, msg_id, now, data), now))
    due: bool = yield from event_messages.commit(dialect, ops, out)
    return due


def _event_types(dialect: Dialect, notices: Sequence[Notice]) -> Tx[dict[tuple[str, str], str]]:
    """The event type of each exhausted delivery's message, by (app, message id): one
    statement per app (by primary key)."""
    by_app: dict[str, list[str]] = defaultdict(list)
    for n in notices:
        if n.event_type == events.EXHAUSTED:
            by_app[n.app_id].append(n.data["message_id"])
    out: dict[tuple[str, str], str] = {}
    for app_id, ids in by_app.items():
        found = yield fetch(
            "SELECT id, event_type FROM messages WHERE " + dialect.key_in("messages", "$1", "$2"),
            app_id,
            dialect.array(sorted(set(ids))),
        )
        out.update({(app_id, r["id"]): r["event_type"] for r in found})
    return out
