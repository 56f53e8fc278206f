"""The read commands of the CLI answer from the store, on both backends."""

from __future__ import annotations

import subprocess
from typing import Any

import orjson

from tests.conftest import Api
from tests.processes import HOOKWISE, env
from tests.receivers import Receiver


def _cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HOOKWISE, *args], env=env(db_url), capture_output=True, text=True, timeout=60
    )


async def test_read_commands(api: Api, receiver: Receiver, db_url: str) -> None:
    app = await api.app(uid="shop")
    ep = await api.endpoint(app["id"], url=receiver.url())
    msg = await api.send(app["id"], "order.paid")
    await api.drain()

    def lines(*args: str) -> list[dict[str, Any]]:
        out = _cli(db_url, *args, "--json")
        assert out.returncode == 0, out.stderr
        return [orjson.loads(x) for x in out.stdout.splitlines()]

    assert [a["id"] for a in lines("apps", "list")] == [app["id"]]
    assert [e["id"] for e in lines("endpoints", "list", "--app", "shop")] == [ep["id"]]
    assert [m["id"] for m in lines("messages", "list", "--app", "shop")] == [msg["id"]]
    (attempt,) = lines("attempts", "list", "--app", "shop", "--message", msg["id"])
    assert attempt["status"] == "succeeded" and attempt["response_status_code"] == 200
    table = _cli(db_url, "attempts", "list", "--app", "shop")
    assert table.returncode == 0 and "succeeded" in table.stdout

    missing = _cli(db_url, "messages", "list", "--app", "nope")
    assert missing.returncode == 1 and "not found" in missing.stderr
