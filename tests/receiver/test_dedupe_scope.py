"""A body-field dedupe key never swallows a different event about the same job.

With ``dedupe_key="job_id"`` and per-item events on, main stored the first
``job.item_finished`` under ``job_1`` and ACKed the job's ``job.completed`` as its duplicate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from hookwise.domain.errors import InvalidInput
from hookwise.receiver import Event, Inbox, NewItem, Processor, Receiver, State
from hookwise.receiver.job_shape import JobShape
from hookwise.receiver.keys import event_type_of, scoped_key
from tests.receiver.receiver_helpers import signed


def item_event(n: int, job_id: str = "job_1") -> dict[str, Any]:
    return {
        "event": "job.item_finished",
        "id": f"msg_item_{n}",
        "job_id": job_id,
        "type": "enrich",
        "item": {"id": f"item_{n}", "status": "failed" if n == 2 else "succeeded"},
        "progress": {"total": 3, "succeeded": n, "failed": 0},
    }


COMPLETED = {
    "event": "job.completed",
    "id": "msg_done",
    "job_id": "job_1",
    "type": "enrich",
    "status": "completed",
    "summary": {"total": 3, "succeeded": 2, "failed": 1},
    "results": [],
}


async def _post(receiver: Receiver, payload: dict[str, Any], secret: str) -> str:
    reply = await receiver.handle(*signed(payload, secret, msg_id=str(payload.get("id"))))
    assert reply.status == 200, reply.body
    return str(orjson.loads(reply.body)["status"])


async def test_item_events_and_the_completion_are_each_handled_once(
    make_inbox: Callable[[], Inbox], secret: str
) -> None:
    receiver = Receiver(inbox=make_inbox(), secret=secret, dedupe_key="job_id")
    handled: list[tuple[str, str]] = []

    @receiver.on("job.*")
    def record(event: Event) -> None:
        item = event.payload.get("item")
        handled.append((event.type, item["id"] if item else event.payload["status"]))

    answers = [await _post(receiver, item_event(n), secret) for n in (1, 2, 3)]
    answers.append(await _post(receiver, COMPLETED, secret))
    # the sender retries one item event and the completion: both are duplicates
    answers.append(await _post(receiver, item_event(2), secret))
    answers.append(await _post(receiver, COMPLETED, secret))
    assert answers == ["accepted"] * 4 + ["duplicate"] * 2
    await Processor(receiver).drain()
    assert sorted(handled) == [
        ("job.completed", "completed"),
        ("job.item_finished", "item_1"),
        ("job.item_finished", "item_2"),
        ("job.item_finished", "item_3"),
    ]
    keys = sorted(i.dedupe_key for i in await receiver.inbox.items(State.DONE))
    assert keys == [
        "job.item_finished:job_1:item_1",
        "job.item_finished:job_1:item_2",
        "job.item_finished:job_1:item_3",
        "job_1",  # the completion keeps the bare id: expectations and older inboxes use it
    ]
    await receiver.close()


async def test_an_item_event_does_not_count_as_the_jobs_arrival(
    make_inbox: Callable[[], Inbox], secret: str
) -> None:
    receiver = Receiver(inbox=make_inbox(), secret=secret, dedupe_key="job_id")
    await receiver.expect("job_1", status_url="http://127.0.0.1:9/jobs/job_1", deadline=0)
    await _post(receiver, item_event(1), secret)
    (overdue,) = await receiver.inbox.claim_overdue(10, 0)
    assert overdue.key == "job_1"
    await _post(receiver, COMPLETED, secret)
    assert await receiver.inbox.claim_overdue(10, 0) == []
    await receiver.close()


async def test_an_inbox_written_before_scoped_keys_still_gets_the_completion(
    make_inbox: Callable[[], Inbox], secret: str
) -> None:
    receiver = Receiver(inbox=make_inbox(), secret=secret, dedupe_key="job_id")
    seen: list[str] = []
    receiver.on("job.completed")(lambda event: seen.append(event.key))
    # what main stored: the first item event under the bare job id
    legacy = signed(item_event(1), secret)[0]
    assert await receiver.accept(NewItem("job_1", "job.item_finished", legacy)) is not None
    assert await _post(receiver, COMPLETED, secret) == "accepted"
    assert await _post(receiver, COMPLETED, secret) == "duplicate"
    await Processor(receiver).drain()
    assert seen == ["completion:job_1"]
    await receiver.close()


async def test_a_sender_without_event_names_is_named_by_status(
    make_inbox: Callable[[], Inbox], secret: str
) -> None:
    receiver = Receiver(inbox=make_inbox(), secret=secret, dedupe_key="task_id")
    seen: list[tuple[str, str]] = []
    receiver.on("job.completed", "job.failed")(lambda e: seen.append((e.type, e.key)))
    ok = {"task_id": "t_1", "status": "completed", "task_type": "find_email", "result": {}}
    failed = {"task_id": "t_2", "status": "failed", "task_type": "find_email", "error": "x"}
    for payload in (ok, failed, ok):
        await _post(receiver, payload, secret)
    await Processor(receiver).drain()
    assert sorted(seen) == [("job.completed", "t_1"), ("job.failed", "t_2")]
    await receiver.close()


def test_the_event_type_rule() -> None:
    seed_003 = {"task_id": "t_1", "status": "failed", "task_type": "find_email"}
    assert event_type_of(seed_003, JobShape()) == "job.failed"
    assert event_type_of(seed_003, JobShape(events={})) == "failed"
    assert event_type_of(seed_003, JobShape(), default="task.finished") == "task.finished"
    nested = {"meta": {"kind": "contact_finished"}, "type": "ignored"}
    assert event_type_of(nested, JobShape(), event_field="meta.kind") == "contact_finished"
    job = {"type": "enrich", "status": "completed"}  # a polled job's type is its kind of work
    assert event_type_of(job, JobShape(), polled=True) == "job.completed"
    assert event_type_of({"type": "invoice.paid"}, JobShape()) == "invoice.paid"
    assert event_type_of({}, JobShape()) == ""


def test_the_scoped_key_rule() -> None:
    assert scoped_key("wf_1", "enrichment.completed", None, completion=True) == "wf_1"
    assert scoped_key("wf_1", "contact_finished", "c_9", completion=False) == (
        "contact_finished:wf_1:c_9"
    )
    assert scoped_key("wf_1", "order.paid", None, completion=False) == "order.paid:wf_1"


def test_completions_are_told_by_name_or_by_terminal_status() -> None:
    shape = JobShape(events={"completed": "enrichment.completed"})
    assert shape.is_completion("enrichment.completed", {})
    assert shape.is_completion("", {"status": "completed_with_errors"})
    assert not shape.is_completion("job.item_finished", {"item": {"status": "failed"}})


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"paging": "pages"}, "job_shape.paging"),
        ({"terminal": "done"}, "job_shape.terminal"),
        ({"terminal": []}, "job_shape.terminal"),
        ({"status": ""}, "job_shape.status"),
        ({"job": "a..b"}, "job_shape.job"),
        ({"results": "a.b"}, "job_shape.results"),
        ({"events": {"completed": 3}}, "job_shape.events"),
        ({"statuses": ["done"]}, "job_shape.statuses"),
    ],
)
def test_a_bad_shape_names_its_field(spec: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        JobShape.parse(spec)
    assert caught.value.details["field"] == field
