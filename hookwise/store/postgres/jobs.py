"""PostgreSQL: jobs, their results, and their events (committed with the change that sends them).

Reporting and finishing lock the job row (``FOR UPDATE``): two batches of one job are counted
one after the other, and a batch racing the finish either lands before it or gets the 409.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from hookwise.domain.errors import NotFound
from hookwise.domain.events import matches
from hookwise.domain.ids import new_id
from hookwise.domain.models import (
    ItemsReported,
    Job,
    JobCreated,
    JobFinish,
    JobFinished,
    JobItem,
    JobResult,
    NewJob,
    Page,
)
from hookwise.domain.signing import new_secret
from hookwise.jobs import Completion, final_summary, result_row
from hookwise.store import job_rows, rows
from hookwise.store.paging import page
from hookwise.store.postgres.listener import NOTIFY_SQL
from hookwise.store.postgres.pool import Connection, Pools

_ROWS_PER_READ = 256
_INSERT_JOB = """
INSERT INTO jobs (app_id, id, type, status, total, webhook_url, webhook_endpoint_id,
                  item_events, custom, metadata, summary, succeeded, failed, created_at,
                  updated_at, completed_at)
VALUES ($1, $2, $3, 'running', $4, $5, $6, $7, $8, $9, NULL, 0, 0, $10, $10, NULL)
ON CONFLICT (app_id, id) DO NOTHING
RETURNING *
"""
_FIND_TARGET = """
SELECT id FROM endpoints WHERE app_id = $1 AND kind = 'job_target' AND url = $2
AND retry_schedule = $3 AND timeout_seconds = $4 ORDER BY id LIMIT 1
"""
_INSERT_TARGET = """
INSERT INTO endpoints (app_id, id, url, description, events, secret, previous_secrets,
                       retry_schedule, timeout_seconds, rate_limit_per_second, max_in_flight,
                       headers, status, paused_reason, consecutive_failures, kind, rl_next_at,
                       created_at, updated_at)
VALUES ($1, $2, $3, 'job webhook_url', '[]', $4, $5, $6, $7, NULL, 64, '{}', 'active', NULL, 0,
        'job_target', 0, $8, $8)
"""
_INSERT_RESULTS = """
INSERT INTO job_results (app_id, job_id, seq, item_id, status, result, error, created_at)
SELECT $1, $2, $3 + x.n, x.item_id, x.status, x.result, x.error, $4
FROM unnest($5::text[], $6::text[], $7::text[], $8::text[])
     WITH ORDINALITY AS x(item_id, status, result, error, n)
"""
_READ_RESULTS = """
SELECT seq, item_id, status, result, error FROM job_results
WHERE app_id = $1 AND job_id = $2 AND seq > $3 ORDER BY seq LIMIT $4
"""
_INSERT_MESSAGES = """
INSERT INTO messages (app_id, id, event_type, event_id, body, tags, job_id, created_at)
SELECT $1, x.id, x.event_type, NULL, x.body, '[]', $2, x.created_at
FROM unnest($3::text[], $4::text[], $5::bytea[], $6::float8[])
     AS x(id, event_type, body, created_at)
"""
_INSERT_DELIVERIES = """
INSERT INTO deliveries (app_id, id, message_id, endpoint_id, job_id, status, attempt_count,
                        retry_base, trigger, next_attempt_at, created_at, updated_at)
SELECT $1, x.id, x.message_id, x.endpoint_id, $2, x.status, 0, 0, 'scheduled', x.at, x.at, x.at
FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::float8[])
     AS x(id, message_id, endpoint_id, status, at)
