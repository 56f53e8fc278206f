"""Retention: `hookwise prune` and the background setting delete old history in batches."""

from __future__ import annotations

import subprocess
import time
from typing import Any

from tests.conftest import Api
from tests.processes import HOOKWISE, env
from tests.receivers import Receiver


async def test_background_retention_prunes_old_history(
    api_factory: Any, receiver: Receiver
) -> None:
    api: Api = await api_factory(retention_days=1)
    app = await api.app()
    await api.endpoint(app["id"], url=receiver.url())
    await api.send(app["id"])
    await api.drain()
    assert len(await api.attempts(app["id"])) == 1
    # nothing is a day old yet: the background pass keeps everything
    api.services.start_workers(1)
    await api.services.stop_workers()
    assert len(await api.attempts(app["id"])) == 1
    # everything older than "now" goes
    batches: list[int] = []  # what a progress bar hears
    pruned = await api.store.retention.prune(older_than=time.time() + 1, on_batch=batches.append)
    assert pruned >= 2 and sum(batches) == pruned
    assert await api.attempts(app["id"]) == []
    r = await api.http.get(f"/v1/apps/{app['id']}/messages")
    assert r.json()["data"] == []


def test_prune_command_validates_its_age(db_url: str) -> None:
    bad = subprocess.run(
        [HOOKWISE, "prune", "--older-than", "soon"], env=env(db_url),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2 and "--older-than" in bad.stderr
    ok = subprocess.run(
        [HOOKWISE, "prune", "--older-than", "30d"], env=env(db_url),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert ok.returncode == 0 and "pruned 0 rows" in ok.stdout
