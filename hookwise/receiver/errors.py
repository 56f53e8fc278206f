"""Errors of the receiver toolkit, all under the one root ``HookwiseError``.

::

    HookwiseError
    ├── StoreUnavailable
    │   └── InboxUnavailable     503: the inbox cannot be read or written
    ├── BadPayload               400: the body is not a JSON object, or lacks the dedupe key
    ├── CheckFailed              503: a known_ids or dedupe_key function raised
    ├── ResultsFetchError        fetching truncated results or a status URL failed
    └── PermanentFailure         raised by a handler: dead-letter the item now, no retries

Verification errors (``MissingHeaders``, ``InvalidSignature``, ``StaleTimestamp``) come from
``hookwise.domain.errors`` and are re-exported by ``hookwise.receiver``.
"""

from __future__ import annotations

from hookwise.domain.errors import HookwiseError, StoreUnavailable


class InboxUnavailable(StoreUnavailable):
    """The inbox database cannot be reached, read or written."""

    code = "inbox_unavailable"


class BadPayload(HookwiseError):
    """The body is not a JSON object, or the configured dedupe key is missing from it."""

    status_code = 400
    code = "bad_payload"


class CheckFailed(HookwiseError):
    """The app's own ``known_ids`` or ``dedupe_key`` function raised: ask for a retry."""

    status_code = 503
    code = "check_failed"


class ResultsFetchError(HookwiseError):
    """A GET to a results endpoint or a status URL failed; ``url`` and ``status_code`` say how."""

    code = "fetch_failed"

    def __init__(self, message: str, *, url: str, status_code: int | None = None) -> None:
        super().__init__(message, details={"url": url, "status_code": status_code})
        self.url = url
        self.response_status = status_code


class PermanentFailure(HookwiseError):
    """Raise from a handler when retrying cannot help: the item goes to ``dead`` at once."""

    code = "permanent_failure"
