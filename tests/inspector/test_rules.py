"""The inspector's rules and verdicts, and the SSRF guard's own-bin exception: pure functions,
no database."""

from __future__ import annotations

import pytest

from hookwise.domain.errors import InvalidInput
from hookwise.domain.inspection import verdicts
from hookwise.domain.signing import Signer, new_secret
from hookwise.egress.ssrf import NetworkPolicy
from hookwise.store.rules import inspector as rules

BIN = "bin_01JABCDEFGHJKMNPQRSTVWXYZ0"


def test_status_name_and_cut() -> None:
    assert rules.bin_status(None) == 200 and rules.bin_status(599) == 599
    for bad in (199, 600, True, "200", 200.0):
        with pytest.raises(InvalidInput, match="status"):
            rules.bin_status(bad)
    with pytest.raises(InvalidInput, match="name"):
        rules.bin_name("x" * 201)
    assert rules.cut(b"abcdef", 6) == (b"abcdef", False)
    assert rules.cut(b"abcdef", 4) == (b"abcd", True)


def test_hookwise_credentials_are_masked() -> None:
    got = rules.masked(
        [
            ("Cookie", "theme=dark; hookwise_key=hwk_abc; hookwise_portal=s"),
            ("Authorization", "Bearer hwk_AbC-123_x"),
            ("X-Other", "Bearer sk_live_1"),
        ]
    )
    assert got == [
        ("Cookie", "theme=dark; hookwise_key=***; hookwise_portal=***"),
        ("Authorization", "Bearer hwk_***"),
        ("X-Other", "Bearer sk_live_1"),
    ]
    assert rules.header_map([("A", "1"), ("a", "2"), ("B", "3")]) == {"a": "1, 2", "b": "3"}


def test_verdicts_in_both_styles() -> None:
    secret, body, at = new_secret(), b'{"a":1}', 1_700_000_000.0
    signed = {
        k.lower(): v
        for k, v in Signer.from_secrets([secret]).headers("m", 1_700_000_000, body).items()
    }
    assert [v.state for v in verdicts(secret, body, signed, at + 60, cut=False)] == [
        "verified",
        "verified",
    ]
    # judged at the time received: the same capture read an hour later still verifies, and a
    # timestamp far from that time does not
    stale = verdicts(secret, body, signed, at + 3600, cut=False)
    assert stale[0].state == "not verified" and "timestamp" in stale[0].reason
    assert stale[1].state == "verified"  # the hex style signs no time
    tampered = verdicts(secret, body + b" ", signed, at, cut=False)
    assert [v.state for v in tampered] == ["not verified", "not verified"]
    only_hex = {"x-webhook-signature": signed["x-webhook-signature"]}
    assert [v.state for v in verdicts(secret, body, only_hex, at, cut=False)] == [
        "absent",
        "verified",
    ]
    assert {v.state for v in verdicts(secret, body, signed, at, cut=True)} == {"unknown"}
    assert {v.state for v in verdicts("", body, signed, at, cut=False)} == {"unknown"}
    garbled = {**signed, "webhook-signature": "v1,@@@", "x-webhook-signature": "sha256=zz"}
    assert {v.state for v in verdicts(secret, body, garbled, at, cut=False)} == {"not verified"}


def test_the_guard_lets_through_own_bins_by_name_only() -> None:
    policy = NetworkPolicy().with_own(["http://localhost:8000/", "https://hooks.example.com"])
    assert policy.own == (("http", "localhost", 8000), ("https", "hooks.example.com", 443))
    for url in (
        f"http://localhost:8000/inspect/{BIN}",
        f"http://LOCALHOST:8000/inspect/{BIN}/a/b.json?x=1",
        f"https://hooks.example.com/inspect/{BIN}",
    ):
        assert policy.is_own_bin(url), url
    for url in (
        f"http://localhost:8001/inspect/{BIN}",
        f"https://localhost:8000/inspect/{BIN}",
        f"http://127.0.0.1:8000/inspect/{BIN}",
        f"http://localhost:8000/inspect/{BIN}/../../v1/keys",
        f"http://localhost:8000/inspect/{BIN}/%2e%2e/v1",
        f"http://localhost:8000/inspect/{BIN}/./x",
        f"http://localhost:8000/inspect/{BIN}x",
        "http://localhost:8000/inspect/bin_short",
        "http://localhost:8000/v1/apps",
        f"http://u:p@localhost:8000/inspect/{BIN}",
        f"http://hooks.example.com/inspect/{BIN}",
    ):
        assert not policy.is_own_bin(url), url
    assert not NetworkPolicy().is_own_bin(f"http://localhost:8000/inspect/{BIN}")


async def test_the_creation_check_takes_own_bins_and_nothing_else_of_loopback() -> None:
    policy = NetworkPolicy().with_own(["http://127.0.0.1:8000"])
    await policy.check_url(f"http://127.0.0.1:8000/inspect/{BIN}")
    with pytest.raises(InvalidInput, match="loopback"):
        await policy.check_url("http://127.0.0.1:8000/v1/apps")
