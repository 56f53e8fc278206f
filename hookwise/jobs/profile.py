"""A job webhook profile: how an app's job events look, declared as data.

A product whose customers already receive its job webhooks names its events, its fields and its
statuses here, so hookwise sends the bodies those receivers already parse. Nothing in a profile
runs: names are plain strings, and the one template (``results_endpoint``) knows three
placeholders. ``DEFAULT`` is hookwise's own shape, byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import orjson

from hookwise.domain.errors import InvalidInput
from hookwise.domain.events import validate_event_type
from hookwise.jobs.validation import validate_type

EVENTS = ("completed", "failed", "canceled", "item_finished")
STATUSES = ("completed", "completed_with_errors", "failed", "canceled", "insufficient_credits")
# the top-level fields of a job event, in the order a body carries them
FIELDS = (
    "event", "id", "timestamp", "job_id", "type", "status", "summary", "results", "result",
    "error", "item", "progress", "custom", "completed_at", "results_truncated",
    "results_endpoint",
)  # fmt: skip
COUNTS = ("total", "succeeded", "failed")
# the names that start a message envelope {event, id, timestamp, data} (domain.envelope)
ENVELOPE_HEAD = frozenset({"event", "id", "timestamp"})
PLACEHOLDERS = ("job_id", "app_id", "type")
MAX_TYPES = 100
MAX_PROFILE_BYTES = 64 * 1024

RowShape = Literal["hookwise", "result"]
Truncation = Literal["always", "when_truncated"]

_DEFAULT_STATUS_EVENTS = {
    "completed": "completed",
    "completed_with_errors": "completed",
    "failed": "failed",
    "insufficient_credits": "failed",
    "canceled": "canceled",
}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,99}$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True, slots=True)
class JobProfile:
    """How a job's events are named and shaped (``parse`` builds one from JSON data)."""

    events: Mapping[str, str] = field(default_factory=lambda: {k: f"job.{k}" for k in EVENTS})
    status_events: Mapping[str, str] = field(default_factory=lambda: dict(_DEFAULT_STATUS_EVENTS))
    status_names: Mapping[str, str] = field(default_factory=lambda: {s: s for s in STATUSES})
    fields: Mapping[str, str | None] = field(default_factory=lambda: {f: f for f in FIELDS})
    summary_names: Mapping[str, str] = field(default_factory=lambda: {c: c for c in COUNTS})
    result_rows: RowShape = "hookwise"
    single_result: bool = False
    truncation_fields: Truncation = "always"
    results_endpoint: str = "hookwise"
    max_items: int | None = None
    types: Mapping[str, JobProfile] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: object, where: str = "job_profile") -> JobProfile:
        """A profile from its JSON form (None: the default); InvalidInput names the field."""
        if data is None:
            return DEFAULT
        return _parse(DEFAULT, data, where, top=True)

    def for_type(self, job_type: str) -> JobProfile:
        """The profile of one job type: its ``types`` entry over the app's."""
        return self.types.get(job_type, self)

    def event_for(self, status: str) -> str:
        """The event a job finished with ``status`` sends."""
        return self.events[self.status_events[status]]

    def item_cap(self, app_cap: int | None) -> int | None:
        """The most items a job of this profile may have: the type's ``max_items``, else the
        app's cap; a single-result job has one."""
        cap = self.max_items if self.max_items is not None else app_cap
        if self.single_result:
            return 1 if cap is None else min(cap, 1)
        return cap

    def name(self, key: str) -> str | None:
        """The body's name of the field ``key`` (None: left out)."""
        return self.fields[key]

    def taken(self) -> set[str]:
        """Every top-level name the profile writes (extra job fields must avoid them), and
        ``data`` when it writes an envelope's head: such a body must not read as one."""
        names = {n for n in self.fields.values() if n is not None}
        return names | {"data"} if names >= ENVELOPE_HEAD else names

    def results_url(self, hookwise_url: str, job_id: str, app_id: str, job_type: str) -> str:
        """Where the receiver pages every result: hookwise's route, or the product's URL."""
        if self.results_endpoint == "hookwise":
            return hookwise_url
        values = {"job_id": job_id, "app_id": app_id, "type": job_type}
        return _PLACEHOLDER.sub(lambda m: quote(values[m.group(1)], safe=""), self.results_endpoint)


DEFAULT = JobProfile()


def validate_profile(
    data: dict[str, Any] | None, where: str = "job_profile"
) -> dict[str, Any] | None:
    """``data`` as stored on the app, once it parses as a profile (at most 64 KiB of JSON)."""
    if data is not None:
        if len(orjson.dumps(data)) > MAX_PROFILE_BYTES:
            raise InvalidInput(where, f"is larger than {MAX_PROFILE_BYTES} bytes of JSON")
        JobProfile.parse(data, where)
    return data


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(where, "must be an object")
    return value


