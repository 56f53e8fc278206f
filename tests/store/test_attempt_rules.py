"""The rules of recorded attempts and of leases, without a database: where an attempt moves
its delivery, how failures count and pause, and what is in flight."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from hookwise.domain.models import AttemptResult
from hookwise.store.rules import attempts, leases
from hookwise.store.sql import POSTGRES, SQLITE
from tests.delivery.fakes import claim_for


def _result(
    i: int = 0,
    *,
    ok: bool = False,
    retry_at: float | None = None,
    endpoint: str = "ep_1",
    counts: bool = True,
    pause_reason: str | None = None,
) -> AttemptResult:
    return AttemptResult(
        claimed=claim_for(i, endpoint=endpoint, attempt_count=2),
        attempt_id=f"att_{i}",
        succeeded=ok,
        status_code=200 if ok else 500,
        response_body="ok",
        error_message=None if ok else "HTTP 500",
        duration_ms=1.5,
        started_at=datetime.fromtimestamp(100.0, UTC),
        next_attempt_at=None if retry_at is None else datetime.fromtimestamp(retry_at, UTC),
        pause_reason=pause_reason,
        counts_as_failure=counts,
    )


def test_an_attempt_moves_its_delivery_on() -> None:
    assert attempts.outcome(_result(ok=True, retry_at=5.0)) == ("succeeded", None)
    assert attempts.outcome(_result(retry_at=5.0)) == ("retry", 5.0)
    assert attempts.outcome(_result()) == ("failed", None)


def test_the_attempt_row_is_numbered_after_the_attempts_made() -> None:
    row = attempts.attempt_row(_result(ok=True))
    assert len(row) == len(attempts.ATTEMPT_COLUMNS.split(","))
    named = dict(zip((c.strip() for c in attempts.ATTEMPT_COLUMNS.split(",")), row, strict=True))
    assert (named["attempt_number"], named["status"], named["started_at"]) == (3, "succeeded", 100)
    assert attempts.attempt_row(_result())[7] == "failed"


def test_the_earliest_retry_is_that_of_a_failure() -> None:
    assert attempts.earliest_retry([_result(ok=True), _result()]) is None
    batch = [_result(retry_at=9.0), _result(retry_at=4.0), _result(ok=True, retry_at=1.0)]
    assert attempts.earliest_retry(batch) == 4.0


def test_a_success_resets_the_streak_and_counted_failures_add_to_it() -> None:
    (s,) = attempts.streaks([_result(), _result(ok=True), _result(), _result()]).values()
    assert (s.reset, s.failures, s.reason) == (True, 2, None)
    assert attempts.counter(s, 7) == 2
    (s,) = attempts.streaks([_result(), _result()]).values()
    assert (s.reset, s.failures) == (False, 2) and attempts.counter(s, 7) == 9


def test_every_endpoint_of_the_batch_has_a_streak() -> None:
    """A failure that does not count (a test ping) changes no counter, but its endpoint is in
    the batch: its lease ended, and the room that frees matters (PostgreSQL's wake-ups)."""
    got = attempts.streaks([_result(endpoint="a", counts=False), _result(endpoint="b", ok=True)])
    assert got == {("app_1", "a"): attempts.Streak(), ("app_1", "b"): attempts.Streak(reset=True)}
    assert not got[("app_1", "a")].counts and got[("app_1", "b")].counts
    assert not got[("app_1", "b")].failing
    assert attempts.counter(got[("app_1", "a")], 4) == 4


def test_a_pause_reason_counts_even_for_a_test_ping_and_outlives_a_later_success() -> None:
    gone = _result(counts=False, pause_reason="410 Gone")
    (s,) = attempts.streaks([gone, _result(ok=True)]).values()
    assert (s.reset, s.failures, s.reason, s.failing) == (True, 0, "410 Gone", True)
    assert attempts.pause(s, failures=0, status="active", kind="endpoint", pause_after=10) == (
        "410 Gone"
    )


def test_an_endpoint_pauses_when_its_failures_reach_the_threshold() -> None:
    (s,) = attempts.streaks([_result()]).values()
    assert attempts.pause(s, failures=9, status="active", kind="endpoint", pause_after=10) is None
    why = attempts.pause(s, failures=10, status="active", kind="endpoint", pause_after=10)
    assert why == "10 consecutive failed attempts"
    # only failures of this batch pause: a success or an uncounted failure never does
    for quiet in (_result(ok=True), _result(counts=False)):
        (s,) = attempts.streaks([quiet]).values()
        assert (
            attempts.pause(s, failures=12, status="active", kind="endpoint", pause_after=10) is None
        )


def test_only_active_endpoints_pause_and_job_targets_never() -> None:
    (s,) = attempts.streaks([_result(pause_reason="410 Gone")]).values()
    for status, kind in (("paused", "endpoint"), ("active", "job_target")):
        assert attempts.pause(s, failures=50, status=status, kind=kind, pause_after=1) is None


@given(st.lists(st.sampled_from(["ok", "fail", "ping"]), max_size=30), st.integers(0, 50))
def test_a_streak_counts_as_the_attempts_one_by_one(kinds: list[str], start: int) -> None:
    batch = [_result(ok=k == "ok", counts=k != "ping") for k in kinds]
    expected = start
    for k in kinds:
        expected = 0 if k == "ok" else expected + (k == "fail")
    streak = attempts.streaks(batch).get(("app_1", "ep_1"), attempts.Streak())
    assert attempts.counter(streak, start) == expected


def test_what_counts_in_flight() -> None:
    now = 100.0
    valid, expired = leases.lease_end(now, 30), now - 1

    def counts(owner: str | None, until: float, finished: set[str]) -> bool:
        return leases.in_flight(owner, until, "dlv_1", worker_id="w", finished=finished, now=now)

    assert counts("w", valid, set())
    assert not counts("w", valid, {"dlv_1"})  # its answer is in: no longer in flight
    assert counts("x", valid, {"dlv_1"})  # another worker's lease: its word is not ours
    assert not counts("w", expired, set())
    assert not counts(None, valid, set())


def test_the_in_flight_condition_in_sql() -> None:
    for dialect, mine in ((SQLITE, "json_each($3)"), (POSTGRES, "IN (SELECT unnest($3::text[]))")):
        sql = leases.in_flight_sql(dialect, "d", now="$1", worker="$2", finished="$3")
        assert sql.startswith("d.lease_owner IS NOT NULL AND d.next_attempt_at > $1")
        assert "d.lease_owner = $2" in sql and mine in sql


def test_what_a_claim_may_take() -> None:
    assert leases.due("pending", 5.0, 5.0)
    assert not leases.due("pending", 5.1, 5.0)  # scheduled later, or under a lease
    assert not leases.due("held", 1.0, 5.0)


def test_room_share_and_the_finished_callback() -> None:
    assert (leases.room(4, 1), leases.room(4, 6)) == (3, 0)
    assert leases.share(10, 3) == 7  # twice a fair share, rounded up
    assert leases.share(10, 40) == 1
    assert leases.share(64, 0) == 128
    assert leases.finished_ids(None) == []
    assert leases.finished_ids(lambda: ("a", "b")) == ["a", "b"]
