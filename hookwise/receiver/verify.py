"""Signature verification for received webhooks: the domain ``Verifier``, adapted to requests.

A request needs the Standard Webhooks headers (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``, several signatures during a rotation); Svix-style senders name them
``svix-*``, read too. ``X-Webhook-Signature: sha256=<hex>`` alone signs no timestamp, so a
captured request could be replayed at any time: it is accepted only by a verifier made with
``accept_hex_only=True``, for a sender that signs no other way. Comparison is constant-time;
failures raise ``MissingHeaders``, ``InvalidSignature`` or ``StaleTimestamp``, nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from hookwise.domain.errors import (
    InvalidSignature,
    MissingHeaders,
    StaleTimestamp,
    VerificationError,
)
from hookwise.domain.signing import DEFAULT_TOLERANCE_SECONDS, Signer, Verifier

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "InvalidSignature",
    "MissingHeaders",
    "Signer",
    "StaleTimestamp",
    "VerificationError",
    "Verifier",
    "lower_headers",
    "make_verifier",
    "verify_request",
]

_SVIX = ("id", "timestamp", "signature")


def make_verifier(
    secret: str | Sequence[str],
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    *,
    accept_hex_only: bool = False,
) -> Verifier:
    """A verifier for one secret, or several during a rotation (any of them may match)."""
    return Verifier.from_secrets(secret, tolerance, accept_hex_only=accept_hex_only)


class HeaderItems(Protocol):
    """Request headers as any framework gives them: a dict, Starlette's ``Headers``, or
    Werkzeug's (Flask's) ``EnvironHeaders``, which is no ``Mapping``; only ``items()`` is read."""

    def items(self) -> Iterable[tuple[str, str]]: ...


def lower_headers(headers: HeaderItems) -> dict[str, str]:
    """Headers with lower-case names; ``svix-*`` names mapped to their ``webhook-*`` twins."""
    out = {k.lower(): v for k, v in headers.items()}
    if "webhook-id" not in out and "svix-id" in out:
        for part in _SVIX:
            if f"svix-{part}" in out:
                out[f"webhook-{part}"] = out[f"svix-{part}"]
    return out


def verify_request(
    verifier: Verifier, body: bytes, headers: HeaderItems, *, now: float | None = None
) -> str | None:
    """Verify one request; return its ``webhook-id`` (None when only the hex style was sent)."""
    return verifier.verify(body, lower_headers(headers), now=now)
