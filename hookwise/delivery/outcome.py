"""From an HTTP result to the delivery's next state: retry when, fail, or pause."""

from __future__ import annotations

from datetime import UTC, datetime

from hookwise.delivery.sender import SendResult
from hookwise.domain.ids import new_id
from hookwise.domain.models import AttemptResult, ClaimedDelivery
from hookwise.domain.schedule import RetrySchedule, retry_after_delay


def decide(claim: ClaimedDelivery, sent: SendResult, *, retry_after_cap: float) -> AttemptResult:
    """The AttemptResult to record for ``sent``."""
    succeeded = sent.succeeded
    next_at: datetime | None = None
    pause_reason = None
    if not succeeded:
        made = claim.attempt_count + 1 - claim.retry_base
        delay = RetrySchedule(claim.retry_schedule).next_delay(made)
        if delay is not None:
            if sent.status_code in (429, 503):
                asked = retry_after_delay(sent.retry_after, retry_after_cap)
                if asked is not None:
                    delay = max(delay, asked)
            next_at = datetime.fromtimestamp(
                sent.started_at + sent.duration_ms / 1000 + delay, tz=UTC
            )
        if sent.status_code == 410:
            pause_reason = "the endpoint answered 410 Gone"
    return AttemptResult(
        claimed=claim,
        attempt_id=new_id("att"),
        succeeded=succeeded,
        status_code=sent.status_code,
        response_body=sent.response_body,
        error_message=sent.error,
        duration_ms=round(sent.duration_ms, 3),
        started_at=datetime.fromtimestamp(sent.started_at, tz=UTC),
        next_attempt_at=next_at,
        pause_reason=pause_reason,
        counts_as_failure=claim.trigger != "test",
        request_headers=sent.request_headers,
        response_headers=sent.response_headers,
    )
