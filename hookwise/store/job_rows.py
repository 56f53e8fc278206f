"""Job rows to domain values, and the cursors of the job lists (both backends)."""

from __future__ import annotations

import math

from hookwise.domain.errors import InvalidInput
from hookwise.domain.models import Job, JobResult
from hookwise.domain.text import is_decimal
from hookwise.store.rows import Row, decoder, json_column

MAX_SEQ = 2**31 - 1  # job_results.seq is a 32-bit integer on both stores


job = decoder(
    Job,
    item_events=lambda r: bool(r["item_events"]),
    custom=json_column("custom"),
    metadata=json_column("metadata"),
    summary=json_column("summary"),
    fields=json_column("fields"),
)
job_result = decoder(
    JobResult,
    id=lambda r: r["item_id"],
    result_json=lambda r: r["result"],
    error_json=lambda r: r["error"],
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
