"""One log line per delivery attempt: which message, which endpoint, what came back, what next.

Never the URL (its query or user part may hold a token), a header, a secret or the body: the
endpoint id names the target, and the attempt log in the API holds the rest.
"""

from __future__ import annotations

import logging
import re

from hookwise.domain.models import AttemptResult

log = logging.getLogger("hookwise.delivery")
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://\S+")


def log_attempt(result: AttemptResult) -> None:
    """Log ``result`` at INFO (a failure too: the retry schedule handles it, nobody has to)."""
    if not log.isEnabledFor(logging.INFO):
        return
    c = result.claimed
    answer = str(result.status_code) if result.status_code is not None else "no answer"
    if result.succeeded:
        outcome = "succeeded"
    elif result.next_attempt_at is not None:
        outcome = f"failed, retry at {result.next_attempt_at.strftime('%H:%M:%S')}"
    else:
        outcome = "failed for good" + (f" ({result.pause_reason})" if result.pause_reason else "")
    error = _URL.sub("<url>", result.error_message) if result.error_message else None
    log.info(
        "attempt %d of %s to %s: %s in %.0f ms, %s%s",
        c.attempt_count + 1,
        c.message_id,
        c.endpoint_id,
        answer,
        result.duration_ms,
        outcome,
        f": {error}" if error else "",
        extra={
            "event": "attempt",
            "app_id": c.app_id,
            "message_id": c.message_id,
            "endpoint_id": c.endpoint_id,
            "attempt_id": result.attempt_id,
            "attempt": c.attempt_count + 1,
            "status_code": result.status_code,
            "succeeded": result.succeeded,
            "duration_ms": round(result.duration_ms, 1),
            "error": error,
        },
    )
