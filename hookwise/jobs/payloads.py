"""The bodies of job events, and the inline budget of the completion event.

A job event carries the job's fields at the top level (``event``, ``id``, ``timestamp``,
``job_id``, ``type`` …), named and shaped by the app's ``JobProfile``; the job's extra
``fields`` follow its id field. Results are stored as JSON text and embedded as is: a
completion with thousands of results is assembled without parsing them again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from hookwise.domain.models import Job, JobItem
from hookwise.jobs.profile import DEFAULT, JobProfile

_NULL = b"null"


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


def profile_row(
    profile: JobProfile, item_id: str, status: str, result_json: str | None, error_json: str | None
) -> bytes:
    """One result as the profile shows it: hookwise's row, or the sender's own object (its
    result, or its error when it failed)."""
    if profile.result_rows == "hookwise":
        return result_row(item_id, status, result_json, error_json)
    own = result_json if status == "succeeded" else error_json
    return _NULL if own is None else own.encode()


def body(profile: JobProfile, job: Job, values: dict[str, Any]) -> dict[str, Any]:
    """The top level of an event: ``values`` (keyed by FIELDS) under the profile's names, the
    fields it leaves out dropped, the job's extra fields right after its id field (a name the
    profile writes wins: the app's profile may have changed since the job was created)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = profile.name(key)
        if name is not None:
            out[name] = value
        if key == "job_id" and job.fields:
            taken = profile.taken()
            out.update((k, v) for k, v in job.fields.items() if k not in taken)
    return out


def item_event(
    msg_id: str,
    at: datetime,
    job: Job,
    item: JobItem,
    succeeded: int,
    failed: int,
    profile: JobProfile = DEFAULT,
) -> bytes:
    """The body of the item event; ``succeeded``/``failed`` count this item in."""
    counts = {"total": job.total, "succeeded": succeeded, "failed": failed}
    row = profile_row(profile, item.id, item.status, item.result_json, item.error_json)
    return orjson.dumps(
        body(
            profile,
            job,
            {
                "event": profile.events["item_finished"],
                "id": msg_id,
                "timestamp": iso(at),
                "job_id": job.id,
                "type": job.type,
                "item": orjson.Fragment(row),
                "progress": {profile.summary_names[k]: v for k, v in counts.items()},
                "custom": job.custom,
            },
        )
    )


class Completion:
    """Builds the final event of a finished job within its inline budget.

    Offer the job's results in order with ``add`` until it answers False; ``body`` is then
    the whole event, never longer than ``budget`` bytes, with ``results_truncated`` saying how
    many rows did not fit and ``results_endpoint`` where to page them all. A single-result
    profile takes the first result only, and carries its ``result`` or ``error`` instead.
    """

    def __init__(
        self,
        msg_id: str,
        at: datetime,
        job: Job,
        results_endpoint: str,
        budget: int,
        profile: JobProfile = DEFAULT,
    ) -> None:
        self.profile = profile
        self.event_type = profile.event_for(job.status)
        self.count = 1 if profile.single_result else job.reported
        self._job = job
        self._head: dict[str, Any] = {
            "event": self.event_type,
            "id": msg_id,
            "timestamp": iso(at),
            "job_id": job.id,
            "type": job.type,
            "status": profile.status_names[job.status],
        }
        if not profile.single_result:
            self._head["summary"] = job.summary
        self._tail: dict[str, Any] = {"custom": job.custom, "completed_at": iso(job.completed_at)}
        if not profile.single_result:
            self._tail |= {"results_truncated": self.count, "results_endpoint": results_endpoint}
        # the widest results_truncated is every row: what fits with it fits with fewer
        self._room = budget - len(self._render(b"[]"))
        self._rows: list[bytes] = []
        self._used = 0
        self._full = job.reported == 0

    @property
    def inline(self) -> int:
        """Rows inline so far."""
        return len(self._rows)

    @property
    def truncated(self) -> int:
        """Rows left out."""
        return 0 if self.profile.single_result else self.count - len(self._rows)

    @property
    def wants_more(self) -> bool:
        """False once a row did not fit, or every row is in."""
        return not self._full and len(self._rows) < self.count

    def offer(
        self, item_id: str, status: str, result_json: str | None, error_json: str | None
    ) -> bool:
        """Put one more stored result inline, shaped by the profile, if it fits (``add``)."""
        if self.profile.single_result and self.wants_more:
            key, own = ("result", result_json) if status == "succeeded" else ("error", error_json)
            self._head[key] = orjson.Fragment(_NULL if own is None else own.encode())
            self._rows.append(b"")
            return True
        return self.add(profile_row(self.profile, item_id, status, result_json, error_json))

    def add(self, row: bytes) -> bool:
        """Put one more rendered row inline if it fits; False (and no more rows) once one does
        not."""
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
        if self.profile.single_result:
            return orjson.dumps(body(self.profile, self._job, {**self._head, **self._tail}))
        tail = dict(self._tail, results_truncated=self.truncated)
        if self.profile.truncation_fields == "when_truncated" and not self.truncated:
            del tail["results_truncated"], tail["results_endpoint"]
        return self._render(b"[" + b",".join(self._rows) + b"]", tail)

    def _render(self, results: bytes, tail: dict[str, Any] | None = None) -> bytes:
        tail = self._tail if tail is None else tail
        values = {**self._head, "results": orjson.Fragment(results), **tail}
        return orjson.dumps(body(self.profile, self._job, values))
