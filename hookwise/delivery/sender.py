"""The HTTP sender: one shared aiohttp session, signed POSTs, no redirects, 4 KiB of answer."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp

from hookwise.delivery.ssrf import GuardedResolver, NetworkPolicy, describe
from hookwise.domain.errors import BlockedUrl
from hookwise.domain.models import ClaimedDelivery
from hookwise.domain.signing import Signer

RESPONSE_BODY_LIMIT = 4096
USER_AGENT = "hookwise/0.1 (+webhooks)"


@dataclass(frozen=True, slots=True)
class SendResult:
    """What one HTTP attempt gave."""

    status_code: int | None
    response_body: str | None
    error: str | None
    duration_ms: float
    started_at: float
    retry_after: str | None = None

    @property
    def succeeded(self) -> bool:
        """2xx within the timeout."""
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


class HttpSender:
    """Sends signed webhook attempts."""

    def __init__(self, policy: NetworkPolicy, *, max_connections: int = 0) -> None:
        self._policy = policy
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._signers: dict[tuple[str, ...], Signer] = {}
        self._checked_urls: set[str] = set()  # passed the literal check (the policy is frozen)
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    async def start(self) -> None:
        """Create the shared session."""
        connector = aiohttp.TCPConnector(
            limit=self._max_connections,
            resolver=GuardedResolver(self._policy),
            ttl_dns_cache=10,
            enable_cleanup_closed=False,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": USER_AGENT},
            auto_decompress=True,
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def close(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _signer(self, secrets: tuple[str, ...]) -> Signer:
        signer = self._signers.get(secrets)
        if signer is None:
            if len(self._signers) > 10_000:
                self._signers.clear()
            signer = self._signers[secrets] = Signer.from_secrets(secrets)
        return signer

    def _check(self, url: str) -> None:
        if url not in self._checked_urls:
            self._policy.check_literal(url)
            if len(self._checked_urls) > 10_000:
                self._checked_urls.clear()
            self._checked_urls.add(url)

    def _timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            if len(self._timeouts) > 1_000:
                self._timeouts.clear()
            timeout = self._timeouts[seconds] = aiohttp.ClientTimeout(total=seconds)
        return timeout

    async def send(self, claim: ClaimedDelivery) -> SendResult:
        """One attempt; never raises for network trouble (it is the result)."""
        session = self._session
        assert session is not None, "HttpSender.start() was not called"
        started = time.time()
        t0 = time.perf_counter()
        headers = self._signer(claim.secrets).headers(claim.message_id, int(started), claim.body)
        if claim.headers:
            headers = {**claim.headers, **headers}
        headers["Content-Type"] = "application/json"
        try:
            self._check(claim.url)
            async with session.post(
                claim.url,
                data=claim.body,
                headers=headers,
                allow_redirects=False,
                timeout=self._timeout(claim.timeout_seconds),
            ) as resp:
                raw = await resp.content.read(RESPONSE_BODY_LIMIT)
                body = raw.decode("utf-8", "replace") if raw else None
                status = resp.status
                retry_after = resp.headers.get("Retry-After")
                location = resp.headers.get("Location")
        except BlockedUrl as exc:
            return self._failed(started, t0, f"blocked by the SSRF guard: {exc.reason}")
        except TimeoutError:
            return self._failed(started, t0, f"timed out after {claim.timeout_seconds:g} s")
        except aiohttp.ClientConnectorDNSError as exc:
            return self._failed(started, t0, f"DNS failure: {describe(exc.os_error)}")
        except aiohttp.ClientConnectorCertificateError as exc:
            return self._failed(started, t0, f"TLS certificate error: {describe(exc)}")
        except aiohttp.ClientSSLError as exc:
            return self._failed(started, t0, f"TLS error: {describe(exc)}")
        except aiohttp.ClientConnectorError as exc:
            return self._failed(started, t0, f"connection failed: {describe(exc.os_error)}")
        except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError) as exc:
            return self._failed(started, t0, f"{type(exc).__name__}: {describe(exc)}")
        duration = (time.perf_counter() - t0) * 1000
        error = None
        if 300 <= status < 400:
            error = f"redirect to {location or '?'} not followed"
        elif not 200 <= status < 300:
            error = f"HTTP {status}"
        return SendResult(status, body, error, duration, started, retry_after)

    @staticmethod
    def _failed(started: float, t0: float, error: str) -> SendResult:
        return SendResult(None, None, error, (time.perf_counter() - t0) * 1000, started)
