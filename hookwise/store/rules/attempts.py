"""Rules of a recorded attempt: where it moves its delivery, and how it counts towards pausing
its endpoint. Both stores record a batch of attempts in one transaction; what each attempt
means is decided here, once, and their hand-tuned SQL only carries it out.

Per endpoint, a batch is a ``Streak``: a success resets the failure counter, a failure that
counts adds one, and one that does not (a failed test ping) changes nothing but still belongs
to the batch (its lease ends: the room it frees matters). An active endpoint (never a job
target) pauses when its counter reaches ``pause_after``, or at once when an attempt of the
batch gave a ``pause_reason`` (410 Gone), whatever else the batch holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from hookwise.domain.models import AttemptResult

Outcome = Literal["succeeded", "retry", "failed"]

#: The attempts row, in the order of ``attempt_row``'s values.
ATTEMPT_COLUMNS = (
    "app_id, id, delivery_id, message_id, endpoint_id, job_id, attempt_number, status,"
    " response_status_code, response_body, error_message, duration_ms, started_at, url, trigger,"
    " payload_format, request_headers, response_headers"
)


def attempt_row(res: AttemptResult) -> tuple[Any, ...]:
    """The values of the attempts row ``res`` becomes (``ATTEMPT_COLUMNS``)."""
    cl = res.claimed
    return (
        cl.app_id, res.attempt_id, cl.delivery_id, cl.message_id, cl.endpoint_id, cl.job_id,
        cl.attempt_count + 1, "succeeded" if res.succeeded else "failed", res.status_code,
        res.response_body, res.error_message, float(res.duration_ms),
        res.started_at.timestamp(), cl.url, cl.trigger, cl.payload_format,
        res.request_headers, res.response_headers,
    )  # fmt: skip


def outcome(res: AttemptResult) -> tuple[Outcome, float | None]:
    """What the attempt does to its delivery, and when the delivery is due again (a retry)."""
    if res.succeeded:
        return "succeeded", None
    if res.next_attempt_at is not None:
        return "retry", res.next_attempt_at.timestamp()
    return "failed", None


def earliest_retry(results: Iterable[AttemptResult]) -> float | None:
    """When the first retry the batch schedules is due (None: it schedules none). A retry
    already due at the commit is work to wake the workers for."""
    return min(
        (at.timestamp() for r in results if (at := r.next_attempt_at) and not r.succeeded),
        default=None,
    )


@dataclass(frozen=True, slots=True)
class Streak:
    """What one batch does to one endpoint's failure counter (its attempts in batch order)."""

    reset: bool = False  # a success: the counter starts over from ``failures``
    failures: int = 0  # failures that count, since the last success of the batch
    reason: str | None = None  # an attempt asked to pause the endpoint at once

    @property
    def failing(self) -> bool:
        """The counter goes up, or the endpoint may pause: its row must be locked."""
        return self.failures > 0 or self.reason is not None

    @property
    def counts(self) -> bool:
        """The batch may change the counter (a test ping alone changes nothing)."""
        return self.reset or self.failing

    def then(self, res: AttemptResult) -> Streak:
        """The streak after one more attempt."""
        if res.succeeded:
            return replace(self, reset=True, failures=0)
        if res.counts_as_failure or res.pause_reason:
            return replace(self, failures=self.failures + 1, reason=res.pause_reason or self.reason)
        return self


def streaks(results: Sequence[AttemptResult]) -> dict[tuple[str, str], Streak]:
    """Each endpoint of the batch, ``(app_id, endpoint_id)``, with its streak."""
    out: dict[tuple[str, str], Streak] = {}
    for res in results:
        key = (res.claimed.app_id, res.claimed.endpoint_id)
        out[key] = out.get(key, _NONE).then(res)
    return out


_NONE = Streak()


def counter(streak: Streak, current: int) -> int:
    """The endpoint's ``consecutive_failures`` after the batch."""
    return streak.failures if streak.reset else current + streak.failures


def pause(streak: Streak, *, failures: int, status: str, kind: str, pause_after: int) -> str | None:
    """The ``paused_reason`` to pause the endpoint with after the batch, or None.

    ``failures`` is its counter after the batch (``counter``). Only an active endpoint pauses
    (a job target never: it belongs to one job, which nobody would resume; a relay does): at
    once for a pause reason, else when the batch's failures bring the counter to
    ``pause_after``.
    """
    if status != "active" or kind == "job_target":
        return None
    if streak.reason is not None:
        return streak.reason
    if streak.failures > 0 and failures >= pause_after:
        return f"{failures} consecutive failed attempts"
    return None
