"""The one error shape: ``{"error": {"code", "message", "details"}}``, and its handlers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from hookwise.domain.errors import HookwiseError, RateLimited

log = logging.getLogger("hookwise.api")


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A Response in the error shape."""
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def _field_name(e: Any) -> str:
    field = ".".join(
        str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path", "header")
    )
    where = (e.get("ctx") or {}).get("where")  # inside a free JSON value: payload.a.b[2]
    if where:
        field += where if where.startswith("[") or not field else f".{where}"
    return field or "body"


def field_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    """Pydantic's errors as ``{"field", "message"}``, the field named as the API names it."""
    return [{"field": _field_name(e), "message": str(e.get("msg"))} for e in errors]


def validation_response(errors: Sequence[Any]) -> Response:
    """The 400 (not JSON the API takes) or 422 (naming the field) answer for pydantic errors."""
    for e in errors:
        if e.get("type") == "json_invalid":
            return error_response(
                400,
                "invalid_json",
                f"the body is not valid JSON: {e.get('msg')}",
                {"field": _field_name(e)},
            )
    fields = field_errors(errors)
    first = fields[0] if fields else {"field": "body", "message": "invalid"}
    return error_response(
        422,
        "validation_error",
        f"{first['field']}: {first['message']}",
        {"field": first["field"], "errors": fields},
    )


def hookwise_error_response(exc: HookwiseError) -> Response:
    """The answer for one of our own errors (429 carries ``Retry-After``)."""
    headers = None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(max(1, round(exc.retry_after)))}
    return error_response(exc.status_code, exc.code, exc.message, exc.details, headers)


def unknown_route(method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The 404 message and details of a path no route takes: it names the path, and an empty
    segment (``/v1/apps//endpoints``) is most often a shell variable that was never set."""
    message = f"no route for {method} {path}"
    if "//" in path:
        message += " (an empty path segment: is a variable such as $APP unset?)"
    return message, {"path": path, "method": method}


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed(request: Request) -> str:
    """Every method the path takes: Starlette's own ``Allow`` names only the first route that
    matched the path, and a path often has one route per method."""
    routes = request.app.router.routes
    return ", ".join(
        m
        for m in _METHODS
        if any(r.matches({**request.scope, "method": m})[0] == Match.FULL for r in routes)
    )


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into the one shape."""

    @app.exception_handler(HookwiseError)
    async def hookwise_error(_: Request, exc: HookwiseError) -> Response:
        return hookwise_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> Response:
        return validation_response(exc.errors())

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        if exc.status_code == 404:
            message, details = unknown_route(request.method, request.url.path)
            return error_response(404, "not_found", message, details)
        if exc.status_code == 405:
            headers["Allow"] = allow = _allowed(request)
            return error_response(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed on {request.url.path} (allowed: {allow})",
                {"path": request.url.path, "method": request.method},
                headers,
            )
        return error_response(
            exc.status_code, "http_error", str(exc.detail), headers=headers or None
        )

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "an internal error occurred")
