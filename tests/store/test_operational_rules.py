"""The rules of the operational events, without a database: what a recorded batch tells, the
failing threshold (once per streak), what a change of status by hand tells, and the loop guard."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hookwise.domain import operational as events
from hookwise.domain.models import AttemptResult
from hookwise.store.rules import attempts
from hookwise.store.rules.operational import (
    Counted,
    Notice,
    Watch,
    about_others,
    exhausted,
    operations_app,
    recorded,
    status_changed,
)
from tests.delivery.fakes import claim_for

WATCH = Watch("ops")


def _result(
    i: int = 0, *, ok: bool = False, retry: bool = False, counts: bool = True, **claim: Any
) -> AttemptResult:
    return AttemptResult(
        claimed=claim_for(i, **claim),
        attempt_id=f"att_{i}",
        succeeded=ok,
        status_code=200 if ok else 500,
        response_body=None,
        error_message=None if ok else "HTTP 500",
        duration_ms=1.0,
        started_at=datetime.fromtimestamp(100.0, UTC),
        next_attempt_at=datetime.fromtimestamp(200.0, UTC) if retry else None,
        counts_as_failure=counts,
    )


def _batch(
    batch: list[AttemptResult], before: int, pause_after: int, *, status: str = "active",
    kind: str = "endpoint",
) -> tuple[list[Notice], int]:  # fmt: skip
    """What recording ``batch`` tells, as both stores compute it, and the counter after it."""
    streak = attempts.streaks(batch)[("app_1", "ep_1")]
    after = attempts.counter(streak, before)
    why = attempts.pause(streak, failures=after, status=status, kind=kind, pause_after=pause_after)
    counted = Counted("app_1", "ep_1", streak, before, after, status, kind, why)
    return recorded(WATCH, batch, [counted], pause_after), after


def test_the_threshold_is_half_the_pause_unless_set() -> None:
    assert Watch("ops").failing_at(10) == 5
    assert Watch("ops").failing_at(1) == 1
    assert Watch("ops", failing_after=3).failing_at(10) == 3


def test_a_batch_that_crosses_and_pauses_tells_the_pause_only() -> None:
    told, after = _batch([_result(i) for i in range(4)], 0, pause_after=4)
    assert after == 4
    assert [n.event_type for n in told] == [events.PAUSED] + [events.EXHAUSTED] * 4
    assert told[0].data == {
        "app_id": "app_1", "endpoint_id": "ep_1", "url": "https://ep_1.example/hook",
        "trigger": "automatic", "reason": "4 consecutive failed attempts",
        "consecutive_failures": 4,
    }  # fmt: skip


def test_failing_is_told_when_the_batch_crosses_the_threshold() -> None:
    told, _ = _batch([_result(1, retry=True), _result(2, retry=True)], 4, pause_after=10)
    assert [n.event_type for n in told] == [events.FAILING]  # retries: nothing exhausted
    assert told[0].data["consecutive_failures"] == 6 and told[0].data["pause_after"] == 10
    assert _batch([_result(3, retry=True)], 6, pause_after=10)[0] == []  # past it already
    # a success then failures in one batch: the streak starts over from zero
    told, _ = _batch([_result(4, ok=True)] + [_result(i, retry=True) for i in range(5)], 7, 10)
    assert [n.event_type for n in told] == [events.FAILING]


def test_a_paused_endpoint_or_a_job_target_is_never_failing() -> None:
    assert _batch([_result(1, retry=True)], 4, 10, status="paused")[0] == []
    assert _batch([_result(1, retry=True)], 4, 10, kind="job_target")[0] == []


@given(st.lists(st.booleans(), max_size=60), st.integers(1, 6))
def test_failing_is_told_once_per_streak(outcomes: list[bool], at: int) -> None:
    """One attempt a batch, never pausing: one ``endpoint.failing`` per run of failures as
    long as the threshold, the run ending with a success."""
    watch_at = Watch("ops", failing_after=at)
    counter, failing = 0, 0
    for i, ok in enumerate(outcomes):
        batch = [_result(i, ok=ok, retry=True)]
        streak = attempts.streaks(batch)[("app_1", "ep_1")]
        after = attempts.counter(streak, counter)
        c = Counted("app_1", "ep_1", streak, counter, after, "active", "endpoint", None)
        failing += sum(n.event_type == events.FAILING for n in recorded(watch_at, batch, [c], 99))
        counter = after
    runs = [len(list(g)) for ok, g in itertools.groupby(outcomes) if not ok]
    assert failing == sum(run >= at for run in runs)


def test_exhausted_is_a_delivery_failed_for_good_not_a_test_ping() -> None:
    told = exhausted([
        _result(1), _result(2, retry=True), _result(3, ok=True),
        _result(4, counts=False, trigger="test"), _result(5, attempt_count=4),
    ])  # fmt: skip
    assert [n.data["delivery_id"] for n in told] == ["dlv_1", "dlv_5"]
    assert told[1].data == {
        "app_id": "app_1", "endpoint_id": "ep_1", "url": "https://ep_1.example/hook",
        "message_id": "msg_5", "delivery_id": "dlv_5", "attempts": 5,
        "last_status_code": 500, "last_error": "HTTP 500",
    }  # fmt: skip


def test_a_change_by_hand_tells_pause_and_enable_once() -> None:
    row = {
        "app_id": "app_1", "id": "ep_1", "url": "https://x", "kind": "endpoint",
        "status": "paused", "paused_reason": "paused by hand", "consecutive_failures": 3,
    }  # fmt: skip
    told = status_changed("active", row)
    assert told is not None and told.event_type == events.PAUSED
    assert told.data["trigger"] == "manual" and told.data["reason"] == "paused by hand"
    assert status_changed("paused", row) is None  # paused again: nothing changed
    enabled = status_changed("paused", {**row, "status": "active"})
    assert enabled is not None and enabled.event_type == events.ENABLED
    assert status_changed("active", {**row, "status": "active"}) is None
    assert status_changed("active", {**row, "kind": "job_target"}) is None


def test_nothing_is_told_about_the_operations_apps_own_endpoints() -> None:
    mine = Notice(events.EXHAUSTED, "app_ops", {})
    theirs = Notice(events.EXHAUSTED, "app_1", {})
    assert about_others([mine, theirs], "app_ops") == [theirs]


def test_the_operations_app_is_named_by_its_id_or_uid() -> None:
    uids = {"app_1": "acme", "app_ops": "ops"}
    assert operations_app(uids, "ops") == "app_ops"
    assert operations_app(uids, "app_ops") == "app_ops"
    assert operations_app(uids, "nosuch") is None
