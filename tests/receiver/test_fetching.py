"""Truncated results are fetched in full; overdue expected jobs are reconciled by polling, once.

The sender's API is a third-party server here: a small aiohttp app on loopback.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from hookwise.receiver import (
    Event,
    Inbox,
    Processor,
    Receiver,
    ReceiverService,
    Reconciler,
    State,
)
from tests.receiver.receiver_helpers import Http, serve_aiohttp, signed, wait_until

API_KEY = "hwk_test_key"
ROWS = [{"id": f"item_{n:02d}", "status": "succeeded", "result": {"n": n}} for n in range(23)]
PAGE = 7


@dataclass
class FakeApi:
    """The sender's API: a paged results endpoint and a job status URL."""

    base: str = ""
    hits: dict[str, int] = field(default_factory=dict)
    fail_results_once: bool = False
    running_polls: int = 2

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/apps/app_1/jobs/{job}/results", self.results)
        app.router.add_get("/v1/apps/app_1/jobs/{job}", self.job)
        return app

    def _count(self, request: web.Request) -> None:
        self.hits[request.path] = self.hits.get(request.path, 0) + 1

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {API_KEY}"

    async def results(self, request: web.Request) -> web.Response:
        self._count(request)
        if not self._authorized(request):
            return web.json_response({"error": {"code": "unauthorized"}}, status=401)
        if self.fail_results_once:
            self.fail_results_once = False
            return web.json_response({"error": {"code": "unavailable"}}, status=503)
        start = int(request.query.get("cursor", "0"))
        end = start + PAGE
        next_cursor = str(end) if end < len(ROWS) else None
        return web.json_response({"data": ROWS[start:end], "next_cursor": next_cursor})

    async def job(self, request: web.Request) -> web.Response:
        self._count(request)
        if not self._authorized(request):
            return web.json_response({"error": {"code": "unauthorized"}}, status=401)
        job_id = request.match_info["job"]
        if self.hits[request.path] <= self.running_polls:
            return web.json_response({"id": job_id, "status": "running"})
        summary = {"total": 3, "succeeded": 3, "failed": 0}
        return web.json_response(
            {
                "id": job_id,
                "job_id": job_id,
                "status": "completed",
                "summary": summary,
                "results": ROWS[:3],
            }
        )


@pytest.fixture
async def api() -> AsyncIterator[FakeApi]:
    fake = FakeApi()
    async with serve_aiohttp(fake.app()) as fake.base:
        yield fake


def truncated_job(api: FakeApi, job_id: str = "job_1") -> dict[str, Any]:
    return {
        "event": "job.completed",
        "job_id": job_id,
        "status": "completed",
        "results": ROWS[:5],
        "results_truncated": len(ROWS) - 5,
        "results_endpoint": f"{api.base}/v1/apps/app_1/jobs/{job_id}/results",
    }


async def test_a_truncated_payload_reaches_the_handler_with_all_results(
    make_inbox: Callable[[], Inbox], secret: str, api: FakeApi
) -> None:
    api.fail_results_once = True  # the first fetch fails: the item is retried
    receiver = Receiver(
        inbox=make_inbox(),
        secret=secret,
        api_key=API_KEY,
        api_base_url=api.base,
        retry_schedule=(0.01, 0.01),
    )
    seen: list[dict[str, Any]] = []

    @receiver.on("job.completed")
    async def completed(event: Event) -> None:
        seen.append(event.payload)

    async with ReceiverService(receiver, port=0) as service, Http() as http:
        body, headers = signed(truncated_job(api), secret)
        answer = await http.post(service.url, body, headers)
        assert answer.status == 200
        await wait_until(lambda: len(seen) == 1, what="the handler to run")
    (payload,) = seen
    assert payload["results"] == ROWS and payload["results_truncated"] == 0
    assert api.hits["/v1/apps/app_1/jobs/job_1/results"] == 1 + 4  # one 503, then 4 pages


@pytest.mark.parametrize(
    ("endpoint", "key", "error"),
    [
        ("http://127.0.0.2:9/v1/apps/app_1/jobs/job_1/results", API_KEY, "refusing"),
        (None, "hwk_wrong", "answered 401"),
    ],
)
async def test_results_are_not_fetched_with_a_leaked_or_wrong_key(
    make_inbox: Callable[[], Inbox],
    secret: str,
    api: FakeApi,
    endpoint: str | None,
    key: str,
    error: str,
) -> None:
    receiver = Receiver(
        inbox=make_inbox(), secret=secret, api_key=key, api_base_url=api.base, retry_schedule=()
    )
    payload = truncated_job(api)
    payload["results_endpoint"] = endpoint or payload["results_endpoint"]
    reply = await receiver.handle(*signed(payload, secret))
    assert reply.status == 200
    await Processor(receiver).drain()
    (dead,) = await receiver.inbox.items(State.DEAD)
    assert "ResultsFetchError" in str(dead.last_error) and error in str(dead.last_error)
    await receiver.close()


