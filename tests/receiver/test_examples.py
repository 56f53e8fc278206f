"""The examples the docs quote, run for real: `hookwise receive` (a subprocess), Flask, FastAPI."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import signal
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest
from aiohttp import web

from hookwise.receiver import SqliteInbox
from tests.receiver.receiver_helpers import (
    Http,
    http_client,
    serve_aiohttp,
    serve_asgi,
    signed,
    wait_until,
    wait_until_sync,
    wsgi_server,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lead_emails(path: Path) -> list[str]:
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        try:
            return [r[0] for r in db.execute("SELECT email FROM leads ORDER BY source_id")]
        except sqlite3.OperationalError:
            return []


def enrichment(workflow_id: str) -> dict[str, object]:
    return {
        "event": "enrichment.completed",
        "workflow_id": workflow_id,
        "status": "completed",
        "summary": {"total": 2, "successful": 2, "failed": 0},
        "results": [
            {"task_id": "task_1", "primary_email": "john@acme.com", "primary_email_status": "ok"},
            {"task_id": "task_2", "primary_email": "jane@acme.com", "primary_email_status": "ok"},
        ],
    }


async def start(*args: str, env: dict[str, str]) -> tuple[asyncio.subprocess.Process, str]:
    """Start ``python -m hookwise.receiver ARGS``; return it and its first line of output."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hookwise.receiver", *args,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
    return proc, line


async def stop(proc: asyncio.subprocess.Process) -> None:
    """SIGINT, as Ctrl-C or an orchestrator would; the process must stop cleanly."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGINT)
    _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()


async def expect_wf_1(inbox_path: Path) -> None:
    """The app registers the workflows it submits: the receiver answers 404 for any other."""
    inbox = SqliteInbox(inbox_path)
    deadline = datetime.now(UTC) + timedelta(hours=1)
    await inbox.expect("wf_1", "http://127.0.0.1:9/status?workflow_id=wf_1", deadline)
    await inbox.close()


async def service_env(tmp_path: Path, secret: str) -> dict[str, str]:
    """The example service's environment, with wf_1 expected in its inbox."""
    inbox_path = tmp_path / "inbox.db"
    await expect_wf_1(inbox_path)
    return {
        "WEBHOOK_SECRET": secret,
        "RECEIVER_INBOX": f"sqlite:///{inbox_path}",
        "LEADS_DB": str(tmp_path / "leads.db"),
    }


@pytest.mark.parametrize("mode", ["one process", "receiver and --worker"])
async def test_the_service_example_runs_under_hookwise_receive(
    tmp_path: Path, secret: str, mode: str
) -> None:
    leads = tmp_path / "leads.db"
    env = await service_env(tmp_path, secret)
    app = ["--app", f"{EXAMPLES / 'receiver_service.py'}:receiver"]
    split = mode != "one process"
    procs = []
    try:
        server, line = await start(
            *app, "--port", "0", *(["--no-process"] if split else []), env=env
        )
        procs.append(server)
        assert "listening on http://127.0.0.1:" in line, line
        url = line.split("listening on ")[1].split()[0]
        if split:
            worker, line = await start(*app, "--worker", env=env)
            procs.append(worker)
            assert "--worker: processing" in line, line
        async with Http() as http:
            body, headers = signed(enrichment("wf_1"), secret)
            assert (await http.post(url, body, headers)).status == 200
            assert (await http.post(url, body, headers)).json()["status"] == "duplicate"
            body, headers = signed(enrichment("wf_unknown"), secret)
            assert (await http.post(url, body, headers)).status == 404
        await wait_until(lambda: len(lead_emails(leads)) == 2, what="leads saved")
        assert lead_emails(leads) == ["john@acme.com", "jane@acme.com"]
    finally:
        for proc in procs:
            await stop(proc)


@pytest.mark.parametrize(
    ("flag", "env", "status"),
    [
        ([], {}, 400),
        (["--accept-hex-only"], {}, 200),
        ([], {"HOOKWISE_RECEIVER_ACCEPT_HEX_ONLY": "true"}, 200),
    ],
    ids=["default", "flag", "environment"],
)
async def test_hookwise_receive_takes_a_hex_only_request_only_when_told(
    tmp_path: Path, secret: str, flag: list[str], env: dict[str, str], status: int
) -> None:
    inbox_path = tmp_path / "inbox.db"
    await expect_wf_1(inbox_path)
    env = {**env, "WEBHOOK_SECRET": secret, "RECEIVER_INBOX": f"sqlite:///{inbox_path}"}
    app = ["--app", f"{EXAMPLES / 'receiver_service.py'}:receiver"]
    proc, line = await start(*app, "--port", "0", "--no-process", *flag, env=env)
    try:
        url = line.split("listening on ")[1].split()[0]
        body, headers = signed(enrichment("wf_1"), secret)
        stripped = {"X-Webhook-Signature": headers["X-Webhook-Signature"]}
        async with Http() as http:
            answer = await http.post(url, body, stripped)
        assert answer.status == status, answer.body
    finally:
        await stop(proc)
    inbox = SqliteInbox(inbox_path)
    stored = await inbox.get("wf_1")
    await inbox.close()
    assert (stored is not None) == (status == 200)


