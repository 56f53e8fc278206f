"""Pure conversions beside the domain models."""

from __future__ import annotations

from datetime import UTC, datetime

from hookwise.domain.models import Attempt, AttemptResult, ClaimedDelivery, attempt_of

STARTED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _claimed(attempt_count: int) -> ClaimedDelivery:
    return ClaimedDelivery(
        delivery_id="dlv_1",
        app_id="app_1",
        message_id="msg_1",
        endpoint_id="ep_1",
        job_id="job_1",
        attempt_count=attempt_count,
        retry_base=0,
        trigger="manual",
        body=b"{}",
        url="https://example.com/hook",
        secrets=("whsec_x",),
        headers={},
        timeout_seconds=5.0,
        retry_schedule=(),
        rate_limit_per_second=None,
        msg_timestamp=0,
    )


def _result(claimed: ClaimedDelivery, *, status: int, error: str | None) -> AttemptResult:
    return AttemptResult(
        claimed=claimed,
        attempt_id="atm_1",
        succeeded=error is None,
        status_code=status,
        response_body="busy" if error else "",
        error_message=error,
        duration_ms=12.5,
        started_at=STARTED,
        next_attempt_at=None,
    )


def test_attempt_of_a_failure_is_the_row_the_store_records() -> None:
    result = _result(_claimed(attempt_count=2), status=503, error="HTTP 503")
    assert attempt_of(result) == Attempt(
        id="atm_1",
        app_id="app_1",
        delivery_id="dlv_1",
        message_id="msg_1",
        endpoint_id="ep_1",
        job_id="job_1",
        attempt_number=3,  # the third attempt: two were made before it
        status="failed",
        response_status_code=503,
        response_body="busy",
        error_message="HTTP 503",
        duration_ms=12.5,
        started_at=STARTED,
        url="https://example.com/hook",
        trigger="manual",
    )


def test_attempt_of_a_success_says_succeeded() -> None:
    attempt = attempt_of(_result(_claimed(attempt_count=0), status=200, error=None))
    assert (attempt.status, attempt.attempt_number, attempt.response_status_code) == (
        "succeeded",
        1,
        200,
    )
