"""What every backend's enqueue shares: the draft, the targets, the answer to a repeat.

Accepting a message is the ingest hot path, so each database commits it with its own
hand-tuned statements (``sqlite.enqueue``, ``postgres.enqueue``). What they have in common is
written here once: the message's id and time, which endpoints it goes to and in what status
and the answer to a repeated ``event_id`` (``Draft``); in ``Messages``, the wake-up when a
delivery is due.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

from hookwise.domain.errors import Conflict
from hookwise.domain.models import Message, NewMessage
from hookwise.store import rows
from hookwise.store.roles import Enqueued
from hookwise.store.rules import messages as rules
from hookwise.store.sql import Dialect, Tx, fetch, fetchrow


def held_or_pending(endpoint: str, trigger: str) -> str:
    """SQL: the status of a new delivery to the endpoint row ``endpoint`` for a message of
    ``trigger`` (a mark): ``held`` while the endpoint is paused, except a test ping (sent at
    once whatever the status), else ``pending``. Read from the endpoint row in the statement
    that uses it, so a pause or resume committed just before is seen."""
    return (
        f"CASE WHEN {endpoint}.status = 'paused' AND CAST({trigger} AS TEXT) <> 'test'"
        " THEN 'held' ELSE 'pending' END"
    )


_ENDPOINTS = (
    f"SELECT id, kind, events, {held_or_pending('endpoints', '$2')} AS status FROM endpoints"
    " WHERE app_id = $1 AND "
)
_BY_ID = _ENDPOINTS + "id = $3"
_REGULAR = _ENDPOINTS + rules.SUBSCRIBER_SQL


class Draft(NamedTuple):
    """A message about to be committed, with its id and time (seconds) decided."""

    new: NewMessage
    id: str
    at: float

    def endpoints(self, dialect: Dialect) -> tuple[str, list[Any]]:
        """The statement (and its arguments) that reads the endpoints the message may go to,
        with the ``status`` each one's delivery starts in; ``targets`` picks from its rows."""
        n = self.new
        args: list[Any] = [n.app_id, n.trigger]
        if n.only_endpoint_id is not None:
            args.append(n.only_endpoint_id)
            return _BY_ID, args
        if n.extra_endpoint_ids:
            args.append(dialect.array(n.extra_endpoint_ids))
            return f"{_ENDPOINTS}({rules.SUBSCRIBER_SQL} OR {dialect.any('id', '$3')})", args
        return _REGULAR, args

    def targets(self, endpoints: Sequence[rules.Row]) -> list[rules.Row]:
        """The endpoints the message goes to, in order (``rules.messages.targets``)."""
        n = self.new
        return rules.targets(endpoints, n.event_type, n.only_endpoint_id, n.extra_endpoint_ids)

    def accepted(self, delivery_ids: tuple[str, ...], due: bool) -> Accepted:
        """The answer once it is committed with ``delivery_ids`` (``due``: one is pending)."""
        n = self.new
        message = Message(
            self.id, n.app_id, n.event_type, n.event_id, n.body, n.tags, n.job_id, rows.ts(self.at)
        )
        return Accepted(Enqueued(message, True, delivery_ids), due)

    def repeated(self) -> Tx[Enqueued | None]:
        """After an insert that a repeated ``event_id`` stopped: the first message of it and
        its deliveries (``created=False``), or None when it is gone since."""
        app_id, event_id = self.new.app_id, self.new.event_id
        assert event_id is not None  # only a repeated event_id stops the insert
        r = yield fetchrow(
            "SELECT * FROM messages WHERE app_id = $1 AND event_id = $2", app_id, event_id
        )
        if r is None:
            return None
        ids = yield fetch(
            "SELECT id FROM deliveries WHERE app_id = $1 AND message_id = $2 ORDER BY id",
            app_id,
            r["id"],
        )
        return Enqueued(rows.message(r), False, tuple(x["id"] for x in ids))

    def taken(self) -> Conflict:
        """The error when the message's id is taken already."""
        return Conflict(f"message {self.id!r} exists already")


class Accepted(NamedTuple):
    """What an enqueue did, and whether it made a delivery due now (then workers are woken)."""

    enqueued: Enqueued
    due: bool


class Enqueue(Protocol):
    """A backend's enqueue: commit ``draft`` and one delivery per target in one transaction,
    or answer the first message of a repeated ``event_id`` (``Draft.repeated``); raise
    ``Draft.taken`` when the message id exists already. It wakes nobody: ``Messages`` does,
    once committed."""

    async def __call__(self, draft: Draft) -> Accepted: ...
