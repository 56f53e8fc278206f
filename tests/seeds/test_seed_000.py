"""Seed 000 (Cleanlist's "Receiving Webhooks" guide): a bulk enrichment whose results are cut,
the receiver's fetch of ``results_endpoint`` (pre-built from Cleanlist's own status URL),
polling, and the guide's Python receiver (400 without ``workflow_id``, 404 for an unknown one,
an idempotent 200 on a repeat) run against hookwise's deliveries.

The guide's Flask snippet runs as printed (its handler's body unchanged, on Werkzeug's server);
its database and rq queue are in-memory stand-ins with the methods it calls, and its background
job (``processCleanlistResults``, given in Node) is translated to Python.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask, jsonify, request
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hookwise.receiver import Event, Processor, Receiver, Reconciler
from hookwise.receiver.adapters.asgi import ASGIReceiver
from hookwise.receiver.job_shape import JobShape
from tests.conftest import Api, start_uvicorn
from tests.receiver.receiver_helpers import wsgi_server
from tests.seeds.shapes import shape
from tests.seeds.test_seed_001 import DOCUMENTED, PROFILE, contact

N = 20
STATUS_PATH = "/api/v1/public/enrich/status"


class Collection(dict[str, dict[str, Any]]):
    """A stand-in for the guide's document collection (``find_one``, ``insert_one``)."""

    def find_one(self, query: dict[str, Any]) -> dict[str, Any] | None:
        return self.get(query["id"])

    def insert_one(self, doc: dict[str, Any]) -> None:
        self[doc["workflow_id"]] = doc


@dataclass
class Db:
    """The receiver's own records: the workflows it submitted, its inbox, its leads."""

    workflows: Collection = field(default_factory=Collection)
    webhook_inbox: Collection = field(default_factory=Collection)
    leads: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Queue:
    """A stand-in for rq's ``Queue``: what was enqueued, for the test to run."""

    jobs: list[str] = field(default_factory=list)

    def enqueue(self, job: Callable[..., Any], workflow_id: str) -> None:
        assert job is process_cleanlist_results
        self.jobs.append(workflow_id)


def receiver_app(db: Db, queue: Queue) -> Flask:
    """The guide's Flask receiver: its handler's body is the seed's, line for line."""
    app = Flask(__name__)

    @app.post("/webhooks/cleanlist")
    def cleanlist_webhook() -> Any:
        payload = request.get_json(silent=True) or {}
        workflow_id = payload.get("workflow_id")

        if not workflow_id:
            return jsonify(error="missing workflow_id"), 400

        record = db.workflows.find_one({"id": workflow_id})
        if not record:
            return jsonify(error="unknown workflow_id"), 404

        if record.get("processed_at"):
            return "", 200  # idempotent ACK

        db.webhook_inbox.insert_one(
            {
                "workflow_id": workflow_id,
                "payload": payload,
                "received_at": datetime.utcnow(),
            }
        )

        queue.enqueue(process_cleanlist_results, workflow_id)

        return "", 200

    return app


async def process_cleanlist_results(db: Db, workflow_id: str) -> None:
    """The guide's background job: upsert the leads, fetch the rest when results were cut."""
    inbox = db.webhook_inbox[workflow_id]
    payload = inbox["payload"]
    for row in payload.get("results") or []:
        db.leads[row["task_id"]] = {"email": row["primary_email"], **row}
    if payload.get("results_truncated", 0) > 0:
        async with httpx.AsyncClient() as http:  # fetchFullResults: the pre-built URL
            workflow = (await http.get(payload["results_endpoint"])).json()["workflow"]
        for row in workflow["results"]:
            db.leads[row["task_id"]] = {"email": row["primary_email"], **row}
    db.workflows[workflow_id].update(
        processed_at=datetime.now(UTC), summary=payload["summary"], final_status=payload["status"]
    )


@dataclass
class Product:
    """Cleanlist's own API, on loopback: its status route answers from hookwise's job."""

    api: Api
    app_id: str = ""
    seen: list[str] = field(default_factory=list)

    async def status(self, request: Request) -> Response:
        self.seen.append(str(request.url))
        workflow_id = request.query_params["workflow_id"]
        got = await self.api.http.get(
            f"/v1/apps/{self.app_id}/jobs/{workflow_id}", params={"limit": 1000}
        )
        job = got.json()
        return JSONResponse(
            {"workflow": {"workflow_id": workflow_id, "status": job["status"],
                          "summary": job["summary"],
                          "results": [r["result"] for r in job["results"]]}}
        )  # fmt: skip


