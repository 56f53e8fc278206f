"""Query parameters shared by the list routes, typed as the OpenAPI document says: an integer
is decimal digits (not ``1.0``, ``+1`` or ``1_000``), a boolean is ``true`` or ``false`` (not
``1``, ``yes`` or ``on``), as pydantic's lax parsing of text would take."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Query
from pydantic import BeforeValidator

from hookwise.domain.errors import InvalidInput
from hookwise.domain.text import is_decimal


def _digits(value: object) -> object:
    if isinstance(value, str) and not is_decimal(value):
        raise ValueError("must be an integer written in decimal digits")
    return value


def _true_or_false(value: object) -> object:
    if isinstance(value, str):
        if value not in ("true", "false"):
            raise ValueError("must be true or false")
        return value == "true"
    return value


# Query(...) before the validator: the other way round, FastAPI writes ge/le into the document
# as they are instead of minimum/maximum
Digits = BeforeValidator(_digits)
Flag = Annotated[bool, Query(), BeforeValidator(_true_or_false)]
Limit = Annotated[int, Query(ge=1, le=1000, description="page size"), Digits]
Cursor = Annotated[str | None, Query(max_length=300, description="next_cursor of the last page")]


Status = Annotated[str | None, Query(pattern="^(pending|succeeded|failed|held|canceled)$")]
"""A delivery status to filter on."""
Time = Annotated[str | None, Query(max_length=64)]
"""An RFC 3339 time to filter on (``rfc3339_seconds``)."""


def rfc3339_seconds(field: str, value: str) -> float:
    """``value``, an RFC 3339 time with its zone, as seconds since the epoch; InvalidInput
    naming ``field`` otherwise."""
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(field, "must be an RFC 3339 time") from None
    if at.tzinfo is None:
        raise InvalidInput(field, "must carry a time zone (e.g. Z)")
    return at.timestamp()
