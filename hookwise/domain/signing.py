"""Webhook signatures: Standard Webhooks (``webhook-signature``) and ``X-Webhook-Signature``.

The two styles key their HMAC differently, each as its own ecosystem's verifiers do:

- Standard Webhooks: a ``whsec_`` secret is base64 key bytes, any other secret UTF-8 bytes. The
  signature is ``v1,`` + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")), one
  space-separated entry per valid secret during a rotation.
- ``X-Webhook-Signature``: ``sha256=`` + hex(HMAC-SHA256(key, body)) where the key is the secret
  string exactly as the user sees it (UTF-8, ``whsec_`` prefix and all), so
  ``hmac.new(secret.encode(), body, sha256)`` and seed 002's Node ``verifyWebhook`` check it
  unchanged. (Before 0.2 this key was the decoded ``whsec_`` bytes; ``Verifier`` still accepts
  that, so a receiver can be upgraded before or after its sender.)
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hookwise.domain.errors import (
    InvalidSignature,
    MissingHeaders,
    StaleTimestamp,
)
from hookwise.domain.text import is_decimal

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE_SECONDS = 300
# A Unix time in seconds has 10 digits until the year 2286; more than this is no time at all.
_MAX_TIMESTAMP_DIGITS = 20


def new_secret() -> str:
    """A fresh ``whsec_`` secret with 24 random key bytes."""
    return SECRET_PREFIX + base64.b64encode(os.urandom(24)).decode()


def _b64(text: str) -> bytes:
    """Standard base64, padding optional (some senders strip it)."""
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def secret_key(secret: str) -> bytes:
    """The Standard Webhooks HMAC key bytes of a secret string."""
    if secret.startswith(SECRET_PREFIX):
        try:
            return _b64(secret[len(SECRET_PREFIX) :])
        except (binascii.Error, ValueError):
            return secret.encode()
    return secret.encode()


def is_valid_whsec(secret: str) -> bool:
    """True when a ``whsec_`` secret holds valid base64 of at least 16 bytes."""
    try:
        return len(_b64(secret[len(SECRET_PREFIX) :])) >= 16
    except (binascii.Error, ValueError):
        return False


def standard_signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` entry."""
    to_sign = f"{msg_id}.{timestamp}.".encode() + body
    # hmac.digest is the one-shot C path: no HMAC object, no hashlib.new per call
    return "v1," + binascii.b2a_base64(hmac.digest(key, to_sign, "sha256"), newline=False).decode()


def hex_key(secret: str) -> bytes:
    """The ``X-Webhook-Signature`` HMAC key of a secret: the string as shown, in UTF-8."""
    return secret.encode()


def hex_signature(key: bytes, body: bytes) -> str:
    """``sha256=<hex>`` of the body alone."""
    return "sha256=" + hmac.digest(key, body, "sha256").hex()


@dataclass(frozen=True, slots=True)
class Signer:
    """Signs bodies with the current secret and, during a rotation, the previous ones.

    ``keys`` are the Standard Webhooks keys (current first), ``hex`` the current secret's
    ``X-Webhook-Signature`` key."""

    keys: tuple[bytes, ...]
    hex: bytes

    @classmethod
    def from_secrets(cls, secrets: Sequence[str]) -> Signer:
        """``secrets[0]`` is the current secret, the rest are still-valid older ones."""
        return cls(tuple(secret_key(s) for s in secrets), hex_key(secrets[0]))

    def headers(self, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
        """The signature headers of one attempt."""
        ts = str(timestamp)
        keys = self.keys
        if len(keys) == 1:
            sigs = standard_signature(keys[0], msg_id, timestamp, body)
        else:
            sigs = " ".join(standard_signature(k, msg_id, timestamp, body) for k in keys)
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": ts,
            "webhook-signature": sigs,
            "X-Webhook-Signature": hex_signature(self.hex, body),
        }


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lname = name.lower()
        for k, v in headers.items():
            if k.lower() == lname:
                return v
    return value


