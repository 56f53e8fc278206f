"""``hookwise listen`` end to end: real server processes, a real listener process, a real local
receiver on 127.0.0.1. Events arrive signed with the relay endpoint's secret, a local 500 is
retried, events sent while no listener is connected wait, and a listener killed (SIGKILL)
mid-run loses nothing. On PostgreSQL it runs as a cluster: two ``hookwise api`` processes and a
``hookwise worker``; the listener is connected to one API, the messages go to the other, and
the worker (which must never claim a relay's deliveries) runs beside them."""

from __future__ import annotations

import asyncio
import re
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from tests.processes import Proc, admin_key, env, free_port, wait_healthy
from tests.receivers import Receiver

N = 24
LONG_LEASE = "300"  # far longer than the test: a killed listener's deliveries must be handed back
_READY = re.compile(r"Ready: relay endpoint (ep_\w+) \(listener 'dev'")


class Server:
    """Where messages are sent (``send_base``) and where the listener connects (``listen_base``)."""

    def __init__(self, db_url: str, tmp: Path, stack: ExitStack) -> None:
        self.tmp, self.stack = tmp, stack
        self.key = admin_key(db_url)
        self.environ = env(db_url, HOOKWISE_LEASE_SECONDS=LONG_LEASE,
                           HOOKWISE_POLL_INTERVAL_SECONDS="0.2")  # fmt: skip
        self.procs: list[tuple[Proc, str]] = []
        if db_url.startswith("sqlite"):
            self.listen_base = self.send_base = self._start("serve", "serve")
        else:  # a cluster: two API processes and a worker on one database
            self.listen_base = self._start("api", "api1")
            self.send_base = self._start("api", "api2")
            self.worker = self.proc(["worker"], "worker")

    def proc(self, args: list[str], name: str) -> Proc:
        p = Proc(args, self.environ, self.tmp / f"{name}.log")
        self.stack.callback(p.close)
        return p

    def _start(self, command: str, name: str) -> str:
        port = free_port()
        p = self.proc([command, "--port", str(port)], name)
        base = f"http://127.0.0.1:{port}"
        self.procs.append((p, base))
        return base

    async def healthy(self) -> None:
        await asyncio.gather(*(wait_healthy(base, p) for p, base in self.procs))


async def _ready(proc: Proc, after: int = 0, timeout: float = 30) -> str:
    """The relay endpoint id a listener printed (its ``after``-th Ready line or a later one)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _READY.findall(proc.log.read_text())
        if len(found) > after:
            return str(found[-1])
        if proc.popen.poll() is not None:
            raise RuntimeError(f"listen exited: {proc.log.read_text()[-2000:]}")
        await asyncio.sleep(0.05)
    raise TimeoutError(f"listen was not ready: {proc.log.read_text()[-2000:]}")


def _ids(receiver: Receiver) -> set[str]:
    return {r.headers["webhook-id"] for r in receiver.at("/hooks")}


async def test_listen_relays_retries_and_loses_nothing(
    db_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    with ExitStack() as stack:
        server = Server(db_url, tmp_path, stack)
        await server.healthy()
        auth = {"Authorization": f"Bearer {server.key}"}
        async with httpx.AsyncClient(base_url=server.send_base, headers=auth, timeout=10) as c:
            app = (await c.post("/v1/apps", json={"name": "dev"})).json()["id"]

            async def send(n: int, event_type: str = "user.created") -> list[str]:
                out = []
                for i in range(n):
                    body = {"event_type": event_type, "payload": {"i": i}}
                    r = await c.post(f"/v1/apps/{app}/messages", json=body)
                    assert r.status_code == 202, r.text
                    out.append(r.json()["id"])
                return out

            listen_args = [
                "listen", "--app", app, "--forward-to", receiver.url("/hooks"), "--name", "dev",
                "--events", "user.*", "--url", server.listen_base, "--key", server.key,
            ]  # fmt: skip
            # beside it, a key the server does not know: one line and exit 1, no retrying
            bad = server.proc([*listen_args[:-1], "hwk_nosuchkey"], "listen0")
            first = server.proc(listen_args, "listen1")
            relay_id = await _ready(first)
            assert await asyncio.to_thread(bad.popen.wait, 30) == 1
            assert bad.log.read_text().strip() == "error: unknown or revoked API key (HTTP 401)"
            secret = (await c.get(f"/v1/apps/{app}/endpoints/{relay_id}/secret")).json()["key"]

            # 1. signed with the relay's secret, the original body; a local 500 is retried
            receiver.answer("/hooks", 500)
            (msg,) = await send(1)
            await send(1, "order.paid")  # not subscribed: never relayed
            await receiver.wait_for(lambda r: len(r.at("/hooks")) >= 2)
            tries = receiver.at("/hooks")
            assert [r.headers["webhook-id"] for r in tries] == [msg, msg]
            for r in tries:
                Webhook(secret).verify(r.body, r.headers)  # raises when the signature is wrong
            attempts = await _attempts(c, app, relay_id, lambda a: len(a) >= 2)
            assert [(a["attempt_number"], a["response_status_code"], a["status"]) for a in
                    attempts] == [(1, 500, "failed"), (2, 200, "succeeded")]  # fmt: skip
            assert attempts[0]["error_message"] == "HTTP 500"
            lines = first.log.read_text()
            assert re.search(r"\d\d:\d\d:\d\d  user\.created  500  \d+ ms  " + msg, lines)
            assert re.search(r"\d\d:\d\d:\d\d  user\.created  200  \d+ ms  " + msg, lines)

            # 2. killed mid-run: what it held goes to the next listener, and what is sent
            # while none is connected waits for it
            receiver.always("/hooks", 200, delay=1.0)  # held in flight at the kill
            accepted = set(await send(N))
            await receiver.wait_for(lambda r: len(_ids(r) & accepted) >= 4)
            first.kill()
            assert len(_ids(receiver) & accepted) < N  # the kill really came mid-run
            receiver.always("/hooks", 200)
            accepted |= set(await send(4))
            second = server.proc(listen_args, "listen2")
            assert await _ready(second) == relay_id  # the same name, the same endpoint
            await receiver.wait_for(lambda r: _ids(r) >= accepted | {msg}, timeout=60)

        async with httpx.AsyncClient(base_url=server.send_base, headers=auth, timeout=10) as c:
            done = await _attempts(c, app, relay_id, lambda a: len(a) >= N + 6)
        # no worker ever tried the relay's URL; no attempt failed but the scripted 500
        assert [a["error_message"] for a in done if a["status"] == "failed"] == ["HTTP 500"]
        assert {a["message_id"] for a in done} == accepted | {msg}


async def _attempts(c: httpx.AsyncClient, app: str, endpoint_id: str, until: Any) -> list[Any]:
    """The endpoint's attempts, oldest first, once ``until`` holds of them."""
    deadline = time.monotonic() + 30
    while True:
        r = await c.get(
            f"/v1/apps/{app}/attempts", params={"endpoint_id": endpoint_id, "limit": 200}
        )
        got = sorted(r.json()["data"], key=lambda a: (a["started_at"], a["attempt_number"]))
        if until(got) or time.monotonic() > deadline:
            return got
        await asyncio.sleep(0.1)
