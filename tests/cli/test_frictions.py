"""The frictions a new user met (issue 17), each checked as they met it: real processes."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import httpx
import orjson

from tests.processes import HOOKWISE, Proc, env, free_port, wait_healthy
from tests.receiver.receiver_helpers import wait_until
from tests.receivers import Receiver as HttpReceiver


def _run(args: list[str], cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HOOKWISE_")}
    environ.update(extra)
    return subprocess.run(
        [HOOKWISE, *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=60
    )


def _one_error_line(out: subprocess.CompletedProcess[str], code: int) -> str:
    assert out.returncode == code, (out.stdout, out.stderr)
    lines = [x for x in out.stderr.splitlines() if not x.startswith("hookwise: ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    return lines[0]


def test_known_errors_are_one_line_each(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        out = _run(["serve", "--port", port], tmp_path)
        assert "port is in use" in _one_error_line(out, 1)
        assert "listening" not in out.stdout  # it did not claim to listen first
        (tmp_path / "hooks.py").write_text(
            "import os\nfrom hookwise.receiver import Receiver\n"
            "receiver = Receiver(inbox='sqlite:///inbox.db', secret=os.environ['SECRET'])\n"
        )
        out = _run(["receive", "--app", "hooks:receiver", "--port", port], tmp_path,
                   SECRET="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")  # fmt: skip
        assert "port is in use" in _one_error_line(out, 1)
    # the user's module dies on its missing variable: say so, and how to do without it
    line = _one_error_line(_run(["receive", "status", "--app", "hooks:receiver"], tmp_path), 2)
    assert "KeyError: 'SECRET'" in line and "--inbox" in line
    out = _run(["receive", "status", "--inbox", "sqlite:///inbox.db"], tmp_path)
    assert out.returncode == 0 and orjson.loads(out.stdout)["dead"] == 0
    # a bad setting is one line too
    line = _one_error_line(_run(["apps", "list"], tmp_path, HOOKWISE_LOG_FORMAT="xml"), 2)
    assert "HOOKWISE_LOG_FORMAT" in line


def test_a_command_names_the_database_it_opens(tmp_path: Path, db_url: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = _run(["keys", "create", "--admin"], elsewhere)
    assert out.returncode == 0 and out.stdout.strip().startswith("hwk_")
    made = elsewhere / "hookwise-data" / "hookwise.db"
    assert f"SQLite {made}" in out.stderr and "creating it" in out.stderr
    out = _run(["keys", "create", "--admin"], elsewhere)
    assert f"SQLite {made}" in out.stderr and "creating" not in out.stderr
    out = _run(["apps", "list"], elsewhere, HOOKWISE_DB=db_url)
    assert out.returncode == 0 and "hookwise: database " in out.stderr
    if db_url.startswith("postgresql"):
        assert db_url.rsplit("/", 1)[1] in out.stderr


async def test_make_run_twice_reuses_the_demo_app_and_key(tmp_path: Path, db_url: str) -> None:
    keys, apps = [], []
    for run in range(2):
        port = free_port()
        proc = Proc(["serve", "--demo", "--port", str(port)], env(db_url), tmp_path / f"{run}.log")
        try:
            base = f"http://127.0.0.1:{port}"
            await wait_healthy(base, proc)
            log = (tmp_path / f"{run}.log").read_text()
            key = log.split("Admin key ", 1)[1].split(": ", 1)[1].split()[0]
            async with httpx.AsyncClient(
                base_url=base, headers={"authorization": f"Bearer {key}"}
            ) as c:
                apps.append([a for a in (await c.get("/v1/apps")).json()["data"]])
                names = [k["name"] for k in (await c.get("/v1/keys")).json()["data"]]
            assert names.count("demo admin") == 1
            keys.append(key)
        finally:
            await proc.stop()
            proc.close()
    assert [len(a) for a in apps] == [1, 1] and apps[0][0]["id"] == apps[1][0]["id"]
    if db_url.startswith("sqlite"):  # kept beside the database, and printed again
        assert keys[0] == keys[1]
        assert "kept from the last run" in (tmp_path / "1.log").read_text()


async def test_serve_logs_requests_and_attempts_without_secrets(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    db = f"sqlite:///{tmp_path / 'h.db'}"
    environ = {k: v for k, v in env(db).items() if k != "HOOKWISE_ALLOW_NETWORKS"}
    key = _run(["keys", "create", "--admin", "--db", db], tmp_path).stdout.strip()
    port = free_port()
    args = ["serve", "--port", str(port), "--log-format", "json", "--allow-networks", "127.0.0.0/8"]
    proc = Proc(args, environ, tmp_path / "serve.log")
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(base, proc)
        async with httpx.AsyncClient(
            base_url=base, headers={"authorization": f"Bearer {key}"}
        ) as c:
            app = (await c.post("/v1/apps", json={"name": "a"})).json()
            r = await c.post(f"/v1/apps/{app['id']}/endpoints",
                             json={"url": receiver.url("/hook?token=s3cr3t")})  # fmt: skip
            assert r.status_code == 201, r.text  # --allow-networks let loopback through
            secret = r.json()
            sent = {"event_type": "a.b", "payload": {"card": "4242-PAYLOAD"}}
            r = await c.post(f"/v1/apps/{app['id']}/messages", json=sent)
            msg = r.json()

            async def attempted() -> bool:
                rows = (await c.get(f"/v1/apps/{app['id']}/attempts")).json()["data"]
                return bool(rows) and rows[0]["status"] == "succeeded"

            await wait_until(attempted, what="the attempt")
            ep_secret = (
                await c.get(f"/v1/apps/{app['id']}/endpoints/{secret['id']}/secret")
            ).json()["key"]
    finally:
        await proc.stop()
        proc.close()
    lines = [orjson.loads(x) for x in (tmp_path / "serve.log").read_text().splitlines()
             if x.startswith("{")]  # fmt: skip
    requests = [x for x in lines if x.get("event") == "request"]
    assert {"method": "POST", "path": f"/v1/apps/{app['id']}/messages", "status": 202}.items() <= (
        next(x for x in requests if x["method"] == "POST" and x["path"].endswith("/messages"))
    ).items()
    (attempt,) = [x for x in lines if x.get("event") == "attempt"]
    assert (attempt["message_id"], attempt["status_code"], attempt["succeeded"]) == (
        msg["id"], 200, True,
    )  # fmt: skip
    text = (tmp_path / "serve.log").read_text()
    for secret_text in (key, ep_secret, "s3cr3t", "4242-PAYLOAD"):
        assert secret_text not in text
