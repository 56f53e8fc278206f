"""Comparing a delivered body with a seed's documented example: the same keys at the same
levels, the same JSON types (list items compared with the example's first item); and what the
seed modules share: the bodies a path received, the seeds' job profiles."""

from __future__ import annotations

from typing import Any

import orjson

from tests.conftest import Api
from tests.receivers import Receiver
from tests.test_examples import load

# the seeds' job profiles as docs/how-to/seeds.md quotes them (examples/seed_profiles.py)
EXAMPLE = load("seed_profiles")


def shape(value: Any) -> Any:
    """The keys and JSON types of ``value``, recursively."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__


async def bodies(api: Api, receiver: Receiver, path: str, n: int) -> list[dict[str, Any]]:
    """The first ``n`` JSON bodies delivered to ``path``, once hookwise has sent them."""
    await api.drain()
    await receiver.wait_for(lambda r: len(r.at(path)) >= n)
    return [orjson.loads(r.body) for r in receiver.at(path)[:n]]
