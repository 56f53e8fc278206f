"""PostgreSQL's enqueue: hand-tuned per backend (measured, see bench/README.md's cluster ingest).

Group commit: the messages of concurrent requests are committed together, like SQLite's writer
thread does. Each ``Enqueue`` call queues its draft; a committer takes every draft waiting (up
to ``GROUP_MAX``) and commits them in two round trips on one pooled connection, no explicit
transaction: the apps' endpoints (one read per distinct ``Draft.endpoints`` statement, shared
by the drafts that have the same), then one statement, hence one implicit transaction, that
inserts every message, its tags and one delivery per target from arrays (``unnest``). Each
delivery's status is read from its endpoint row by that statement (``held_or_pending``), and a
target deleted meanwhile simply gets no delivery. At most ``COMMITTERS`` groups are in flight:
a draft never waits on a timer, only (under load) for one of them to finish, and a group starts
with whatever queued meanwhile. A lone request is a group of one: the same two round trips as
one message by itself.

A repeated ``event_id`` inserts nothing (a repeat within one group too: ``DO NOTHING`` skips
it); a concurrent twin waits for the first to commit, then the shared ``Draft.repeated``
answers. When the server refuses the group's statement (a message id taken, text it cannot
store, a deadlock between two groups), nothing of it was committed: each of its drafts is then
committed by itself (``_enqueue``), concurrently, so that the error is that draft's alone. When
the connection fails instead (the commit may or may not have happened), every draft of the
group fails as unavailable, as a single message would. The statement does not ``NOTIFY``: a
transaction that notifies takes a cluster-wide lock while it commits, which would put every
accepted message in one line; ``Messages`` wakes the workers after the commit instead, by
the coalesced ``NOTIFY`` of ``listener.Notifier``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from hookwise.domain.errors import StoreUnavailable
from hookwise.domain.ids import new_id
from hookwise.store import rows
from hookwise.store.enqueue import Accepted, Draft, held_or_pending
from hookwise.store.postgres.handle import run
from hookwise.store.postgres.pool import LINK_ERRORS, Connection, Pools
from hookwise.store.sql import POSTGRES

GROUP_MAX = 256  # drafts committed together, at most
COMMITTERS = 2  # groups in flight at once (each on its own pooled connection)

_GROUP = f"""
WITH i AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[],
                         $6::text[], $7::text[], $8::float8[], $9::text[])
        WITH ORDINALITY AS i(app_id, id, event_type, event_id, body, tags, job_id, at,
                             trigger, k)
), m AS (
    INSERT INTO messages (app_id, id, event_type, event_id, body, tags, job_id, created_at)
    SELECT app_id, id, event_type, event_id, body, tags, job_id, at FROM i
    ORDER BY app_id, event_id, k  -- every group takes the keys in one order
    ON CONFLICT (app_id, event_id) DO NOTHING
    RETURNING app_id, id
), mi AS (
    SELECT i.* FROM m JOIN i ON i.app_id = m.app_id AND i.id = m.id
), t AS (
    INSERT INTO message_tags (app_id, tag, message_id)
    SELECT DISTINCT mi.app_id, x.tag, mi.id
    FROM unnest($10::int8[], $11::text[]) AS x(k, tag) JOIN mi ON mi.k = x.k
    ON CONFLICT DO NOTHING
), d AS (
    INSERT INTO deliveries (app_id, id, message_id, endpoint_id, job_id, status, attempt_count,
                            retry_base, trigger, next_attempt_at, created_at, updated_at)
    SELECT mi.app_id, x.dlv_id, mi.id, e.id, mi.job_id, {held_or_pending("e", "mi.trigger")},
           0, 0, mi.trigger, mi.at, mi.at, mi.at
    FROM unnest($12::int8[], $13::text[], $14::text[])
        WITH ORDINALITY AS x(k, endpoint_id, dlv_id, n)
    JOIN mi ON mi.k = x.k
    JOIN endpoints e ON e.app_id = mi.app_id AND e.id = x.endpoint_id
    ORDER BY x.n
    RETURNING id, message_id, status
)
SELECT ARRAY(SELECT id FROM m) AS created,
       ARRAY(SELECT message_id FROM d) AS d_message,
       ARRAY(SELECT id FROM d) AS d_id,
       ARRAY(SELECT status = 'pending' FROM d) AS d_due