def _names(
    value: object, where: str, keys: tuple[str, ...], base: Mapping[str, Any], *, nullable: bool
) -> dict[str, Any]:
    """``base`` with the names ``value`` gives for some of ``keys``."""
    out = dict(base)
    for key, name in _object(value, where).items():
        if key not in keys:
            raise InvalidInput(f"{where}.{key}", f"is not one of {', '.join(keys)}")
        if name is None and nullable:
            out[key] = None
            continue
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise InvalidInput(
                f"{where}.{key}",
                "must be a name of 1 to 100 letters, digits or '_.-', starting with a letter or"
                " '_'" + (", or null to leave the field out" if nullable else ""),
            )
        out[key] = name
    return out


def _unique(names: Mapping[str, str | None], where: str) -> None:
    seen: dict[str, str] = {}
    for key, name in names.items():
        if name is None:
            continue
        if name in seen:
            raise InvalidInput(f"{where}.{key}", f"{name!r} is also the name of {seen[name]}")
        seen[name] = key


def _choice(value: object, where: str, allowed: tuple[str, ...]) -> Any:
    if value not in allowed:
        raise InvalidInput(where, f"must be one of {', '.join(map(repr, allowed))}")
    return value


def _template(value: object, where: str) -> str:
    if value == "hookwise":
        return "hookwise"
    if not isinstance(value, str) or len(value) > 2048:
        raise InvalidInput(where, "must be 'hookwise' or an http(s) URL template")
    for m in _PLACEHOLDER.finditer(value):
        if m.group(1) not in PLACEHOLDERS:
            raise InvalidInput(
                where, f"{m.group(0)} is not one of {{job_id}}, {{app_id}}, {{type}}"
            )
    bare = _PLACEHOLDER.sub("x", value)
    if "{" in bare or "}" in bare:
        raise InvalidInput(where, "has an unbalanced '{' or '}'")
    parts = urlsplit(bare)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(where, "must be 'hookwise' or an http(s) URL template")
    return value


def _max_items(value: object, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1_000_000_000:
        raise InvalidInput(where, "must be a whole number from 1 to 1000000000, or null")
    return value


def _events(value: object, where: str, p: JobProfile) -> dict[str, Any]:
    events = _names(value, where, EVENTS, p.events, nullable=False)
    for key, name in events.items():
        validate_event_type(name, f"{where}.{key}")
    _unique(events, where)
    return events


def _status_events(value: object, where: str, p: JobProfile) -> dict[str, Any]:
    out = dict(p.status_events)
    for status, event in _object(value, where).items():
        _choice(status, f"{where}.{status}", STATUSES)
        out[status] = _choice(event, f"{where}.{status}", ("completed", "failed", "canceled"))
    return out


def _fields(value: object, where: str, p: JobProfile) -> dict[str, Any]:
    fields = _names(value, where, FIELDS, p.fields, nullable=True)
    _unique(fields, where)
    if set(fields.values()) >= ENVELOPE_HEAD and "data" in fields.values():
        key = next(k for k, n in fields.items() if n == "data")
        raise InvalidInput(
            f"{where}.{key}",
            "'data' beside 'event', 'id' and 'timestamp' would read as a message envelope"
            " (raw endpoints send an envelope's data alone); rename one of them",
        )
    return fields


def _summary_names(value: object, where: str, p: JobProfile) -> dict[str, Any]:
    counts = _names(value, where, COUNTS, p.summary_names, nullable=False)
    _unique(counts, where)
    return counts


def _single(value: object, where: str, p: JobProfile) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(where, "must be true or false")
    return value


# each setting: how its JSON value becomes the profile's value (given the profile so far)
_SETTINGS: dict[str, Callable[[object, str, JobProfile], Any]] = {
    "events": _events,
    "status_events": _status_events,
    "status_names": lambda v, w, p: _names(v, w, STATUSES, p.status_names, nullable=False),
    "fields": _fields,
    "summary_names": _summary_names,
    "result_rows": lambda v, w, p: _choice(v, w, ("hookwise", "result")),
    "single_result": _single,
    "truncation_fields": lambda v, w, p: _choice(v, w, ("always", "when_truncated")),
    "results_endpoint": lambda v, w, p: _template(v, w),
    "max_items": lambda v, w, p: _max_items(v, w),
}


def _types(value: object, where: str, p: JobProfile) -> dict[str, JobProfile]:
    types = _object(value, where)
    if len(types) > MAX_TYPES:
        raise InvalidInput(where, f"at most {MAX_TYPES} job types")
    # a type's settings override the app's: parsed over the app's profile, without types
    return {
        validate_type(t, f"{where}.{t}"): _parse(p, v, f"{where}.{t}", top=False)
        for t, v in types.items()
    }


def _parse(base: JobProfile, data: object, where: str, *, top: bool) -> JobProfile:
    given = _object(data, where)
    for key in given:
        if key not in _SETTINGS and not (top and key == "types"):
            raise InvalidInput(f"{where}.{key}", "is not a job profile setting")
    if top and "max_items" in given:
        raise InvalidInput(
            f"{where}.max_items",
            "caps one job type (types.<type>.max_items); the app's cap is max_items_per_job",
        )
    p = base
    for key, parse in _SETTINGS.items():
        if key in given:
            p = replace(p, **{key: parse(given[key], f"{where}.{key}", p)})
    if top and "types" in given:
        p = replace(p, types=_types(given["types"], f"{where}.types", p))
    return p
