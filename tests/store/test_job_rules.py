"""The job rules, without a database: target identity, conflicts, counts and progress, which
endpoints a job event goes to, and the job secret's answer."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from hookwise.domain.errors import Conflict, NotFound
from hookwise.domain.models import Job, JobItem, NewJob
from hookwise.store.rules import jobs as rules
from hookwise.store.rules import messages

T0 = datetime(2026, 1, 1, tzinfo=UTC)
URL = "https://example.com/hook"


def _job(**changes: Any) -> Job:
    job = Job(
        id="j", app_id="app_1", type="t", status="running", total=None, webhook_url=None,
        webhook_endpoint_id=None, item_events=True, custom={"c": "1"}, metadata={},
        summary=None, succeeded=0, failed=0, created_at=T0, updated_at=T0, completed_at=None,
    )  # fmt: skip
    return dataclasses.replace(job, **changes)


def _items(*statuses: str) -> list[JobItem]:
    return [JobItem(f"i{n}", s) for n, s in enumerate(statuses)]  # type: ignore[arg-type]


def test_a_target_is_one_per_url_schedule_and_timeout() -> None:
    assert rules.target_of(NewJob(app_id="a", id="j", type="t")) is None
    base = NewJob(app_id="a", id="j", type="t", webhook_url=URL)
    same = dataclasses.replace(base, id="other", webhook_timeout_seconds=10)
    assert rules.target_of(base) == rules.target_of(same)
    assert rules.target_of(base) == rules.Target(URL, "[1,2,4,8,16]", 10.0)
    for changed in (
        dataclasses.replace(base, webhook_url=URL + "2"),
        dataclasses.replace(base, webhook_retry_schedule=()),
        dataclasses.replace(base, webhook_timeout_seconds=3),
    ):
        assert rules.target_of(changed) != rules.target_of(base)


def test_only_a_running_job_takes_items_or_a_finish() -> None:
    with pytest.raises(NotFound):
        rules.running(None, "j", "a job finishes once")
    job = _job()
    assert rules.running(job, "j", "a job finishes once") is job
    with pytest.raises(Conflict, match="already failed; a job finishes once") as caught:
        rules.running(_job(status="failed"), "j", "a job finishes once")
    assert caught.value.details == {"reason": "job_finished", "job_id": "j", "status": "failed"}


def test_stored_items_are_skipped_in_batch_order() -> None:
    items = _items("succeeded", "failed", "succeeded")
    new, duplicates = rules.fresh(items, iter(["i1", "elsewhere"]))
    assert [i.id for i in new] == ["i0", "i2"]
    assert duplicates == ("i1",)


def test_the_total_may_be_reached_but_not_passed() -> None:
    rules.check_total(_job(total=None, succeeded=10**6), 10**6)
    job = _job(total=5, succeeded=2, failed=1)
    rules.check_total(job, 2)
    with pytest.raises(Conflict) as caught:
        rules.check_total(job, 3)
    assert caught.value.details == {
        "reason": "total_exceeded", "job_id": "j", "total": 5, "reported": 3,
    }  # fmt: skip


def test_counts_add_up() -> None:
    job = _job(succeeded=4, failed=1)
    assert rules.counted(job, _items("succeeded", "failed", "failed")) == (5, 3)
    assert rules.counted(job, []) == (4, 1)


def test_each_item_event_counts_its_own_item() -> None:
    events = rules.item_events(_job(succeeded=1), _items("failed", "succeeded"), 5.0)
    assert [e.event_type for e in events] == ["job.item_finished"] * 2
    assert [e.at for e in events] == [5.0, 5.0]
    bodies = [orjson.loads(e.body) for e in events]
    assert [b["id"] for b in bodies] == [e.id for e in events]
    assert len({e.id for e in events}) == 2
    assert [b["item"]["id"] for b in bodies] == ["i0", "i1"]
    assert [b["progress"] for b in bodies] == [
        {"total": None, "succeeded": 1, "failed": 1},
        {"total": None, "succeeded": 2, "failed": 1},
    ]


def _endpoint(id: str, events: list[str], status: str = "pending", kind: str = "endpoint") -> Any:
    return {"id": id, "events": orjson.dumps(events).decode(), "status": status, "kind": kind}


def test_job_events_go_to_subscribers_and_the_jobs_own_target() -> None:
    endpoints = [
        _endpoint("all", []),
        _endpoint("items", ["job.item_finished"]),
        _endpoint("done", ["job.*"], status="held"),  # paused: its deliveries start held
        _endpoint("other", ["invoice.paid"]),
        _endpoint("target", [], kind="job_target"),
        _endpoint("someone_elses", [], kind="job_target"),
    ]
    item = messages.Event("m1", "job.item_finished", b"{}", 1.0)
    done = messages.Event("m2", "job.completed", b"{}", 2.0)
    got = [
        (e.id, ep, status) for e, ep, status in messages.fan_out([item, done], endpoints, "target")
    ]
    assert got == [
        ("m1", "all", "pending"),
        ("m1", "items", "pending"),
        ("m1", "done", "held"),
        ("m1", "target", "pending"),
        ("m2", "all", "pending"),
        ("m2", "done", "held"),
        ("m2", "target", "pending"),
    ]
    assert [ep for _, ep, _ in messages.fan_out([done], endpoints, None)] == ["all", "done"]
    assert messages.fan_out([], endpoints, "target") == []


def test_the_job_secret_answers_with_the_previous_ones_still_valid() -> None:
    previous = orjson.dumps([["s_old", 200.0], ["s_gone", 50.0]]).decode()
    secret, older = rules.valid_secrets("s_new", previous, lambda s: s.upper(), 100.0)
    assert secret == "S_NEW"
    assert older == [("S_OLD", datetime.fromtimestamp(200.0, tz=UTC))]
    assert rules.valid_secrets("s", "[]", str, 0.0) == ("s", [])
