"""The WSGI adapter, for Flask and any WSGI server.

Mount it (``DispatcherMiddleware(app.wsgi_app, {"/webhooks": hook})``), or call
``hook.handle(request.get_data(), request.headers)`` from a Flask view and return
``reply.body, reply.status, list(reply.headers)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from hookwise.domain.errors import PayloadTooLarge
from hookwise.receiver.adapters.length import declared_length
from hookwise.receiver.adapters.portal import SyncReceiver
from hookwise.receiver.errors import BadPayload
from hookwise.receiver.reply import Reply

StartResponse = Callable[..., Any]


def environ_headers(environ: dict[str, Any]) -> dict[str, str]:
    """Request headers from a WSGI environ, lower-case names with dashes."""
    out = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            out[key.replace("_", "-").lower()] = str(environ[key])
    return out


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


class WSGIReceiver(SyncReceiver):
    """A WSGI application answering webhooks; background work runs on its loop thread."""

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "POST":
            reply = self._post(environ)
        elif method in ("GET", "HEAD"):
            reply = Reply.json(200, {"status": "ok"})
        else:
            reply = Reply.json(
                405,
                {"error": {"code": "method_not_allowed", "message": "POST a webhook"}},
                (("allow", "POST, GET, HEAD"),),
            )
        headers = [*reply.headers, ("content-length", str(len(reply.body)))]
        start_response(_status_line(reply.status), headers)
        return [b"" if method == "HEAD" else reply.body]

    def _post(self, environ: dict[str, Any]) -> Reply:
        limit = self.receiver.max_body_bytes
        declared = environ.get("CONTENT_LENGTH")
        length = declared_length(declared)
        if declared and length is None:
            return Reply.error(BadPayload("Content-Length is not a decimal number of bytes"))
        length = length or 0
        if length > limit:
            return Reply.error(PayloadTooLarge(f"body over {limit} bytes"))
        stream = environ["wsgi.input"]
        if length:
            body = stream.read(length)
        elif environ.get("wsgi.input_terminated"):
            body = stream.read(limit + 1)  # chunked: one byte past the limit is enough to know
        else:
            body = b""  # no length and no terminated stream: reading could block (PEP 3333)
        return self.handle(body, environ_headers(environ))
