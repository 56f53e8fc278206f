"""Rules of the bulk operations that run in the background (``store.operations``): how big a
step is, how long the stepper rests between steps, and what an operation's status is after one.

A bulk change (releasing an endpoint's held backlog, holding a paused endpoint's pending
deliveries, canceling a deleted endpoint's, recovering or resending failed deliveries) runs in
steps, each its own short transaction, so that the API's writes and the workers' records go
between them. A step is sized to take about ``TARGET_SECONDS`` of database time and never more
than ``MOST`` rows; the stepper then rests as long as the step took, so a bulk change has at
most half of the database's time.
"""

from __future__ import annotations

from typing import Literal

Status = Literal["running", "done", "canceled"]
Kind = Literal["release", "hold", "cancel", "recover", "resend"]

# An endpoint's backlog changes with its status: what the status must still be for a step of
# each kind to go on (a release while active, a hold while paused, a cancel once deleted)
GOES_ON_WHILE: dict[str, str | None] = {"release": "active", "hold": "paused", "cancel": None}

FIRST = 1000  # rows in the first step (the one run inline by the API call, too)
LEAST = 100
MOST = 2000
TARGET_SECONDS = 0.02
REST_MOST_SECONDS = 0.1

# what a bulk resend's ``status`` filter re-queues: failed deliveries, or every finished one
# (a canceled one's endpoint is gone)
RESENDS: dict[str, tuple[str, ...]] = {"failed": ("failed",), "all": ("succeeded", "failed")}


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


def after_endpoint_step(kind: str, endpoint_status: str | None, changed: int, size: int) -> Status:
    """A release's, hold's or cancel's status after a step that changed ``changed`` of at most
    ``size`` deliveries: done when fewer than asked were left (the endpoint's row is locked by
    the step, so none can join them meanwhile); canceled when the endpoint's status changed
    since it began (a release paused again, a hold re-enabled: the next change started its
    own operation, and the rest is right as it is)."""
    if endpoint_status != GOES_ON_WHILE[kind]:
        return "canceled"
    return "running" if changed >= size else "done"


def after_release_step(endpoint_status: str | None, released: int, size: int) -> Status:
    """A release's status after a step (``after_endpoint_step``): canceled when the endpoint
    is paused again or gone (the rest stays held, and a new re-enable starts a new release)."""
    return after_endpoint_step("release", endpoint_status, released, size)


def after_recover_step(endpoint_status: str | None, seen: int, size: int) -> Status:
    """A recover's status after a step that went through ``seen`` of at most ``size`` failed
    deliveries: done when fewer than asked were left; canceled when the endpoint is gone. A
    paused endpoint's go on: they are re-queued held, and go out when it is re-enabled."""
    if endpoint_status is None:
        return "canceled"
    return "running" if seen >= size else "done"


def after_resend_step(seen: int, size: int) -> Status:
    """A resend's status after a step that went through ``seen`` of at most ``size`` of the
    app's deliveries (matching or not): done when fewer than asked were left in its window."""
    return "running" if seen >= size else "done"


def leasable(lease_owner: str | None, lease_until: float | None, owner: str, now: float) -> bool:
    """``owner`` may run the operation's next step: nobody holds its lease, ``owner`` does, or
    the holder's lease ran out (its process is gone or stuck)."""
    return lease_owner is None or lease_owner == owner or (lease_until or 0.0) <= now


LEASABLE_SQL = "(lease_owner IS NULL OR lease_owner = {owner} OR lease_until <= {now})"
"""``leasable`` as a condition on an operations row (marks: ``owner``, ``now``)."""
