"""Checks on what a sender sends about a job, each failure naming its field."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

import orjson

from hookwise.domain.errors import InvalidInput

MAX_CUSTOM_KEYS = 50
MAX_CUSTOM_KEY = 100
MAX_CUSTOM_VALUE = 2000
MAX_SUMMARY_KEYS = 50
MAX_ITEMS_PER_BATCH = 1000
MAX_FIELDS = 50
MAX_FIELDS_BYTES = 8 * 1024

_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$")


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def validate_job_id(value: str, field: str = "id") -> str:
    """A producer-chosen job id: letters, digits and ``_ . : -``, at most 64."""
    if not _JOB_ID.fullmatch(value):
        raise InvalidInput(
            field, "must be 1 to 64 letters, digits or '_.:-', starting with a letter or digit"
        )
    return value


def validate_type(value: str, field: str = "type") -> str:
    """A job type such as ``enrich.bulk``."""
    if not _TYPE.fullmatch(value):
        raise InvalidInput(
            field, "must be 1 to 200 letters, digits or '_.:-', starting with a letter or digit"
        )
    return value


def validate_custom(value: dict[str, Any] | None, field: str = "custom") -> dict[str, str]:
    """The customer's pass-through: string values only, so a number is refused by key name."""
    if value is None:
        return {}
    if len(value) > MAX_CUSTOM_KEYS:
        raise InvalidInput(field, f"at most {MAX_CUSTOM_KEYS} keys")
    out: dict[str, str] = {}
    for key, v in value.items():
        if not key or len(key) > MAX_CUSTOM_KEY:
            raise InvalidInput(f"{field}.{key}", f"keys must be 1 to {MAX_CUSTOM_KEY} characters")
        if not isinstance(v, str):
            raise InvalidInput(
                f"{field}.{key}",
                f"custom values must be strings, got {_kind(v)}; send it as a string"
                " (it comes back exactly as given)",
            )
        if len(v) > MAX_CUSTOM_VALUE:
            raise InvalidInput(f"{field}.{key}", f"is longer than {MAX_CUSTOM_VALUE} characters")
        out[key] = v
    return out


def validate_summary(value: dict[str, Any] | None, field: str = "summary") -> dict[str, Any]:
    """The sender's counters: names to numbers (strings, booleans and null are allowed too)."""
    if value is None:
        return {}
    if len(value) > MAX_SUMMARY_KEYS:
        raise InvalidInput(field, f"at most {MAX_SUMMARY_KEYS} keys")
    for key, v in value.items():
        if not key or len(key) > MAX_CUSTOM_KEY:
            raise InvalidInput(f"{field}.{key}", f"keys must be 1 to {MAX_CUSTOM_KEY} characters")
        if isinstance(v, list | dict):
            raise InvalidInput(f"{field}.{key}", f"must be a number or a string, got {_kind(v)}")
    return dict(value)


def validate_fields(
    value: dict[str, Any] | None, taken: Collection[str], field: str = "fields"
) -> dict[str, Any]:
    """Extra top-level fields of a job's events (``lead_list_id``): any JSON values, at most
    50 names and 8 KiB, none of them a name the job's profile writes already."""
    if value is None:
        return {}
    if len(value) > MAX_FIELDS:
        raise InvalidInput(field, f"at most {MAX_FIELDS} keys")
    if len(orjson.dumps(value)) > MAX_FIELDS_BYTES:
        raise InvalidInput(field, f"is larger than {MAX_FIELDS_BYTES} bytes of JSON")
    for key in value:
        if not key or len(key) > MAX_CUSTOM_KEY:
            raise InvalidInput(f"{field}.{key}", f"keys must be 1 to {MAX_CUSTOM_KEY} characters")
        if key in taken:
            raise InvalidInput(
                f"{field}.{key}",
                "is a field the app's job profile writes already; choose"
                " another name or rename that field in the profile",
            )
    return dict(value)
