"""The listener of ``hookwise listen``: an app's deliveries, forwarded to a local URL.

It opens an outbound WebSocket to ``/v1/apps/{app}/listen`` (no tunnel, no inbound port), and
for each ``RelayRequest`` the server sends it POSTs the exact headers and body to the local URL
and answers with what came back (``RelayAnswer``): that answer is the attempt's result on the
server, retried there like any attempt. A lost connection is opened again (0.5 s doubling to
10 s); a refused one (a bad key, an unknown app) ends the listener with ``ListenRefused``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException

from hookwise.client.errors import ClientError
from hookwise.domain.errors import InvalidInput
from hookwise.domain.relay import BODY_LIMIT, Ready, Refused, RelayAnswer, RelayRequest, decode

_MAX_FRAME = 16 * 1024 * 1024  # a message body of up to the server's limit, in base64


class ListenRefused(ClientError):
    """The server will not relay to this listener (``status``: 401, 404, 422…)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Forwarded:
    """One request forwarded, as the CLI prints it."""

    request: RelayRequest
    answer: RelayAnswer
    at: float


def listen_url(base_url: str, app: str, name: str, events: tuple[str, ...] = ()) -> str:
    """The WebSocket URL of ``app``'s listen route on the server at ``base_url``."""
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise InvalidInput("url", "must be the server's http:// or https:// URL")
    query = [("name", name)] + ([("events", ",".join(events))] if events else [])
    path = f"{parts.path.rstrip('/')}/v1/apps/{app}/listen"
    return urlunsplit((scheme, parts.netloc, path, urlencode(query), ""))


async def forward(http: httpx.AsyncClient, url: str, req: RelayRequest) -> RelayAnswer:
    """POST ``req`` to ``url`` as it is; the answer (network trouble is an answer too)."""
    t0 = time.perf_counter()

    def ms() -> float:
        return (time.perf_counter() - t0) * 1000

    try:
        r = await http.post(url, content=req.body, headers=req.headers, timeout=req.timeout_seconds)
    except httpx.TimeoutException:
        return RelayAnswer(
            req.delivery_id, None, ms(), f"timed out after {req.timeout_seconds:g} s"
        )
    except httpx.HTTPError as exc:
        return RelayAnswer(req.delivery_id, None, ms(), f"{url}: {exc or type(exc).__name__}")
    body = r.content[:BODY_LIMIT].decode("utf-8", "replace") or None
    h = r.headers
    return RelayAnswer(
        req.delivery_id, r.status_code, ms(), None, body, h.get("retry-after"), h.get("location")
    )


class Listener:
    """Forwards ``app``'s deliveries to ``forward_to`` until stopped (``run``)."""

    def __init__(
        self,
        base_url: str,
        key: str,
        app: str,
        forward_to: str,
        *,
        name: str = "default",
        events: tuple[str, ...] = (),
        on_ready: Callable[[Ready], None] | None = None,
        on_forwarded: Callable[[Forwarded], None] | None = None,
        on_disconnect: Callable[[str], None] | None = None,
    ) -> None:
        self.url = listen_url(base_url, app, name, events)
        self.forward_to = forward_to
        self._headers = {"Authorization": f"Bearer {key}"}
        self._on_ready = on_ready or (lambda _: None)
        self._on_forwarded = on_forwarded or (lambda _: None)
        self._on_disconnect = on_disconnect or (lambda _: None)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Listen, connecting again whenever the connection is lost, until ``stop`` is set."""
        stop = stop or asyncio.Event()
        backoff = 0.5
        async with httpx.AsyncClient(trust_env=False, follow_redirects=False) as http:
            while not stop.is_set():
                try:
                    await self._connection(http, stop)
                    backoff = 0.5
                except InvalidStatus as exc:
                    status = exc.response.status_code
                    if status in (401, 403, 404):
                        raise ListenRefused(status, f"the server answered HTTP {status}") from exc
                    self._on_disconnect(f"the server answered HTTP {status}")
                except (OSError, WebSocketException, TimeoutError) as exc:
                    self._on_disconnect(str(exc) or type(exc).__name__)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(backoff * 2, 10.0)

    async def _connection(self, http: httpx.AsyncClient, stop: asyncio.Event) -> None:
        async with connect(
            self.url, additional_headers=self._headers, max_size=_MAX_FRAME, open_timeout=10
        ) as ws:
            first = decode(await ws.recv())
            if isinstance(first, Refused):
                raise ListenRefused(first.status, first.message)
            if not isinstance(first, Ready):
                raise InvalidInput("frame", "the server did not begin with 'ready'")
            self._on_ready(first)
            tasks: set[asyncio.Task[None]] = set()
            stopping = asyncio.create_task(stop.wait())
            try:
                while True:
                    frame = asyncio.create_task(ws.recv())
                    await asyncio.wait({frame, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    if not frame.done():
                        frame.cancel()
                        return
                    req = decode(frame.result())
                    if isinstance(req, RelayRequest):
                        task = asyncio.create_task(self._relay(http, ws, req))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
            finally:
                stopping.cancel()
                for t in tasks:
                    t.cancel()

    async def _relay(
        self, http: httpx.AsyncClient, ws: ClientConnection, req: RelayRequest
    ) -> None:
        answer = await forward(http, self.forward_to, req)
        await ws.send(answer.encode())
        self._on_forwarded(Forwarded(req, answer, time.time()))
