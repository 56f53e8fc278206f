"""SQLite: jobs, their results, and their events (committed with the change that sends them)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from datetime import datetime

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
from hookwise.domain.secretbox import SecretBox
from hookwise.domain.signing import new_secret
from hookwise.jobs import Completion, final_summary, result_row
from hookwise.sqlite.writer import SqliteFile
from hookwise.store import job_rows, rows
from hookwise.store.paging import page

_ROWS_PER_READ = 256


class SqliteJobs:
    """Job operations on SQLite."""

    _db: SqliteFile
    _box: SecretBox

    def _wake(self) -> None:
        raise NotImplementedError

    def _enc(self, secret: str) -> str:
        raise NotImplementedError

    def _dec(self, stored: str) -> str:
        raise NotImplementedError

    async def create_job(self, new: NewJob) -> JobCreated:
        now = time.time()

        def op(c: sqlite3.Connection) -> JobCreated:
            r = c.execute(
                "SELECT * FROM jobs WHERE app_id = ? AND id = ?", (new.app_id, new.id)
            ).fetchone()
            if r is not None:
                return JobCreated(job_rows.job(r), False)
            target = self._job_target(c, new, now) if new.webhook_url else None
            r = c.execute(
                "INSERT INTO jobs (app_id, id, type, status, total, webhook_url,"
                " webhook_endpoint_id, item_events, custom, metadata, summary, succeeded, failed,"
                " created_at, updated_at, completed_at)"
                " VALUES (?,?,?,'running',?,?,?,?,?,?,NULL,0,0,?,?,NULL) RETURNING *",
                (new.app_id, new.id, new.type, new.total, new.webhook_url, target,
                 new.item_events, rows.dumps(new.custom), rows.dumps(new.metadata), now, now),
            ).fetchone()  # fmt: skip
            return JobCreated(job_rows.job(r), True)

        return await self._db.write(op)

    def _job_target(self, c: sqlite3.Connection, new: NewJob, now: float) -> str:
        """The hidden endpoint of a webhook_url (one per URL and delivery settings)."""
        schedule = rows.dumps(list(new.webhook_retry_schedule))
        r = c.execute(
            "SELECT id FROM endpoints WHERE app_id = ? AND kind = 'job_target' AND url = ?"
            " AND retry_schedule = ? AND timeout_seconds = ? ORDER BY id LIMIT 1",
            (new.app_id, new.webhook_url, schedule, new.webhook_timeout_seconds),
        ).fetchone()
        if r is not None:
            return str(r["id"])
        secret, previous = self._app_job_secret(c, new.app_id)
        ep_id = new_id("ep")
        c.execute(
            "INSERT INTO endpoints (app_id, id, url, description, events, secret,"
            " previous_secrets, retry_schedule, timeout_seconds, rate_limit_per_second,"
            " max_in_flight, headers, status, paused_reason, consecutive_failures, kind,"
            " rl_next_at, created_at, updated_at)"
            " VALUES (?,?,?,'job webhook_url','[]',?,?,?,?,NULL,64,'{}','active',NULL,0,"
            " 'job_target',0,?,?)",
            (new.app_id, ep_id, new.webhook_url, secret, previous, schedule,
             new.webhook_timeout_seconds, now, now),
        )  # fmt: skip
        return ep_id

    def _app_job_secret(self, c: sqlite3.Connection, app_id: str) -> tuple[str, str]:
        """The app's job secret and previous secrets as stored, made on first use."""
        r = c.execute(
            "SELECT job_secret, job_previous_secrets FROM apps WHERE id = ?", (app_id,)
        ).fetchone()
        if r is None:
            raise NotFound("app", app_id)
        if r["job_secret"] is not None:
            return str(r["job_secret"]), str(r["job_previous_secrets"])
        stored = self._enc(new_secret())
        c.execute("UPDATE apps SET job_secret = ? WHERE id = ?", (stored, app_id))
        return stored, "[]"

    async def job_secret(self, app_id: str) -> tuple[str, list[tuple[str, datetime]]]:
        def op(c: sqlite3.Connection) -> tuple[str, list[tuple[str, datetime]]]:
            secret, previous = self._app_job_secret(c, app_id)
            return self._secrets(secret, previous)

        return await self._db.write(op)

    async def rotate_job_secret(
        self, app_id: str, new_secret: str, old_valid_until: float
    ) -> tuple[str, list[tuple[str, datetime]]]:
        now = time.time()

        def op(c: sqlite3.Connection) -> tuple[str, list[tuple[str, datetime]]]:
            secret, previous = self._app_job_secret(c, app_id)
            kept = [p for p in orjson.loads(previous) if p[1] > now]
            prev = rows.dumps([[secret, old_valid_until], *kept])
            stored = self._enc(new_secret)
            c.execute(
                "UPDATE apps SET job_secret = ?, job_previous_secrets = ?, updated_at = ?"
                " WHERE id = ?",
                (stored, prev, now, app_id),
            )
            c.execute(
                "UPDATE endpoints SET secret = ?, previous_secrets = ?, updated_at = ?"
                " WHERE app_id = ? AND kind = 'job_target'",
                (stored, prev, now, app_id),
            )
            return self._secrets(stored, prev)

        return await self._db.write(op)

    def _secrets(self, secret: str, previous: str) -> tuple[str, list[tuple[str, datetime]]]:
        now = time.time()
        prev = [(self._dec(s), rows.ts(u)) for s, u in orjson.loads(previous) if u > now]
        return self._dec(secret), prev

    async def get_job(self, app_id: str, job_id: str) -> Job:
        def op(c: sqlite3.Connection) -> Job:
            r = c.execute(
                "SELECT * FROM jobs WHERE app_id = ? AND id = ?", (app_id, job_id)
            ).fetchone()
            if r is None:
                raise NotFound("job", job_id)
            return job_rows.job(r)

        return await self._db.read(op)

    async def list_jobs(
        self,
        app_id: str,
        *,
        limit: int,
        cursor: str | None,
        status: str | None = None,
        type: str | None = None,
    ) -> Page[Job]:
        sql = "SELECT * FROM jobs WHERE app_id = ?"
        args: list[object] = [app_id]
        if status:
            sql += " AND status = ?"
            args.append(status)
        if type:
            sql += " AND type = ?"
            args.append(type)
        if cursor:
            at, last = job_rows.parse_job_cursor(cursor)
            sql += " AND (created_at < ? OR (created_at = ? AND id < ?))"
            args += [at, at, last]
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?"

        def op(c: sqlite3.Connection) -> Page[Job]:
            found = c.execute(sql, (*args, limit + 1)).fetchall()
            more = len(found) > limit
            kept = found[:limit]
            nxt = job_rows.job_cursor(kept[-1]) if more and kept else None
            return Page([job_rows.job(r) for r in kept], nxt)

        return await self._db.read(op)

    async def list_job_results(
        self,
        app_id: str,
        job_id: str,
        *,
        limit: int,
        cursor: str | None,
        status: str | None = None,
    ) -> Page[JobResult]:
        after = job_rows.parse_seq_cursor(cursor)
        sql = "SELECT * FROM job_results WHERE app_id = ? AND job_id = ? AND seq > ?"
        args: list[object] = [app_id, job_id, after]
        if status:
            sql += " AND status = ?"
            args.append(status)
        sql += " ORDER BY seq LIMIT ?"

        def op(c: sqlite3.Connection) -> Page[JobResult]:
            if not c.execute(
                "SELECT 1 FROM jobs WHERE app_id = ? AND id = ?", (app_id, job_id)
            ).fetchone():
                raise NotFound("job", job_id)
            found = c.execute(sql, (*args, limit + 1)).fetchall()
            return page(found, limit, job_rows.job_result, key="seq")

        return await self._db.read(op)

    async def report_job_items(
        self, app_id: str, job_id: str, items: Sequence[JobItem]
    ) -> ItemsReported:
        def op(c: sqlite3.Connection) -> ItemsReported:
            now = time.time()
            found = job_rows.running(
                c.execute(
                    "SELECT * FROM jobs WHERE app_id = ? AND id = ?", (app_id, job_id)
                ).fetchone(),
                job_id,
                "items can no longer be reported",
            )
            seen = {
                r[0]
                for r in c.execute(
                    "SELECT item_id FROM job_results WHERE app_id = ? AND job_id = ? AND item_id"
                    " IN (SELECT value FROM json_each(?))",
                    (app_id, job_id, rows.dumps([i.id for i in items])),
                )
            }
            fresh = [i for i in items if i.id not in seen]
            job_rows.check_total(found, len(fresh))
            seq = c.execute(
                "SELECT coalesce(max(seq), 0) FROM job_results WHERE app_id = ? AND job_id = ?",
                (app_id, job_id),
            ).fetchone()[0]
            c.executemany(
                "INSERT INTO job_results (app_id, job_id, seq, item_id, status, result, error,"
                " created_at) VALUES (?,?,?,?,?,?,?,?)",
                [
                    (app_id, job_id, seq + n, i.id, i.status, i.result_json, i.error_json, now)
                    for n, i in enumerate(fresh, 1)
                ],
            )
            succeeded, failed = job_rows.counted(found, fresh)
            r = c.execute(
                "UPDATE jobs SET succeeded = ?, failed = ?, updated_at = ? WHERE app_id = ?"
                " AND id = ? RETURNING *",
                (succeeded, failed, now, app_id, job_id),
            ).fetchone()
            events = job_rows.item_events(found, fresh, now) if found.item_events else []
            _enqueue_events(c, found, events)
            return ItemsReported(
                job_rows.job(r),
                len(fresh),
                tuple(i.id for i in items if i.id in seen),
                tuple(e[0] for e in events),
            )

        reported = await self._db.write(op)
        if reported.message_ids:
            self._wake()
        return reported

    async def finish_job(self, app_id: str, job_id: str, finish: JobFinish) -> JobFinished:
        def op(c: sqlite3.Connection) -> JobFinished:
            now = time.time()
            found = job_rows.running(
                c.execute(
                    "SELECT * FROM jobs WHERE app_id = ? AND id = ?", (app_id, job_id)
                ).fetchone(),
                job_id,
                "a job finishes once",
            )
            summary = final_summary(found, finish.summary)
            done = job_rows.job(
                c.execute(
                    "UPDATE jobs SET status = ?, summary = ?, completed_at = ?, updated_at = ?"
                    " WHERE app_id = ? AND id = ? RETURNING *",
                    (finish.status, rows.dumps(summary), now, now, app_id, job_id),
                ).fetchone()
            )
            msg_id = new_id("msg")
            completion = Completion(
                msg_id, rows.ts(now), done, finish.results_endpoint, finish.inline_budget
            )
            cur = c.execute(
                "SELECT item_id, status, result, error FROM job_results WHERE app_id = ?"
                " AND job_id = ? ORDER BY seq",
                (app_id, job_id),
            )
            while completion.wants_more:
                chunk = cur.fetchmany(_ROWS_PER_READ)
                if not chunk:
                    break
                for r in chunk:
                    if not completion.add(result_row(*r)):
                        break
            cur.close()
            _enqueue_events(c, done, [(msg_id, completion.event_type, completion.body(), now)])
            return JobFinished(
                done, msg_id, completion.event_type, completion.inline, completion.truncated
            )

        finished = await self._db.write(op)
        self._wake()
        return finished


