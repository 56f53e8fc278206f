"""Rules of the bulk operations that run in the background (``store.operations``): how big a
step is, how long the stepper rests between steps, and what an operation's status is after one.

A bulk change (releasing an endpoint's held backlog, recovering its failed deliveries) runs in
steps, each its own short transaction, so that the API's writes and the workers' records go
between them. A step is sized to take about ``TARGET_SECONDS`` of database time and never more
than ``MOST`` rows; the stepper then rests as long as the step took, so a bulk change has at
most half of the database's time.
"""

from __future__ import annotations

from typing import Literal

Status = Literal["running", "done", "canceled"]

FIRST = 1000  # rows in the first step (the one run inline by the API call, too)
LEAST = 100
MOST = 2000
TARGET_SECONDS = 0.02
REST_MOST_SECONDS = 0.1


def next_size(size: int, took: float) -> int:
    """The next step's rows: ``size`` scaled to take ``TARGET_SECONDS`` (``took`` is what it
    took), at most doubled at once, within ``LEAST``…``MOST``."""
    if took <= 0:
        return min(MOST, size * 2)
    scaled = int(size * TARGET_SECONDS / took)
    return max(LEAST, min(MOST, size * 2, scaled))


def rest(took: float) -> float:
    """Seconds to leave the database to others after a step that took ``took``."""
    return max(0.0, min(REST_MOST_SECONDS, took))


def after_release_step(endpoint_status: str | None, released: int, size: int) -> Status:
    """A release's status after a step that released ``released`` of at most ``size``: done
    when fewer than asked were held (the endpoint's row is locked by the step, so no delivery
    can become held meanwhile); canceled when the endpoint is paused again or gone (the rest
    stays held, and a new re-enable starts a new release)."""
    if endpoint_status != "active":
        return "canceled"
    return "running" if released >= size else "done"


def after_recover_step(endpoint_status: str | None, seen: int, size: int) -> Status:
    """A recover's status after a step that went through ``seen`` of at most ``size`` failed
    deliveries: done when fewer than asked were left; canceled when the endpoint is gone. A
    paused endpoint's go on: they are re-queued held, and go out when it is re-enabled."""
    if endpoint_status is None:
        return "canceled"
    return "running" if seen >= size else "done"


def leasable(lease_owner: str | None, lease_until: float | None, owner: str, now: float) -> bool:
    """``owner`` may run the operation's next step: nobody holds its lease, ``owner`` does, or
    the holder's lease ran out (its process is gone or stuck)."""
    return lease_owner is None or lease_owner == owner or (lease_until or 0.0) <= now


LEASABLE_SQL = "(lease_owner IS NULL OR lease_owner = {owner} OR lease_until <= {now})"
"""``leasable`` as a condition on an operations row (marks: ``owner``, ``now``)."""
