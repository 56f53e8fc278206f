"""Fixtures of the Store contract suite: opened stores over a fresh database of each backend."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import pytest

from hookwise.domain.ids import new_id
from hookwise.domain.models import AttemptResult, ClaimedDelivery
from hookwise.store import Store, open_store

OpenStore = Callable[[], Coroutine[Any, Any, Store]]


@pytest.fixture
async def stores(db_url: str) -> AsyncIterator[OpenStore]:
    """Open extra stores on the test database (each one is like another process)."""
    opened: list[Store] = []

    async def make() -> Store:
        s = await open_store(db_url)
        opened.append(s)
        return s

    yield make
    for s in opened:
        await s.close()


@pytest.fixture
async def store(stores: OpenStore) -> Store:
    """One opened store on a fresh database."""
    return await stores()


def result(
    claim: ClaimedDelivery,
    *,
    ok: bool,
    retry_at: float | None = None,
    status: int | None = None,
    started_at: float | None = None,
    pause_reason: str | None = None,
    counts: bool = True,
) -> AttemptResult:
    """The AttemptResult a worker would record for ``claim``."""
    code = status if status is not None else (200 if ok else 500)
    return AttemptResult(
        claimed=claim,
        attempt_id=new_id("att"),
        succeeded=ok,
        status_code=code,
        response_body="ok" if ok else "no",
        error_message=None if ok else f"HTTP {code}",
        duration_ms=1.5,
        started_at=datetime.fromtimestamp(started_at or datetime.now(UTC).timestamp(), UTC),
        next_attempt_at=None if retry_at is None else datetime.fromtimestamp(retry_at, UTC),
        pause_reason=pause_reason,
        counts_as_failure=counts,
    )
