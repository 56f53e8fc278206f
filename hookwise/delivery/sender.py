"""The HTTP sender: signed POSTs over hookwise's HTTP/1.1 client, no redirects, 4 KiB of answer."""

from __future__ import annotations

import ssl
import time
from typing import NamedTuple

from hookwise.delivery.dialer import EgressProxy
from hookwise.delivery.http1 import Http1Client, RequestFailed
from hookwise.delivery.target import Target, parse_target
from hookwise.domain.errors import InvalidInput
from hookwise.domain.models import ClaimedDelivery
from hookwise.domain.signing import Signer
from hookwise.domain.text import REDACTED, storable
from hookwise.egress.ssrf import NetworkPolicy

RESPONSE_BODY_LIMIT = 4096
USER_AGENT = "hookwise/0.1 (+webhooks)"


class SendResult(NamedTuple):
    """What one HTTP attempt gave (a tuple: one is made per attempt)."""

    status_code: int | None
    response_body: str | None
    error: str | None
    duration_ms: float
    started_at: float
    retry_after: str | None = None
    request_headers: str | None = None  # the head as sent, custom header values redacted
    response_headers: str | None = None  # the answer's header lines (at most 4 KiB)

    @property
    def succeeded(self) -> bool:
        """2xx within the timeout."""
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


class HttpSender:
    """Sends signed webhook attempts."""

    def __init__(
        self,
        policy: NetworkPolicy,
        *,
        ssl_context: ssl.SSLContext | None = None,
        proxy: EgressProxy | None = None,
    ) -> None:
        self._policy = policy
        self._ssl_context = ssl_context
        self._proxy = proxy
        self._client: Http1Client | None = None
        self._signers: dict[tuple[str, ...], Signer] = {}
        self._targets: dict[str, Target] = {}

    async def start(self) -> None:
        """Create the connection pool."""
        self._client = Http1Client(
            self._policy,
            ssl_context=self._ssl_context,
            proxy=self._proxy,
            body_limit=RESPONSE_BODY_LIMIT,
        )

    async def close(self) -> None:
        """Close the pool and its connections."""
        if self._client is not None:
            await self._client.close()
            self._client = None

    def _signer(self, secrets: tuple[str, ...]) -> Signer:
        signer = self._signers.get(secrets)
        if signer is None:
            if len(self._signers) > 10_000:
                self._signers.clear()
            signer = self._signers[secrets] = Signer.from_secrets(secrets)
        return signer

    def _target(self, url: str) -> Target:
        target = self._targets.get(url)
        if target is None:
            self._policy.check_url_syntax(url)  # the URL was checked when it was stored
            target = parse_target(url, guarded=not self._policy.is_own_bin(url))
            if len(self._targets) > 10_000:
                self._targets.clear()
            self._targets[url] = target
        return target

    def _request(self, target: Target, claim: ClaimedDelivery, timestamp: int) -> tuple[bytes, str]:
        """The attempt's bytes, and its head as the attempt log keeps it: the endpoint's custom
        header values redacted as the API redacts them (they may hold credentials), the
        signatures kept (they prove nothing without the secret, which is never in them)."""
        body = claim.body
        custom = claim.headers
        signed = self._signer(claim.secrets).headers(claim.message_id, timestamp, body)
        tail = b"".join(f"{k}: {v}\r\n".encode() for k, v in signed.items()) + (
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        head = b"".join([target.prefix, _custom_lines(custom), tail])
        if custom:
            redacted = dict.fromkeys(custom, REDACTED)
            shown = b"".join([target.prefix, _custom_lines(redacted), tail])
        else:
            shown = head
        return head + body, _lines(shown)

    async def send(self, claim: ClaimedDelivery) -> SendResult:
        """One attempt; never raises for network trouble (it is the result)."""
        client = self._client
        assert client is not None, "HttpSender.start() was not called"
        started = time.time()
        t0 = time.perf_counter()
        shown = None
        try:
            target = self._target(claim.url)
            data, shown = self._request(target, claim, int(started))
            response = await client.post(target, data, claim.timeout_seconds)
        except TimeoutError:
            return self._failed(started, t0, f"timed out after {claim.timeout_seconds:g} s", shown)
        except RequestFailed as exc:
            return self._failed(started, t0, str(exc), shown)
        except InvalidInput as exc:
            return self._failed(started, t0, f"invalid URL: {exc.message}", shown)
        duration = (time.perf_counter() - t0) * 1000
        status = response.status
        raw = response.body
        body = storable(raw.decode("utf-8", "replace")) if raw else None
        error = answer_error(status, response.location)
        got = _lines(response.headers) or None
        return SendResult(status, body, error, duration, started, response.retry_after, shown, got)

    @staticmethod
    def _failed(started: float, t0: float, error: str, shown: str | None) -> SendResult:
        ms = (time.perf_counter() - t0) * 1000
        return SendResult(None, None, error, ms, started, None, shown)


def answer_error(status: int, location: str | None) -> str | None:
    """The attempt's error for an answer of ``status``: None for a 2xx; a redirect is never
    followed (``location``: where it pointed)."""
    if 300 <= status < 400:
        return f"redirect to {storable(location or '?')} not followed"
    if not 200 <= status < 300:
        return f"HTTP {status}"
    return None


_USER_AGENT_LINE = f"User-Agent: {USER_AGENT}\r\n".encode()


def _custom_lines(custom: dict[str, str]) -> bytes:
    """The header lines of an endpoint's ``custom`` headers (the User-Agent unless they set
    theirs)."""
    if not custom:
        return _USER_AGENT_LINE
    lines = [f"{k}: {v}\r\n".encode() for k, v in custom.items()]
    if not any(k.lower() == "user-agent" for k in custom):
        lines.insert(0, _USER_AGENT_LINE)
    return b"".join(lines)


def _lines(head: bytes) -> str:
    """Header lines as the attempt log stores them: text, one ``Name: value`` a line."""
    return storable(head.decode("utf-8", "replace").rstrip("\r\n").replace("\r\n", "\n"))
