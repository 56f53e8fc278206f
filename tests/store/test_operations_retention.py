"""Finished bulk operations are history: retention prunes them, never a running one."""

from __future__ import annotations

import time

from hookwise.store import Store
from hookwise.store.stepper import Stepper
from tests.store.backlog import step_to_end
from tests.store.test_operations import _paused_backlog, _running


async def test_retention_prunes_finished_operations_and_keeps_running_ones(store: Store) -> None:
    done_app, done_ep = await _paused_backlog(store, 1500)
    await store.resources.update_endpoint(done_app, done_ep, {"status": "active"})
    finished = await _running(store)
    await step_to_end(Stepper(store.operations))
    running_app, running_ep = await _paused_backlog(store, 1500)
    await store.resources.update_endpoint(running_app, running_ep, {"status": "active"})
    running = await _running(store)

    assert await store.retention.prune(older_than=time.time() + 1) >= 1
    assert await store.operations.get_operation(done_app, finished.id) is None
    kept = await store.operations.get_operation(running_app, running.id)
    assert kept is not None and kept.status == "running"
