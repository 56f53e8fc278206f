"""The receiver under hostile input: whatever the three ``webhook-*`` headers,
``X-Webhook-Signature`` and the body hold (absent, empty, garbage, valid, stale, future,
400-digit or non-ASCII timestamps, bad base64, entries without a comma, several signatures,
wrong secrets, lone surrogates, huge values), verification raises only ``VerificationError``
subclasses and accepts exactly the requests signed with the secret at a time within the
tolerance (or, from a hex-only sender, signed with ``X-Webhook-Signature``). Over real HTTP
(``hookwise receive``'s ASGI service and the WSGI adapter under werkzeug, both inboxes):
never a 5xx, and no handler ever runs for a request that was not both verified and fresh.

The oracle is independent of hookwise: signatures are computed here with ``hmac`` and
checked against ``standardwebhooks``, the reference verifier.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from standardwebhooks import Webhook

from hookwise.domain.signing import DEFAULT_TOLERANCE_SECONDS, new_secret
from hookwise.domain.text import NUL
from hookwise.receiver import (
    Event,
    Inbox,
    Receiver,
    ReceiverService,
    State,
    VerificationError,
    make_verifier,
    verify_request,
)
from hookwise.receiver.receiver import MAX_KEY_BYTES
from tests.receiver.conftest import backend, make_inbox, pg_dsn  # noqa: F401 (fixtures)
from tests.receiver.receiver_helpers import wait_until_sync, wsgi_server

T = TypeVar("T")

SECRET = new_secret()
WRONG_SECRET = new_secret()
KEY = base64.b64decode(SECRET.removeprefix("whsec_"))
WRONG_KEY = base64.b64decode(WRONG_SECRET.removeprefix("whsec_"))
HEX_KEY = SECRET.encode()  # X-Webhook-Signature's key: the secret as shown
WRONG_HEX_KEY = WRONG_SECRET.encode()
TOLERANCE = DEFAULT_TOLERANCE_SECONDS
MAX_BODY = 64 * 1024
STANDARD = ("webhook-id", "webhook-timestamp", "webhook-signature")


def v1(key: bytes, msg_id: str, ts: str, body: bytes) -> str:
    """One Standard Webhooks entry, computed here, not by hookwise."""
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def hex_signature(key: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def fresh(ts: str | None, now: float) -> bool:
    """A timestamp a correct verifier takes: decimal seconds, within the tolerance of now."""
    if ts is None or not (ts.isascii() and ts.isdigit()) or len(ts) > 20:
        return False
    return str(int(ts)) == ts and abs(now - int(ts)) <= TOLERANCE


def encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class Request:
    """One drawn request and what a correct verifier must decide about it."""

    body: bytes
    headers: dict[str, str]
    verified: bool  # signed with SECRET over this body, fresh (or hex from a hex-only sender)
    hex_only: bool  # the receiver is configured for a hex-only sender
    clean: bool  # every signature entry is well-formed base64 (the reference can parse it)


# -- strategies ------------------------------------------------------------------------------

# Header text over HTTP: what an HTTP/1.1 client can send (printable Latin-1, no CR/LF/NUL).
wire_char = st.characters(codec="latin-1", min_codepoint=0x21, exclude_characters="\x7f")
# Header text handed to Receiver.handle / verify_request from Python: anything, surrogates too.
any_char = st.one_of(st.characters(), st.characters(categories=["Cs"]), st.just(NUL))


GOOD_ID = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=30)


def texts(wire: bool, max_size: int = 40) -> st.SearchStrategy[str]:
    return st.text(wire_char if wire else any_char, max_size=max_size)


def ids(wire: bool) -> st.SearchStrategy[str]:
    return st.one_of(
        GOOD_ID.map(lambda s: "msg_" + s),
        texts(wire),
        st.just(""),
        st.integers(MAX_KEY_BYTES - 2, MAX_KEY_BYTES + 2).map(lambda n: "m" * n),
        st.integers(5_000, 20_000).map(lambda n: "m" * n),
    )


def timestamps(wire: bool) -> st.SearchStrategy[int | str]:
    """Seconds from now (an int, made a timestamp when the request is built) or raw text."""
    far = 10**9
    return st.one_of(
        st.integers(-TOLERANCE + 100, TOLERANCE - 100),  # fresh
        st.integers(-TOLERANCE + 100, TOLERANCE - 100),
        st.integers(-far, -TOLERANCE - 100),  # stale
        st.integers(TOLERANCE + 100, far),  # future
        st.integers(21, 5000).map(lambda n: "9" * n),  # no time at all
        st.sampled_from(["", "-5", "+1_700_000_000", "1e9", " ", "\u0661\u0667" + "\u0660" * 8]),
        texts(wire),
    )


def entries(
    kinds: list[str], msg_id: str, ts: str, body: bytes, wire: bool, junk: list[str]
) -> str:
    """A webhook-signature value: one entry per kind, space-separated."""
    out = []
    for kind, filler in zip(kinds, junk, strict=True):
        if kind in ("valid", "wrong", "v2", "no comma") and not encodable(msg_id):
            kind = "bad base64"
        if kind == "valid":
            out.append(v1(KEY, msg_id, ts, body))
        elif kind == "wrong":
            out.append(v1(WRONG_KEY, msg_id, ts, body))
        elif kind == "v2":
            out.append("v2," + v1(KEY, msg_id, ts, body)[3:])
        elif kind == "no comma":
            out.append("v1" + v1(KEY, msg_id, ts, body)[3:])
        elif kind == "bad base64":
            out.append("v1,!!" + filler.replace(" ", ""))
        elif kind == "huge":
            out.append("v1," + "A" * 20_000)
        else:
            out.append(filler)
    return " ".join(out)


SIGNATURE_KINDS = ["valid", "wrong", "v2", "no comma", "bad base64", "huge", "garbage"]
CLEAN_KINDS = {"valid", "wrong", "v2"}


ASPECTS = ["none", "body", "id", "timestamp", "signature", "presence", "stripped", "anything"]


@st.composite
def requests(draw: st.DrawFn, *, wire: bool, now: int) -> Request:
    """A request signed as a sender would, then with one aspect (or all) drawn at random:
    each of the four signature headers absent, broken or valid, and the body changed."""
    varied = draw(st.sampled_from(ASPECTS))

    def vary(aspect: str) -> bool:
        return varied in (aspect, "anything")

    if wire:
        payload = {"event": "order.paid", "id": draw(texts(True, 20)), "n": draw(st.text())}
        signed_body = orjson.dumps(payload)
    else:
        signed_body = draw(st.one_of(st.binary(max_size=200), st.text().map(str.encode)))
    body = signed_body
    if vary("body"):
        body = draw(
            st.one_of(
                st.just(signed_body),
                st.just(signed_body + b" "),
                st.binary(max_size=100),
                st.just(b"{" * (MAX_BODY + 1)),  # over the receiver's body limit
            )
        )
    msg_id = draw(ids(wire) if vary("id") else GOOD_ID.map(lambda s: "msg_" + s))
    drawn = draw(timestamps(wire)) if vary("timestamp") else draw(st.integers(-200, 200))
    ts = str(now + drawn) if isinstance(drawn, int) else drawn
    kinds = ["valid"]
    if vary("signature"):
        kinds = draw(st.lists(st.sampled_from(SIGNATURE_KINDS), max_size=4))
    elif draw(st.booleans()):  # a rotation: other entries beside the valid one
        kinds = draw(st.permutations(["valid", *draw(st.lists(st.sampled_from(["wrong", "v2"])))]))
    junk = [draw(texts(wire)) for _ in kinds]
    present = (True, True, True)
    if vary("presence"):
        present = draw(st.tuples(st.booleans(), st.booleans(), st.booleans()))
    hex_kind = draw(st.sampled_from(["absent", "valid", "wrong", "garbage"]))
    if varied == "stripped":  # the replay: a signed request with its webhook-* headers removed
        present, hex_kind = (False, False, False), "valid"
    headers: dict[str, str] = {}
    values = (msg_id, ts, entries(kinds, msg_id, ts, signed_body, wire, junk))
    for name, value, here in zip(STANDARD, values, present, strict=True):
        if here:
            headers[name] = value.strip(" ") if wire else value  # HTTP trims the ends anyway
    if hex_kind != "absent":
        headers["x-webhook-signature"] = {
            "valid": hex_signature(HEX_KEY, signed_body),
            "wrong": hex_signature(WRONG_HEX_KEY, signed_body),
            "garbage": draw(texts(wire)),
        }[hex_kind]
    if draw(st.booleans()):
        headers = {name.title(): value for name, value in headers.items()}
    hex_only = draw(st.booleans())
    unchanged = body == signed_body
    if any(present):
        verified = (
            all(present)
            and msg_id != ""
            and fresh(ts, now)
            and "valid" in kinds
            and encodable(msg_id)
            and unchanged
        )
    else:
        verified = hex_only and hex_kind == "valid" and unchanged
    event("verified" if verified else "refused")
    return Request(body, headers, verified, hex_only, set(kinds) <= CLEAN_KINDS)


# -- the verify function ---------------------------------------------------------------------


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_verify_raises_only_its_own_errors_and_accepts_only_what_was_signed(
    data: st.DataObject,
) -> None:
    now = int(time.time())
    request = data.draw(requests(wire=False, now=now))
    verifier = make_verifier(SECRET, accept_hex_only=request.hex_only)
    try:
        got = verify_request(verifier, request.body, request.headers)  # the clock, as in use
    except VerificationError:
        assert not request.verified, "a request signed with the secret, in time, was refused"
        return
    # Anything else than a VerificationError fails the test by propagating.
    assert request.verified, f"accepted an unverified request: {request.headers!r}"
    lowered = {k.lower(): v for k, v in request.headers.items()}
    assert got == lowered.get("webhook-id")
    if got is not None and request.clean and json_text(request.body):
        # The reference verifier agrees (it reads the clock itself: fresh is ±200 s of it).
        Webhook(SECRET).verify(request.body, lowered)


def json_text(body: bytes) -> bool:
    """The reference verifier returns the body parsed: it takes only UTF-8 JSON."""
    try:
        json.loads(body.decode())
    except ValueError:
        return False
    return True


def test_the_oracle_signs_like_the_reference() -> None:
    now = datetime.now(UTC)
    ts = str(int(now.timestamp()))
    assert v1(KEY, "msg_1", ts, b'{"a":"\xc3\xa9"}') == Webhook(SECRET).sign(
        "msg_1", now, '{"a":"é"}'
    )


# -- through the real HTTP receiver ------------------------------------------------------------


@contextmanager
def loop_thread() -> Iterator[Callable[[Coroutine[Any, Any, T]], T]]:
    """An event loop in a thread, and a function that runs a coroutine on it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def call(coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(60)

    try:
        yield call
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


@contextmanager
def served(receiver: Receiver, adapter: str) -> Iterator[tuple[str, Callable[..., Any]]]:
    """The receiver on a loopback port, processing; yields its URL and a way into its loop."""
    if adapter == "wsgi":
        hook = receiver.wsgi()
        try:
            with wsgi_server(hook) as base:
                yield base + "/", hook.call
        finally:
            hook.close()
        return
    with loop_thread() as call:
        service = ReceiverService(receiver, port=0)
        call(service.start())
        try:
            yield service.url, call
        finally:
            call(service.stop())


def on_the_wire(value: str) -> bytes:
    """Header bytes: Latin-1 as servers decode them, else UTF-8 (read back as mojibake)."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode()


def stored_key(request: Request) -> str | None:
    """The dedupe key a verified request is stored under, or None if no inbox can hold it."""
    lowered = {k.lower(): v for k, v in request.headers.items()}
    key = lowered.get("webhook-id")
    if key is None:
        found = orjson.loads(request.body).get("id")
        key = found or "sha256:" + hashlib.sha256(request.body).hexdigest()
    if NUL in key or len(key.encode()) > MAX_KEY_BYTES:
        return None
    return key


@pytest.mark.parametrize("adapter", ["asgi", "wsgi"])
def test_over_http_never_a_5xx_and_never_a_handler_for_an_unverified_request(
    make_inbox: Callable[[], Inbox],  # noqa: F811
    adapter: str,
) -> None:
    receiver = Receiver(inbox=make_inbox(), secret=SECRET, max_body_bytes=MAX_BODY)
    handled: list[str] = []
    lock = threading.Lock()

    @receiver.on("*")
    def record(event: Event) -> None:
        with lock:
            handled.append(event.key)

    accepted: set[str] = set()
    with served(receiver, adapter) as (url, call), httpx.Client(trust_env=False) as http:

        def stored() -> int:
            counts: dict[State, int] = call(receiver.inbox.counts())
            return sum(counts.values())

        @settings(
            max_examples=80,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(data=st.data())
        def one_request(data: st.DataObject) -> None:
            request = data.draw(requests(wire=True, now=int(time.time())))
            receiver.accept_hex_only = request.hex_only
            before = stored()
            wire = {k.encode("ascii"): on_the_wire(v) for k, v in request.headers.items()}
            answer = http.post(url, content=request.body, headers=wire, timeout=30)
            assert answer.status_code < 500, answer.text
            key = (
                stored_key(request) if request.verified and len(request.body) <= MAX_BODY else None
            )
            if key is None:
                assert answer.status_code >= 400, (request.headers, answer.text)
                assert stored() == before, "a refused request was stored"
            else:
                assert answer.status_code == 200, (request.headers, answer.text)
                assert answer.json()["status"] in ("accepted", "duplicate")
                accepted.add(key)

        one_request()

        def settled() -> bool:
            counts: dict[State, int] = call(receiver.inbox.counts())
            return counts[State.RECEIVED] == counts[State.PROCESSING] == 0

        wait_until_sync(settled, timeout=60, what="every stored request processed")
    assert accepted, "no verified request was drawn: the strategy lost its signed requests"
    assert set(handled) <= accepted, set(handled) - accepted
    assert len(handled) == len(set(handled)) == len(accepted)
