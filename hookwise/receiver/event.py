"""What a handler receives: one stored webhook (or polled result), parsed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Event:
    """One inbox item as a handler sees it.

    ``payload`` is the parsed JSON body, with truncated ``results`` already fetched in full;
    ``key`` is the dedupe key it was stored under; ``source`` is ``"webhook"`` or ``"poll"``
    (fed in by the reconciler); ``attempt`` counts from 1.
    """

    id: str
    key: str
    type: str
    payload: dict[str, Any]
    headers: Mapping[str, str]
    source: str
    attempt: int
    received_at: datetime

    @property
    def webhook_id(self) -> str | None:
        """The sender's ``webhook-id`` header, when there was one."""
        return self.headers.get("webhook-id")


Handler = Callable[[Event], Awaitable[None] | None]
"""A function (sync or async) run once per event, in the background."""
