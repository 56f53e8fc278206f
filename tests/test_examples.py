"""The runnable examples the docs quote actually run."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from types import ModuleType

from tests.conftest import Api
from tests.receivers import Receiver

EXAMPLES = Path(__file__).parent.parent / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_send_events_example(api_factory: object, receiver: Receiver) -> None:
    api: Api = await api_factory(workers=1)  # type: ignore[operator]
    example = load("send_events")
    attempts = await asyncio.to_thread(example.main, api.base_url, api.admin_key, receiver.url())
    assert len(attempts) == 2 and all(a["status"] == "succeeded" for a in attempts)
    assert len(receiver.requests) == 2
