"""An endpoint's ``max_in_flight`` bounds the requests open at its URL, across workers.

Its room opens as each answer arrives (the worker tells the store which of its leased
deliveries are finished but not yet recorded), never before.
"""

from __future__ import annotations

from tests.conftest import Api
from tests.receivers import Receiver

N = 120
CAP = 4


async def test_requests_open_at_once_never_exceed_max_in_flight(
    api_factory: object, receiver: Receiver
) -> None:
    api: Api = await api_factory(workers=2, worker_concurrency=64)  # type: ignore[operator]
    receiver.always("/capped", 200, delay=0.02)
    app = await api.app()
    ep = await api.endpoint(app["id"], url=receiver.url("/capped"), max_in_flight=CAP)
    await api.held_backlog(app["id"], ep["id"], N)
    await receiver.wait_for(lambda r: len(r.at("/capped")) >= N, timeout=30)
    assert receiver.peak["/capped"] == CAP  # reached, never exceeded
    assert len({r.headers["webhook-id"] for r in receiver.at("/capped")}) == N
