"""Job rows to domain values, and the cursors of the job lists (both backends)."""

from __future__ import annotations

import math

import orjson

from hookwise.domain.errors import InvalidInput
from hookwise.domain.models import Job, JobResult
from hookwise.domain.text import is_decimal
from hookwise.store.rows import Row, ts, ts_or_none

MAX_SEQ = 2**31 - 1  # job_results.seq is a 32-bit integer on both stores


def job(r: Row) -> Job:
    """A Job from its row."""
    summary = r["summary"]
    return Job(
        id=r["id"],
        app_id=r["app_id"],
        type=r["type"],
        status=r["status"],
        total=r["total"],
        webhook_url=r["webhook_url"],
        webhook_endpoint_id=r["webhook_endpoint_id"],
        item_events=bool(r["item_events"]),
        custom=orjson.loads(r["custom"]),
        metadata=orjson.loads(r["metadata"]),
        summary=orjson.loads(summary) if summary is not None else None,
        succeeded=r["succeeded"],
        failed=r["failed"],
        created_at=ts(r["created_at"]),
        updated_at=ts(r["updated_at"]),
        completed_at=ts_or_none(r["completed_at"]),
    )


def job_result(r: Row) -> JobResult:
    """A JobResult from its row."""
    return JobResult(
        job_id=r["job_id"],
        seq=r["seq"],
        id=r["item_id"],
        status=r["status"],
        result_json=r["result"],
        error_json=r["error"],
        created_at=ts(r["created_at"]),
    )


def job_cursor(r: Row) -> str:
    """The cursor after row ``r`` of the jobs list (newest first: created_at, then id)."""
    return f"{float(r['created_at'])!r}~{r['id']}"


def parse_job_cursor(cursor: str) -> tuple[float, str]:
    """(created_at, id) of a jobs-list cursor."""
    at, sep, job_id = cursor.partition("~")
    try:
        created_at = float(at)
    except ValueError:
        created_at = math.nan
    if not sep or not math.isfinite(created_at):
        raise InvalidInput("cursor", "is not a cursor this list returned")
    return created_at, job_id


def parse_seq_cursor(cursor: str | None) -> int:
    """The last seq seen of a results cursor (0 for the first page)."""
    if cursor is None:
        return 0
    seq = int(cursor) if is_decimal(cursor) and len(cursor) <= 10 else -1
    if not 0 <= seq <= MAX_SEQ:
        raise InvalidInput("cursor", "is not a cursor this list returned")
    return seq
