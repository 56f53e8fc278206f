"""Job webhook profiles: parsing with 422s that name the field, and the bodies they render
(pure: no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hookwise.domain.errors import InvalidInput
from hookwise.domain.models import Job, JobItem
from hookwise.jobs import DEFAULT, Completion, JobProfile, final_summary, item_event
from hookwise.jobs.profile import validate_profile
from hookwise.jobs.validation import validate_fields

NOW = datetime(2026, 4, 6, 15, 0, 42, tzinfo=UTC)
AT = "2026-04-06T15:00:42.000Z"


def _job(succeeded: int = 0, failed: int = 0, **changes: Any) -> Job:
    values: dict[str, Any] = {
        "id": "job_1", "app_id": "app_1", "type": "enrich", "status": "completed",
        "total": None, "webhook_url": None, "webhook_endpoint_id": None, "item_events": False,
        "custom": {"crm": "42"}, "metadata": {}, "summary": {"total": succeeded + failed},
        "succeeded": succeeded, "failed": failed, "created_at": NOW, "updated_at": NOW,
        "completed_at": NOW,
    }  # fmt: skip
    values.update(changes)
    return Job(**values)


def _old_completion(job: Job, rows: list[bytes], truncated: int, endpoint: str) -> bytes:
    """The completion body as hookwise rendered it before profiles existed."""
    event = {"completed": "job.completed", "completed_with_errors": "job.completed",
             "failed": "job.failed", "insufficient_credits": "job.failed",
             "canceled": "job.canceled"}[job.status]  # fmt: skip
    return orjson.dumps(
        {"event": event, "id": "msg_1", "timestamp": AT, "job_id": job.id, "type": job.type,
         "status": job.status, "summary": job.summary,
         "results": orjson.Fragment(b"[" + b",".join(rows) + b"]"), "custom": job.custom,
         "completed_at": AT, "results_truncated": truncated, "results_endpoint": endpoint}
    )  # fmt: skip


def _invalid(data: Any) -> str:
    with pytest.raises(InvalidInput) as exc:
        validate_profile(data)
    return exc.value.field


STATUS = st.sampled_from(
    ["completed", "completed_with_errors", "failed", "canceled", "insufficient_credits"]
)
ITEM = st.tuples(
    st.sampled_from(["succeeded", "failed"]),
    st.none() | st.dictionaries(st.text(max_size=5), st.integers(-(2**40), 2**40), max_size=3),
    st.none() | st.text(max_size=30),
)


@settings(max_examples=150, deadline=None)
@given(items=st.lists(ITEM, max_size=30), status=STATUS, budget=st.integers(300, 4000))
def test_the_default_profile_renders_the_old_completion(
    items: list[tuple[str, Any, Any]], status: str, budget: int
) -> None:
    stored = [
        (f"i{n}", s, None if r is None else orjson.dumps(r).decode(),
         None if e is None else orjson.dumps(e).decode())
        for n, (s, r, e) in enumerate(items)
    ]  # fmt: skip
    job = _job(succeeded=len(items), status=status)
    c = Completion("msg_1", NOW, job, "http://h/r", budget, DEFAULT)
    rows = []
    for row in stored:
        if not c.offer(*row):
            break
        rows.append(orjson.dumps({"id": row[0], "status": row[1]} | (
            {} if row[2] is None else {"result": orjson.Fragment(row[2])}) | (
            {} if row[3] is None else {"error": orjson.Fragment(row[3])})))  # fmt: skip
    assert c.body() == _old_completion(job, rows, len(items) - len(rows), "http://h/r")
    assert c.event_type == orjson.loads(c.body())["event"]


def test_the_default_profile_renders_the_old_item_event() -> None:
    job = _job(total=3)
    item = JobItem(id="c1", status="succeeded", result_json='{"email":"a@b"}', error_json=None)
    assert item_event("msg_1", NOW, job, item, 1, 0) == orjson.dumps(
        {"event": "job.item_finished", "id": "msg_1", "timestamp": AT, "job_id": "job_1",
         "type": "enrich", "item": {"id": "c1", "status": "succeeded",
                                    "result": {"email": "a@b"}},
         "progress": {"total": 3, "succeeded": 1, "failed": 0}, "custom": {"crm": "42"}}
    )  # fmt: skip


NAME = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)
EXTRA = st.from_regex(r"X_[A-Z]{1,8}", fullmatch=True)  # never a profile name


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 300), max_size=40),
    budget=st.integers(600, 6000),
    rows=st.sampled_from(["hookwise", "result"]),
    truncation=st.sampled_from(["always", "when_truncated"]),
    job_field=NAME,
    extra=st.dictionaries(EXTRA, st.text(max_size=40), max_size=3),
)
def test_every_profiled_completion_stays_within_the_budget(
    sizes: list[int], budget: int, rows: str, truncation: str, job_field: str,
    extra: dict[str, str],
) -> None:  # fmt: skip
    profile = JobProfile.parse(
        {"fields": {"job_id": job_field if job_field != "event" else "jid", "id": None},
         "result_rows": rows, "truncation_fields": truncation,
         "results_endpoint": "https://api.example.com/status?workflow_id={job_id}"}
    )  # fmt: skip
    job = _job(succeeded=len(sizes), fields=extra)
    c = Completion("msg_1", NOW, job, "unused", budget, profile)
    empty = len(Completion("msg_1", NOW, job, "unused", 10**9, profile).body())
    for n, size in enumerate(sizes):
        if not c.offer(f"i{n}", "succeeded", orjson.dumps({"p": "x" * size}).decode(), None):
            break
    body = c.body()
    if empty <= budget:
        assert len(body) <= budget
    data = orjson.loads(body)
    assert len(data["results"]) == c.inline
    assert data.get("results_truncated", 0) == len(sizes) - c.inline
    assert ("results_endpoint" in data) == (truncation == "always" or c.truncated > 0)
    keys = list(data)
    at = keys.index(profile.fields["job_id"])
    assert keys[at + 1 : at + 1 + len(extra)] == list(extra)


SEED_001: dict[str, Any] = {
    "events": {"completed": "enrichment.completed", "failed": "enrichment.failed"},
    "fields": {"id": None, "timestamp": None, "job_id": "workflow_id",
               "type": "enrichment_type", "custom": None},
    "summary_names": {"succeeded": "successful"},
    "result_rows": "result",
    "truncation_fields": "when_truncated",
    "results_endpoint": "https://api.example.com/api/v1/public/enrich/status?workflow_id={job_id}",
}  # fmt: skip


def test_a_seed_001_completion() -> None:
    profile = JobProfile.parse(SEED_001)
    job = _job(succeeded=1, fields={"lead_list_id": "550e8400"}, type="partial")
    job = _job(succeeded=1, fields={"lead_list_id": "550e8400"}, type="partial",
               summary=final_summary(job, {"emails_found": 1}, profile))  # fmt: skip
    c = Completion("msg_1", NOW, job, "unused", 10_000, profile)
    assert c.offer("t1", "succeeded", '{"task_id":"task_1"}', None)
    assert orjson.loads(c.body()) == {
        "event": "enrichment.completed", "workflow_id": "job_1", "lead_list_id": "550e8400",
        "enrichment_type": "partial", "status": "completed",
        "summary": {"total": 1, "successful": 1, "failed": 0, "emails_found": 1},
        "results": [{"task_id": "task_1"}], "completed_at": AT,
    }  # fmt: skip
    url = profile.results_url("unused", "public bulk/1", "app_1", "partial")
    assert (
        url == "https://api.example.com/api/v1/public/enrich/status?workflow_id=public%20bulk%2F1"
    )


def test_a_single_result_body_has_the_result_or_the_error() -> None:
    profile = JobProfile.parse(
        {"single_result": True, "fields": {"event": None, "id": None, "timestamp": None,
         "job_id": "task_id", "type": "task_type", "custom": None, "completed_at": None}}
    )  # fmt: skip
    ok = Completion("m", NOW, _job(succeeded=1, type="find_email"), "u", 1024, profile)
    ok.offer("t", "succeeded", '{"email":"a@b"}', None)
    assert orjson.loads(ok.body()) == {
        "task_id": "job_1",
        "status": "completed",
        "task_type": "find_email",
        "result": {"email": "a@b"},
    }
    bad = Completion("m", NOW, _job(failed=1, status="failed"), "u", 1024, profile)
    bad.offer("t", "failed", None, '"no email found"')
    assert orjson.loads(bad.body()) == {
        "task_id": "job_1",
        "status": "failed",
        "task_type": "enrich",
        "error": "no email found",
    }
    assert profile.item_cap(None) == 1 and profile.item_cap(50) == 1


def test_statuses_map_to_events_and_names() -> None:
    profile = JobProfile.parse(
        {"events": {"completed": "batch.finished", "failed": "batch.failed"},
         "status_events": {"insufficient_credits": "completed"},
         "status_names": {"insufficient_credits": "out_of_credits"}}
    )  # fmt: skip
    job = _job(status="insufficient_credits")
    c = Completion("m", NOW, job, "u", 10_000, profile)
    data = orjson.loads(c.body())
    assert (data["event"], data["status"]) == ("batch.finished", "out_of_credits")
    assert profile.event_for("canceled") == "job.canceled"


def test_a_type_overrides_the_app_profile() -> None:
    profile = JobProfile.parse(
        {"fields": {"job_id": "workflow_id"},
         "types": {"find_email": {"fields": {"job_id": "task_id"}, "max_items": 100}}}
    )  # fmt: skip
    assert profile.for_type("find_email").fields["job_id"] == "task_id"
    assert profile.for_type("find_email").item_cap(5) == 100
    assert profile.for_type("other").fields["job_id"] == "workflow_id"
    assert profile.for_type("other").item_cap(5) == 5
    assert profile.for_type("other").item_cap(None) is None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ([], "job_profile"),
        ({"colour": "red"}, "job_profile.colour"),
        ({"fields": {"id": "has space"}}, "job_profile.fields.id"),
        ({"fields": {"id": 3}}, "job_profile.fields.id"),
        ({"fields": {"nope": "x"}}, "job_profile.fields.nope"),
        ({"fields": {"job_id": "status"}}, "job_profile.fields.status"),
        ({"events": {"completed": "no spaces please"}}, "job_profile.events.completed"),
        ({"events": {"completed": None}}, "job_profile.events.completed"),
        ({"events": {"failed": "job.completed"}}, "job_profile.events.failed"),
        ({"status_events": {"failed": "exploded"}}, "job_profile.status_events.failed"),
        ({"status_events": {"paused": "failed"}}, "job_profile.status_events.paused"),
        ({"summary_names": {"succeeded": "failed"}}, "job_profile.summary_names.failed"),
        ({"result_rows": "rows"}, "job_profile.result_rows"),
        ({"single_result": "yes"}, "job_profile.single_result"),
        ({"truncation_fields": "never"}, "job_profile.truncation_fields"),
        ({"results_endpoint": "https://x/{job_id}/{secret}"}, "job_profile.results_endpoint"),
        ({"results_endpoint": "https://x/{job_id.__class__}"}, "job_profile.results_endpoint"),
        ({"results_endpoint": "https://x/{job_id"}, "job_profile.results_endpoint"),
        ({"results_endpoint": "ftp://x/{job_id}"}, "job_profile.results_endpoint"),
        ({"max_items": 5}, "job_profile.max_items"),
        ({"types": {"t": {"max_items": 0}}}, "job_profile.types.t.max_items"),
        ({"types": {"t": {"types": {}}}}, "job_profile.types.t.types"),
        ({"types": {"t": {"fields": {"type": None, "item": "x", "progress": "x"}}}},
         "job_profile.types.t.fields.progress"),
        ({"types": {" bad": {}}}, "job_profile.types. bad"),
        ({"events": {"completed": "x" * 300}}, "job_profile.events.completed"),
        ({"fields": {"job_id": "data"}}, "job_profile.fields.job_id"),
        ({"fields": {"type": None}, "types": {"t": {"fields": {"results": "data"}}}},
         "job_profile.types.t.fields.results"),
    ],
)  # fmt: skip
def test_a_bad_profile_is_a_422_naming_the_field(data: Any, field: str) -> None:
    assert _invalid(data) == field


def test_a_profile_is_bounded_and_stored_as_given() -> None:
    assert validate_profile(None) is None
    assert validate_profile(SEED_001) is SEED_001
    url = "https://example.com/" + "x" * 2000
    assert _invalid({"types": {f"t{n}": {"results_endpoint": url} for n in range(99)}}) == (
        "job_profile"
    )


def test_extra_fields_may_not_take_a_profile_name() -> None:
    taken = JobProfile.parse(SEED_001).taken()
    assert "workflow_id" in taken and "custom" not in taken and "data" not in taken
    assert "data" in DEFAULT.taken()  # beside event, id, timestamp it would read as an envelope
    assert JobProfile.parse({"fields": {"id": None, "results": "data"}}).fields["results"] == "data"
    assert validate_fields({"lead_list_id": "x", "custom": 1}, taken) == {
        "lead_list_id": "x",
        "custom": 1,
    }
    cases: list[tuple[dict[str, Any], str]] = [
        ({"workflow_id": "x"}, "fields.workflow_id"),
        ({"": 1}, "fields."),
        ({f"k{n}": n for n in range(51)}, "fields"),
        ({"k": "x" * 9000}, "fields"),
    ]
    for bad, field in cases:
        with pytest.raises(InvalidInput) as exc:
            validate_fields(bad, taken)
        assert exc.value.field == field


def test_a_profile_field_wins_over_an_older_job_field() -> None:
    job = _job(fields={"event": "spoofed", "lead_list_id": "L1"}, status="canceled")
    data = orjson.loads(Completion("m", NOW, job, "u", 10_000).body())
    assert data["event"] == "job.canceled" and list(data).count("event") == 1
    assert list(data)[4] == "lead_list_id"