"""

_Waiting = tuple[Draft, "asyncio.Future[Accepted]"]


class PostgresEnqueue:
    """Commits messages on ``pools``' connections, concurrent ones together (the ``Enqueue`` of
    ``Messages``); ``groups`` counts the group statements committed (for tests)."""

    def __init__(self, pools: Pools, *, committers: int = COMMITTERS) -> None:
        self._pools = pools
        self._committers = committers
        self._waiting: list[_Waiting] = []
        self._active = 0  # committers running (counted down as each ends, not by a callback)
        self._tasks: set[asyncio.Task[None]] = set()
        self.groups = 0

    async def __call__(self, draft: Draft) -> Accepted:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Accepted] = loop.create_future()
        self._waiting.append((draft, fut))
        if self._active < self._committers:
            self._active += 1
            task = loop.create_task(self._commit_waiting(), name="hookwise-enqueue")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await fut

    async def _commit_waiting(self) -> None:
        """Commit what waits, group after group, until nothing does. The count of committers
        goes down in the same step as the last look at the queue: a draft queued after it
        starts a committer of its own (a done-callback would run later, and a draft queued in
        between would wait with no committer at all)."""
        try:
            while self._waiting:
                group, self._waiting = self._waiting[:GROUP_MAX], self._waiting[GROUP_MAX:]
                try:
                    outcomes = await self._commit([d for d, _ in group])
                except asyncio.CancelledError:
                    for _d, fut in group:
                        fut.cancel()
                    raise
                except Exception as exc:  # the group's connection failed
                    outcomes = [_copy(exc) for _ in group]
                for (_d, fut), out in zip(group, outcomes, strict=True):
                    _settle(fut, out)
        finally:
            self._active -= 1

    async def _commit(self, drafts: list[Draft]) -> list[Accepted | BaseException]:
        """Each draft's answer (or error): the group in one statement, one by one if the
        server refused it."""
        async with self._pools.connection() as c:
            try:
                got = await _enqueue_group(c, drafts)
            except asyncpg.PostgresError as exc:
                if isinstance(exc, LINK_ERRORS):
                    raise
            else:
                self.groups += 1
                out: list[Accepted | BaseException] = []
                for d, accepted in zip(drafts, got, strict=True):
                    # a repeated event_id: answered with its first message
                    again = accepted or await _repeated(c, d)
                    out.append(again if again is not None else await self._alone(d))
                return out
        return list(await asyncio.gather(*map(self._alone, drafts), return_exceptions=True))

    async def _alone(self, draft: Draft) -> Accepted:
        """Commit ``draft`` by itself (after its group failed, or its first was deleted)."""
        for _ in range(3):  # a duplicate deleted between our insert and our read: try again
            async with self._pools.connection() as c:
                got = await _enqueue(c, draft)
            if got is not None:
                return got
        raise StoreUnavailable("could not settle a duplicate event_id; try again")


def _settle(fut: asyncio.Future[Accepted], out: Accepted | BaseException) -> None:
    if fut.done():  # its request went away: the message is committed all the same
        return
    if isinstance(out, BaseException):
        fut.set_exception(out)
    else:
        fut.set_result(out)


def _copy(exc: Exception) -> Exception:
    """An error of its own for each draft of a failed group (not one object raised in many
    tasks, each adding its traceback to it)."""
    if isinstance(exc, StoreUnavailable):
        fresh = StoreUnavailable(exc.message, details=exc.details)
        fresh.__cause__ = exc.__cause__
        return fresh
    return exc


async def _enqueue_group(c: Connection, drafts: list[Draft]) -> list[Accepted | None]:
    """Commit ``drafts`` in one statement; each one's answer, None for a repeated event_id."""
    endpoints: dict[Any, list[Any]] = {}
    ids: list[list[str]] = []
    for d in drafts:
        sql, args = d.endpoints(POSTGRES)
        key = (sql, *(tuple(a) if isinstance(a, list) else a for a in args))
        found = endpoints.get(key)
        if found is None:
            found = endpoints[key] = await c.fetch(sql, *args)
        ids.append([t["id"] for t in d.targets(found)])
    tag_k: list[int] = []
    tags: list[str] = []
    dlv_k: list[int] = []
    dlv_endpoint: list[str] = []
    for k, (d, targets) in enumerate(zip(drafts, ids, strict=True), start=1):
        tag_k += [k] * len(d.new.tags)
        tags += d.new.tags
        dlv_k += [k] * len(targets)
        dlv_endpoint += targets
    news = [d.new for d in drafts]
    r = await c.fetchrow(
        _GROUP,
        [n.app_id for n in news], [d.id for d in drafts], [n.event_type for n in news],
        [n.event_id for n in news], [n.body for n in news],
        [rows.dumps(list(n.tags)) for n in news], [n.job_id for n in news],
        [d.at for d in drafts], [n.trigger for n in news],
        tag_k, tags, dlv_k, dlv_endpoint, [new_id("dlv") for _ in dlv_endpoint],
    )  # fmt: skip
    created = set(r["created"])
    by_message: dict[str, list[str]] = {}
    due: set[str] = set()
    for message_id, dlv_id, pending in zip(r["d_message"], r["d_id"], r["d_due"], strict=True):
        by_message.setdefault(message_id, []).append(dlv_id)
        if pending:
            due.add(message_id)
    return [
        d.accepted(tuple(by_message.get(d.id, ())), d.id in due) if d.id in created else None
        for d in drafts
    ]


async def _repeated(c: Connection, d: Draft) -> Accepted | None:
    """The first message of ``d``'s repeated event_id, or None when it was deleted since."""
    first = await run(c, d.repeated())
    return None if first is None else Accepted(first, due=False)


async def _enqueue(c: Connection, d: Draft) -> Accepted | None:
    """``d`` committed by itself (a group of one), or the first message of its ``event_id``;
    None when that first one was deleted since."""
    try:
        (got,) = await _enqueue_group(c, [d])
    except asyncpg.UniqueViolationError as exc:
        raise d.taken() from exc
    return got or await _repeated(c, d)
