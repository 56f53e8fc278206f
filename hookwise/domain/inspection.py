"""Whether a captured request's signatures verify under a secret, in both styles hookwise
signs with (``hookwise.domain.signing``): the request inspector's check.

Each style is judged on its own headers: Standard Webhooks on ``webhook-id``,
``webhook-timestamp`` and ``webhook-signature`` (its timestamp against the time the request was
received, so a capture still verifies later), ``X-Webhook-Signature`` on the body alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from hookwise.domain.errors import VerificationError
from hookwise.domain.signing import Verifier

State = Literal["verified", "not verified", "absent", "unknown"]
STANDARD = "Standard Webhooks"
HEX = "X-Webhook-Signature"
_STANDARD_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


@dataclass(frozen=True, slots=True)
class Verdict:
    """One style's answer: ``state``, and why in a few words."""

    style: str
    state: State
    reason: str

    @property
    def verified(self) -> bool:
        """True when this style's signature matches."""
        return self.state == "verified"


def verdicts(
    secret: str, body: bytes, headers: Mapping[str, str], received_at: float, *, cut: bool
) -> tuple[Verdict, Verdict]:
    """The Standard Webhooks and the ``X-Webhook-Signature`` verdicts of one request
    (``headers`` by lower-case name; ``cut``: only the first part of the body was kept)."""
    standard = {k: headers[k] for k in _STANDARD_HEADERS if k in headers}
    hex_sig = headers.get("x-webhook-signature")
    return (
        _judge(STANDARD, secret, body, standard, received_at, cut, hex_only=False),
        _judge(
            HEX, secret, body, {} if hex_sig is None else {HEX: hex_sig}, received_at, cut,
            hex_only=True,
        ),
    )  # fmt: skip


def _judge(
    style: str,
    secret: str,
    body: bytes,
    headers: dict[str, str],
    received_at: float,
    cut: bool,
    *,
    hex_only: bool,
) -> Verdict:
    if not headers:
        return Verdict(style, "absent", "no such header")
    if cut:
        return Verdict(style, "unknown", "the body was cut: the signed bytes are not all kept")
    if not secret:
        return Verdict(style, "unknown", "no secret given")
    verifier = Verifier.from_secrets(secret, accept_hex_only=hex_only)
    try:
        verifier.verify(body, headers, now=received_at)
    except VerificationError as exc:
        return Verdict(style, "not verified", exc.message)
    return Verdict(style, "verified", "the signature matches")
