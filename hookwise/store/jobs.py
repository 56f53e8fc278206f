"""The ``Jobs`` role, written once for both databases: jobs, their results, their events
(committed with the change that sends them) and the secret of their webhook_urls; what those
operations decide is in ``rules.jobs``.

Reporting and finishing lock the job row (``FOR UPDATE`` on PostgreSQL; SQLite's one writer
serialises them anyway): two batches of one job are counted one after the other, and a batch
racing the finish either lands before it or gets the 409. Making a job target or the job secret
locks the app row, so racing creates share one target and one secret. Locks are taken job or
app first, never an endpoint before them, so these cannot deadlock with a record of attempts
or a pause (endpoint, then its deliveries).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import orjson

from hookwise.domain.errors import NotFound
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
from hookwise.domain.secretbox import SecretBox
from hookwise.domain.signing import new_secret
from hookwise.jobs import Completion, final_summary
from hookwise.jobs.profile import DEFAULT, JobProfile
from hookwise.store import event_messages, job_rows, rows
from hookwise.store.paging import page
from hookwise.store.rules import endpoints as endpoint_rules
from hookwise.store.rules import jobs as rules
from hookwise.store.rules.messages import Event
from hookwise.store.sql import Handle, Tx, execute, fetch, fetchrow, fetchval

_ROWS_PER_READ = 256  # results offered to a completion per statement
_JOB = "SELECT * FROM jobs WHERE app_id = $1 AND id = $2"
_APP_SECRET = "SELECT job_secret, job_previous_secrets FROM apps WHERE id = $1"
_FIND_TARGET = (
    "SELECT id FROM endpoints WHERE app_id = $1 AND kind = 'job_target' AND url = $2"
    " AND retry_schedule = $3 AND timeout_seconds = $4 ORDER BY id LIMIT 1"
)
_INSERT_TARGET = (
    "INSERT INTO endpoints (app_id, id, url, description, secret, previous_secrets,"
    " retry_schedule, timeout_seconds, max_in_flight, status, kind, created_at, updated_at)"
    " VALUES ($1, $2, $3, 'job webhook_url', $4, $5, $6, $7, 64, 'active', 'job_target', $8, $8)"
)
_INSERT_JOB = (
    "INSERT INTO jobs (app_id, id, type, status, total, webhook_url, webhook_endpoint_id,"
    " item_events, custom, metadata, summary, succeeded, failed, created_at, updated_at,"
    " completed_at, fields) VALUES ($1, $2, $3, 'running', $4, $5, $6, $7, $8, $9, NULL, 0, 0,"
    " $10, $10, NULL, $11) ON CONFLICT (app_id, id) DO NOTHING RETURNING *"
)
_READ_RESULTS = (
    "SELECT seq, item_id, status, result, error FROM job_results"
    " WHERE app_id = $1 AND job_id = $2 AND seq > $3 ORDER BY seq LIMIT $4"
)
# (table and columns, values, their PostgreSQL types) of the rows inserted many at a time
_RESULTS = (
    "job_results (app_id, job_id, seq, item_id, status, result, error, created_at)",
    "$1, $2, $3, $4, $5, $6, $7, $8",
    ("text", "text", "int", "text", "text", "text", "text", "float8"),
)


def _job(r: Any) -> Job | None:
    return None if r is None else job_rows.job(r)


class Jobs:
    """Job operations over one database ``Handle``; ``box`` seals the job secret at rest."""

    def __init__(self, db: Handle, box: SecretBox) -> None:
        self._db = db
        self._box = box

    # jobs ----------------------------------------------------------------------------------
    async def create_job(self, new: NewJob) -> JobCreated:
        """Commit a running job; for a ``webhook_url``, find or make its hidden ``job_target``
        endpoint (one per app, URL, retry schedule and timeout, signed with the app's job
        secret) in the same transaction. Idempotent on ``(app_id, id)``: a repeat returns the
        first job with ``created=False``."""
        now = time.time()
        target = rules.target_of(new)

        def tx() -> Tx[JobCreated]:
            r = yield fetchrow(_JOB, new.app_id, new.id)
            if r is None:
                ep = None if target is None else (yield from self._target(new.app_id, target, now))
                r = yield fetchrow(
                    _INSERT_JOB,
                    new.app_id, new.id, new.type, new.total, new.webhook_url, ep,
                    new.item_events, rows.dumps(new.custom), rows.dumps(new.metadata), now,
                    rows.dumps(new.fields),
                )  # fmt: skip
                if r is not None:
                    return JobCreated(job_rows.job(r), True)
                # a concurrent create of the same id committed first: answer with its job
                r = yield fetchrow(_JOB, new.app_id, new.id)
            return JobCreated(job_rows.job(r), False)

        return await self._db.write(tx)

    def _target(self, app_id: str, target: rules.Target, now: float) -> Tx[str]:
        """The id of the app's hidden endpoint for ``target``, made on first use with the
        app's job secret."""
        key = (app_id, target.url, target.retry_schedule, target.timeout_seconds)
        found = yield fetchval(_FIND_TARGET, *key)
        if found is None:
            sealed, previous = yield from self._secret(app_id)  # locks the app row
            # a racing create may have made it while this one waited for the lock
            found = yield fetchval(_FIND_TARGET, *key)
            if found is None:
                found = new_id("ep")
                yield execute(
                    _INSERT_TARGET,
                    app_id, found, target.url, sealed, previous, target.retry_schedule,
                    target.timeout_seconds, now,
                )  # fmt: skip
        return str(found)

    async def get_job(self, app_id: str, job_id: str) -> Job:
        def tx() -> Tx[Job]:
            r = yield fetchrow(_JOB, app_id, job_id)
            if r is None:
                raise NotFound("job", job_id)
            return job_rows.job(r)

        return await self._db.read(tx)

    async def list_jobs(
        self,
        app_id: str,
        *,
        limit: int,
        cursor: str | None,
        status: str | None = None,
        type: str | None = None,
    ) -> Page[Job]:
        """The app's jobs, newest first."""
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

        def tx() -> Tx[Page[Job]]:
            found = yield fetch(sql, *args)
            kept = found[:limit]
            nxt = job_rows.job_cursor(kept[-1]) if len(found) > limit and kept else None
            return Page([job_rows.job(r) for r in kept], nxt)

        return await self._db.read(tx)

    # results -------------------------------------------------------------------------------
    async def list_job_results(
        self,
        app_id: str,
        job_id: str,
        *,
        limit: int,
        cursor: str | None,
        status: str | None = None,
    ) -> Page[JobResult]:
        """A job's results in report order; the cursor is the last ``seq`` seen."""
        sql = "SELECT * FROM job_results WHERE app_id = $1 AND job_id = $2 AND seq > $3"
        args: list[Any] = [app_id, job_id, job_rows.parse_seq_cursor(cursor)]
        if status:
            args.append(status)
            sql += f" AND status = ${len(args)}"
        args.append(limit + 1)
        sql += f" ORDER BY seq LIMIT ${len(args)}"

        def tx() -> Tx[Page[JobResult]]:
            if (yield fetchval("SELECT 1 FROM jobs WHERE app_id = $1 AND id = $2", app_id, job_id)):
                return page((yield fetch(sql, *args)), limit, job_rows.job_result, key="seq")
            raise NotFound("job", job_id)

        return await self._db.read(tx)

    async def report_job_items(
        self,
        app_id: str,
        job_id: str,
        items: Sequence[JobItem],
        *,
        profile: JobProfile = DEFAULT,
        max_items: int | None = None,
    ) -> ItemsReported:
        """Store a batch of finished items and update the counts, atomically; when the job asked
        for item events, commit one item event (named and shaped by the app's ``profile``) per
        new item in the same transaction.

        Items whose id is stored already are skipped (a retried batch). Conflict when the job
        is finished or the batch would go past its ``total``; InvalidInput (``items``) past the
        app's cap ``max_items`` or the job type's; NotFound for an unknown job.
        """
        lock = self._db.dialect.for_update
        among = self._db.dialect.any("item_id", "$3")
        ids = self._db.dialect.array([i.id for i in items])
        insert = self._db.dialect.insert_rows

        def tx() -> Tx[ItemsReported]:
            now = time.time()
            found = rules.running(
                _job((yield fetchrow(_JOB + lock, app_id, job_id))),
                job_id,
                "items can no longer be reported",
            )
            stored = yield fetch(
                f"SELECT item_id FROM job_results WHERE app_id = $1 AND job_id = $2 AND {among}",
                app_id, job_id, ids,
            )  # fmt: skip
            new, duplicates = rules.fresh(items, (s["item_id"] for s in stored))
            rules.check_total(found, len(new))
            own = profile.for_type(found.type)
            rules.check_cap(found, len(new), own.item_cap(max_items))
            if new:
                seq = yield fetchval(
                    "SELECT coalesce(max(seq), 0) FROM job_results"
                    " WHERE app_id = $1 AND job_id = $2",
                    app_id, job_id,
                )  # fmt: skip
                yield insert(
                    *_RESULTS,
                    [
                        (app_id, job_id, seq + n, i.id, i.status, i.result_json, i.error_json, now)
                        for n, i in enumerate(new, 1)
                    ],
                )
            succeeded, failed = rules.counted(found, new)
            r = yield fetchrow(
                "UPDATE jobs SET succeeded = $3, failed = $4, updated_at = $5 WHERE app_id = $1"
                " AND id = $2 RETURNING *",
                app_id, job_id, succeeded, failed, now,
            )  # fmt: skip
            events = rules.item_events(found, new, now, own) if found.item_events else []
            yield from self._enqueue(found, events)
            return ItemsReported(job_rows.job(r), len(new), duplicates, tuple(e.id for e in events))

        reported = await self._db.write(tx)
        if reported.message_ids:
            self._db.wake()
        return reported

    async def finish_job(
        self, app_id: str, job_id: str, finish: JobFinish, *, profile: JobProfile = DEFAULT
    ) -> JobFinished:
        """Set the final status and summary and commit the completion event (its results cut
        to the inline budget, named and shaped by the app's ``profile``) in one transaction.
        Conflict when already finished."""
        lock = self._db.dialect.for_update

        def tx() -> Tx[JobFinished]:
            now = time.time()
            found = rules.running(
                _job((yield fetchrow(_JOB + lock, app_id, job_id))), job_id, "a job finishes once"
            )
            own = profile.for_type(found.type)
            summary = rows.dumps(final_summary(found, finish.summary, own))
            r = yield fetchrow(
                "UPDATE jobs SET status = $3, summary = $4, completed_at = $5, updated_at = $5"
                " WHERE app_id = $1 AND id = $2 RETURNING *",
                app_id, job_id, finish.status, summary, now,
            )  # fmt: skip
            done = job_rows.job(r)
            msg_id = new_id("msg")
            endpoint = own.results_url(finish.results_endpoint, job_id, app_id, done.type)
            completion = Completion(msg_id, rows.ts(now), done, endpoint, finish.inline_budget, own)
            yield from self._fill(completion, app_id, job_id)
            event = Event(msg_id, completion.event_type, completion.body(), now)
            yield from self._enqueue(done, [event])
            return JobFinished(
                done, msg_id, completion.event_type, completion.inline, completion.truncated
            )

        finished = await self._db.write(tx)
        self._db.wake()
        return finished

    def _fill(self, completion: Completion, app_id: str, job_id: str) -> Tx[None]:
        """Offer the job's results to the completion in order until it is full."""
        after = 0
        while completion.wants_more:
            chunk = yield fetch(_READ_RESULTS, app_id, job_id, after, _ROWS_PER_READ)
            if not chunk:
                return
            for r in chunk:
                if not completion.offer(r["item_id"], r["status"], r["result"], r["error"]):
                    return
            after = chunk[-1]["seq"]

    def _enqueue(self, job: Job, events: Sequence[Event]) -> Tx[None]:
        """Commit job events as messages with one delivery per subscribed endpoint plus the
        job's own webhook_url target, in the caller's transaction (``event_messages``)."""
        yield from event_messages.commit(
            self._db.dialect, job.app_id, events, job_id=job.id, target=job.webhook_endpoint_id
        )

    # the job secret ------------------------------------------------------------------------
    def _secret(self, app_id: str) -> Tx[tuple[str, str]]:
        """The app's job secret and previous secrets as stored, made on first use; locks the
        app row until the transaction ends."""
        r = yield fetchrow(_APP_SECRET + self._db.dialect.for_update, app_id)
        if r is None:
            raise NotFound("app", app_id)
        if r["job_secret"] is not None:
            return str(r["job_secret"]), str(r["job_previous_secrets"])
        sealed = self._box.encrypt(new_secret())
        yield execute("UPDATE apps SET job_secret = $2 WHERE id = $1", app_id, sealed)
        return sealed, "[]"

    async def job_secret(self, app_id: str) -> rules.Secrets:
        """The secret that signs the app's job webhook_urls (made on first use), and older
        ones still valid after a rotation."""

        def stored() -> Tx[tuple[str, str] | None]:
            r = yield fetchrow(_APP_SECRET, app_id)
            if r is None or r["job_secret"] is None:
                return None
            return str(r["job_secret"]), str(r["job_previous_secrets"])

        # read without a lock; only the first use of an app's secret makes (and locks) it
        found = await self._db.read(stored)
        if found is None:
            found = await self._db.write(lambda: self._secret(app_id))
        return rules.valid_secrets(*found, self._box.decrypt, time.time())

    async def rotate_job_secret(
        self, app_id: str, new_secret: str, old_valid_until: float
    ) -> rules.Secrets:
        """Replace the app's job secret on every job target; the old one keeps signing
        until ``old_valid_until``."""
        now = time.time()
        sealed = self._box.encrypt(new_secret)

        def tx() -> Tx[str]:
            current, previous = yield from self._secret(app_id)
            prev = rows.dumps(
                endpoint_rules.rotated_secrets(
                    orjson.loads(previous), current, old_valid_until, now
                )
            )
            yield execute(
                "UPDATE apps SET job_secret = $2, job_previous_secrets = $3, updated_at = $4"
                " WHERE id = $1",
                app_id, sealed, prev, now,
            )  # fmt: skip
            # every job target signs with the app's job secret: they rotate with it
            yield execute(
                "UPDATE endpoints SET secret = $2, previous_secrets = $3, updated_at = $4"
                " WHERE app_id = $1 AND kind = 'job_target'",
                app_id, sealed, prev, now,
            )  # fmt: skip
            return prev

        prev = await self._db.write(tx)
        return rules.valid_secrets(sealed, prev, self._box.decrypt, now)
