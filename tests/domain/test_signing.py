"""Signing and verification: the reference library agrees; malformed input never leaks."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import time
from datetime import UTC

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook

from hookwise.domain.errors import (
    InvalidSignature,
    MissingHeaders,
    StaleTimestamp,
    VerificationError,
)
from hookwise.domain.signing import Signer, Verifier, new_secret, secret_key

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123").decode()


def test_reference_library_verifies_our_signature() -> None:
    body = b'{"event":"a.b","id":"msg_1","data":{}}'
    headers = Signer.from_secrets([SECRET]).headers("msg_1", int(time.time()), body)
    Webhook(SECRET).verify(body, {k.lower(): v for k, v in headers.items()})
    assert Verifier.from_secrets(SECRET).verify(body, headers) == "msg_1"


def test_we_verify_the_reference_signature() -> None:
    wh = Webhook(SECRET)
    now = time.time()
    from datetime import datetime

    body = b'{"x":1}'
    sig = wh.sign("msg_2", datetime.fromtimestamp(now, tz=UTC), body.decode())
    headers = {"webhook-id": "msg_2", "webhook-timestamp": str(int(now)), "webhook-signature": sig}
    assert Verifier.from_secrets(SECRET).verify(body, headers) == "msg_2"


def test_rotation_and_hex_style() -> None:
    old, new = new_secret(), new_secret()
    body = b"{}"
    headers = Signer.from_secrets([new, old]).headers("m", int(time.time()), body)
    assert Verifier.from_secrets(old).verify(body, headers) == "m"
    assert Verifier.from_secrets(new).verify(body, headers) == "m"
    hex_only = {"X-Webhook-Signature": headers["X-Webhook-Signature"]}
    with pytest.raises(MissingHeaders):  # no timestamp: only for a sender that signs no other way
        Verifier.from_secrets(new).verify(body, hex_only)
    assert Verifier.from_secrets(new, accept_hex_only=True).verify(body, hex_only) is None
    with pytest.raises(InvalidSignature):  # hex style signs with the current secret only
        Verifier.from_secrets(old, accept_hex_only=True).verify(body, hex_only)


def test_hex_signature_is_keyed_by_the_secret_as_shown() -> None:
    """Seed 002's verifier HMACs the body with the secret string the user sees: a generated
    ``whsec_`` secret must verify that way, while Standard Webhooks keeps its decoded key."""
    secret = new_secret()
    body = b'{"event":"email.replied","workspace_id":1}'
    headers = Signer.from_secrets([secret]).headers("m", int(time.time()), body)
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Webhook-Signature"] == expected
    Webhook(secret).verify(body, {k.lower(): v for k, v in headers.items()})
    legacy_key = base64.b64decode(secret.removeprefix("whsec_"))
    assert (
        headers["X-Webhook-Signature"]
        != "sha256=" + hmac.new(legacy_key, body, "sha256").hexdigest()
    )


def test_verifier_takes_the_hex_signature_of_either_key_rule() -> None:
    """A receiver upgraded before its sender still verifies the pre-0.2 hex key."""
    secret = new_secret()
    body = b"{}"
    verifier = Verifier.from_secrets(secret, accept_hex_only=True)
    for key in (secret.encode(), base64.b64decode(secret.removeprefix("whsec_"))):
        sig = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        assert verifier.verify(body, {"X-Webhook-Signature": sig}) is None
    other = "sha256=" + hmac.new(new_secret().encode(), body, hashlib.sha256).hexdigest()
    with pytest.raises(InvalidSignature):
        verifier.verify(body, {"X-Webhook-Signature": other})


def test_plain_secret_is_utf8_bytes() -> None:
    assert secret_key("hello") == b"hello"
    assert secret_key(SECRET) == b"0123456789abcdef0123"


def test_errors() -> None:
    body = b"{}"
    v = Verifier.from_secrets(SECRET)
    good = Signer.from_secrets([SECRET]).headers("m", int(time.time()), body)
    with pytest.raises(InvalidSignature):
        v.verify(body + b" ", good)
    with pytest.raises(MissingHeaders):
        v.verify(body, {})
    with pytest.raises(MissingHeaders):
        v.verify(body, {"webhook-id": "m"})
    old = Signer.from_secrets([SECRET]).headers("m", int(time.time()) - 3600, body)
    with pytest.raises(StaleTimestamp):
        v.verify(body, old)


@given(
    st.dictionaries(
        st.sampled_from(
            ["webhook-id", "webhook-timestamp", "webhook-signature", "X-Webhook-Signature", "other"]
        ),
        st.text(max_size=60),
    ),
    st.binary(max_size=50),
)
def test_malformed_input_only_raises_verification_errors(
    headers: dict[str, str], body: bytes
) -> None:
    with contextlib.suppress(VerificationError):
        Verifier.from_secrets(SECRET).verify(body, headers)


def test_unpadded_whsec_secret_matches_the_reference() -> None:
    padded = "whsec_" + base64.b64encode(b"0123456789abcdef0").decode()  # 17 bytes: "=" padding
    assert padded.endswith("=")
    unpadded = padded.rstrip("=")
    assert secret_key(unpadded) == secret_key(padded) == b"0123456789abcdef0"
