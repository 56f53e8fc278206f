"""The CLI that writes, the same commands against the local database (in-process API) and
against a running hookwise (``--url``/``--key``), on both stores."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from hookwise.cli import app as cli_app
from tests.conftest import LOOPBACK, Api
from tests.processes import HOOKWISE, env, free_port
from tests.receivers import Receiver


class Cli:
    """``hookwise …`` in this process (a worker thread: it runs its own event loop)."""

    def __init__(self, environ: dict[str, str]) -> None:
        self.environ = environ

    async def __call__(self, *args: str, code: int = 0) -> Any:
        runner = CliRunner()
        result = await asyncio.to_thread(runner.invoke, cli_app, list(args), env=self.environ)
        assert result.exit_code == code, (args, result.output, result.stderr)
        if code:  # one line, after the line that says which database (local mode)
            lines = [x for x in result.stderr.splitlines() if not x.startswith("hookwise: ")]
            assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
            return lines[0]
        return result.stdout

    async def json(self, *args: str) -> Any:
        lines = (await self(*args, "--json")).splitlines()
        rows = [orjson.loads(x) for x in lines]
        return rows if args[-1] == "list" or "list" in args else rows[0]


@pytest.fixture(params=["local", "remote"])
async def cli(request: pytest.FixtureRequest, db_url: str, api_factory: Any) -> Cli:
    environ = {"HOOKWISE_DB": db_url, "HOOKWISE_ALLOW_NETWORKS": LOOPBACK}
    if request.param == "remote":
        api: Api = await api_factory()
        # a database the remote mode must not touch: every answer comes over HTTP
        environ.update(HOOKWISE_URL=api.base_url, HOOKWISE_KEY=api.admin_key,
                       HOOKWISE_DB="sqlite:////nonexistent/never.db")  # fmt: skip
    return Cli(environ)


async def test_the_cli_writes(cli: Cli, receiver: Receiver) -> None:
    created = await cli.json("apps", "create", "Acme", "--uid", "acme")
    assert created["uid"] == "acme" and created["id"].startswith("app_")
    ep = await cli.json(
        "endpoints", "create", "--app", "acme", receiver.url(), "--event", "order.*",
        "--retry-schedule", "1,2", "--timeout", "5",
    )  # fmt: skip
    assert (ep["retry_schedule"], ep["timeout_seconds"], ep["events"]) == ([1, 2], 5, ["order.*"])
    ep = await cli.json("endpoints", "update", "--app", "acme", ep["id"], "--timeout", "7")
    assert ep["timeout_seconds"] == 7
    assert (await cli.json("endpoints", "pause", "--app", "acme", ep["id"]))["status"] == "paused"
    assert (await cli.json("endpoints", "resume", "--app", "acme", ep["id"]))["status"] == "active"
    secret = (await cli("endpoints", "rotate-secret", "--app", "acme", ep["id"])).strip()
    assert secret.startswith("whsec_")

    attempt = await cli.json("endpoints", "test", "--app", "acme", ep["id"])
    assert attempt["status"] == "succeeded" and attempt["response_status_code"] == 200
    assert len(receiver.requests) == 1
    msg = await cli.json("send", "--app", "acme", "order.paid", '{"total": 42}')
    assert msg["payload"] == {"total": 42} and msg["deliveries"] == 1
    (listed,) = await cli.json("messages", "list", "--app", "acme", "--event-type", "order.paid")
    assert listed["id"] == msg["id"]
    since = "2026-01-01T00:00:00Z"
    op = await cli.json("endpoints", "recover", "--app", "acme", ep["id"], "--since", since)
    assert (op["kind"], op["status"]) == ("recover", "done")
    (tried,) = await cli.json("attempts", "list", "--app", "acme")
    assert tried["id"] == attempt["id"]

    # whole ids in the table, even in a narrow terminal
    table = await cli("attempts", "list", "--app", "acme")
    assert attempt["id"] in table and attempt["message_id"] in table
    assert await cli.json("jobs", "list", "--app", "acme") == []

    key = (await cli("keys", "create", "--app", "acme", "--name", "ci")).strip()
    assert key.startswith("hwk_")
    (row,) = [k for k in await cli.json("keys", "list") if k["name"] == "ci"]
    assert row["app_id"] == created["id"] and "key" not in row
    await cli("keys", "revoke", row["id"])
    assert [k for k in await cli.json("keys", "list") if k["name"] == "ci"] == []

    # every known error: one line naming what went wrong, exit 1
    assert "app 'nosuch' not found" in await cli("keys", "create", "--app", "nosuch", code=1)
    err = await cli("endpoints", "pause", "--app", "acme", "ep_nope", code=1)
    assert "endpoint 'ep_nope' not found" in err
    err = await cli("endpoints", "create", "--app", "acme", "http://10.0.0.1/", code=1)
    assert "HOOKWISE_ALLOW_NETWORKS" in err
    assert "not JSON" in await cli("send", "--app", "acme", "a.b", "{", code=2)


async def test_jobs_show(cli: Cli) -> None:
    await cli("apps", "create", "Acme", "--uid", "acme")
    err = await cli("jobs", "show", "--app", "acme", "job_nope", code=1)
    assert "job 'job_nope' not found" in err


async def test_attempts_follow_prints_each_new_attempt(
    api_factory: Any, db_url: str, receiver: Receiver
) -> None:
    api: Api = await api_factory(workers=1)
    app = await api.app(uid="shop")
    await api.endpoint(app["id"], url=receiver.url())
    args = ["attempts", "list", "--app", "shop", "--follow", "--interval", "0.1", "--json"]
    proc = subprocess.Popen(
        [HOOKWISE, *args], env=env(db_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        for i in range(2):
            msg = await api.send(app["id"], "order.paid", {"i": i})
            line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 30)
            row = orjson.loads(line)
            assert (row["message_id"], row["status"]) == (msg["id"], "succeeded")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0  # Ctrl-C is how --follow ends
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert os.path.basename(HOOKWISE) == "hookwise"


async def test_a_hookwise_that_cannot_be_reached_is_one_line() -> None:
    port = free_port()  # nothing listens there
    down = Cli({"HOOKWISE_URL": f"http://127.0.0.1:{port}", "HOOKWISE_KEY": "hwk_x"})
    assert f"cannot connect to http://127.0.0.1:{port}" in await down("apps", "list", code=1)
    keyless = Cli({"HOOKWISE_URL": f"http://127.0.0.1:{port}", "HOOKWISE_KEY": ""})
    assert "--url needs --key" in await keyless("apps", "list", code=2)
