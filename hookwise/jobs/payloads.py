"""The bodies of job events, and the inline budget of the completion event.

A job event carries the job's fields at the top level (``event``, ``id``, ``timestamp``,
``job_id``, ``type`` …). Results are stored as JSON text and embedded as is: a completion with
thousands of results is assembled without parsing them again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from hookwise.domain.models import Job, JobItem
from hookwise.jobs.events import ITEM_FINISHED, event_for


def iso(value: datetime | None) -> str | None:
    """RFC 3339 UTC with milliseconds and a Z (the API's format)."""
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def result_row(item_id: str, status: str, result_json: str | None, error_json: str | None) -> bytes:
    """One result as JSON: ``{"id", "status", "result"?, "error"?}`` (the inline and paged
    shape)."""
    row: dict[str, Any] = {"id": item_id, "status": status}
    if result_json is not None:
        row["result"] = orjson.Fragment(result_json)
    if error_json is not None:
        row["error"] = orjson.Fragment(error_json)
    return orjson.dumps(row)


def item_event(
    msg_id: str, at: datetime, job: Job, item: JobItem, succeeded: int, failed: int
) -> bytes:
    """The body of ``job.item_finished``; ``succeeded``/``failed`` count this item in."""
    return orjson.dumps(
        {
            "event": ITEM_FINISHED,
            "id": msg_id,
            "timestamp": iso(at),
            "job_id": job.id,
            "type": job.type,
            "item": orjson.Fragment(
                result_row(item.id, item.status, item.result_json, item.error_json)
            ),
            "progress": {"total": job.total, "succeeded": succeeded, "failed": failed},
            "custom": job.custom,
        }
    )


class Completion:
    """Builds the final event of a finished job within its inline budget.

    Offer the job's result rows in order with ``add`` until it answers False; ``body`` is then
    the whole event, never longer than ``budget`` bytes, with ``results_truncated`` saying how
    many rows did not fit and ``results_endpoint`` where to page them all.
    """

    def __init__(
        self, msg_id: str, at: datetime, job: Job, results_endpoint: str, budget: int
    ) -> None:
        self.event_type = event_for(job.status)
        self.count = job.reported
        self._head: dict[str, Any] = {
            "event": self.event_type,
            "id": msg_id,
            "timestamp": iso(at),
            "job_id": job.id,
            "type": job.type,
            "status": job.status,
            "summary": job.summary,
        }
        self._tail: dict[str, Any] = {
            "custom": job.custom,
            "completed_at": iso(job.completed_at),
            "results_truncated": self.count,
            "results_endpoint": results_endpoint,
        }
        # the widest results_truncated is every row: what fits with it fits with fewer
        self._room = budget - len(self._render(b"[]"))
        self._rows: list[bytes] = []
        self._used = 0
        self._full = self.count == 0

    @property
    def inline(self) -> int:
        """Rows inline so far."""
        return len(self._rows)

    @property
    def truncated(self) -> int:
        """Rows left out."""
        return self.count - len(self._rows)

    @property
    def wants_more(self) -> bool:
        """False once a row did not fit, or every row is in."""
        return not self._full and len(self._rows) < self.count

    def add(self, row: bytes) -> bool:
        """Put one more row inline if it fits; False (and no more rows) once one does not."""
        if not self.wants_more:
            return False
        extra = len(row) + (1 if self._rows else 0)
        if self._used + extra > self._room:
            self._full = True
            return False
        self._rows.append(row)
        self._used += extra
        return True

    def body(self) -> bytes:
        """The event as delivered."""
        self._tail["results_truncated"] = self.truncated
        return self._render(b"[" + b",".join(self._rows) + b"]")

    def _render(self, results: bytes) -> bytes:
        return orjson.dumps({**self._head, "results": orjson.Fragment(results), **self._tail})
