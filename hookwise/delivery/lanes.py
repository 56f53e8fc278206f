"""Each endpoint's lane in one worker: its attempts under way, never more than its
``max_in_flight``, and the claims leased ahead of them, started one at each answer.

Where no other worker leases an endpoint, a claim may lease past its ``max_in_flight``
(``WorkerConfig.ahead``, ``store.rules.leases.ahead_of``). Those claims wait here, so that
the slot an answer frees is filled at once rather than after the next record-and-claim has
come back (on PostgreSQL that cycle, record + claim + commit, was what bounded one worker on
one endpoint: bench/README.md). The store's cap still holds across workers: another worker
claims there only once this one's leases are fewer than ``max_in_flight``, and this one
sends no more than it leases.

A lease runs while its claim waits. One whose end is too near for an attempt (the
endpoint's timeout and ``LEASE_MARGIN``) is not started: it is dropped, its lease runs out
and it is due again, for whichever worker claims it. So are an endpoint's waiting claims when
it answers ``410 Gone`` (the worker's ``_stop_lane``: its record pauses it). An endpoint
paused or deleted otherwise (by hand, by another worker's record) gets its waiting claims
given back within ``WATCH_EVERY`` (the worker's ``_watch_lanes`` asks the store).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass, field

from hookwise.domain.models import ClaimedDelivery
from hookwise.store.rules.leases import AHEAD_ROUNDS

#: Seconds of a lease, past the endpoint's timeout, that a waiting claim must have left to be
#: started: the claim's own duration and the clocks of other machines (which compare the
#: lease's end with their own time) fit in it.
LEASE_MARGIN = 5.0
#: The shortest lease under which claims may wait: the most a claim leased ahead waits (one
#: attempt of the endpoint per ``AHEAD_ROUNDS``), the attempt itself (at the default timeout
#: of 10 s each), and the margin: 45 s.
WAIT_LEASE_MIN = (AHEAD_ROUNDS + 1) * 10.0 + LEASE_MARGIN
#: Seconds between the worker's questions to the store, while claims wait in its lanes,
#: whether their endpoints are still active: what a pause lets out of a lane is what the
#: lane starts in that time.
WATCH_EVERY = 0.25


@dataclass(slots=True)
class _Lane:
    cap: int  # the endpoint's max_in_flight, as its newest claim read it
    sending: int = 0
    # claims waiting for room, each with when its lease ends (time.monotonic(), or earlier)
    waiting: deque[tuple[ClaimedDelivery, float]] = field(default_factory=deque)


class Lanes:
    """One worker's attempts per endpoint: how many are under way and which claims wait."""

    def __init__(self) -> None:
        self._lanes: dict[str, _Lane] = {}

    @property
    def waiting(self) -> int:
        """Claims waiting in all lanes."""
        return sum(len(lane.waiting) for lane in self._lanes.values())

    def waiting_on(self) -> list[str]:
        """The endpoints with claims waiting in their lanes."""
        return [ep for ep, lane in self._lanes.items() if lane.waiting]

    def add(
        self, claims: list[ClaimedDelivery], lease_end: float
    ) -> tuple[list[ClaimedDelivery], list[ClaimedDelivery]]:
        """Claims just leased (their leases end at ``lease_end`` or later, on
        ``time.monotonic()``'s clock): those to start now, counted as under way, and those
        dropped. The others wait. A claim that carries no ``max_in_flight`` starts at once."""
        start: list[ClaimedDelivery] = []
        drop: list[ClaimedDelivery] = []
        touched: dict[str, _Lane] = {}
        for c in claims:
            if c.max_in_flight is None:
                start.append(c)
                continue
            lane = self._lanes.get(c.endpoint_id)
            if lane is None:
                lane = self._lanes[c.endpoint_id] = _Lane(c.max_in_flight)
            lane.cap = c.max_in_flight
            if lane.sending < lane.cap and not lane.waiting:
                lane.sending += 1  # room now: no wait, so no lease to check
                start.append(c)
            else:
                lane.waiting.append((c, lease_end))
                touched[c.endpoint_id] = lane
        for endpoint_id, lane in touched.items():  # room a higher max_in_flight made
            self._pump(endpoint_id, lane, start, drop, refill=True)
        return start, drop

    def done(
        self, claim: ClaimedDelivery, *, refill: bool = True
    ) -> tuple[list[ClaimedDelivery], list[ClaimedDelivery]]:
        """An attempt of ``claim`` is over (answered, failed, cancelled): the waiting claims
        to start in its place (none unless ``refill``), and those dropped."""
        start: list[ClaimedDelivery] = []
        drop: list[ClaimedDelivery] = []
        lane = self._lanes.get(claim.endpoint_id) if claim.max_in_flight is not None else None
        if lane is None:
            return start, drop
        lane.sending -= 1
        self._pump(claim.endpoint_id, lane, start, drop, refill=refill)
        return start, drop

    def take_waiting(
        self, endpoint_ids: Collection[str] | None = None
    ) -> tuple[list[ClaimedDelivery], list[ClaimedDelivery]]:
        """Every waiting claim (or those of ``endpoint_ids``), out of its lane, to give back (a
        stop, endpoints paused or deleted): those whose leases have time left, and those too
        near their end to give back (a release would end a lease another worker may hold by
        then: they are dropped)."""
        keep: list[ClaimedDelivery] = []
        drop: list[ClaimedDelivery] = []
        now = time.monotonic()
        for ep in list(self._lanes) if endpoint_ids is None else endpoint_ids:
            lane = self._lanes.get(ep)
            if lane is None:
                continue
            for c, end in lane.waiting:
                (keep if end - now > LEASE_MARGIN else drop).append(c)
            lane.waiting.clear()
            self._pump(ep, lane, keep, drop, refill=False)  # only forgets an idle lane
        return keep, drop

    def _pump(
        self,
        endpoint_id: str,
        lane: _Lane,
        start: list[ClaimedDelivery],
        drop: list[ClaimedDelivery],
        *,
        refill: bool,
    ) -> None:
        """Start (into ``start``) the waiting claims the lane has room for, dropping (into
        ``drop``) those whose leases end too soon (none unless ``refill``); forget the lane
        once nothing is under way or waiting in it."""
        if refill and lane.waiting and lane.sending < lane.cap:
            now = time.monotonic()
            while lane.waiting and lane.sending < lane.cap:
                c, end = lane.waiting.popleft()
                if end - now < c.timeout_seconds + LEASE_MARGIN:
                    drop.append(c)
                    continue
                lane.sending += 1
                start.append(c)
        if not lane.sending and not lane.waiting:
            del self._lanes[endpoint_id]
