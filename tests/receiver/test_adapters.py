"""Adapters over real HTTP: Flask (WSGI, threaded werkzeug server), Django, FastAPI mount."""

from __future__ import annotations

import socket
from collections.abc import Callable, MutableMapping
from typing import Any

import django  # type: ignore[import-untyped]
import flask
import pytest
from django.conf import settings  # type: ignore[import-untyped]
from django.core.wsgi import get_wsgi_application  # type: ignore[import-untyped]
from django.urls import clear_url_caches, path  # type: ignore[import-untyped]
from fastapi import FastAPI
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from hookwise.receiver import Event, Inbox, Receiver, State
from hookwise.receiver.adapters.django import django_view
from hookwise.receiver.adapters.length import declared_length
from tests.receiver.receiver_helpers import (
    Http,
    http_client,
    serve_asgi,
    signed,
    wait_until,
    wait_until_sync,
    wsgi_server,
)

urlpatterns: list[Any] = []  # Django's ROOT_URLCONF is this module


def counting_receiver(inbox: Inbox, secret: str, seen: list[str]) -> Receiver:
    receiver = Receiver(inbox=inbox, secret=secret)

    @receiver.on("job.completed")
    def record(event: Event) -> None:
        seen.append(event.payload["job_id"])

    return receiver


def test_flask_view_and_mounted_wsgi_app(make_inbox: Callable[[], Inbox], secret: str) -> None:
    seen: list[str] = []
    hook = counting_receiver(make_inbox(), secret, seen).wsgi()
    app = flask.Flask("hooks")

    @app.post("/webhooks/jobs")
    def jobs() -> tuple[bytes, int, list[tuple[str, str]]]:
        # werkzeug's Headers is no Mapping, though it has the items() that handle() reads
        reply = hook.handle(flask.request.get_data(), flask.request.headers)
        return reply.body, reply.status, list(reply.headers)

    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/raw": hook})  # type: ignore[method-assign]
    try:
        with wsgi_server(app) as base, http_client() as http:
            body, headers = signed({"event": "job.completed", "job_id": "j1"}, secret)
            assert (
                http.post(f"{base}/webhooks/jobs", content=body, headers=headers).json()["status"]
                == "accepted"
            )
            again = http.post(f"{base}/webhooks/jobs", content=body, headers=headers)
            assert again.status_code == 200 and again.json()["status"] == "duplicate"
            body2, headers2 = signed({"event": "job.completed", "job_id": "j2"}, secret)
            assert http.post(f"{base}/raw", content=body2, headers=headers2).status_code == 200
            tampered = http.post(f"{base}/raw", content=body2 + b" ", headers=headers2)
            assert tampered.status_code == 401
            body3, headers3 = signed({"event": "job.completed", "job_id": "j3"}, secret)
            stripped = {"X-Webhook-Signature": headers3["X-Webhook-Signature"]}  # no timestamp
            for route in ("/raw", "/webhooks/jobs"):
                refused = http.post(f"{base}{route}", content=body3, headers=stripped)
                assert refused.status_code == 400
            too_big = http.post(f"{base}/raw", content=b"x" * ((1 << 20) + 1), headers=headers2)
            assert too_big.status_code == 413
            assert http.get(f"{base}/raw").json() == {"status": "ok"}
            assert http.delete(f"{base}/raw").status_code == 405
            wait_until_sync(
                lambda: hook.call(hook.receiver.inbox.counts())[State.DONE] == 2,
                what="both items done",
            )
            assert sorted(seen) == ["j1", "j2"]
    finally:
        hook.close()


def _django() -> None:
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            ALLOWED_HOSTS=["127.0.0.1"],
            ROOT_URLCONF=__name__,
            SECRET_KEY="test-only",
            MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"],
            INSTALLED_APPS=[],
        )
        django.setup()


def test_django_view(make_inbox: Callable[[], Inbox], secret: str) -> None:
    _django()
    seen: list[str] = []
    view = django_view(counting_receiver(make_inbox(), secret, seen))
    urlpatterns[:] = [path("webhooks/", view)]
    clear_url_caches()
    try:
        with wsgi_server(get_wsgi_application()) as base, http_client() as http:
            url = f"{base}/webhooks/"
            body, headers = signed({"event": "job.completed", "job_id": "d1"}, secret)
            first = http.post(url, content=body, headers=headers)  # no CSRF token: exempt
            assert first.status_code == 200 and first.json()["status"] == "accepted"
            assert http.post(url, content=body, headers=headers).json()["status"] == "duplicate"
            assert http.post(url, content=b"{}", headers={}).status_code == 400
            body2, headers2 = signed({"event": "job.completed", "job_id": "d2"}, secret)
            stripped = {"X-Webhook-Signature": headers2["X-Webhook-Signature"]}  # no timestamp
            assert http.post(url, content=body2, headers=stripped).status_code == 400
            assert http.put(url, content=body, headers=headers).status_code == 405
            wait_until_sync(lambda: seen == ["d1"], what="the event processed")
    finally:
        view.portal.close()  # type: ignore[attr-defined]  # set on the view; typed as a callable
        urlpatterns.clear()
        clear_url_caches()


