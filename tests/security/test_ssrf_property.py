"""The SSRF guard decides by what an address is: properties over generated addresses.

The IPv6 embeddings are built here bit by bit from their RFCs, independently of the guard's own
extraction, so a form the guard forgets to unpack shows up as an address that passes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookwise.domain.errors import BlockedUrl
from hookwise.egress.ssrf import NetworkPolicy

V4 = ipaddress.IPv4Address
V6 = ipaddress.IPv6Address
GUARD = NetworkPolicy()

# IPv4 ranges that are not globally reachable (RFC 6890 and the IANA registry), to draw from
# more often than a uniform draw over the whole space would.
NOT_GLOBAL_V4 = [
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/29", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
]  # fmt: skip


def not_global(ip: V4 | V6) -> bool:
    return not ip.is_global or ip.is_multicast


non_global_v4 = st.one_of(
    st.sampled_from(NOT_GLOBAL_V4).flatmap(lambda n: st.ip_addresses(network=n)),
    st.ip_addresses(v=4).filter(not_global),
)
bits16 = st.integers(0, 0xFFFF)
bits32 = st.integers(0, 0xFFFFFFFF)
bits64 = st.integers(0, 2**64 - 1)


def mapped(v4: V4, _: int) -> V6:  # ::ffff:a.b.c.d
    return V6(0xFFFF << 32 | int(v4))


def compatible(v4: V4, _: int) -> V6:  # ::a.b.c.d
    return V6(int(v4))


def translated(v4: V4, _: int) -> V6:  # ::ffff:0:a.b.c.d
    return V6(0xFFFF << 48 | int(v4))


def nat64(v4: V4, _: int) -> V6:  # 64:ff9b::a.b.c.d
    return V6(0x64FF9B << 96 | int(v4))


def nat64_local(v4: V4, _: int) -> V6:  # 64:ff9b:1::/48, RFC 6052 layout: bits 48-63, 72-87
    n = int(v4)
    return V6(0x64FF9B0001 << 80 | (n >> 16) << 64 | (n & 0xFFFF) << 48)


def sixtofour(v4: V4, rest: int) -> V6:  # 2002:aabb:ccdd::/48 + anything
    return V6(0x2002 << 112 | int(v4) << 80 | rest % 2**80)


def teredo_client(v4: V4, rest: int) -> V6:  # 2001:0:server:flags:port:~client
    return V6(0x20010000 << 96 | (rest % 2**64) << 32 | (~int(v4) & 0xFFFFFFFF))


def teredo_server(v4: V4, rest: int) -> V6:
    return V6(0x20010000 << 96 | int(v4) << 64 | rest % 2**64)


def isatap(v4: V4, rest: int) -> V6:  # any global /64, interface id [02]00:5efe:a.b.c.d
    prefix = 0x2A00 << 112 | (rest % 2**48) << 64
    ubit = 0x02000000 if rest & 1 else 0
    return V6(prefix | (ubit | 0x5EFE) << 32 | int(v4))


EMBEDDINGS: list[Callable[[V4, int], V6]] = [
    mapped, compatible, translated, nat64, nat64_local, sixtofour, teredo_client, teredo_server,
    isatap,
]  # fmt: skip


@pytest.mark.parametrize("embed", EMBEDDINGS, ids=lambda f: f.__name__)
@given(v4=non_global_v4, rest=st.integers(0, 2**80 - 1))
def test_every_embedding_of_a_non_global_ipv4_is_refused(
    embed: Callable[[V4, int], V6], v4: V4, rest: int
) -> None:
    assert GUARD.blocked_reason(v4) is not None
    assert GUARD.blocked_reason(embed(v4, rest)) is not None


@given(st.ip_addresses(v=4))
def test_ipv4_is_decided_by_is_global(ip: V4) -> None:
    why = GUARD.blocked_reason(ip)
    if why is None:
        assert ip.is_global and not ip.is_multicast
    if ip.is_global and not ip.is_multicast and ip not in ipaddress.ip_network("192.0.0.0/24"):
        assert why is None  # (older Pythons call most of 192.0.0.0/24 global; IANA does not)
    if not_global(ip):
        assert why is not None


@given(st.ip_addresses(v=4).filter(lambda ip: not not_global(ip)))
def test_a_global_ipv4_passes_as_itself_mapped_or_through_nat64(ip: V4) -> None:
    expected = GUARD.blocked_reason(ip) is None
    assert (GUARD.blocked_reason(mapped(ip, 0)) is None) is expected
    assert (GUARD.blocked_reason(nat64(ip, 0)) is None) is expected


@given(st.ip_addresses(v=6))
def test_an_allowed_ipv6_is_global_and_so_is_what_it_embeds(ip: V6) -> None:
    if GUARD.blocked_reason(ip) is not None:
        return
    if ip.ipv4_mapped is not None or ip in ipaddress.ip_network("64:ff9b::/96"):
        assert not not_global(V4(int(ip) & 0xFFFFFFFF))
        return
    assert ip.is_global and not ip.is_multicast and not ip.is_reserved
    assert ip in ipaddress.ip_network("2000::/3")  # global unicast only
    assert ip.teredo is None and ip.sixtofour is None


@given(st.integers(0, 2**96 - 1))
def test_teredo_and_6to4_are_refused_whatever_they_carry(low: int) -> None:
    assert GUARD.blocked_reason(V6(0x20010000 << 96 | low)) is not None
    assert GUARD.blocked_reason(V6(0x2002 << 112 | low % 2**112)) is not None


@given(st.data())
def test_allow_listed_networks_pass_and_only_they(data: st.DataObject) -> None:
    versions: list[Literal[4, 6]] = [4, 6]
    version = data.draw(st.sampled_from(versions))
    width = 32 if version == 4 else 128
    base = data.draw(st.ip_addresses(v=version))
    net = ipaddress.ip_network(f"{base}/{data.draw(st.integers(8, width))}", strict=False)
    policy = NetworkPolicy.from_setting(str(net))
    assert policy.blocked_reason(data.draw(st.ip_addresses(network=net))) is None
    outside = data.draw(non_global_v4.filter(lambda ip: ip not in net))
    assert policy.blocked_reason(outside) is not None


@given(non_global_v4)
def test_an_allow_listed_ipv4_opens_its_mapped_form(v4: V4) -> None:
    policy = NetworkPolicy.from_setting(f"{v4}/32")
    assert policy.blocked_reason(mapped(v4, 0)) is None


@pytest.mark.parametrize(
    "host",
    ["[::127.0.0.1]", "[::7f00:1]", "[2001:0:4136:e378:8000:63bf:80ff:fffe]", "[::ffff:0:a00:1]",
     "[2002:7f00:1::1]", "[64:ff9b::a9fe:a9fe]", "[fe80::5efe:a9fe:a9fe]", "[64:ff9b:1::1]"],
)  # fmt: skip
async def test_embedded_loopback_and_private_urls_are_refused_at_creation(host: str) -> None:
    with pytest.raises(BlockedUrl):
        GUARD.check_literal(f"http://{host}/hook")
    with pytest.raises(BlockedUrl):
        await GUARD.check_url(f"https://{host}:8443/hook")


def test_the_reason_says_what_the_address_carries() -> None:
    why = GUARD.blocked_reason(ipaddress.ip_address("::127.0.0.1"))
    assert why == "an IPv4-compatible address of 127.0.0.1, a loopback address"
    why = GUARD.blocked_reason(ipaddress.ip_address("2001:0:4136:e378:8000:63bf:80ff:fffe"))
    assert why == "a Teredo address of 127.0.0.1, a loopback address"
