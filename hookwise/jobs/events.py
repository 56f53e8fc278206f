"""The job events, which final status sends which, and the final summary."""

from __future__ import annotations

from typing import Any

from hookwise.domain.errors import InvalidInput
from hookwise.domain.models import Job
from hookwise.jobs.profile import COUNTS, DEFAULT, JobProfile

ITEM_FINISHED = DEFAULT.events["item_finished"]
COMPLETED = DEFAULT.events["completed"]
FAILED = DEFAULT.events["failed"]
CANCELED = DEFAULT.events["canceled"]

JOB_EVENTS: tuple[str, ...] = (ITEM_FINISHED, COMPLETED, FAILED, CANCELED)


def event_for(status: str, profile: JobProfile = DEFAULT) -> str:
    """The event a job finished with ``status`` sends (``job.completed`` for the successes,
    unless the profile names them otherwise)."""
    return profile.event_for(status)


def final_summary(
    job: Job, counters: dict[str, Any], profile: JobProfile = DEFAULT
) -> dict[str, Any]:
    """``{total, succeeded, failed}`` (as the profile names them) from the reported items, then
    the sender's counters.

    When items were reported the three counts are hookwise's and a sender value that disagrees
    is refused; a job finished without reporting items takes the sender's counts as given.
    """
    names = profile.summary_names
    counts: dict[str, Any] = {
        names["total"]: job.total if job.total is not None else job.reported,
        names["succeeded"]: job.succeeded,
        names["failed"]: job.failed,
    }
    for key in (names[c] for c in COUNTS):
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
    return counts | {k: v for k, v in counters.items() if k not in counts}
