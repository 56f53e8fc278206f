"""The OpenAPI document as the API answers: every operation lists the errors it can give, in
the one error shape (``ErrorOut``), instead of FastAPI's default 422 schema that never comes."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from hookwise.api.schemas import ErrorOut

_REF = "#/components/schemas/ErrorOut"
WHY = {
    400: "the body is not JSON",
    401: "missing, malformed or unknown API key",
    403: "an app key on another app, or an admin-only operation",
    404: "unknown resource",
    409: "a conflict with what is stored (a duplicate uid, name or id)",
    413: "the body is over the size limit",
    422: "a field or parameter is wrong: `details.field` names it",
    429: "over the per-key rate limit: `Retry-After` says when to come back",
    503: "the database cannot be reached",
}
_RETRY_AFTER = {"Retry-After": {"description": "seconds", "schema": {"type": "integer"}}}


def errors_of(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    """The error statuses an operation can answer."""
    statuses = [503]
    if path.startswith("/v1/"):
        statuses += [401, 403, 422, 429]
    if "requestBody" in operation:
        statuses += [400, 404, 409, 413]
    elif "{" in path:
        statuses += [404, 409] if method == "delete" else [404]
    return sorted(statuses)


def complete(doc: dict[str, Any]) -> dict[str, Any]:
    """Add the error answers and the error shape to a FastAPI-generated document, in place."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    shape = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(shape.pop("$defs", {}))
    schemas["ErrorOut"] = shape
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            for status in errors_of(path, method, operation):
                answer: dict[str, Any] = {
                    "description": WHY[status],
                    "content": {"application/json": {"schema": {"$ref": _REF}}},
                }
                if status == 429:
                    answer["headers"] = _RETRY_AFTER
                responses[str(status)] = answer
    return doc


def install(app: FastAPI) -> None:
    """Serve the completed document at ``/openapi.json``."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
