"""Replaying an inspector capture to a URL: the same method, headers and body, sent through
the SSRF guard (a bin of this hookwise allowed by name, as for endpoints) and the egress proxy
when one is set, with deliveries' own HTTP/1.1 client. The answer's status is the result."""

from __future__ import annotations

import time
from dataclasses import dataclass

from hookwise.delivery.dialer import EgressProxy, RequestFailed
from hookwise.delivery.http1 import Http1Client, tls_context
from hookwise.delivery.target import parse_target
from hookwise.domain.errors import InvalidInput
from hookwise.egress.ssrf import NetworkPolicy
from hookwise.settings import Settings
from hookwise.store.inspector import Capture

TIMEOUT_SECONDS = 10.0
# a HEAD answer has no body to read, and the rest are not webhooks
REPLAYABLE = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# framing and hop-by-hop headers are the new request's own (RFC 9110 §7.6.1)
_NOT_REPLAYED = frozenset({
    "host", "content-length", "transfer-encoding", "connection", "keep-alive", "te", "trailer",
    "upgrade", "expect", "proxy-authorization", "proxy-connection",
})  # fmt: skip


@dataclass(frozen=True, slots=True)
class Replayed:
    """What the URL answered: its status, or why there is none."""

    url: str
    status: int | None
    error: str | None
    duration_ms: float


def request_bytes(capture: Capture, prefix: bytes) -> bytes:
    """The capture as an HTTP/1.1 request; ``prefix`` is the target's ``POST`` line and Host."""
    head = capture.method.encode("ascii") + prefix[len(b"POST") :]
    lines = [
        f"{name}: {value}\r\n".encode("latin-1")
        for name, value in capture.headers
        if name.lower() not in _NOT_REPLAYED and not any(c in name + value for c in "\r\n\x00")
    ]
    length = b"Content-Length: %d\r\n\r\n" % len(capture.body)
    return b"".join([head, *lines, length, capture.body])


async def replay(capture: Capture, url: str, policy: NetworkPolicy, settings: Settings) -> Replayed:
    """Send ``capture`` to ``url``; InvalidInput (naming ``url``) for a URL the guard refuses
    or a capture that cannot be sent again as it came."""
    await policy.check_url(url, "url")
    if capture.truncated:
        raise InvalidInput("capture", "its body was cut when it was received")
    if capture.method not in REPLAYABLE:
        raise InvalidInput("capture", f"a {capture.method} request is not replayed")
    proxy = settings.egress_proxy
    client = Http1Client(
        policy,
        ssl_context=tls_context(settings.ca_bundle),
        proxy=EgressProxy.from_url(proxy.get_secret_value()) if proxy else None,
    )
    t0 = time.perf_counter()
    status, error = None, None
    try:
        target = parse_target(url, guarded=not policy.is_own_bin(url))
        status = (
            await client.post(target, request_bytes(capture, target.prefix), TIMEOUT_SECONDS)
        ).status
    except TimeoutError:
        error = f"timed out after {TIMEOUT_SECONDS:g} s"
    except RequestFailed as exc:
        error = str(exc)
    finally:
        await client.close()
    return Replayed(url, status, error, (time.perf_counter() - t0) * 1000)
