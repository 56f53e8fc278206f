"""The truncation fetch and the reconciler work with any sender's API, not only hookwise's.

Two real loopback APIs answer like the seeds': seed 000/001's
``GET /api/v1/public/enrich/status?workflow_id=`` (``{"workflow": {…}}``) and seed 003's
``GET /job-status/{task_id}`` (the task object, ``result`` or ``error``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from hookwise.domain.errors import InvalidInput
from hookwise.receiver import Event, Inbox, Processor, Receiver, Reconciler
from hookwise.receiver.job_shape import JobShape, JobState, fill, status_url_template
from tests.receiver.receiver_helpers import serve_aiohttp, signed

API_KEY = "clapi_test_key"
LEADS = [{"task_id": f"task_{n}", "primary_email": f"p{n}@acme.com"} for n in range(12)]
ENRICHMENT = JobShape(
    job="workflow",
    paging="single",
    events={s: "enrichment.completed" for s in ("completed", "completed_with_errors", "failed")},
)


@dataclass
class SeedApis:
    """Seed 001's workflow status and seed 003's job status, on one loopback server."""

    base: str = ""
    running_polls: int = 1
    hits: dict[str, int] = field(default_factory=dict)
    task_status: str = "completed"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v1/public/enrich/status", self.workflow)
        app.router.add_get("/job-status/{task_id}", self.task)
        return app

    def _hit(self, key: str) -> int:
        self.hits[key] = self.hits.get(key, 0) + 1
        return self.hits[key]

    async def workflow(self, request: web.Request) -> web.Response:
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return web.json_response({"detail": "unauthorized"}, status=401)
        workflow_id = request.query["workflow_id"]
        done = self._hit(workflow_id) > self.running_polls
        workflow: dict[str, Any] = {"workflow_id": workflow_id, "status": "running"}
        if done:
            summary = {"total": len(LEADS), "successful": len(LEADS), "failed": 0}
            workflow |= {"status": "completed", "summary": summary, "results": LEADS}
        return web.json_response({"workflow": workflow})

    async def task(self, request: web.Request) -> web.Response:
        task_id = request.match_info["task_id"]
        task: dict[str, Any] = {"task_id": task_id, "task_type": "find_email_bulk"}
        if self._hit(task_id) <= self.running_polls:
            return web.json_response(task | {"status": "processing"})
        if self.task_status == "failed":
            return web.json_response(task | {"status": "failed", "error": "out of credits"})
        return web.json_response(task | {"status": "completed", "result": LEADS})


@pytest.fixture
async def apis() -> AsyncIterator[SeedApis]:
    fake = SeedApis()
    async with serve_aiohttp(fake.app()) as fake.base:
        yield fake


def enrichment_receiver(inbox: Inbox, secret: str, apis: SeedApis) -> Receiver:
    return Receiver(
        inbox=inbox,
        secret=secret,
        dedupe_key="workflow_id",
        api_key=API_KEY,
        status_url=f"{apis.base}/api/v1/public/enrich/status?workflow_id={{id}}",
        job_shape=ENRICHMENT,
    )


def completed_webhook(apis: SeedApis, workflow_id: str, *, endpoint: bool) -> dict[str, Any]:
    """Seed 001's completion payload, with only the first 2 rows inline."""
    payload: dict[str, Any] = {
        "event": "enrichment.completed",
        "workflow_id": workflow_id,
        "lead_list_id": "550e8400",
        "enrichment_type": "partial",
        "status": "completed",
        "summary": {"total": len(LEADS), "successful": len(LEADS), "failed": 0},
        "results": LEADS[:2],
        "results_truncated": len(LEADS) - 2,
        "completed_at": "2026-04-06T15:00:42Z",
    }
    if endpoint:
        url = f"{apis.base}/api/v1/public/enrich/status?workflow_id={workflow_id}"
        payload["results_endpoint"] = url
    return payload


@pytest.mark.parametrize("endpoint", [True, False], ids=["results_endpoint", "template"])
async def test_a_truncated_enrichment_is_finished_from_the_status_endpoint(
    make_inbox: Callable[[], Inbox], secret: str, apis: SeedApis, endpoint: bool
) -> None:
    apis.running_polls = 0
    receiver = enrichment_receiver(make_inbox(), secret, apis)
    seen: list[dict[str, Any]] = []
    receiver.on("enrichment.completed")(lambda event: seen.append(event.payload))
    reply = await receiver.handle(
        *signed(completed_webhook(apis, "wf_1", endpoint=endpoint), secret)
    )
    assert reply.status == 200
    await Processor(receiver).drain()
    (payload,) = seen
    assert payload["results"] == LEADS and payload["results_truncated"] == 0
    assert payload["lead_list_id"] == "550e8400" and apis.hits == {"wf_1": 1}
    await receiver.close()