@asynccontextmanager
async def _serve(app: Starlette | ASGIReceiver) -> AsyncIterator[str]:
    server, task, base = await start_uvicorn(app)
    try:
        yield base
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def product(api: Api) -> AsyncIterator[tuple[Product, str]]:
    p = Product(api)
    async with _serve(Starlette(routes=[Route(STATUS_PATH, p.status)])) as base:
        yield p, base


async def test_bulk_enrichment_truncated_fetched_polled_and_received(
    api: Api, product: tuple[Product, str]
) -> None:
    fake, product_base = product
    db, queue = Db(), Queue()
    with wsgi_server(receiver_app(db, queue)) as receiver_base:
        hook = f"{receiver_base}/webhooks/cleanlist"
        template = f"{product_base}{STATUS_PATH}?workflow_id={{job_id}}"
        app = await api.app(
            results_inline_budget=1024, job_profile={**PROFILE, "results_endpoint": template}
        )
        fake.app_id = app["id"]
        jobs = f"/v1/apps/{app['id']}/jobs"

        async def submit(workflow_id: str, **body: Any) -> None:
            r = await api.http.post(
                jobs,
                json={"id": workflow_id, "type": "partial", "webhook_url": hook,
                      "webhook_retry_schedule": [], "fields": {"lead_list_id": "550e8400"},
                      **body},
            )  # fmt: skip
            assert r.status_code == 201, r.text

        async def poll(workflow_id: str) -> dict[str, Any]:
            async with httpx.AsyncClient() as http:
                r = await http.get(product_base + STATUS_PATH, params={"workflow_id": workflow_id})
            r.raise_for_status()
            return r.json().get("workflow", {})  # type: ignore[no-any-return]

        # a bulk enrichment the receiver submitted (and recorded) ---------------------------
        wid = "public_bulk_4d6f2c3a-9b1e"
        db.workflows[wid] = {"id": wid}
        await submit(wid, total=N)
        items = [{"id": f"task_{n}", "status": "succeeded", "result": contact(n)} for n in range(N)]
        reported = await api.http.post(f"{jobs}/{wid}/items", json={"items": items})
        assert reported.status_code == 200, reported.text
        assert (await poll(wid))["status"] == "running"
        finished = await api.http.post(
            f"{jobs}/{wid}/finish",
            json={"status": "completed", "summary": {"emails_found": N, "phones_found": 0}},
        )
        assert finished.status_code == 200, finished.text
        await api.drain()

        (entry,) = db.webhook_inbox.values()
        payload = entry["payload"]
        documented = {**shape(DOCUMENTED), "results_truncated": shape(0),
                      "results_endpoint": shape("")}  # fmt: skip
        assert shape(payload) == documented
        assert 0 < payload["results_truncated"] < N
        assert len(payload["results"]) + payload["results_truncated"] == N
        expected = f"{product_base}{STATUS_PATH}?workflow_id={wid}"
        assert payload["results_endpoint"] == expected

        # the background job fetches the rest from the pre-built URL, then polling agrees
        assert queue.jobs == [wid]
        await process_cleanlist_results(db, queue.jobs.pop())
        assert fake.seen[-1] == expected
        assert sorted(db.leads) == sorted(f"task_{n}" for n in range(N))
        assert db.workflows[wid]["final_status"] == "completed"
        final = await poll(wid)
        assert final["status"] in {"completed", "completed_with_errors", "failed"}
        assert len(final["results"]) == N

        # hookwise delivers it again: an idempotent 200, nothing inboxed twice
        message_id = finished.json()["message_id"]
        resend = await api.http.post(f"/v1/apps/{app['id']}/messages/{message_id}/resend")
        assert resend.status_code == 202, resend.text
        await api.drain()
        repeat = await api.attempts(app["id"], message_id=message_id)
        assert [a["response_status_code"] for a in repeat] == [200, 200]
        assert len(db.webhook_inbox) == 1 and queue.jobs == []

        # a workflow the receiver never submitted: 404
        await submit("public_bulk_unknown", total=1)
        r = await api.http.post(f"{jobs}/public_bulk_unknown/finish", json={"status": "failed"})
        assert r.status_code == 200, r.text
        await api.drain()
        (unknown,) = await api.attempts(app["id"], job_id="public_bulk_unknown")
        assert unknown["response_status_code"] == 404
        assert json.loads(unknown["response_body"]) == {"error": "unknown workflow_id"}

        # a hookwise delivery without workflow_id (an endpoint's test ping): 400
        ep = await api.endpoint(app["id"], url=hook)
        ping = await api.http.post(f"/v1/apps/{app['id']}/endpoints/{ep['id']}/test")
        assert ping.status_code == 200, ping.text
        assert ping.json()["response_status_code"] == 400
        assert json.loads(ping.json()["response_body"]) == {"error": "missing workflow_id"}
        assert len(db.webhook_inbox) == 1


