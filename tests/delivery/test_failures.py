"""Each kind of failure gives the documented attempt record and next step."""

from __future__ import annotations

import socket
import time
from typing import Any

from tests.conftest import Api
from tests.receivers import Receiver

Row = dict[str, Any]


async def _one_attempt(api: Api, url: str, **ep: object) -> tuple[Row, Row, Row]:
    app = await api.app()
    endpoint = await api.endpoint(app["id"], url=url, **ep)
    msg = await api.send(app["id"])
    await api.services.worker.drain(timeout=30, include_scheduled=False)
    (attempt,) = await api.attempts(app["id"], message_id=msg["id"])
    r = await api.http.get(f"/v1/apps/{app['id']}/deliveries", params={"message_id": msg["id"]})
    (delivery,) = r.json()["data"]
    r = await api.http.get(f"/v1/apps/{app['id']}/endpoints/{endpoint['id']}")
    return attempt, delivery, r.json()


async def test_timeout_is_a_failed_attempt_then_retried(api: Api, receiver: Receiver) -> None:
    receiver.always("/slow", 200, delay=3)
    attempt, delivery, _ = await _one_attempt(
        api, receiver.url("/slow"), timeout_seconds=0.3, retry_schedule=[30]
    )
    assert attempt["status"] == "failed"
    assert attempt["response_status_code"] is None
    assert attempt["error_message"] == "timed out after 0.3 s"
    assert 250 <= attempt["duration_ms"] < 2500
    assert delivery["status"] == "pending"
    assert delivery["next_attempt_at"] is not None


async def test_answer_holding_nul_characters_is_recorded(api: Api, receiver: Receiver) -> None:
    """Receivers may answer any bytes; PostgreSQL's text type refuses NUL, and one such answer
    must not fail the record of its whole batch (the worker would retry it forever)."""
    receiver.bodies["/nul"] = b"ok\x00done \xff"
    attempt, delivery, _ = await _one_attempt(api, receiver.url("/nul"), retry_schedule=[])
    assert attempt["status"] == "succeeded"
    assert attempt["response_body"] == "ok\ufffddone \ufffd"
    assert delivery["status"] == "succeeded"


async def test_refused_connection(api: Api) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    attempt, delivery, _ = await _one_attempt(
        api, f"http://127.0.0.1:{port}/hook", retry_schedule=[]
    )
    assert attempt["status"] == "failed"
    assert attempt["error_message"].startswith("connection failed")
    assert delivery["status"] == "failed"  # no retries in the schedule


async def test_unknown_host(api: Api) -> None:
    attempt, delivery, _ = await _one_attempt(
        api, "http://no-such-host.invalid/hook", retry_schedule=[60]
    )
    assert attempt["status"] == "failed"
    assert attempt["error_message"].startswith(("DNS failure", "connection failed"))
    assert delivery["status"] == "pending"


async def test_redirect_is_not_followed(api: Api, receiver: Receiver) -> None:
    receiver.always("/moved", 301)
    attempt, delivery, _ = await _one_attempt(api, receiver.url("/moved"), retry_schedule=[])
    assert attempt["status"] == "failed"
    assert attempt["response_status_code"] == 301
    assert "redirect" in attempt["error_message"] and "not followed" in attempt["error_message"]
    assert len(receiver.requests) == 1  # the Location was not visited
    assert delivery["status"] == "failed"


async def test_410_pauses_the_endpoint_at_once(api: Api, receiver: Receiver) -> None:
    receiver.always("/gone", 410)
    attempt, delivery, endpoint = await _one_attempt(api, receiver.url("/gone"))
    assert attempt["response_status_code"] == 410
    assert endpoint["status"] == "paused"
    assert "410" in endpoint["paused_reason"]
    assert delivery["status"] == "held"


async def test_429_retry_after_is_honoured(api: Api, receiver: Receiver) -> None:
    receiver.answer("/busy", 429, headers={"Retry-After": "7"})
    before = time.time()
    attempt, delivery, _ = await _one_attempt(api, receiver.url("/busy"), retry_schedule=[1])
    assert attempt["response_status_code"] == 429
    assert delivery["status"] == "pending"
    r = await api.http.get(f"/v1/apps/{delivery['app_id']}/deliveries/{delivery['id']}")
    from datetime import datetime

    next_at = datetime.fromisoformat(r.json()["next_attempt_at"].replace("Z", "+00:00"))
    wait = next_at.timestamp() - before
    assert 6.5 <= wait <= 9, wait  # Retry-After 7 s beats the schedule's 1 s


async def test_retry_after_is_capped(api_factory: object, receiver: Receiver) -> None:
    api: Api = await api_factory(retry_after_cap_seconds=2)  # type: ignore[operator]
    receiver.answer("/busy", 503, headers={"Retry-After": "86400"})
    before = time.time()
    _, delivery, _ = await _one_attempt(api, receiver.url("/busy"), retry_schedule=[1])
    from datetime import datetime

    next_at = datetime.fromisoformat(delivery["next_attempt_at"].replace("Z", "+00:00"))
    assert next_at.timestamp() - before < 4


async def test_connect_time_guard_stops_rebinding(api_factory: object, receiver: Receiver) -> None:
    """A URL that passed the creation check but now resolves to loopback is not connected to."""
    from hookwise.domain.models import NewEndpoint

    api: Api = await api_factory(allow_networks="")  # type: ignore[operator]
    app = await api.app()
    # written straight to the store, as if the name resolved elsewhere at creation time
    await api.store.resources.create_endpoint(NewEndpoint(
        app_id=app["id"], url=f"http://localhost:{receiver.port}/hook", secret="s" * 16,
        retry_schedule=(),
    ))  # fmt: skip
    literal = await api.store.resources.create_endpoint(NewEndpoint(
        app_id=app["id"], url=f"http://127.0.0.1:{receiver.port}/hook", secret="s" * 16,
        retry_schedule=(),
    ))  # fmt: skip
    msg = await api.send(app["id"])
    await api.drain()
    assert receiver.requests == []
    attempts = await api.attempts(app["id"], message_id=msg["id"])
    assert len(attempts) == 2
    assert all("SSRF guard" in a["error_message"] for a in attempts), attempts
    assert {a["endpoint_id"] for a in attempts} >= {literal.id}