@dataclass(frozen=True, slots=True)
class Verifier:
    """Verifies received webhooks against one or more secrets (a rotation keeps both).

    The Standard Webhooks headers are required: ``X-Webhook-Signature`` alone signs the body
    but no time, so a captured request could be replayed forever. ``accept_hex_only=True`` is
    for a sender that signs only that way; then only deduplication stands against a replay.
    """

    keys: tuple[bytes, ...]
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS
    accept_hex_only: bool = False
    #: ``X-Webhook-Signature`` keys: each secret as shown, then its pre-0.2 key where it differs
    hex_keys: tuple[bytes, ...] = ()

    @classmethod
    def from_secrets(
        cls,
        secrets: str | Sequence[str],
        tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
        *,
        accept_hex_only: bool = False,
    ) -> Verifier:
        """A verifier for one secret or several."""
        items = [secrets] if isinstance(secrets, str) else list(secrets)
        if not items:
            raise ValueError("at least one secret is needed")
        keys = tuple(secret_key(s) for s in items)
        hex_keys = tuple(dict.fromkeys([hex_key(s) for s in items] + list(keys)))
        return cls(keys, tolerance_seconds, accept_hex_only, hex_keys)

    def verify(
        self, body: bytes, headers: Mapping[str, str], *, now: float | None = None
    ) -> str | None:
        """Check the signature; return the ``webhook-id`` (None for hex-only senders).

        Raises MissingHeaders, InvalidSignature or StaleTimestamp, never anything else.
        """
        msg_id = _header(headers, "webhook-id")
        ts_text = _header(headers, "webhook-timestamp")
        sig_text = _header(headers, "webhook-signature")
        if msg_id is not None or ts_text is not None or sig_text is not None:
            if not (msg_id and ts_text and sig_text):
                raise MissingHeaders(
                    "webhook-id, webhook-timestamp and webhook-signature are all required"
                )
            self._verify_standard(body, msg_id, ts_text, sig_text, now)
            return msg_id
        hex_text = _header(headers, "x-webhook-signature")
        if not self.accept_hex_only:
            if hex_text:
                raise MissingHeaders(
                    "X-Webhook-Signature alone signs no timestamp and can be replayed: send"
                    " webhook-id, webhook-timestamp and webhook-signature, or accept hex-only"
                    " requests explicitly (accept_hex_only)"
                )
            raise MissingHeaders("webhook-id, webhook-timestamp and webhook-signature are required")
        if not hex_text:
            raise MissingHeaders("no webhook-signature or X-Webhook-Signature header")
        self._verify_hex(body, hex_text)
        return None

    def _verify_standard(
        self, body: bytes, msg_id: str, ts_text: str, sig_text: str, now: float | None
    ) -> None:
        ts = _timestamp(ts_text)
        current = int(time.time() if now is None else now)
        if abs(current - ts) > self.tolerance_seconds:
            raise StaleTimestamp(
                f"webhook-timestamp is {current - ts} s away from now "
                f"(tolerance {self.tolerance_seconds} s)"
            )
        offered = []
        for entry in sig_text.split():
            version, sep, value = entry.partition(",")
            if sep and version == "v1":
                offered.append(_bytes(value))
        if not offered:
            raise InvalidSignature("no v1 signature in webhook-signature")
        try:
            expected = [standard_signature(k, msg_id, ts, body)[3:].encode() for k in self.keys]
        except UnicodeEncodeError:
            raise InvalidSignature("webhook-id is not text a sender could sign") from None
        if any(hmac.compare_digest(e, o) for e in expected for o in offered):
            return
        raise InvalidSignature("no signature matches")

    def _verify_hex(self, body: bytes, hex_text: str) -> None:
        offered = _bytes(hex_text.strip())
        for key in self.hex_keys or self.keys:
            if hmac.compare_digest(hex_signature(key, body).encode(), offered):
                return
        raise InvalidSignature("X-Webhook-Signature does not match")


def _timestamp(text: str) -> int:
    """Seconds since the epoch: ASCII digits only (``int`` would take ``+1_7`` or Arabic ones)."""
    digits = text.strip()
    if not is_decimal(digits):
        raise MissingHeaders("webhook-timestamp is not an integer")
    if len(digits) > _MAX_TIMESTAMP_DIGITS:
        raise StaleTimestamp("webhook-timestamp is too far from now")
    return int(digits)


def _bytes(text: str) -> bytes:
    """An offered signature as bytes: text no sender could send compares unequal, never raises."""
    return text.encode("utf-8", "surrogatepass")
