"""Rules of console sessions and portal links: their tokens, how long they live, and when a
link may still be opened. Pure functions, tested without a database."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

SESSION_PREFIX = "hws_"
LINK_PREFIX = "hwp_"
TOUCH_EVERY = 60.0  # last_seen_at is written at most this often per session (one write a minute)

LinkRefusal = Literal["unknown", "used", "expired"]


@dataclass(frozen=True, slots=True)
class Lifetimes:
    """How long a console session lives: ``idle_seconds`` after its last request, and never
    past ``max_seconds`` after it began."""

    idle_seconds: float = 8 * 3600.0
    max_seconds: float = 24 * 3600.0


def new_token(prefix: str) -> tuple[str, str]:
    """(token, its stored hash): 256 random bits, shown once."""
    token = prefix + secrets.token_urlsafe(32)
    return token, digest(token)


def digest(token: str) -> str:
    """The stored form of a session or link token."""
    return hashlib.sha256(token.encode()).hexdigest()


def is_live(last_seen_at: float, expires_at: float, now: float, lifetimes: Lifetimes) -> bool:
    """Whether a session may still be used: before its hard end and not idle too long."""
    return now < expires_at and now < last_seen_at + lifetimes.idle_seconds


def touch_due(last_seen_at: float, now: float) -> bool:
    """Whether a request should write the session's ``last_seen_at`` (at most once a minute,
    so reading a page is not a write on every request)."""
    return now - last_seen_at >= TOUCH_EVERY


def link_refusal(used_at: float | None, expires_at: float, now: float) -> LinkRefusal | None:
    """Why a portal link cannot be opened (None: it can). A used link says so even after it
    has also expired: the customer learns the more useful fact."""
    if used_at is not None:
        return "used"
    if now >= expires_at:
        return "expired"
    return None
