"""Ids sort by time; the SSRF guard's address rules."""

from __future__ import annotations

import ipaddress
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookwise.domain.errors import BlockedUrl
from hookwise.domain.ids import id_floor, id_prefix, new_id
from hookwise.egress.ssrf import NetworkPolicy, parse_ip_literal


@given(st.integers(0, 2**47), st.integers(0, 2**47))
def test_ids_sort_by_time(a: int, b: int) -> None:
    x, y = new_id("msg", now_ms=a), new_id("msg", now_ms=b)
    if a < b:
        assert x < y
    assert id_prefix(x) == "msg" and len(x) == 30


@given(st.integers(0, 2**47), st.integers(-(2**37), 2**37))
def test_an_id_floor_bounds_the_ids_of_a_time(ms: int, seconds: int) -> None:
    made = new_id("dlv", now_ms=ms)
    # at or after the time: not before the floor (a time before the epoch: every id)
    assert (made >= id_floor("dlv", float(seconds))) == (ms >= seconds * 1000)
    assert id_floor("dlv", -1.0) == id_floor("dlv", 0.0) < made < id_floor("dlv", 1e12)


def test_id_format_and_uniqueness() -> None:
    made = [new_id("dlv") for _ in range(20_000)]  # several refills of the random buffer
    assert len(set(made)) == len(made)
    for value in made[:50]:
        assert id_prefix(value) == "dlv"
        body = value.removeprefix("dlv_")
        assert len(body) == 26 and set(body) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    new_id("msg")  # the parent has random bits buffered
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: write 100 ids and leave at once
        os.write(write, " ".join(new_id("msg") for _ in range(100)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as f:
        child = {i[-16:] for i in f.read().split()}
    parent = {new_id("msg")[-16:] for _ in range(100)}
    assert len(child) == 100 and not child & parent


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
    assert p.blocked_reason(ipaddress.ip_address("::ffff:127.0.0.1")) == (
        "an IPv4-mapped address of 127.0.0.1, a loopback address"
    )
    assert p.blocked_reason(ipaddress.ip_address("2002:0a00:0001::1")) == (
        "a 6to4 address of 10.0.0.1, a private network"
    )
    assert p.blocked_reason(ipaddress.ip_address("2002:0808:0808::1")) == "a 6to4 address"
    allow = NetworkPolicy.from_setting("127.0.0.0/8")
    assert allow.blocked_reason(ipaddress.ip_address("127.0.0.1")) is None
    assert allow.blocked_reason(ipaddress.ip_address("::ffff:127.0.0.1")) is None
    with pytest.raises(BlockedUrl):
        allow.check_literal("http://10.1.2.3/")


async def test_hostname_resolving_to_loopback_is_refused() -> None:
    with pytest.raises(BlockedUrl) as e:
        await NetworkPolicy().check_url("http://localhost:8080/x")
    assert "loopback" in e.value.reason
