"""The rules of bulk operations in steps, without a database."""

from __future__ import annotations

from hookwise.store.rules import operations as rules


def test_a_step_is_sized_to_its_time_within_bounds() -> None:
    assert rules.next_size(1000, 0.02) == 1000  # on target: unchanged
    assert rules.next_size(1000, 0.04) == 500  # twice too slow: halved
    assert rules.next_size(1000, 0.001) == 2000  # fast: at most doubled…
    assert rules.next_size(2000, 0.001) == rules.MOST  # …and never over the most
    assert rules.next_size(1000, 5.0) == rules.LEAST  # a stalled database: the least
    assert rules.next_size(300, 0.0) == 600


def test_the_rest_between_steps_matches_the_step_up_to_a_bound() -> None:
    assert rules.rest(0.015) == 0.015
    assert rules.rest(3.0) == rules.REST_MOST_SECONDS
    assert rules.rest(-1.0) == 0.0


def test_a_release_ends_when_fewer_were_held_than_asked_or_the_endpoint_is_paused() -> None:
    assert rules.after_release_step("active", 1000, 1000) == "running"
    assert rules.after_release_step("active", 999, 1000) == "done"
    assert rules.after_release_step("active", 0, 1000) == "done"
    assert rules.after_release_step("paused", 1000, 1000) == "canceled"
    assert rules.after_release_step(None, 0, 1000) == "canceled"  # the endpoint is gone


def test_a_recover_ends_when_fewer_failed_were_left_than_asked_or_the_endpoint_is_gone() -> None:
    assert rules.after_recover_step("active", 1000, 1000) == "running"
    assert rules.after_recover_step("active", 999, 1000) == "done"
    assert rules.after_recover_step("active", 0, 1000) == "done"
    # a paused endpoint's recover goes on: its deliveries are re-queued held
    assert rules.after_recover_step("paused", 1000, 1000) == "running"
    assert rules.after_recover_step(None, 1000, 1000) == "canceled"


def test_a_hold_or_cancel_goes_on_only_while_its_endpoint_is_paused_or_gone() -> None:
    assert rules.after_endpoint_step("hold", "paused", 1000, 1000) == "running"
    assert rules.after_endpoint_step("hold", "paused", 10, 1000) == "done"
    # re-enabled meanwhile: the release it started has the rest
    assert rules.after_endpoint_step("hold", "active", 1000, 1000) == "canceled"
    assert rules.after_endpoint_step("hold", None, 1000, 1000) == "canceled"
    assert rules.after_endpoint_step("cancel", None, 1000, 1000) == "running"
    assert rules.after_endpoint_step("cancel", None, 0, 1000) == "done"
    assert rules.after_endpoint_step("cancel", "active", 0, 1000) == "canceled"


def test_a_resend_ends_when_fewer_deliveries_were_left_than_asked() -> None:
    assert rules.after_resend_step(1000, 1000) == "running"
    assert rules.after_resend_step(999, 1000) == "done"
    assert set(rules.RESENDS["all"]) == {"failed", "succeeded"}
    assert rules.RESENDS["failed"] == ("failed",)


def test_a_lease_is_free_mine_or_run_out() -> None:
    assert rules.leasable(None, None, "me", 10.0)
    assert rules.leasable("me", 99.0, "me", 10.0)
    assert not rules.leasable("other", 10.5, "me", 10.0)
    assert rules.leasable("other", 10.0, "me", 10.0)
