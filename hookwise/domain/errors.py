"""The one exception tree of hookwise.

::

    HookwiseError
    ├── NotFound                 404: the named resource does not exist (or is not yours)
    ├── Conflict                 409: the request clashes with current state
    ├── InvalidInput             422: a field is wrong; ``field`` names it
    │   └── BlockedUrl           422: an endpoint URL points at a forbidden network
    ├── PayloadTooLarge          413
    ├── Unauthorized             401: missing, malformed or unknown API key
    ├── Forbidden                403: the key's scope does not cover the resource
    ├── RateLimited              429: ``retry_after`` seconds
    ├── StoreUnavailable         503: the database cannot be reached
    ├── SecretKeyError           HOOKWISE_SECRET_KEY is missing or not the database's key
    ├── CannotListen             a server cannot bind its ``host``/``port`` (in use, no permission)
    ├── DeliveryError            a webhook attempt failed; ``endpoint_id``, ``status_code``
    └── VerificationError        a received webhook failed verification
        ├── MissingHeaders
        ├── InvalidSignature
        └── StaleTimestamp

Driver and HTTP-library errors are wrapped at the adapter boundary with ``raise … from exc``.
"""

from __future__ import annotations

from typing import Any


class HookwiseError(Exception):
    """Root of every error hookwise raises on purpose."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}


class NotFound(HookwiseError):
    """The resource does not exist, or is outside the caller's scope."""

    status_code = 404
    code = "not_found"

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{kind} {ident!r} not found", details={"resource": kind, "id": ident})
        self.kind = kind
        self.ident = ident


class Conflict(HookwiseError):
    """The request clashes with the current state of a resource."""

    status_code = 409
    code = "conflict"


class InvalidInput(HookwiseError):
    """An input field is invalid; ``field`` names it."""

    status_code = 422
    code = "validation_error"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", details={"field": field})
        self.field = field


class BlockedUrl(InvalidInput):
    """A URL resolves to an address the SSRF guard refuses."""

    code = "blocked_url"

    def __init__(self, url: str, reason: str, field: str = "url") -> None:
        super().__init__(
            field,
            f"{url} is not allowed: {reason} (HOOKWISE_ALLOW_NETWORKS or serve --allow-networks"
            " lets a network through, e.g. 127.0.0.0/8 for local work)",
        )
        self.url = url
        self.reason = reason


class PayloadTooLarge(HookwiseError):
    """The request body is over the configured limit."""

    status_code = 413
    code = "payload_too_large"


class Unauthorized(HookwiseError):
    """The API key is missing, malformed or unknown."""

    status_code = 401
    code = "unauthorized"


class Forbidden(HookwiseError):
    """The API key is valid but its scope does not cover this resource."""

    status_code = 403
    code = "forbidden"


class RateLimited(HookwiseError):
    """Too many requests; retry after ``retry_after`` seconds."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


class StoreUnavailable(HookwiseError):
    """The database cannot be reached right now."""

    status_code = 503
    code = "store_unavailable"


class SecretKeyError(HookwiseError):
    """HOOKWISE_SECRET_KEY is missing, or is not the key the database's secrets were written
    with: a start-up refusal, never a value passed through."""

    code = "secret_key_error"


class CannotListen(HookwiseError):
    """A server cannot bind its address: the port is taken, or not this user's to take."""

    code = "cannot_listen"

    def __init__(self, host: str, port: int, reason: str) -> None:
        super().__init__(
            f"cannot listen on {host}:{port}: {reason}", details={"host": host, "port": port}
        )
        self.host = host
        self.port = port


class DeliveryError(HookwiseError):
    """A webhook attempt failed."""

    code = "delivery_failed"

    def __init__(
        self, message: str, *, endpoint_id: str | None = None, status_code: int | None = None
    ) -> None:
        super().__init__(message, details={"endpoint_id": endpoint_id, "status_code": status_code})
        self.endpoint_id = endpoint_id
        self.response_status = status_code


class VerificationError(HookwiseError):
    """A received webhook did not verify."""

    status_code = 400
    code = "verification_failed"


class MissingHeaders(VerificationError):
    """The signature headers are absent or malformed."""


class InvalidSignature(VerificationError):
    """No signature matches the body under any known secret."""

    status_code = 401


class StaleTimestamp(VerificationError):
    """The webhook timestamp is outside the tolerance window."""
