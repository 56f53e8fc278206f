"""The CLI on both backends: the read commands answer from the store, every command refuses to
start with a missing or wrong HOOKWISE_SECRET_KEY, and ``secret-key`` re-encrypts."""

from __future__ import annotations

import subprocess
from typing import Any

import orjson

from hookwise.store import open_store
from tests.api.test_endpoint_secrets import raw
from tests.conftest import Api
from tests.processes import HOOKWISE, env, free_port
from tests.receivers import Receiver


def _cli(db_url: str, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    environ = env(db_url)
    environ.pop("HOOKWISE_SECRET_KEY", None)
    if key:
        environ["HOOKWISE_SECRET_KEY"] = key
    # a command that should refuse but starts instead runs into the timeout: the test fails
    return subprocess.run(
        [HOOKWISE, *args], env=environ, capture_output=True, text=True, timeout=60
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


async def test_every_command_refuses_to_start_without_the_key_or_with_another(
    api_factory: Any, db_url: str
) -> None:
    api: Api = await api_factory(secret_key="k1")
    app = await api.app(uid="shop")
    await api.endpoint(app["id"], url="http://127.0.0.1:9/", headers={"Authorization": "t0k"})
    out = _cli(db_url, "endpoints", "list", "--app", "shop", "--json", key="k1")
    assert out.returncode == 0, out.stderr
    assert orjson.loads(out.stdout)["headers"] == {"Authorization": "***"}

    port = str(free_port())
    commands = [
        ["endpoints", "list", "--app", "shop"], ["serve", "--port", port],
        ["api", "--port", port], ["worker"], ["keys", "create", "--admin"],
    ]  # fmt: skip
    for key, says in ((None, "HOOKWISE_SECRET_KEY is not set"), ("k2", "is not the key")):
        for args in commands:
            out = _cli(db_url, *args, key=key)
            assert out.returncode == 1, (args, key, out.stdout, out.stderr)
            assert says in out.stderr and "Traceback" not in out.stderr, (args, out.stderr)


async def test_secret_key_encrypts_a_plain_database_and_rotates(api: Api, db_url: str) -> None:
    app = await api.app(uid="shop")
    ep = await api.endpoint(app["id"], url="http://127.0.0.1:9/", headers={"X-Token": "t"})
    secret = (await api.http.get(f"/v1/apps/shop/endpoints/{ep['id']}/secret")).json()["key"]
    assert (await raw(db_url, "SELECT secret FROM endpoints"))[0]["secret"] == secret

    assert _cli(db_url, "secret-key", "encrypt").returncode == 2  # which key?
    out = _cli(db_url, "secret-key", "encrypt", key="k1")
    assert out.returncode == 0 and "1 endpoint and" in out.stdout, out.stderr
    (row,) = await raw(db_url, "SELECT secret, headers FROM endpoints")
    assert row["secret"].startswith("enc:v1:") and row["headers"].startswith("enc:v1:")
    assert _cli(db_url, "apps", "list").returncode == 1

    out = _cli(db_url, "secret-key", "rotate", "--new-key", "k2", key="k1")
    assert out.returncode == 0, out.stderr
    assert "is not the key" in _cli(db_url, "apps", "list", key="k1").stderr
    assert _cli(db_url, "apps", "list", key="k2").returncode == 0
    keys = {"HOOKWISE_SECRET_KEY": "k2", "HOOKWISE_NEW_SECRET_KEY": "k3"}  # not in `ps`
    rotated = subprocess.run(
        [HOOKWISE, "secret-key", "rotate"], env=env(db_url, **keys),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert rotated.returncode == 0, rotated.stderr

    store = await open_store(db_url, secret_key="k3")
    try:
        got = await store.resources.get_endpoint(app["id"], ep["id"])
        assert (got.secret, got.headers) == (secret, {"X-Token": "t"})
    finally:
        await store.close()
    new = _cli(db_url, "secret-key", "new")
    assert new.returncode == 0 and len(new.stdout.strip()) == 43
