"""The worker's write pipeline: turns that let two record-and-claims overlap safely."""

from __future__ import annotations

import asyncio


class WriteTurn:
    """A record-and-claim's place in line behind ``before``, so that two may overlap: its
    record starts once the previous record is done (records take locks the previous one's
    auto-pause may wait for) and its claim once the previous transaction has ended (claims
    skip locked endpoints, and must see each other's leases). With no ``before``, nothing
    is waited for."""

    def __init__(self, before: WriteTurn | None = None) -> None:
        self._before = before
        self._recorded = asyncio.Event()
        self._ended = asyncio.Event()

    async def before_record(self) -> None:
        if self._before is not None:
            await self._before._recorded.wait()

    def recorded(self) -> None:
        self._recorded.set()

    async def before_claim(self) -> None:
        if self._before is not None:
            await self._before._ended.wait()

    def end(self) -> None:
        """The write is over (committed or failed): the next may record and claim."""
        self._recorded.set()
        self._ended.set()
        self._before = None  # no chain of ended turns kept alive
