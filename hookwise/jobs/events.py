"""The job events, which final status sends which, and the final summary."""

from __future__ import annotations

from typing import Any

from hookwise.domain.errors import InvalidInput
from hookwise.domain.models import Job

ITEM_FINISHED = "job.item_finished"
COMPLETED = "job.completed"
FAILED = "job.failed"
CANCELED = "job.canceled"

JOB_EVENTS: tuple[str, ...] = (ITEM_FINISHED, COMPLETED, FAILED, CANCELED)

_EVENT_OF_STATUS = {
    "completed": COMPLETED,
    "completed_with_errors": COMPLETED,
    "failed": FAILED,
    "insufficient_credits": FAILED,
    "canceled": CANCELED,
}

COUNTS = ("total", "succeeded", "failed")


def event_for(status: str) -> str:
    """The event a job finished with ``status`` sends (``job.completed`` for the successes)."""
    return _EVENT_OF_STATUS[status]


def final_summary(job: Job, counters: dict[str, Any]) -> dict[str, Any]:
    """``{total, succeeded, failed}`` from the reported items, then the sender's counters.

    When items were reported the three counts are hookwise's and a sender value that disagrees
    is refused; a job finished without reporting items takes the sender's counts as given.
    """
    counts: dict[str, Any] = {
        "total": job.total if job.total is not None else job.reported,
        "succeeded": job.succeeded,
        "failed": job.failed,
    }
    for key in COUNTS:
        if key not in counters:
            continue
        given = counters[key]
        if job.reported and given != counts[key]:
            raise InvalidInput(
                f"summary.{key}",
                f"is {counts[key]} from the reported items; leave it out or send that value",
            )
        if isinstance(given, bool) or not isinstance(given, int) or given < 0:
            raise InvalidInput(f"summary.{key}", "must be a whole number of items")
        counts[key] = given
    return counts | {k: v for k, v in counters.items() if k not in COUNTS}