async def test_hookwise_receiver_takes_every_event_fetches_the_rest_and_reconciles(
    api: Api, product: tuple[Product, str], tmp_path: Path
) -> None:
    """The same product, received with ``hookwise.receiver`` as the guide's five rules:
    ``workflow_id`` as the dedupe key (scoped, so the per-item events cannot swallow the
    completion), the truncated rest fetched from the product's status URL read with its job
    shape, and a workflow whose webhook never comes reconciled by polling that URL."""
    fake, product_base = product
    template = f"{product_base}{STATUS_PATH}?workflow_id={{job_id}}"
    app = await api.app(
        results_inline_budget=1024, job_profile={**PROFILE, "results_endpoint": template}
    )
    fake.app_id = app["id"]
    secret = (await api.http.get(f"/v1/apps/{app['id']}/job-secret")).json()["key"]
    receiver = Receiver(
        inbox=f"sqlite:///{tmp_path / 'inbox.db'}",
        secret=secret,
        dedupe_key="workflow_id",
        item_key="item.task_id",
        status_url=f"{product_base}{STATUS_PATH}?workflow_id={{id}}",
        job_shape=JobShape(
            job="workflow",
            paging="single",
            events=dict.fromkeys(["completed", "completed_with_errors"], "enrichment.completed"),
        ),
    )
    items: list[dict[str, Any]] = []
    done: list[Event] = []
    receiver.on("enrichment.item_finished")(lambda event: items.append(event.payload["item"]))
    receiver.on("enrichment.completed")(done.append)
    jobs = f"/v1/apps/{app['id']}/jobs"
    async with _serve(receiver.asgi(process=False, reconcile=False)) as receiver_base:
        wid = "public_bulk_items"
        r = await api.http.post(
            jobs,
            json={"id": wid, "type": "partial", "webhook_url": f"{receiver_base}/hooks",
                  "webhook_events": {"item_finished": True}, "webhook_retry_schedule": [],
                  "fields": {"lead_list_id": "550e8400"}},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        reported = [
            {"id": f"task_{n}", "status": "succeeded", "result": contact(n)} for n in range(N)
        ]
        assert (await api.http.post(f"{jobs}/{wid}/items", json={"items": reported})).is_success
        assert (
            await api.http.post(f"{jobs}/{wid}/finish", json={"status": "completed"})
        ).is_success
        await api.drain()
        await Processor(receiver).drain()

        assert sorted(i["task_id"] for i in items) == sorted(f"task_{n}" for n in range(N))
        (completion,) = done
        assert completion.payload["workflow_id"] == wid
        assert len(completion.payload["results"]) == N  # the cut rows fetched from the product

        # a workflow whose webhook never arrives: polled through the product's status URL
        lost = "public_bulk_lost"
        r = await api.http.post(jobs, json={"id": lost, "type": "partial"})
        assert r.status_code == 201, r.text
        await receiver.expect(lost, deadline=0)
        reconciler = Reconciler(receiver, interval=0)
        assert await reconciler.run_once() == 0  # still running
        assert (
            await api.http.post(f"{jobs}/{lost}/finish", json={"status": "completed"})
        ).is_success
        assert await reconciler.run_once() == 1
        await Processor(receiver).drain()
        assert [e.payload["status"] for e in done] == ["completed", "completed"]
    await receiver.close()