async def test_an_overdue_enrichment_is_reconciled_through_its_status_url(
    make_inbox: Callable[[], Inbox], secret: str, apis: SeedApis
) -> None:
    receiver = enrichment_receiver(make_inbox(), secret, apis)
    seen: list[Event] = []
    receiver.on("enrichment.completed")(seen.append)
    await receiver.expect("wf_2", deadline=0)  # the status URL comes from the template
    reconciler = Reconciler(receiver, interval=0)
    assert [await reconciler.run_once() for _ in range(3)] == [0, 1, 0]  # running, then done
    # the webhook comes late: the polled completion already holds its key
    late = completed_webhook(apis, "wf_2", endpoint=False)
    reply = await receiver.handle(*signed(late, secret))
    assert b"duplicate" in reply.body
    await Processor(receiver).drain()
    (event,) = seen
    assert (event.key, event.source, event.type) == ("wf_2", "poll", "enrichment.completed")
    assert event.payload["status"] == "completed" and event.payload["results"] == LEADS
    assert event.headers["hookwise-status-url"].endswith("/enrich/status?workflow_id=wf_2")
    await receiver.close()


def read_task(answer: Any) -> JobState:
    """Seed 003's answer, read by a function instead of a JobShape."""
    status = answer["status"]
    return JobState(
        finished=status in {"completed", "failed"},
        status=status,
        job=answer,
        results=answer.get("result"),
    )


TASK_SHAPES: dict[str, Any] = {
    "declarative": {"paging": "single", "results": "result", "terminal": ["completed", "failed"]},
    "callable": read_task,
}


def task_receiver(
    inbox: Inbox, secret: str, apis: SeedApis, shape: str, default_event_type: str | None = None
) -> Receiver:
    """A receiver of seed 003's task webhooks, reading its ``/job-status/{task_id}``."""
    return Receiver(
        inbox=inbox,
        secret=secret,
        dedupe_key="task_id",
        status_url=f"{apis.base}/job-status/{{id}}",
        job_shape=TASK_SHAPES[shape],
        default_event_type=default_event_type,
    )


@pytest.mark.parametrize("shape", TASK_SHAPES)
async def test_an_overdue_task_is_reconciled_through_job_status(
    make_inbox: Callable[[], Inbox], secret: str, apis: SeedApis, shape: str
) -> None:
    apis.task_status = "failed"
    receiver = task_receiver(make_inbox(), secret, apis, shape)
    seen: list[Event] = []
    receiver.on("job.failed")(seen.append)
    task_id = "task 7?x=1"  # quoted into the path: the template runs nothing
    await receiver.expect(task_id, deadline=0)
    reconciler = Reconciler(receiver, interval=0)
    assert [await reconciler.run_once() for _ in range(3)] == [0, 1, 0]
    assert apis.hits == {task_id: 2}
    webhook = {"task_id": task_id, "status": "failed", "task_type": "find_email_bulk", "error": "x"}
    assert b"duplicate" in (await receiver.handle(*signed(webhook, secret))).body
    await Processor(receiver).drain()
    (event,) = seen
    assert (event.key, event.source, event.payload["error"]) == (task_id, "poll", "out of credits")
    await receiver.close()


@pytest.mark.parametrize("shape", TASK_SHAPES)
async def test_a_truncated_bulk_task_is_finished_from_job_status(
    make_inbox: Callable[[], Inbox], secret: str, apis: SeedApis, shape: str
) -> None:
    apis.running_polls = 0
    receiver = task_receiver(make_inbox(), secret, apis, shape, "task.finished")
    seen: list[Event] = []
    receiver.on("task.finished")(seen.append)
    webhook = {
        "task_id": "bulk_1",
        "status": "completed",
        "task_type": "find_email_bulk",
        "result": LEADS[:3],
        "results_truncated": len(LEADS) - 3,
    }
    assert b"accepted" in (await receiver.handle(*signed(webhook, secret))).body
    await Processor(receiver).drain()
    (event,) = seen
    # the rows go to the shape's results field; a callable's to "results"
    field = "results" if shape == "callable" else "result"
    assert event.key == "bulk_1" and event.payload[field] == LEADS
    await receiver.close()


def test_a_status_url_template_holds_only_the_id() -> None:
    assert status_url_template("https://api.example.com/job-status/{id}")
    for bad in ("https://x/jobs", "https://x/{id}/{other}", "https://x/{id.__class__}", "{0}{id}"):
        with pytest.raises(InvalidInput) as caught:
            status_url_template(bad)
        assert caught.value.field == "status_url"
    assert (
        fill("https://x/s?workflow_id={id}", "wf 1&a=/b")
        == "https://x/s?workflow_id=wf%201%26a%3D%2Fb"
    )


def test_a_receiver_refuses_a_bad_template(tmp_path: Any) -> None:
    with pytest.raises(InvalidInput):
        Receiver(inbox=f"sqlite:///{tmp_path}/a.db", secret="s", status_url="https://x/{job}")
