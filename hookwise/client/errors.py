"""What the client raises: the API's error shape as an exception, or a transport failure.

::

    HookwiseError
    └── ClientError              anything the client raises on purpose
        ├── ApiError             the API answered an error: ``status``, ``code``, ``message``,
        │                        ``details`` (the ``{"error": {…}}`` shape), ``retry_after``
        └── TransportError       no answer: connection refused, timeout, TLS, …
"""

from __future__ import annotations

from typing import Any

from hookwise.domain.errors import HookwiseError


class ClientError(HookwiseError):
    """Root of the client's errors."""

    code = "client_error"


class ApiError(ClientError):
    """The API answered with an error; its fields are those of the error shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}", details=details)
        self.status = status
        self.status_code = status
        self.code = code
        self.message = message
        self.retry_after = retry_after

    @property
    def field(self) -> str | None:
        """The input field a 400/422 names, if any."""
        value = self.details.get("field")
        return value if isinstance(value, str) else None


class TransportError(ClientError):
    """The request got no HTTP answer (connection, timeout, TLS)."""

    code = "transport_error"
