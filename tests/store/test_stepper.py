"""The stepper sizes each step by its database time, not by the wait around it."""

from __future__ import annotations

import asyncio
from typing import cast

from hookwise.store.operations import Operation, Operations, Step
from hookwise.store.rules import operations as rules
from hookwise.store.stepper import Stepper


class BusyWriter:
    """A double of ``Operations`` whose steps take 1 ms of database time but answer 50 ms
    later: the wait for a writer thread busy with other apps' writes, or a loaded loop."""

    def __init__(self) -> None:
        self.op = Operation("app_1", "op_1", "release", "ep_1", "running", 0, None, 0.0, 0.0)
        self.sizes: list[int] = []

    async def leasable(self, owner: str, *, limit: int = 100) -> list[Operation]:
        return [self.op]

    async def step(self, op: Operation, *, owner: str, size: int, lease_seconds: float) -> Step:
        self.sizes.append(size)
        await asyncio.sleep(0.05)  # the queue in front of the database, not its work
        return Step(size, "running", 0.001)


async def test_a_step_grows_when_the_database_is_quick_however_long_the_wait() -> None:
    busy = BusyWriter()
    stepper = Stepper(cast(Operations, busy))
    rested = [await stepper.round() for _ in range(4)]
    assert busy.sizes == [rules.FIRST, 2 * rules.FIRST, rules.MOST, rules.MOST]
    assert rested == [0.001] * 4  # the rest follows the database's time too
