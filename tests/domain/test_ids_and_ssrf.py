"""Ids sort by time; the SSRF guard's address rules."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookwise.delivery.ssrf import NetworkPolicy, parse_ip_literal
from hookwise.domain.errors import BlockedUrl
from hookwise.domain.ids import id_prefix, new_id


@given(st.integers(0, 2**47), st.integers(0, 2**47))
def test_ids_sort_by_time(a: int, b: int) -> None:
    x, y = new_id("msg", now_ms=a), new_id("msg", now_ms=b)
    if a < b:
        assert x < y
    assert id_prefix(x) == "msg" and len(x) == 30


@pytest.mark.parametrize("host,expected", [
    ("2130706433", "127.0.0.1"), ("0x7f.1", "127.0.0.1"), ("017700000001", "127.0.0.1"),
    ("[::1]", "::1"), ("example.com", None),
])  # fmt: skip
def test_ip_literal_forms(host: str, expected: str | None) -> None:
    got = parse_ip_literal(host)
    assert (str(got) if got else None) == expected


def test_policy() -> None:
    p = NetworkPolicy()
    assert p.blocked_reason(ipaddress.ip_address("8.8.8.8")) is None
    assert p.blocked_reason(ipaddress.ip_address("::ffff:127.0.0.1")) == "a loopback address"
    assert p.blocked_reason(ipaddress.ip_address("2002:0a00:0001::1")) == "a private network"
    allow = NetworkPolicy.from_setting("127.0.0.0/8")
    assert allow.blocked_reason(ipaddress.ip_address("127.0.0.1")) is None
    with pytest.raises(BlockedUrl):
        allow.check_literal("http://10.1.2.3/")


async def test_hostname_resolving_to_loopback_is_refused() -> None:
    with pytest.raises(BlockedUrl) as e:
        await NetworkPolicy().check_url("http://localhost:8080/x")
    assert "loopback" in e.value.reason