async def test_relative_results_endpoints_resolve_against_the_api_base(
    make_inbox: Callable[[], Inbox], secret: str, api: FakeApi
) -> None:
    receiver = Receiver(inbox=make_inbox(), secret=secret, api_key=API_KEY, api_base_url=api.base)
    seen: list[int] = []
    receiver.on("*")(lambda event: seen.append(len(event.payload["results"])))
    payload = truncated_job(api)
    payload["results_endpoint"] = "/v1/apps/app_1/jobs/job_1/results"
    await receiver.handle(*signed(payload, secret))
    await Processor(receiver).drain()
    assert seen == [len(ROWS)]
    await receiver.close()


async def test_an_overdue_job_is_reconciled_by_polling_exactly_once(
    make_inbox: Callable[[], Inbox], secret: str, api: FakeApi
) -> None:
    receiver = Receiver(
        inbox=make_inbox(),
        secret=secret,
        dedupe_key="job_id",
        api_key=API_KEY,
        api_base_url=api.base,
    )
    seen: list[Event] = []
    receiver.on("job.completed")(seen.append)
    status_url = f"{api.base}/v1/apps/app_1/jobs/job_2"
    await receiver.expect("job_2", status_url=status_url, deadline=0)
    reconciler = Reconciler(receiver, interval=0)
    assert [await reconciler.run_once() for _ in range(4)] == [0, 0, 1, 0]  # running, running, done
    assert api.hits["/v1/apps/app_1/jobs/job_2"] == 3
    expectation = await receiver.inbox.expectation("job_2")
    assert expectation is not None and expectation.resolved_at is not None
    assert expectation.polls == 3

    # The webhook arrives late: same dedupe key, so it is a duplicate.
    late = {"event": "job.completed", "job_id": "job_2", "status": "completed"}
    reply = await receiver.handle(*signed(late, secret))
    assert reply.status == 200 and b"duplicate" in reply.body
    await Processor(receiver).drain()
    (event,) = seen
    assert (event.key, event.source, event.type) == ("job_2", "poll", "job.completed")
    assert event.payload["status"] == "completed" and event.payload["results"] == ROWS[:3]
    assert event.headers["hookwise-status-url"] == status_url
    await receiver.close()


async def test_a_job_whose_webhook_came_is_never_polled(
    make_inbox: Callable[[], Inbox], secret: str, api: FakeApi
) -> None:
    receiver = Receiver(inbox=make_inbox(), secret=secret, dedupe_key="job_id", api_key=API_KEY)
    await receiver.expect("job_3", status_url=f"{api.base}/v1/apps/app_1/jobs/job_3", deadline=0)
    reply = await receiver.handle(*signed({"event": "job.completed", "job_id": "job_3"}, secret))
    assert reply.status == 200
    assert await Reconciler(receiver, interval=0).run_once() == 0
    assert api.hits == {}
    await receiver.close()


async def test_racing_reconcilers_poll_once(
    make_inbox: Callable[[], Inbox], secret: str, api: FakeApi
) -> None:
    api.running_polls = 0
    first = Receiver(inbox=make_inbox(), secret=secret, dedupe_key="job_id", api_key=API_KEY)
    second = Receiver(inbox=make_inbox(), secret=secret, dedupe_key="job_id", api_key=API_KEY)
    await first.expect("job_4", status_url=f"{api.base}/v1/apps/app_1/jobs/job_4", deadline=0)
    await second.open()
    fed = await asyncio.gather(Reconciler(first).run_once(), Reconciler(second).run_once())
    assert sum(fed) == 1 and api.hits["/v1/apps/app_1/jobs/job_4"] == 1
    assert (await first.inbox.counts())[State.RECEIVED] == 1
    await first.close()
    await second.close()


async def test_the_service_reconciles_in_the_background(
    make_inbox: Callable[[], Inbox], secret: str, api: FakeApi
) -> None:
    api.running_polls = 0
    receiver = Receiver(inbox=make_inbox(), secret=secret, dedupe_key="job_id", api_key=API_KEY)
    seen: list[str] = []
    receiver.on("job.completed")(lambda event: seen.append(event.key))
    async with ReceiverService(receiver, port=0):
        await receiver.expect(
            "job_5", status_url=f"{api.base}/v1/apps/app_1/jobs/job_5", deadline=0
        )
        await wait_until(lambda: seen == ["job_5"], what="the polled result processed")
