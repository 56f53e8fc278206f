"""Re-enabling an endpoint with a large held backlog (issue 19, at reduced scale): the PATCH
answers at once, another app's ingest is not held up while the backlog is released in the
background, and every held delivery then goes out exactly once."""

from __future__ import annotations

import asyncio
import time

from hookwise.store.stepper import Stepper
from tests.conftest import Api
from tests.delivery.meanwhile import assert_unfelt, post_meanwhile
from tests.receivers import Receiver
from tests.store.backlog import hold_backlog

N = 20_000


async def test_a_large_release_answers_at_once_and_stalls_no_other_app(
    api_factory: object, receiver: Receiver
) -> None:
    api: Api = await api_factory(poll_interval_seconds=0.05)  # type: ignore[operator]
    receiver.always("/big", 200)
    receiver.always("/other", 200)
    app, other = await api.app(), await api.app(name="other")
    ep = await api.endpoint(app["id"], url=receiver.url("/big"), max_in_flight=500)
    await api.endpoint(other["id"], url=receiver.url("/other"))
    path = f"/v1/apps/{app['id']}/endpoints/{ep['id']}"
    assert (await api.http.patch(path, json={"status": "paused"})).status_code == 200
    held = await hold_backlog(api.store, app["id"], ep["id"], N)

    # the stepper alone (no workers yet): what the other app feels is the release's doing
    stop, release_over = asyncio.Event(), asyncio.Event()
    stepper = asyncio.create_task(Stepper(api.store.operations, poll_seconds=0.05).run(stop))
    before: list[float] = []
    posting = asyncio.create_task(post_meanwhile(api, other["id"], release_over, before))
    await asyncio.sleep(0.3)
    baseline, during = list(before), before
    during.clear()  # from here on: the posts during the release
    began = time.perf_counter()
    r = await api.http.patch(path, json={"status": "active"})
    patch_seconds = time.perf_counter() - began
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active"
    while (await api.store.queue.queue_stats(app["id"])).held:
        await asyncio.sleep(0.02)
    release_seconds = time.perf_counter() - began
    release_over.set()
    await posting
    stop.set()
    await stepper
    backend = api.store.url.split(":")[0]
    print(
        f"\n{backend}: PATCH {patch_seconds * 1000:.1f} ms; {N} released in"
        f" {release_seconds:.2f} s; other app's POST worst {max(baseline) * 1000:.1f} ms"
        f" before, {max(during) * 1000:.1f} ms during ({len(during)} posts)"
    )
    assert_unfelt(api, patch_seconds, during)

    # then every held delivery goes out exactly once
    api.services.start_workers(1)
    await receiver.wait_for(lambda rc: len(rc.at("/big")) >= N, timeout=120)
    await api.drain()
    got = [x.headers["webhook-id"] for x in receiver.at("/big")]
    assert len(got) == N and set(got) == set(held)
