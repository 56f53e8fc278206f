"""What a receiver answers: a status, a small JSON body and headers, for any web framework."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from hookwise.domain.errors import HookwiseError

JSON_HEADERS: tuple[tuple[str, str], ...] = (("content-type", "application/json"),)


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer; adapters turn it into their framework's response."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = JSON_HEADERS

    @classmethod
    def json(cls, status: int, content: Any, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
        """A JSON answer."""
        return cls(status, orjson.dumps(content), JSON_HEADERS + headers)

    @classmethod
    def error(
        cls,
        exc: HookwiseError,
        status: int | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> Reply:
        """The one error shape, ``{"error": {"code", "message", "details"}}``."""
        body = {"error": {"code": exc.code, "message": exc.message, "details": exc.details}}
        return cls.json(status or exc.status_code, body, headers)
