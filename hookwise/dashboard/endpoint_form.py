"""The endpoint form: its text fields read into the API's request body, checked by the API's
own schemas and rules (``EndpointIn`` / ``EndpointPatch`` and the routes' checks), and its
errors put beside the field they name, in the API's words.

Only the reading of text is the form's: a list is written one item per comma or line, a
header as ``Name: value`` per line, a number as digits. Anything else is left as typed, so
the API's schema says what is wrong with it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from hookwise.api import views
from hookwise.api.errors import field_errors
from hookwise.domain.errors import InvalidInput
from hookwise.domain.models import Endpoint

FIELDS = (
    "url", "description", "events", "retry_schedule", "timeout_seconds",
    "rate_limit_per_second", "max_in_flight", "headers", "payload_format",
)  # fmt: skip
"""The fields the form edits, in the order it shows them (a new endpoint may add ``secret``)."""

_LIST = re.compile(r"[\s,]+")
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


@dataclass
class Form:
    """The form as typed, and what is wrong with it (field: message)."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def fail(self, name: str, message: str) -> None:
        """Note ``message`` beside the top-level field of ``name`` (``headers.X`` → headers)."""
        top = re.split(r"[.\[]", name, maxsplit=1)[0]
        self.errors.setdefault(top if top in self.values else "form", message)


def values_of(ep: Endpoint | None) -> dict[str, str]:
    """The form's text for an endpoint (a new one: the API's defaults); header values redacted
    as the API shows them (sent back unchanged, the stored value is kept)."""
    if ep is None:
        return dict.fromkeys(FIELDS, "") | {"timeout_seconds": "10", "secret": ""}
    seen = views.endpoint(ep)
    return {
        "url": ep.url,
        "description": ep.description,
        "events": ", ".join(ep.events),
        "retry_schedule": ", ".join(f"{d:g}" for d in ep.retry_schedule),
        "timeout_seconds": f"{ep.timeout_seconds:g}",
        "rate_limit_per_second": (
            "" if ep.rate_limit_per_second is None else f"{ep.rate_limit_per_second:g}"
        ),
        "max_in_flight": str(ep.max_in_flight),
        "headers": "\n".join(f"{k}: {v}" for k, v in seen["headers"].items()),
        "payload_format": ep.payload_format,
    }


def read(posted: Mapping[str, Any], names: tuple[str, ...]) -> Form:
    """The ``names`` fields of a posted form, as typed."""
    return Form({n: str(posted.get(n, "")) for n in names})


def _number(text: str, integer: bool = False) -> Any:
    try:
        return int(text) if integer else float(text)
    except ValueError:
        return text  # the schema names the problem


def _headers(text: str, form: Form) -> dict[str, str]:
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon:
            form.fail("headers", f"headers: line {n} is not written Name: value")
        out[name.strip()] = value.strip()
    return out


def body(form: Form, *, patch: bool) -> dict[str, Any]:
    """The JSON body the form stands for. Empty optional fields: the API's default when
    creating, no limit (rate) or no change (others) when editing."""
    out: dict[str, Any] = {}
    for name, raw in form.values.items():
        text = raw.strip()
        if name == "url":
            out[name] = text
        elif name == "payload_format":
            if text:
                out[name] = text
        elif name == "description":
            out[name] = raw
        elif name == "events":
            out[name] = [e for e in _LIST.split(text) if e]
        elif name == "retry_schedule":
            if text or patch:
                out[name] = [_number(d) for d in _LIST.split(text) if d] if text else None
        elif name == "headers":
            out[name] = _headers(raw, form)
        elif name == "rate_limit_per_second":
            if text or patch:
                out[name] = _number(text) if text else None
        elif text:  # timeout_seconds, max_in_flight, secret
            out[name] = (
                _number(text, integer=True)
                if name == "max_in_flight"
                else (text if name == "secret" else _number(text))
            )
    return out


async def submit(
    form: Form, model: type[M], data: dict[str, Any], act: Callable[[M], Awaitable[T]]
) -> T | None:
    """``act`` on ``data`` validated as ``model`` (the API's schema), or None with the form's
    errors noted, in the API's words, when the schema or the API's own checks refuse it."""
    if form.errors:
        return None
    try:
        return await act(model.model_validate(data))
    except ValidationError as exc:
        for e in field_errors(exc.errors()):
            form.fail(e["field"], f"{e['field']}: {e['message']}")
    except InvalidInput as exc:
        form.fail(exc.field, exc.message)
    return None
