"""A held backlog written straight into the tables: tens of thousands of deliveries in a
second, where enqueueing them one message at a time would take most of a test's time; and a
stepper run until the bulk operations over it are over."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from hookwise.domain.ids import new_id
from hookwise.store.sql import Tx, fetch
from hookwise.store.stepper import Stepper


async def hold_backlog(
    store: Any,
    app_id: str,
    endpoint_id: str,
    n: int,
    *,
    status: str = "held",
    start: float | None = None,
    event_type: str = "order.created",
) -> list[str]:
    """``n`` messages to the endpoint, each with one ``held`` delivery, due in the order made
    (a millisecond apart, from ``start``: the last ones made just now by default); the messages'
    ids (the endpoint should be paused, as it would be). With ``status="failed"`` (or
    ``succeeded``): deliveries finished after one attempt, for a recover or a resend; with
    ``pending``: due now, for an endpoint still active."""
    assert status in ("held", "failed", "succeeded", "pending")
    attempts = 1 if status in ("failed", "succeeded") else 0
    handle = store._handle
    d = handle.dialect
    now = time.time() - n * 1e-3 if start is None else start
    msgs = [(app_id, new_id("msg"), b'{"i": %d}' % i, now + i * 1e-3) for i in range(n)]
    dlvs = [(app_id, new_id("dlv"), m[1], endpoint_id, m[3]) for m in msgs]

    def tx() -> Tx[None]:
        for at in range(0, n, 5000):
            yield d.insert_rows(
                "messages (app_id, id, event_type, body, tags, created_at)",
                f"$1, $2, '{event_type}', $3, '[]', $4",
                ("text", "text", "bytea", "float8"),
                msgs[at : at + 5000],
            )
            yield d.insert_rows(
                "deliveries (app_id, id, message_id, endpoint_id, status, attempt_count,"
                " retry_base, trigger, next_attempt_at, created_at, updated_at)",
                f"$1, $2, $3, $4, '{status}', {attempts}, 0, 'scheduled', $5, $5, $5",
                ("text", "text", "text", "text", "float8"),
                dlvs[at : at + 5000],
            )

    await handle.write(tx)
    return [m[1] for m in msgs]


async def step_to_end(stepper: Stepper, timeout: float = 30.0) -> None:
    """Rounds until no operation is left to step (the stepper's loop without its rests)."""
    deadline = time.monotonic() + timeout
    while await stepper.round() or await stepper.operations.leasable(stepper.owner):
        assert time.monotonic() < deadline, "the operation did not finish"
        await asyncio.sleep(0.01)


async def counts(store: Any, app_id: str) -> dict[tuple[str, str, bool], int]:
    """The app's deliveries by (endpoint, status, re-queued by hand with a fresh schedule)."""

    def tx() -> Tx[dict[tuple[str, str, bool], int]]:
        rs = yield fetch(
            "SELECT endpoint_id, status, trigger = 'manual' AND retry_base = attempt_count"
            " AS fresh, count(*) AS n FROM deliveries WHERE app_id = $1 GROUP BY 1, 2, 3",
            app_id,
        )
        return {(r["endpoint_id"], r["status"], bool(r["fresh"])): r["n"] for r in rs}

    return await store._handle.read(tx)  # type: ignore[no-any-return]


async def finish_after_a_death(dead: Any, alive: Any) -> None:
    """One step in ``dead``'s process, which then dies holding the lease; the stepper of
    ``alive`` goes on once the lease runs out, to the end."""
    assert await Stepper(dead.operations, owner="gone", lease_seconds=0.3).round() > 0
    heir, deadline = Stepper(alive.operations, owner="heir"), time.monotonic() + 10
    while not await heir.round():
        assert time.monotonic() < deadline, "the lease was never taken over"
        await asyncio.sleep(0.02)
    await step_to_end(heir)
