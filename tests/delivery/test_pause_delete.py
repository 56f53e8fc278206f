"""Pausing and deleting an endpoint with a large pending backlog (issue 19, at reduced scale):
the PATCH and the DELETE answer at once, another app's ingest is not held up while the backlog
is held or canceled in the background, nothing of the paused endpoint is sent after the PATCH
answers (its deliveries go out exactly once when it is re-enabled), and nothing of the deleted
one is ever sent."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from hookwise.domain.models import DeliveryFilter
from hookwise.store.stepper import Stepper
from tests.conftest import Api
from tests.delivery.meanwhile import assert_unfelt, post_meanwhile
from tests.receivers import Receiver
from tests.store.backlog import hold_backlog

N = 20_000


async def _while_stepped(
    api: Api, other_app: str, call: Callable[[], Awaitable[httpx.Response]], settled: Any
) -> tuple[float, list[float]]:
    """Make ``call`` while another app posts and a stepper runs, until ``settled()`` holds;
    the call's seconds and the other app's POST times from the call on."""
    stop, over = asyncio.Event(), asyncio.Event()
    stepper = asyncio.create_task(Stepper(api.store.operations, poll_seconds=0.05).run(stop))
    took: list[float] = []
    posting = asyncio.create_task(post_meanwhile(api, other_app, over, took))
    await asyncio.sleep(0.2)
    took.clear()
    began = time.perf_counter()
    r = await call()
    seconds = time.perf_counter() - began
    assert r.status_code in (200, 204), r.text
    # a worker drains what it can claim: none of the endpoint's deliveries, still pending
    # by thousands (the stepper has just begun), and the drain ends (nothing seems due)
    await api.drain()
    deadline = time.monotonic() + 60
    while not await settled():
        assert time.monotonic() < deadline, "the operation did not finish"
        await asyncio.sleep(0.02)
    over.set()
    await posting
    stop.set()
    await stepper
    return seconds, took


def _check(api: Api, what: str, seconds: float, took: list[float]) -> None:
    backend = api.store.url.split(":")[0]
    print(
        f"\n{backend}: {what} of {N} pending answered in {seconds * 1000:.1f} ms; other app's"
        f" POST worst {max(took) * 1000:.1f} ms ({len(took)} posts)"
    )
    assert_unfelt(api, seconds, took)


async def _pending(api: Api, receiver: Receiver) -> tuple[dict[str, Any], str, str]:
    receiver.always("/big", 200)
    receiver.always("/other", 200)
    app, other = await api.app(), await api.app(name="other")
    ep = await api.endpoint(app["id"], url=receiver.url("/big"), max_in_flight=500)
    await api.endpoint(other["id"], url=receiver.url("/other"))
    await hold_backlog(api.store, app["id"], ep["id"], N, status="pending")
    return app, ep["id"], other["id"]


async def test_a_large_pause_answers_at_once_and_nothing_is_sent_after(
    api_factory: object, receiver: Receiver
) -> None:
    api: Api = await api_factory(poll_interval_seconds=0.05)  # type: ignore[operator]
    app, ep_id, other = await _pending(api, receiver)
    path = f"/v1/apps/{app['id']}/endpoints/{ep_id}"

    async def held() -> bool:
        return bool((await api.store.queue.queue_stats(app["id"])).held == N)

    seconds, took = await _while_stepped(
        api, other, lambda: api.http.patch(path, json={"status": "paused"}), held
    )
    _check(api, "PATCH paused", seconds, took)
    assert receiver.at("/big") == []  # nothing of the paused endpoint went out

    # re-enabled, every delivery goes out exactly once
    assert (await api.http.patch(path, json={"status": "active"})).status_code == 200
    api.services.start_workers(1)
    await receiver.wait_for(lambda rc: len(rc.at("/big")) >= N, timeout=120)
    await api.drain()
    got = [x.headers["webhook-id"] for x in receiver.at("/big")]
    assert len(got) == N and len(set(got)) == N


async def test_a_large_delete_answers_at_once_and_nothing_is_ever_sent(
    api_factory: object, receiver: Receiver
) -> None:
    api: Api = await api_factory(poll_interval_seconds=0.05)  # type: ignore[operator]
    app, ep_id, other = await _pending(api, receiver)

    async def canceled() -> bool:  # (the app's queue counts stop at the delete: no endpoint)
        for status in ("pending", "held"):
            f = DeliveryFilter(endpoint_id=ep_id, status=status)
            if (await api.store.messages.list_deliveries(app["id"], f, limit=1, cursor=None)).data:
                return False
        return True

    seconds, took = await _while_stepped(
        api,
        other,
        lambda: api.http.delete(f"/v1/apps/{app['id']}/endpoints/{ep_id}"),
        canceled,
    )
    _check(api, "DELETE", seconds, took)
    r = await api.http.get(f"/v1/apps/{app['id']}/deliveries", params={"status": "canceled"})
    assert len(r.json()["data"]) == 50  # a page of them
    api.services.start_workers(1)
    await api.drain()
    assert receiver.at("/big") == []