def _enqueue_events(c: sqlite3.Connection, job: Job, events: list[job_rows.Event]) -> None:
    """Commit job events as messages with one delivery per subscribed endpoint plus the job's
    own webhook_url target, in the caller's transaction."""
    if not events:
        return
    endpoints = c.execute(
        "SELECT id, events, status FROM endpoints WHERE app_id = ? AND kind = 'endpoint'",
        (job.app_id,),
    ).fetchall()
    own = []
    if job.webhook_endpoint_id:
        own = c.execute(
            "SELECT id, events, status FROM endpoints WHERE app_id = ? AND id = ?",
            (job.app_id, job.webhook_endpoint_id),
        ).fetchall()
    targets: dict[str, list[sqlite3.Row]] = {}
    messages, deliveries = [], []
    for msg_id, event_type, body, at in events:
        if event_type not in targets:
            subscribed = [e for e in endpoints if matches(orjson.loads(e["events"]), event_type)]
            targets[event_type] = subscribed + own
        messages.append((job.app_id, msg_id, event_type, body, job.id, at))
        for t in targets[event_type]:
            status = "held" if t["status"] == "paused" else "pending"
            deliveries.append(
                (job.app_id, new_id("dlv"), msg_id, t["id"], job.id, status, at, at, at)
            )
    c.executemany(
        "INSERT INTO messages (app_id, id, event_type, event_id, body, tags, job_id, created_at)"
        " VALUES (?,?,?,NULL,?,'[]',?,?)",
        messages,
    )
    c.executemany(
        "INSERT INTO deliveries (app_id, id, message_id, endpoint_id, job_id, status,"
        " attempt_count, retry_base, trigger, next_attempt_at, created_at, updated_at)"
        " VALUES (?,?,?,?,?,?,0,0,'scheduled',?,?,?)",
        deliveries,
    )