async def test_fastapi_mount_with_the_receiver_lifespan(
    make_inbox: Callable[[], Inbox], secret: str
) -> None:
    seen: list[str] = []
    receiver = counting_receiver(make_inbox(), secret, seen)
    app = FastAPI(lifespan=receiver.lifespan)
    app.mount("/webhooks", receiver.asgi())

    @app.get("/")
    def home() -> dict[str, str]:
        return {"app": "mine"}

    async with serve_asgi(app) as base, Http() as http:
        body, headers = signed({"event": "job.completed", "job_id": "f1"}, secret)
        answer = await http.post(f"{base}/webhooks/", body, headers)
        assert answer.status == 200 and answer.json()["status"] == "accepted"
        assert (await http.get(f"{base}/")).json() == {"app": "mine"}
        body2, headers2 = signed({"event": "job.completed", "job_id": "f2"}, secret)
        stripped = {"X-Webhook-Signature": headers2["X-Webhook-Signature"]}  # no timestamp
        assert (await http.post(f"{base}/webhooks/", body2, stripped)).status == 400
        await wait_until(lambda: seen == ["f1"], what="processed by the lifespan's worker")
        assert len(await receiver.inbox.items()) == 1  # the stripped request was not stored


def test_a_header_holding_nul_through_werkzeug_is_stored_replaced(
    make_inbox: Callable[[], Inbox], secret: str
) -> None:
    """werkzeug passes NUL in a header value (uvicorn refuses it): PostgreSQL's jsonb refused
    the headers and a verified webhook got 503 on every retry."""
    hook = Receiver(inbox=make_inbox(), secret=secret).wsgi(process=False)
    body, headers = signed({"event": "job.completed", "job_id": "n1"}, secret, msg_id="msg_nul")
    lines = [f"{k}: {v}" for k, v in {**headers, "x-trace": "a\x00b"}.items()]
    start = ["POST / HTTP/1.1", "host: 127.0.0.1", "connection: close"]
    request = "\r\n".join([*start, f"content-length: {len(body)}", *lines])
    try:
        with wsgi_server(hook) as base:
            host, port = base.removeprefix("http://").split(":")
            with socket.create_connection((host, int(port)), timeout=10) as sock:
                sock.sendall(request.encode("latin-1") + b"\r\n\r\n" + body)
                answer = b""
                while chunk := sock.recv(65536):
                    answer += chunk
        assert answer.startswith(b"HTTP/1.1 200"), answer
        item = hook.call(hook.receiver.inbox.get("msg_nul"))
        assert item is not None and item.headers["x-trace"] == "a\ufffdb"
    finally:
        hook.close()


def _raw_post(base: str, head: bytes, body: bytes) -> bytes:
    """Send a hand-written request (clients refuse to write these); return the whole answer."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n" + head)
        sock.sendall(b"\r\n" + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_a_negative_content_length_does_not_read_past_the_limit(
    make_inbox: Callable[[], Inbox], secret: str
) -> None:
    """``Content-Length: -1`` made the WSGI adapter ``read(-1)``: to the end of the connection,
    past ``max_body_bytes``, the worker held until the client hung up (here: a 10 s timeout)."""
    hook = Receiver(inbox=make_inbox(), secret=secret).wsgi(process=False)
    body, headers = signed({"event": "job.completed", "job_id": "n2"}, secret)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode()
    try:
        with wsgi_server(hook) as base:
            answer = _raw_post(base, head + b"content-length: -1\r\n", body)
        assert answer.startswith(b"HTTP/1.1 400"), answer
        assert hook.call(hook.receiver.inbox.items()) == []
    finally:
        hook.close()


async def test_an_asgi_content_length_of_5000_digits_is_a_413(
    make_inbox: Callable[[], Inbox], secret: str
) -> None:
    """int() refuses past 4,300 digits: the ASGI adapter raised (a 500) under a server that
    passes such a header on."""
    app = Receiver(inbox=make_inbox(), secret=secret).asgi(process=False)
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    headers = [(b"content-length", b"9" * 5000)]
    await app({"type": "http", "method": "POST", "headers": headers}, receive, send)
    assert sent[0]["status"] == 413
    await app.receiver.close()


@pytest.mark.parametrize(
    ("value", "length"),
    [(None, None), ("12", 12), (b"12", 12), ("-1", None), ("+5", None), ("\u00b2", None),
     ("\u0661\u0662", None), ("", None), (" 1", None), ("9" * 5000, 1 << 62)],
)  # fmt: skip
def test_declared_length(value: str | bytes | None, length: int | None) -> None:
    assert declared_length(value) == length
