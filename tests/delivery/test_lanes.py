"""An endpoint's lane in one worker: claims leased ahead wait for room under its
``max_in_flight`` and start one at each answer; one whose lease would end too soon is dropped
(its lease runs out and it is due again), never started."""

from __future__ import annotations

import time

from hookwise.delivery.lanes import LEASE_MARGIN, Lanes
from tests.delivery.fakes import claim_for


def test_claims_past_the_cap_wait_and_start_one_at_each_answer() -> None:
    lanes = Lanes()
    claims = [claim_for(i, max_in_flight=2) for i in range(5)]
    start, drop = lanes.add(claims, time.monotonic() + 60)
    assert (start, drop, lanes.waiting) == (claims[:2], [], 3)
    assert lanes.done(claims[0]) == ([claims[2]], [])
    assert lanes.done(claims[1]) == ([claims[3]], [])
    # another endpoint's lane is its own; a claim with no cap starts at once
    other = claim_for(9, endpoint="ep_2", max_in_flight=1)
    uncapped = claim_for(10, endpoint="ep_3")
    assert lanes.add([other, uncapped], time.monotonic() + 60) == ([other, uncapped], [])
    assert lanes.waiting == 1
    assert lanes.waiting_on() == ["ep_1"]  # what the worker asks the store about
    # a stop takes the waiting claims back; answers then start nothing
    assert lanes.take_waiting() == ([claims[4]], [])
    assert lanes.done(claims[2], refill=False) == ([], [])
    assert lanes.waiting == 0 and lanes.waiting_on() == []


def test_a_higher_max_in_flight_starts_waiting_claims_at_once() -> None:
    lanes = Lanes()
    first = [claim_for(i, max_in_flight=1) for i in range(3)]
    assert lanes.add(first, time.monotonic() + 60) == (first[:1], [])
    raised = claim_for(3, max_in_flight=3)  # the endpoint's cap was raised meanwhile
    start, _ = lanes.add([raised], time.monotonic() + 60)
    assert start == first[1:]  # three under way now; the newest waits its turn
    assert lanes.waiting == 1


def test_a_waiting_claim_too_near_its_lease_end_is_dropped_not_started() -> None:
    lanes = Lanes()
    now = time.monotonic()
    a, b, c = (claim_for(i, max_in_flight=1, timeout_seconds=10.0) for i in range(3))
    assert lanes.add([a, b], now + 60) == ([a], [])
    # c's lease leaves less than its timeout and the margin: it can wait, not start
    assert lanes.add([c], now + 10 + LEASE_MARGIN - 1) == ([], [])
    assert lanes.done(a) == ([b], [])
    assert lanes.done(b) == ([], [c])
    assert lanes.waiting == 0
    # nor is one given back at a stop once its lease is about to end
    d, e = (claim_for(i, max_in_flight=1) for i in range(3, 5))
    lanes.add([d], now + 60)
    lanes.add([e], now + LEASE_MARGIN / 2)
    assert lanes.take_waiting() == ([], [e])