"""
_LOCK_JOB = "SELECT * FROM jobs WHERE app_id = $1 AND id = $2 FOR UPDATE"

Secrets = tuple[str, list[tuple[str, datetime]]]


class PostgresJobs:
    """Job operations on PostgreSQL."""

    _db: Pools

    def _wake(self) -> None:
        raise NotImplementedError

    def _enc(self, secret: str) -> str:
        raise NotImplementedError

    def _dec(self, stored: str) -> str:
        raise NotImplementedError

    async def create_job(self, new: NewJob) -> JobCreated:
        now = time.time()
        async with self._db.transaction() as c:
            r = await c.fetchrow(
                "SELECT * FROM jobs WHERE app_id = $1 AND id = $2", new.app_id, new.id
            )
            if r is not None:
                return JobCreated(job_rows.job(r), False)
            target = await self._job_target(c, new, now) if new.webhook_url else None
            r = await c.fetchrow(
                _INSERT_JOB,
                new.app_id, new.id, new.type, new.total, new.webhook_url, target,
                new.item_events, rows.dumps(new.custom), rows.dumps(new.metadata), now,
            )  # fmt: skip
            if r is not None:
                return JobCreated(job_rows.job(r), True)
        # a concurrent create of the same id committed first: answer with its job
        return JobCreated(await self.get_job(new.app_id, new.id), False)

    async def _job_target(self, c: Connection, new: NewJob, now: float) -> str:
        """The hidden endpoint of a webhook_url (one per URL and delivery settings)."""
        schedule = rows.dumps(list(new.webhook_retry_schedule))
        timeout = float(new.webhook_timeout_seconds)
        found = await c.fetchval(_FIND_TARGET, new.app_id, new.webhook_url, schedule, timeout)
        if found is not None:
            return str(found)
        # the app row lock makes one target per URL and one job secret per app
        secret, previous = await self._app_job_secret(c, new.app_id)
        found = await c.fetchval(_FIND_TARGET, new.app_id, new.webhook_url, schedule, timeout)
        if found is not None:
            return str(found)
        ep_id = new_id("ep")
        await c.execute(
            _INSERT_TARGET,
            new.app_id, ep_id, new.webhook_url, secret, previous, schedule, timeout, now,
        )  # fmt: skip
        return ep_id

    async def _app_job_secret(self, c: Connection, app_id: str) -> tuple[str, str]:
        """The app's job secret and previous secrets as stored (made on first use); locks the
        app row until the transaction ends."""
        r = await c.fetchrow(
            "SELECT job_secret, job_previous_secrets FROM apps WHERE id = $1 FOR UPDATE", app_id
        )
        if r is None:
            raise NotFound("app", app_id)
        if r["job_secret"] is not None:
            return str(r["job_secret"]), str(r["job_previous_secrets"])
        stored = self._enc(new_secret())
        await c.execute("UPDATE apps SET job_secret = $2 WHERE id = $1", app_id, stored)
        return stored, "[]"

    async def job_secret(self, app_id: str) -> Secrets:
        r = await self._db.fetchrow(
            "SELECT job_secret, job_previous_secrets FROM apps WHERE id = $1", app_id
        )
        if r is not None and r["job_secret"] is not None:
            return self._secrets(r["job_secret"], r["job_previous_secrets"])
        async with self._db.transaction() as c:
            secret, previous = await self._app_job_secret(c, app_id)
        return self._secrets(secret, previous)

    async def rotate_job_secret(
        self, app_id: str, new_secret: str, old_valid_until: float
    ) -> Secrets:
        now = time.time()
        async with self._db.transaction() as c:
            secret, previous = await self._app_job_secret(c, app_id)
            kept = [p for p in orjson.loads(previous) if p[1] > now]
            prev = rows.dumps([[secret, old_valid_until], *kept])
            stored = self._enc(new_secret)
            await c.execute(
                "UPDATE apps SET job_secret = $2, job_previous_secrets = $3, updated_at = $4"
                " WHERE id = $1",
                app_id, stored, prev, now,
            )  # fmt: skip
            await c.execute(
                "UPDATE endpoints SET secret = $2, previous_secrets = $3, updated_at = $4"
                " WHERE app_id = $1 AND kind = 'job_target'",
                app_id, stored, prev, now,
            )  # fmt: skip
        return self._secrets(stored, prev)

    def _secrets(self, secret: str, previous: str) -> Secrets:
        now = time.time()
        prev = [(self._dec(s), rows.ts(u)) for s, u in orjson.loads(previous) if u > now]
        return self._dec(secret), prev

    async def get_job(self, app_id: str, job_id: str) -> Job:
        r = await self._db.fetchrow(
            "SELECT * FROM jobs WHERE app_id = $1 AND id = $2", app_id, job_id
        )
        if r is None:
            raise NotFound("job", job_id)
        return job_rows.job(r)

    async def list_jobs(
        self,
        app_id: str,
        *,
        limit: int,
        cursor: str | None,
        status: str | None = None,
        type: str | None = None,
    ) -> Page[Job]:
        sql = "SELECT * FROM jobs WHERE app_id = $1"
        args: list[Any] = [app_id]
        if status:
            args.append(status)
            sql += f" AND status = ${len(args)}"
        if type:
            args.append(type)
            sql += f" AND type = ${len(args)}"
        if cursor:
            args += job_rows.parse_job_cursor(cursor)
            sql += f" AND (created_at, id) < (${len(args) - 1}, ${len(args)})"
        args.append(limit + 1)
        sql += f" ORDER BY created_at DESC, id DESC LIMIT ${len(args)}"
        found = await self._db.fetch(sql, *args)
        kept = found[:limit]
        nxt = job_rows.job_cursor(kept[-1]) if len(found) > limit and kept else None
        return Page([job_rows.job(r) for r in kept], nxt)

    async def list_job_results(
        self,
        app_id: str,
        job_id: str,
        *,
        limit: int,
        cursor: str | None,
        status: str | None = None,
    ) -> Page[JobResult]:
        sql = "SELECT * FROM job_results WHERE app_id = $1 AND job_id = $2 AND seq > $3"
        args: list[Any] = [app_id, job_id, job_rows.parse_seq_cursor(cursor)]
        if status:
            args.append(status)
            sql += f" AND status = ${len(args)}"
        args.append(limit + 1)
        sql += f" ORDER BY seq LIMIT ${len(args)}"
        async with self._db.connection() as c:
            exists = await c.fetchval(
                "SELECT 1 FROM jobs WHERE app_id = $1 AND id = $2", app_id, job_id
            )
            if exists is None:
                raise NotFound("job", job_id)
            found = await c.fetch(sql, *args)
        return page(found, limit, job_rows.job_result, key="seq")

    async def report_job_items(
        self, app_id: str, job_id: str, items: Sequence[JobItem]
    ) -> ItemsReported:
        async with self._db.transaction() as c:
            now = time.time()
            found = job_rows.running(
                await c.fetchrow(_LOCK_JOB, app_id, job_id),
                job_id,
                "items can no longer be reported",
            )
            stored = await c.fetch(
                "SELECT item_id FROM job_results WHERE app_id = $1 AND job_id = $2"
                " AND item_id = ANY($3::text[])",
                app_id, job_id, [i.id for i in items],
            )  # fmt: skip
            seen = {r["item_id"] for r in stored}
            fresh = [i for i in items if i.id not in seen]
            job_rows.check_total(found, len(fresh))
            seq = await c.fetchval(
                "SELECT coalesce(max(seq), 0) FROM job_results WHERE app_id = $1 AND job_id = $2",
                app_id, job_id,
            )  # fmt: skip
            await c.execute(
                _INSERT_RESULTS, app_id, job_id, seq, now,
                [i.id for i in fresh], [i.status for i in fresh],
                [i.result_json for i in fresh], [i.error_json for i in fresh],
            )  # fmt: skip
            succeeded, failed = job_rows.counted(found, fresh)
            r = await c.fetchrow(
                "UPDATE jobs SET succeeded = $3, failed = $4, updated_at = $5 WHERE app_id = $1"
                " AND id = $2 RETURNING *",
                app_id, job_id, succeeded, failed, now,
            )  # fmt: skip
            events = job_rows.item_events(found, fresh, now) if found.item_events else []
            await _enqueue_events(c, found, events)
        if events:
            self._wake()
        return ItemsReported(
            job_rows.job(r),
            len(fresh),
            tuple(i.id for i in items if i.id in seen),
            tuple(e[0] for e in events),
        )

    async def finish_job(self, app_id: str, job_id: str, finish: JobFinish) -> JobFinished:
        async with self._db.transaction() as c:
            now = time.time()
            found = job_rows.running(
                await c.fetchrow(_LOCK_JOB, app_id, job_id), job_id, "a job finishes once"
            )
            summary = rows.dumps(final_summary(found, finish.summary))
            r = await c.fetchrow(
                "UPDATE jobs SET status = $3, summary = $4, completed_at = $5, updated_at = $5"
                " WHERE app_id = $1 AND id = $2 RETURNING *",
                app_id, job_id, finish.status, summary, now,
            )  # fmt: skip
            done = job_rows.job(r)
            msg_id = new_id("msg")
            completion = Completion(
                msg_id, rows.ts(now), done, finish.results_endpoint, finish.inline_budget
            )
            await _fill(c, completion, app_id, job_id)
            event = (msg_id, completion.event_type, completion.body(), now)
            await _enqueue_events(c, done, [event])
        self._wake()
        return JobFinished(
            done, msg_id, completion.event_type, completion.inline, completion.truncated
        )


async def _fill(c: Connection, completion: Completion, app_id: str, job_id: str) -> None:
    """Offer the job's results to the completion in order until it is full."""
    after = 0
    while completion.wants_more:
        chunk = await c.fetch(_READ_RESULTS, app_id, job_id, after, _ROWS_PER_READ)
        if not chunk:
            return
        for r in chunk:
            if not completion.add(result_row(r["item_id"], r["status"], r["result"], r["error"])):
                return
        after = chunk[-1]["seq"]


