"""The ``Relays`` role: the relay endpoints of ``hookwise listen`` and the claims of their
deliveries, written once for both databases.

A relay endpoint (``kind = 'relay'``, URL ``relay://<listener name>``) subscribes to event
types like any endpoint, but no worker claims its deliveries (``rules.leases.WORKERS_CLAIM``):
a connected listener does, here, through the API process it is connected to, under the same
leases as a worker's, and its answers are recorded by ``Queue.record_attempts`` like any
attempt. While no listener is connected its deliveries simply stay pending. This is not the hot
path (one developer's laptop at a time), so it is plain SQL through a ``Handle``.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import orjson

from hookwise.domain.ids import new_id
from hookwise.domain.models import ClaimedDelivery, Endpoint, NewEndpoint
from hookwise.domain.relay import relay_url
from hookwise.domain.secretbox import SecretBox
from hookwise.domain.signing import new_secret
from hookwise.store import rows
from hookwise.store.queue import claimed
from hookwise.store.rules import leases
from hookwise.store.sql import Handle, Tx, execute, fetch, fetchrow, fetchval

_APP = "SELECT id FROM apps WHERE id = $1"
_FIND = "SELECT * FROM endpoints WHERE app_id = $1 AND kind = 'relay' AND url = $2 ORDER BY id"
_EVENTS = (
    "UPDATE endpoints SET events = $3, updated_at = $4 WHERE app_id = $1 AND id = $2 RETURNING *"
)
_INSERT = (
    "INSERT INTO endpoints (app_id, id, url, description, events, secret, previous_secrets,"
    " retry_schedule, timeout_seconds, max_in_flight, status, kind, created_at, updated_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, '[]', $7, $8, $9, 'active', 'relay', $10, $10) RETURNING *"
)
_ACTIVE = "SELECT status FROM endpoints WHERE app_id = $1 AND id = $2 AND kind = 'relay'"
# $1 app, $2 endpoint, $3 now, $4 limit: its due deliveries, the oldest first
_DUE = (
    "SELECT id FROM deliveries WHERE app_id = $1 AND endpoint_id = $2 AND status = 'pending'"
    " AND next_attempt_at <= $3 ORDER BY next_attempt_at, id LIMIT $4"
)
_NEXT_DUE = (
    "SELECT min(next_attempt_at) FROM deliveries WHERE app_id = $1 AND endpoint_id = $2"
    " AND status = 'pending'"
)
# the claim's joined row (``store.queue.claimed``) and the message's event type
_CLAIMED = "SELECT m.event_type, " + claimed("deliveries").removeprefix("SELECT ")


class RelayClaim(NamedTuple):
    """A delivery a listener leases, and its message's event type (the listener shows it)."""

    claim: ClaimedDelivery
    event_type: str


class Relays:
    """Relay endpoints and the claims of their deliveries."""

    def __init__(self, db: Handle, box: SecretBox) -> None:
        self._db = db
        self._box = box

    async def listener_endpoint(
        self, app_id: str, name: str, events: tuple[str, ...] | None
    ) -> Endpoint:
        """The relay endpoint of listener ``name``, made on its first connection and the same
        one on every reconnection (its secret, its held deliveries); ``events`` (None: keep
        them) replace its subscriptions. Made under the app's row lock, so two listeners of one
        name connecting at once share one endpoint."""
        url = relay_url(name)
        now = time.time()
        defaults = NewEndpoint(app_id=app_id, url=url, secret="")
        sealed = self._box.encrypt(new_secret())
        lock = self._db.dialect.for_update

        def tx() -> Tx[Endpoint]:
            yield fetchval(_APP + lock, app_id)
            r = yield fetchrow(_FIND, app_id, url)
            if r is None:
                r = yield fetchrow(
                    _INSERT, app_id, new_id("ep"), url, f"hookwise listen --name {name}",
                    rows.dumps(list(events or ())), sealed,
                    rows.dumps(list(defaults.retry_schedule)), defaults.timeout_seconds,
                    defaults.max_in_flight, now,
                )  # fmt: skip
            elif events is not None and tuple(orjson.loads(r["events"])) != events:
                r = yield fetchrow(_EVENTS, app_id, r["id"], rows.dumps(list(events)), now)
            return rows.endpoint(r, self._box.decrypt)

        return await self._db.write(tx)

    async def claim_relayed(
        self, app_id: str, endpoint_id: str, *, worker_id: str, limit: int, lease_seconds: float
    ) -> list[RelayClaim]:
        """Lease up to ``limit`` due deliveries of the relay endpoint to ``worker_id`` (the
        listener's session), the oldest first; none while the endpoint is paused (its
        deliveries are held). Rows another claim holds locked are passed over."""
        skip = self._db.dialect.skip_locked
        any_id = self._db.dialect.any

        def tx() -> Tx[list[RelayClaim]]:
            now = time.time()
            if (yield fetchval(_ACTIVE, app_id, endpoint_id)) != "active" or limit <= 0:
                return []
            due = yield fetch(_DUE + skip, app_id, endpoint_id, now, limit)
            if not due:
                return []
            ids = self._db.dialect.array([r["id"] for r in due])
            until = leases.lease_end(now, lease_seconds)
            yield execute(
                "UPDATE deliveries SET lease_owner = $1, next_attempt_at = $2"
                f" WHERE app_id = $3 AND {any_id('id', '$4')}",
                worker_id, until, app_id, ids,
            )  # fmt: skip
            out = yield fetch(
                _CLAIMED + f" WHERE d.app_id = $1 AND {any_id('d.id', '$2')}", app_id, ids
            )
            got = rows.claimed_all(out, now, self._box.decrypt)
            types = [r["event_type"] for r in out]
            return sorted(map(RelayClaim, got, types), key=lambda c: c.claim.delivery_id)

        return await self._db.write(tx, durable=False)

    async def next_relayed_at(self, app_id: str, endpoint_id: str) -> float | None:
        """When the relay endpoint's earliest pending delivery is due (a lease's end, for a
        leased one), or None when it has none."""

        def tx() -> Tx[float | None]:
            r = yield fetchval(_NEXT_DUE, app_id, endpoint_id)
            return None if r is None else float(r)

        return await self._db.read(tx)


__all__ = ["RelayClaim", "Relays"]
