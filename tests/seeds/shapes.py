"""The shape of a JSON body (keys at each level, JSON types), for comparing a delivered body
with a seed's documented example whose values are placeholders."""

from __future__ import annotations

from typing import Any

import orjson

from tests.conftest import Api
from tests.receivers import Receiver
from tests.test_examples import load

# the seeds' job profiles as docs/seeds.md quotes them (examples/seed_profiles.py)
EXAMPLE = load("seed_profiles")


def shape(value: Any) -> Any:
    """Objects keep their keys (each value's shape), lists the shape of their first element,
    and everything else becomes its JSON type."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else "string"


async def bodies(api: Api, receiver: Receiver, path: str, n: int) -> list[dict[str, Any]]:
    """The first ``n`` JSON bodies delivered to ``path``, once hookwise has sent them."""
    await api.drain()
    await receiver.wait_for(lambda r: len(r.at(path)) >= n)
    return [orjson.loads(r.body) for r in receiver.at(path)[:n]]