async def _enqueue_events(c: Connection, job: Job, events: list[job_rows.Event]) -> None:
    """Commit job events as messages with one delivery per subscribed endpoint plus the job's
    own webhook_url target, and the wake-up, in the caller's transaction."""
    if not events:
        return
    endpoints = await c.fetch(
        "SELECT id, events, status, kind FROM endpoints WHERE app_id = $1"
        " AND (kind = 'endpoint' OR id = $2)",
        job.app_id, job.webhook_endpoint_id,
    )  # fmt: skip
    own = [e for e in endpoints if e["id"] == job.webhook_endpoint_id]
    subscribed = [e for e in endpoints if e["kind"] == "endpoint"]
    targets: dict[str, list[Any]] = {}
    ids: list[str] = []
    msg_ids: list[str] = []
    endpoint_ids: list[str] = []
    statuses: list[str] = []
    ats: list[float] = []
    for msg_id, event_type, _body, at in events:
        if event_type not in targets:
            targets[event_type] = [
                e for e in subscribed if matches(orjson.loads(e["events"]), event_type)
            ] + own
        for t in targets[event_type]:
            ids.append(new_id("dlv"))
            msg_ids.append(msg_id)
            endpoint_ids.append(t["id"])
            statuses.append("held" if t["status"] == "paused" else "pending")
            ats.append(at)
    await c.execute(
        _INSERT_MESSAGES, job.app_id, job.id,
        [e[0] for e in events], [e[1] for e in events], [e[2] for e in events],
        [e[3] for e in events],
    )  # fmt: skip
    if ids:
        await c.execute(
            _INSERT_DELIVERIES, job.app_id, job.id, ids, msg_ids, endpoint_ids, statuses, ats
        )
        if "pending" in statuses:
            await c.execute(NOTIFY_SQL)
