"""The completion event within its inline budget, and the final summary (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hookwise.domain.errors import InvalidInput
from hookwise.domain.models import Job
from hookwise.jobs import Completion, final_summary, result_row
from hookwise.jobs.validation import validate_custom

NOW = datetime(2026, 4, 6, 15, 0, 42, tzinfo=UTC)


def _job(reported: int, **changes: object) -> Job:
    values: dict[str, object] = {
        "id": "job_1", "app_id": "app_1", "type": "enrich", "status": "completed",
        "total": None, "webhook_url": None, "webhook_endpoint_id": None, "item_events": False,
        "custom": {"crm": "42"}, "metadata": {}, "summary": {"total": reported},
        "succeeded": reported, "failed": 0, "created_at": NOW, "updated_at": NOW,
        "completed_at": NOW,
    }  # fmt: skip
    values.update(changes)
    return Job(**values)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=400), max_size=60),
    budget=st.integers(min_value=300, max_value=6000),
)
def test_completion_is_within_budget_and_uses_it(sizes: list[int], budget: int) -> None:
    rows = [result_row(f"i{n}", "succeeded", orjson.dumps("x" * s).decode(), None) for n, s in
            enumerate(sizes)]  # fmt: skip
    c = Completion("msg_1", NOW, _job(len(rows)), "http://h/v1/apps/a/jobs/j/results", budget)
    for row in rows:
        if not c.add(row):
            break
    body = c.body()
    data = orjson.loads(body)
    assert len(data["results"]) + data["results_truncated"] == len(rows)
    assert data["results"] == [orjson.loads(r) for r in rows[: c.inline]]
    empty = Completion("msg_1", NOW, _job(len(rows)), "http://h/v1/apps/a/jobs/j/results", 10**9)
    if len(empty.body()) <= budget:
        assert len(body) <= budget
    if c.truncated:
        # the first row left out would not have fitted even with the shortest count
        assert len(body) + len(rows[c.inline]) + 1 > budget - len(str(len(rows)))


def test_completion_fields_in_order() -> None:
    c = Completion("msg_1", NOW, _job(0, status="canceled"), "http://h/r", 10_000)
    data = orjson.loads(c.body())
    assert data == {
        "event": "job.canceled", "id": "msg_1", "timestamp": "2026-04-06T15:00:42.000Z",
        "job_id": "job_1", "type": "enrich", "status": "canceled", "summary": {"total": 0},
        "results": [], "custom": {"crm": "42"}, "completed_at": "2026-04-06T15:00:42.000Z",
        "results_truncated": 0, "results_endpoint": "http://h/r",
    }  # fmt: skip
    assert list(data)[:3] == ["event", "id", "timestamp"]


def test_final_summary() -> None:
    job = _job(3, succeeded=2, failed=1, total=5, status="running", summary=None)
    assert final_summary(job, {"found": 2}) == {"total": 5, "succeeded": 2, "failed": 1, "found": 2}
    assert final_summary(job, {"failed": 1})["failed"] == 1
    with pytest.raises(InvalidInput) as err:
        final_summary(job, {"total": 9})
    assert err.value.field == "summary.total"
    bare = _job(0, succeeded=0, failed=0, total=None, status="running", summary=None)
    assert final_summary(bare, {"succeeded": 7, "failed": 1}) == {
        "total": 0, "succeeded": 7, "failed": 1,
    }  # fmt: skip
    with pytest.raises(InvalidInput):
        final_summary(bare, {"failed": -1})


def test_custom_values_must_be_strings() -> None:
    assert validate_custom({"a": "1"}) == {"a": "1"}
    assert validate_custom(None) == {}
    with pytest.raises(InvalidInput) as err:
        validate_custom({"crm_id": 42})
    assert err.value.field == "custom.crm_id"
    assert "a number" in err.value.message
    with pytest.raises(InvalidInput):
        validate_custom({str(n): "v" for n in range(51)})
