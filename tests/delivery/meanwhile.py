"""Another app's ingest while a bulk change runs: what it feels is the change's doing."""

from __future__ import annotations

import asyncio
import time

from tests.conftest import Api


async def post_meanwhile(api: Api, app_id: str, stop: asyncio.Event, took: list[float]) -> None:
    """POST to ``app_id`` every few milliseconds until ``stop``; each POST's seconds in
    ``took``."""
    while not stop.is_set():
        began = time.perf_counter()
        await api.send(app_id, payload={"other": True})
        took.append(time.perf_counter() - began)
        await asyncio.sleep(0.005)


def assert_unfelt(api: Api, call_seconds: float, took: list[float]) -> None:
    """The call that started a bulk change answered at once, and the other app's POSTs
    meanwhile (``took``: enough of them to tell) were not held up by the change."""
    assert call_seconds < 0.2
    assert len(took) >= 10
    # asserted where all writes share one writer; PostgreSQL's figure is printed (its bound
    # is noisy on a small shared machine, and there the apps never share a lock)
    if api.store.url.startswith("sqlite"):
        assert max(took) < 0.1