def test_the_flask_example(tmp_path: Path, secret: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET", secret)
    monkeypatch.setenv("RECEIVER_INBOX", f"sqlite:///{tmp_path / 'inbox.db'}")
    example = load("receiver_flask")
    try:
        with wsgi_server(example.app) as base, http_client() as http:
            body, headers = signed(enrichment("wf_9"), secret)
            answer = http.post(f"{base}/webhooks/enrichment", content=body, headers=headers)
            assert answer.status_code == 200
            missing = signed({"event": "enrichment.completed"}, secret)
            no_id = http.post(f"{base}/webhooks/enrichment", content=missing[0], headers=missing[1])
            assert no_id.status_code == 400
            wait_until_sync(lambda: example.processed == ["wf_9"], what="processed")
    finally:
        example.hook.close()


async def test_the_fastapi_example(
    tmp_path: Path, secret: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET", secret)
    monkeypatch.setenv("RECEIVER_INBOX", f"sqlite:///{tmp_path / 'inbox.db'}")
    example = load("receiver_fastapi")
    async with serve_asgi(example.app) as base, Http() as http:
        body, headers = signed({"event": "job.completed", "id": "evt_1", "status": "done"}, secret)
        assert (await http.post(f"{base}/webhooks/", body, headers)).status == 200
        await wait_until(lambda: "job.completed" in capsys.readouterr().out, what="handler output")


def test_the_docs_quote_the_examples_verbatim() -> None:
    doc = (ROOT / "docs" / "how-to" / "receive.md").read_text()
    quoted = re.findall(r"<!-- example: (\S+) -->\n```python\n(.*?)```", doc, flags=re.S)
    assert len(quoted) == 3
    for path, code in quoted:
        assert code in (ROOT / path).read_text(), f"docs/how-to/receive.md drifted from {path}"


async def test_hookwise_receive_reads_another_senders_api_from_flags(
    tmp_path: Path, secret: str
) -> None:
    async def status(request: web.Request) -> web.Response:
        if request.headers.get("authorization") != "Bearer clapi_key":
            return web.json_response({"detail": "unauthorized"}, status=401)
        rows = enrichment(request.query["workflow_id"])["results"]
        return web.json_response({"workflow": {"status": "completed", "results": rows}})

    api = web.Application()
    api.router.add_get("/api/v1/public/enrich/status", status)
    leads = tmp_path / "leads.db"
    env = await service_env(tmp_path, secret) | {"API_KEY": "clapi_key"}
    async with serve_aiohttp(api) as base:
        flags = [
            *("--app", f"{EXAMPLES / 'receiver_service.py'}:receiver", "--port", "0"),
            *("--status-url", f"{base}/api/v1/public/enrich/status?workflow_id={{id}}"),
            *("--job-shape", '{"job": "workflow", "paging": "single"}'),
        ]
        proc, line = await start(*flags, env=env)
        try:
            url = line.split("listening on ")[1].split()[0]
            truncated = enrichment("wf_1") | {"results": [], "results_truncated": 2}
            async with Http() as http:
                assert (await http.post(url, *signed(truncated, secret))).status == 200
            await wait_until(lambda: len(lead_emails(leads)) == 2, what="the rest fetched")
        finally:
            await stop(proc)


@pytest.mark.parametrize(
    ("flag", "field"),
    [
        (["--job-shape", '{"paging": "pages"}'], "job_shape.paging"),
        (["--job-shape", "{paging"], "not JSON"),
        (["--status-url", "https://x/{job}"], "status_url"),
    ],
)
async def test_hookwise_receive_refuses_a_bad_sender_flag(
    tmp_path: Path, secret: str, flag: list[str], field: str
) -> None:
    env = {"WEBHOOK_SECRET": secret, "RECEIVER_INBOX": f"sqlite:///{tmp_path / 'inbox.db'}"}
    app = ["--app", f"{EXAMPLES / 'receiver_service.py'}:receiver"]
    proc, _ = await start(*app, "--port", "0", *flag, env=env)
    _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 2 and field in err.decode()
