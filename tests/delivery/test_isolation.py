"""A dead endpoint never slows deliveries to healthy ones (the exact figure is in bench/)."""

from __future__ import annotations

import time

from tests.conftest import Api
from tests.receivers import Receiver

N_HEALTHY = 10
PER_ENDPOINT = 20


async def _healthy_time(api: Api, receiver: Receiver, app_id: str, tag: str) -> float:
    t0 = time.monotonic()
    for i in range(PER_ENDPOINT):
        await api.send(app_id, "order.created", payload={"i": i, "run": tag})
    await receiver.wait_for(
        lambda r: (
            sum(1 for x in r.requests if x.path.startswith(f"/ok-{tag}"))
            >= N_HEALTHY * PER_ENDPOINT
        ),
        timeout=30,
    )
    return time.monotonic() - t0


async def test_dead_endpoint_does_not_slow_healthy_ones(
    api_factory: object, receiver: Receiver
) -> None:
    api: Api = await api_factory(workers=1, worker_concurrency=64)  # type: ignore[operator]
    app = await api.app()
    for i in range(N_HEALTHY):
        await api.endpoint(app["id"], url=receiver.url(f"/ok-a{i}"), events=["order.created"])
    baseline = await _healthy_time(api, receiver, app["id"], "a")

    app2 = await api.app()
    receiver.always("/dead", 200, delay=60)
    await api.endpoint(
        app2["id"],
        url=receiver.url("/dead"),
        events=["order.created"],
        timeout_seconds=10,
        max_in_flight=8,
    )
    for i in range(N_HEALTHY):
        await api.endpoint(app2["id"], url=receiver.url(f"/ok-b{i}"), events=["order.created"])
    # the dead endpoint first gets a backlog of its own, all stuck in flight
    for i in range(50):
        await api.send(app2["id"], "order.created", payload={"warmup": i})
    await receiver.wait_for(lambda r: len(r.at("/dead")) >= 8, timeout=10)
    with_dead = await _healthy_time(api, receiver, app2["id"], "b")
    assert len(receiver.at("/dead")) == 8  # capped at its max_in_flight, not hogging the worker
    # generous bound: the healthy rate may not drop by more than half plus scheduling noise
    assert with_dead <= baseline * 2 + 1.0, (baseline, with_dead)
