"""Rules of jobs: which hidden endpoint a job's ``webhook_url`` is delivered through, when a
report or a finish is a conflict, how the counts and the per-item progress go, which endpoints a
job event is delivered to (``rules.messages.fan_out``), and what the job secret answers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import orjson

from hookwise.domain.errors import Conflict, InvalidInput, NotFound
from hookwise.domain.ids import new_id
from hookwise.domain.models import Job, JobItem, NewJob
from hookwise.jobs import item_event
from hookwise.jobs.profile import DEFAULT, JobProfile
from hookwise.store import rows
from hookwise.store.rules.messages import Event

Secrets = tuple[str, list[tuple[str, datetime]]]


@dataclass(frozen=True, slots=True)
class Target:
    """What identifies a ``job_target`` endpoint within an app: jobs that agree on all three
    share one, so a URL's deliveries keep one rate limit, one failure streak and one pause."""

    url: str
    retry_schedule: str  # stored form (JSON text), compared as stored
    timeout_seconds: float


def target_of(new: NewJob) -> Target | None:
    """The hidden endpoint ``new`` is delivered through, or None without a ``webhook_url``."""
    if not new.webhook_url:
        return None
    schedule = rows.dumps(list(new.webhook_retry_schedule))
    return Target(new.webhook_url, schedule, float(new.webhook_timeout_seconds))


def running(found: Job | None, job_id: str, doing: str) -> Job:
    """``found`` if it is still running: NotFound without it, Conflict once finished (a job
    finishes once, and no item is reported after that)."""
    if found is None:
        raise NotFound("job", job_id)
    if found.finished:
        raise Conflict(
            f"job {job_id!r} is already {found.status}; {doing}",
            details={"reason": "job_finished", "job_id": job_id, "status": found.status},
        )
    return found


def fresh(items: Sequence[JobItem], stored: Iterable[str]) -> tuple[list[JobItem], tuple[str, ...]]:
    """The items of a batch not stored yet, and the ids of those stored already (a retried
    batch reports them again: they are skipped, not counted twice)."""
    seen = set(stored)
    return [i for i in items if i.id not in seen], tuple(i.id for i in items if i.id in seen)


def check_total(found: Job, new_items: int) -> None:
    """Conflict when ``new_items`` more results would exceed the job's announced total."""
    if found.total is not None and found.reported + new_items > found.total:
        raise Conflict(
            f"job {found.id!r} has total {found.total} and {found.reported} items reported;"
            f" {new_items} more would exceed it",
            details={
                "reason": "total_exceeded",
                "job_id": found.id,
                "total": found.total,
                "reported": found.reported,
            },
        )


def check_cap(found: Job, new_items: int, cap: int | None) -> None:
    """InvalidInput naming ``items`` when ``new_items`` more would take the job past ``cap``,
    the most items a job of its app and type may have (None: no cap)."""
    if cap is not None and found.reported + new_items > cap:
        raise InvalidInput(
            "items",
            f"a {found.type!r} job holds at most {cap} items; it has {found.reported} and"
            f" {new_items} more would exceed it",
        )


def counted(found: Job, items: Sequence[JobItem]) -> tuple[int, int]:
    """The job's (succeeded, failed) once ``items`` are added."""
    ok = sum(1 for i in items if i.status == "succeeded")
    return found.succeeded + ok, found.failed + len(items) - ok


def item_events(
    job: Job, items: Sequence[JobItem], now: float, profile: JobProfile = DEFAULT
) -> list[Event]:
    """One item event (``job.item_finished`` unless the profile names it otherwise) per item,
    each with the progress counts including it."""
    at = rows.ts(now)
    succeeded, failed = job.succeeded, job.failed
    out = []
    for item in items:
        if item.status == "succeeded":
            succeeded += 1
        else:
            failed += 1
        msg_id = new_id("msg")
        body = item_event(msg_id, at, job, item, succeeded, failed, profile)
        out.append(Event(msg_id, profile.events["item_finished"], body, at=now))
    return out


def valid_secrets(sealed: str, previous: str, decrypt: Callable[[str], str], now: float) -> Secrets:
    """The job secret as answered: the current one, and the previous ones (stored as JSON
    ``[[sealed, until], …]``) still valid at ``now``."""
    prev = [(decrypt(s), rows.ts(until)) for s, until in orjson.loads(previous) if until > now]
    return decrypt(sealed), prev
