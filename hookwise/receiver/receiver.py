"""The receiver: verify, persist, ACK. Everything else happens in the background.

``Receiver.handle(body, headers)`` is the one code path every adapter (ASGI, WSGI, Django)
calls. Its order is fixed: size → signature → JSON → dedupe key → known id → inbox → 200.
It never runs a handler; the ``Processor`` does that from the inbox.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any, Literal, TypeVar

import orjson

from hookwise.domain.errors import HookwiseError, NotFound, PayloadTooLarge
from hookwise.domain.schedule import RetrySchedule
from hookwise.domain.text import NUL, NUL_REFUSED, is_text, storable
from hookwise.receiver.adapters.asgi import ASGIReceiver
from hookwise.receiver.adapters.wsgi import WSGIReceiver
from hookwise.receiver.errors import BadPayload, CheckFailed, InboxUnavailable
from hookwise.receiver.event import Handler
from hookwise.receiver.fetcher import Fetcher
from hookwise.receiver.inbox import Inbox, NewItem, open_inbox
from hookwise.receiver.job_shape import (
    TERMINAL_STATUSES,
    JobShape,
    ShapeReader,
    as_reader,
    field_value,
    fill,
    status_url_template,
)
from hookwise.receiver.keys import (
    event_type_of,
    key_from,
    legacy_safe_key,
    message_id,
    scoped_key,
)
from hookwise.receiver.reply import Reply
from hookwise.receiver.verify import (
    DEFAULT_TOLERANCE_SECONDS,
    HeaderItems,
    lower_headers,
    make_verifier,
)
from hookwise.receiver.worker import background

log = logging.getLogger("hookwise.receiver")

H = TypeVar("H", bound=Handler)
DedupeKey = str | Callable[[dict[str, Any]], object] | None
KnownIds = Collection[str] | Callable[[str], bool | Awaitable[bool]] | Literal["expected"] | None

MAX_BODY_BYTES = 1 << 20
# The inbox is unique on the key: PostgreSQL's index takes about 2.7 KB a row, and a longer key
# would fail the whole group commit it shares. Real keys (webhook-id, job ids) are far shorter.
MAX_KEY_BYTES = 1024
DEFAULT_HANDLER_RETRIES: tuple[float, ...] = (1, 5, 30, 120, 600, 1800)
# Never written to the inbox: credentials of the caller, not part of the webhook.
_SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


def _storable(what: str, value: str, max_bytes: int | None = None) -> str:
    """``value``, unless an inbox could not store or look it up: the NUL character (PostgreSQL
    refuses it), a lone surrogate (not UTF-8), or a key over ``max_bytes`` (PostgreSQL's unique
    index refuses it). Refused (400) on every inbox alike, for this request only, not for the
    group it would share a write with."""
    if NUL in value:
        raise BadPayload(f"the {what} {NUL_REFUSED}")
    if not is_text(value):
        raise BadPayload(f"the {what} is not valid UTF-8 text")
    if max_bytes is not None and len(value.encode()) > max_bytes:
        raise BadPayload(f"the {what} is over {max_bytes} bytes", details={"max_bytes": max_bytes})
    return value


def _kept(text: str) -> str:
    """A header name or value as text every inbox stores: NUL and lone surrogates replaced."""
    text = storable(text)
    return text if is_text(text) else text.encode("utf-8", "replace").decode()


def _parse(body: bytes) -> dict[str, Any]:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadPayload("the body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise BadPayload("the body must be a JSON object")
    return payload


class Receiver:
    """A webhook receiver: give it an inbox and a secret, register handlers, mount an adapter.

    - ``secret``: one secret, or a list during a rotation (any may match). ``None`` only for
      senders that do not sign, and then ``known_ids`` is required.
    - ``dedupe_key``: None (the ``webhook-id`` header), a field of the body (dotted path,
      e.g. ``"workflow_id"``), or a callable of the parsed body. A body field is scoped so
      that different events about one job are never duplicates (``receiver.keys``).
    - ``accept_hex_only``: also accept requests signed only with ``X-Webhook-Signature``
      (no timestamp, so a replay is stopped only by the dedupe key while the item is kept).
      Off by default: the Standard Webhooks headers are required.
    - ``known_ids``: None (accept all), a collection, a (sync or async) predicate, or
      ``"expected"`` (only ids registered with ``expect``); unknown ids get 404.
      ``known_id_key`` says which id is checked (default: the dedupe key).
    - ``on_inbox_down``: ``"503"`` asks the sender to retry when the inbox cannot be written
      (the default); ``"200"`` ACKs anyway and logs, for senders that can replay.
    - ``api_key`` / ``api_base_url``: used to fetch truncated results and poll status URLs.
    - ``retry_schedule``: seconds before each handler retry; an item is dead after the last.
    - ``status_url``: the sender's job status URL with an ``{id}`` placeholder; ``expect``
      and a truncated payload without ``results_endpoint`` use it.
    - ``job_shape``: how the sender's answers look (a ``JobShape``, an object of its fields,
      or a callable answer → ``JobState``); hookwise's shapes by default.
    - ``event_field`` / ``default_event_type``: where the event type is, and the type of a
      body that names none; ``item_key``: the body field naming the item an item event is
      about (see ``receiver.keys`` for the whole rule).
    """

    def __init__(
        self,
        *,
        inbox: Inbox | str,
        secret: str | Sequence[str] | None,
        dedupe_key: DedupeKey = None,
        known_ids: KnownIds = None,
        known_id_key: DedupeKey = None,
        tolerance: int = DEFAULT_TOLERANCE_SECONDS,
        accept_hex_only: bool = False,
        max_body_bytes: int = MAX_BODY_BYTES,
        on_inbox_down: Literal["503", "200"] = "503",
        api_key: str | None = None,
        api_base_url: str | None = None,
        http_timeout: float = 10.0,
        retry_schedule: Sequence[float] = DEFAULT_HANDLER_RETRIES,
        terminal_statuses: Collection[str] = TERMINAL_STATUSES,
        status_url: str | None = None,
        job_shape: JobShape | Mapping[str, Any] | ShapeReader | None = None,
        event_field: str | None = None,
        default_event_type: str | None = None,
        item_key: str | None = "item.id",
    ) -> None:
        if secret is None and known_ids is None:
            raise ValueError("an unsigned receiver (secret=None) must check known_ids")
        if on_inbox_down not in ("503", "200"):
            raise ValueError('on_inbox_down must be "503" or "200"')
        if max_body_bytes < 1:
            raise ValueError("max_body_bytes must be positive")
        self.inbox: Inbox = open_inbox(inbox) if isinstance(inbox, str) else inbox
        self.verifier = (
            None
            if secret is None
            else make_verifier(secret, tolerance, accept_hex_only=accept_hex_only)
        )
        self.dedupe_key = dedupe_key
        self.known_ids = known_ids
        self.known_id_key = known_id_key if known_id_key is not None else dedupe_key
        self.max_body_bytes = max_body_bytes
        self.on_inbox_down = on_inbox_down
        self.retry = RetrySchedule.parse(retry_schedule, "retry_schedule")
        self.terminal_statuses = frozenset(terminal_statuses)
        self.status_url = None if status_url is None else status_url_template(status_url)
        self.read_job, self.shape = as_reader(job_shape, self.terminal_statuses)
        self.terminal_statuses = self.shape.terminal
        self.event_field = event_field
        self.default_event_type = default_event_type
        self.item_key = item_key
        self.fetcher = Fetcher(api_key=api_key, base_url=api_base_url, timeout=http_timeout)
        self._handlers: list[tuple[str, Handler]] = []
        self._opened = False
        self._open_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"Receiver(inbox={self.inbox!r}, handlers={len(self._handlers)})"

    @property
    def accept_hex_only(self) -> bool:
        """Whether a request signed only with ``X-Webhook-Signature`` is accepted."""
        return self.verifier is not None and self.verifier.accept_hex_only

    @accept_hex_only.setter
    def accept_hex_only(self, value: bool) -> None:
        if self.verifier is not None:
            self.verifier = replace(self.verifier, accept_hex_only=value)

    def configure_sender(
        self,
        *,
        status_url: str | None = None,
        job_shape: JobShape | Mapping[str, Any] | ShapeReader | None = None,
    ) -> None:
        """Set the sender's status URL template and answer shape (``hookwise receive`` flags)."""
        if status_url is not None:
            self.status_url = status_url_template(status_url)
        if job_shape is not None:
            self.read_job, self.shape = as_reader(job_shape, self.terminal_statuses)
            self.terminal_statuses = self.shape.terminal

    def url_of(self, payload: Mapping[str, Any]) -> str | None:
        """The status URL of the job a payload is about, from the template (None without one,
        or when the payload has no id)."""
        spec = self.known_id_key
        if self.status_url is None or spec is None:
            return None
        try:
            ident = key_from(spec, dict(payload))
        except BadPayload:
            return None
        return fill(self.status_url, ident)

    def event_type(self, payload: Mapping[str, Any], *, polled: bool = False) -> str:
        """The event type of a webhook body, or of a polled job object (``receiver.keys``)."""
        return event_type_of(
            payload,
            self.shape,
            event_field=self.event_field,
            default=self.default_event_type,
            polled=polled,
        )

    # -- handlers ----------------------------------------------------------------------------

    def on(self, *event_types: str) -> Callable[[H], H]:
        """Register a handler for event types: exact (``job.completed``), ``job.*`` or ``*``."""
        if not event_types:
            raise ValueError("name at least one event type, or '*'")

        def register(fn: H) -> H:
            self._handlers.extend((pattern, fn) for pattern in event_types)
            return fn

        return register

    def handlers_for(self, event_type: str) -> list[Handler]:
        """The handlers an event of ``event_type`` runs, in registration order, each once."""
        out: list[Handler] = []
        for pattern, fn in self._handlers:
            if fn not in out and (pattern == event_type or fnmatchcase(event_type, pattern)):
                out.append(fn)
        return out

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Open the inbox (tables are created if needed); called lazily by ``handle``."""
        async with self._open_lock:
            if not self._opened:
                await self.inbox.open()
                self._opened = True

    async def close(self) -> None:
        """Close the inbox and the HTTP client."""
        self._opened = False
        await self.fetcher.aclose()
        await self.inbox.close()

    @asynccontextmanager
    async def running(self, *, process: bool = True, reconcile: bool = True) -> AsyncIterator[None]:
        """Open the inbox and, while inside, process items and reconcile expected jobs."""
        async with background(self, process=process, reconcile=reconcile):
            yield

    @asynccontextmanager
    async def lifespan(self, _app: object = None) -> AsyncIterator[None]:
        """A FastAPI/Starlette ``lifespan``: ``FastAPI(lifespan=receiver.lifespan)``."""
        async with self.running():
            yield

    def asgi(self, *, process: bool = True, reconcile: bool = True) -> ASGIReceiver:
        """This receiver as an ASGI app (uvicorn, or mounted in FastAPI / Starlette)."""
        return ASGIReceiver(self, process=process, reconcile=reconcile)

    def wsgi(self, *, process: bool = True, reconcile: bool = True) -> WSGIReceiver:
        """This receiver as a WSGI app (Flask, gunicorn); async work runs on a loop thread."""
        return WSGIReceiver(self, process=process, reconcile=reconcile)

    # -- the request path --------------------------------------------------------------------

    async def handle(self, body: bytes, headers: HeaderItems) -> Reply:
        """Verify, persist and answer one webhook request. Never runs a handler."""
        if len(body) > self.max_body_bytes:
            return Reply.error(PayloadTooLarge(f"body over {self.max_body_bytes} bytes"))
        hdrs = lower_headers(headers)
        try:
            if self.verifier is not None:
                # When a webhook-id is present it was verified: it is covered by the signature.
                self.verifier.verify(body, hdrs)
            payload = _parse(body)
            event_type = _storable("event type", self.event_type(payload))
            key, legacy = self._dedupe(payload, event_type, hdrs.get("webhook-id"), body)
            key = _storable("dedupe key", key, MAX_KEY_BYTES)
            known = await self._is_known(payload, key)
        except HookwiseError as exc:
            return Reply.error(exc)
        except Exception:
            log.exception("known_ids or dedupe_key raised; asking the sender to retry")
            failed = CheckFailed("a known_ids or dedupe_key check failed; retry later")
            return Reply.error(failed, headers=(("retry-after", "5"),))
        if not known:
            return Reply.error(NotFound("webhook id", key), 404)
        stored = {_kept(k): _kept(v) for k, v in hdrs.items() if k not in _SECRET_HEADERS}
        return await self._persist(NewItem(key, event_type, body, stored), legacy)

    async def _persist(self, item: NewItem, legacy: str | None) -> Reply:
        try:
            item_id = await self.accept(item)
            if item_id is None and legacy is not None and await self._swallowed(item):
                item_id = await self.accept(replace(item, dedupe_key=legacy))
        except InboxUnavailable as exc:
            if self.on_inbox_down == "200":
                log.error("inbox down, ACKed %s without storing it: %s", item.dedupe_key, exc)
                return Reply.json(200, {"status": "accepted", "stored": False})
            log.error("inbox down, answered 503 for %s: %s", item.dedupe_key, exc)
            return Reply.error(exc, 503, (("retry-after", "5"),))
        if item_id is None:
            return Reply.json(200, {"status": "duplicate"})
        return Reply.json(200, {"status": "accepted", "id": item_id})

    async def accept(self, item: NewItem) -> str | None:
        """Store one item (the path shared by webhooks and polled results); None if a duplicate."""
        if not self._opened:
            await self.open()
        return await self.inbox.insert(item)

    async def _swallowed(self, item: NewItem) -> bool:
        """Whether a completion's key is held by an item event stored before keys were scoped
        (that inbox row is not a completion itself)."""
        held = await self.inbox.get(item.dedupe_key)
        if held is None or held.dedupe_key != item.dedupe_key:
            return False
        try:
            payload = _parse(held.body)
        except BadPayload:
            return False
        return not self.shape.is_completion(held.event_type, payload)

    def _dedupe(
        self, payload: dict[str, Any], event_type: str, webhook_id: str | None, body: bytes
    ) -> tuple[str, str | None]:
        """The key to store under, and for a completion the key to fall back to when an old
        inbox's item event holds its bare key."""
        spec = self.dedupe_key
        if spec is None:
            return message_id(payload, webhook_id, body), None
        value = key_from(spec, payload)
        if not isinstance(spec, str):
            return value, None
        completion = self.shape.is_completion(event_type, payload)
        item = None if self.item_key is None else field_value(payload, self.item_key)
        key = scoped_key(value, event_type, item, completion=completion)
        return key, legacy_safe_key(value) if completion else None

    async def _is_known(self, payload: dict[str, Any], key: str) -> bool:
        check = self.known_ids
        if check is None:
            return True
        spec = self.known_id_key
        ident = key if spec is None else key_from(spec, payload)
        if check == "expected":  # looked up in the inbox: text it can hold, as for the key
            return await self._expected(_storable("known id", ident, MAX_KEY_BYTES))
        if callable(check):
            answer = check(ident)
            if inspect.isawaitable(answer):
                answer = await answer
            return bool(answer)
        return ident in check

    async def _expected(self, ident: str) -> bool:
        if not self._opened:
            await self.open()
        return await self.inbox.expectation(ident) is not None

    # -- expected jobs -----------------------------------------------------------------------

    async def expect(
        self,
        ident: str,
        *,
        status_url: str | None = None,
        deadline: datetime | timedelta | float,
        event_type: str | None = None,
    ) -> None:
        """Expect a webhook for ``ident`` by ``deadline``; after it, the reconciler polls.

        ``ident`` is the dedupe key the webhook will carry (e.g. the ``job_id`` or
        ``workflow_id`` when that is the ``dedupe_key``): only the job's completion answers
        it, never an item event. ``status_url`` defaults to the receiver's template filled
        with ``ident``. ``deadline`` is a datetime, a timedelta from now, or seconds from now.
        """
        if status_url is None:
            if self.status_url is None:
                raise ValueError("give status_url, or a status_url template to the Receiver")
            status_url = fill(self.status_url, ident)
        if isinstance(deadline, datetime):
            if deadline.tzinfo is None:
                raise ValueError("deadline must be timezone-aware")
            when = deadline.astimezone(UTC)
        else:
            delta = deadline if isinstance(deadline, timedelta) else timedelta(seconds=deadline)
            when = datetime.now(UTC) + delta
        if not self._opened:
            await self.open()
        await self.inbox.expect(ident, status_url, when, event_type)
