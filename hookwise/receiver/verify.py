"""Signature verification for received webhooks: the domain ``Verifier``, adapted to requests.

Both header styles are accepted: Standard Webhooks (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``, several signatures during a rotation) and ``X-Webhook-Signature:
sha256=<hex>``. Svix-style senders name the same headers ``svix-*``; they are read too.
Comparison is constant-time; failures raise ``MissingHeaders``, ``InvalidSignature`` or
``StaleTimestamp``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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
    secret: str | Sequence[str], tolerance: int = DEFAULT_TOLERANCE_SECONDS
) -> Verifier:
    """A verifier for one secret, or several during a rotation (any of them may match)."""
    return Verifier.from_secrets(secret, tolerance_seconds=tolerance)


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with lower-case names; ``svix-*`` names mapped to their ``webhook-*`` twins."""
    out = {k.lower(): v for k, v in headers.items()}
    if "webhook-id" not in out and "svix-id" in out:
        for part in _SVIX:
            if f"svix-{part}" in out:
                out[f"webhook-{part}"] = out[f"svix-{part}"]
    return out


def verify_request(
    verifier: Verifier, body: bytes, headers: Mapping[str, str], *, now: float | None = None
) -> str | None:
    """Verify one request; return its ``webhook-id`` (None when only the hex style was sent)."""
    return verifier.verify(body, lower_headers(headers), now=now)
