"""Secrets at rest: HOOKWISE_SECRET_KEY is checked when a store opens, rotated in batches, never
passed through; custom headers are sealed and redacted like the signing secret, and reserved or
malformed header names are refused. On both stores."""

from __future__ import annotations

import sqlite3
from typing import Any

import asyncpg
import httpx
import pytest

from hookwise.api.auth import create_key
from hookwise.client import AsyncClient
from hookwise.domain.errors import SecretKeyError
from hookwise.domain.models import NewEndpoint, NewMessage
from hookwise.domain.secretbox import SecretBox
from hookwise.store import Store, keyring, open_store
from tests.conftest import Api
from tests.receivers import Receiver

TOKEN = "Bearer s3cr3t-t0ken"


async def raw(db_url: str, sql: str) -> list[dict[str, Any]]:
    """Rows straight from the database, as stored."""
    if db_url.startswith("sqlite:///"):
        conn = sqlite3.connect(db_url[len("sqlite:///") :])
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute(sql).fetchall()]
        finally:
            conn.close()
    pg = await asyncpg.connect(db_url)
    try:
        return [dict(r) for r in await pg.fetch(sql)]
    finally:
        await pg.close()


async def _endpoint(store: Store, **fields: Any) -> tuple[str, str]:
    app = await store.resources.create_app(
        name="a", uid=None, metadata={}, results_inline_budget=1024
    )
    new = NewEndpoint(app_id=app.id, url="http://127.0.0.1:9/h", secret="whsec_plain", **fields)
    return app.id, (await store.resources.create_endpoint(new)).id


async def _reopen(db_url: str, key: str | None) -> Store:
    return await open_store(db_url, secret_key=key)


# ---------------------------------------------------------------------------------------------
# item 9: the key is checked at start-up


async def test_secrets_and_headers_are_encrypted_at_rest(api_factory: Any, db_url: str) -> None:
    api: Api = await api_factory(secret_key="k1")
    app = await api.app()
    ep = await api.endpoint(
        app["id"], url="http://127.0.0.1:9/h", secret="whsec_MDEyMzQ1Njc4OWFiY2RlZg==",
        headers={"Authorization": TOKEN},
    )  # fmt: skip
    (row,) = await raw(db_url, "SELECT secret, headers FROM endpoints")
    assert row["secret"].startswith("enc:v1:") and row["headers"].startswith("enc:v1:")
    assert "s3cr3t" not in row["headers"]
    base = f"/v1/apps/{app['id']}/endpoints/{ep['id']}"
    assert (await api.http.get(f"{base}/secret")).json()["key"].startswith("whsec_MDEy")
    assert (await api.http.get(f"{base}/headers")).json() == {"headers": {"Authorization": TOKEN}}


async def test_a_store_refuses_to_open_without_its_key_or_with_another(db_url: str) -> None:
    store = await _reopen(db_url, "k1")
    await _endpoint(store)
    await store.close()
    with pytest.raises(SecretKeyError, match="HOOKWISE_SECRET_KEY is not set"):
        await _reopen(db_url, None)
    with pytest.raises(SecretKeyError, match="is not the key"):
        await _reopen(db_url, "k2")
    store = await _reopen(db_url, "k1")
    await store.close()


async def test_a_database_encrypted_before_the_check_row_is_checked_by_its_secrets(
    db_url: str,
) -> None:
    store = await _reopen(db_url, "k1")
    await _endpoint(store)
    await store.keyring.write_meta(
        {keyring.CHECK: None}
    )  # as written before the meta table existed
    await store.close()
    with pytest.raises(SecretKeyError, match="not set"):
        await _reopen(db_url, None)
    with pytest.raises(SecretKeyError, match="is not the key"):
        await _reopen(db_url, "k2")
    store = await _reopen(db_url, "k1")
    assert await store.keyring.read_meta(keyring.CHECK) is not None  # recorded from now on
    await store.close()


async def test_a_key_given_to_a_plain_database_keeps_reading_its_plain_secrets(
    db_url: str,
) -> None:
    store = await _reopen(db_url, None)
    app_id, old = await _endpoint(store, headers={"X-Token": "t"})
    await store.close()
    store = await _reopen(db_url, "k1")
    try:
        got = await store.resources.get_endpoint(app_id, old)
        assert (got.secret, got.headers) == ("whsec_plain", {"X-Token": "t"})
        await _endpoint(store)  # written encrypted
    finally:
        await store.close()
    with pytest.raises(SecretKeyError, match="not set"):
        await _reopen(db_url, None)


async def test_ciphertext_is_never_read_as_a_secret_nor_signs(db_url: str) -> None:
    store = await _reopen(db_url, "k1")
    app_id, ep_id = await _endpoint(store)
    await store.messages.enqueue_message(NewMessage(app_id=app_id, event_type="a.b", body=b"{}"))
    await store.close()
    unchecked = await open_store(db_url, check_key=False)  # as a process before the check
    try:
        with pytest.raises(SecretKeyError):
            await unchecked.resources.get_endpoint(app_id, ep_id)
        with pytest.raises(SecretKeyError):
            await unchecked.queue.claim_due(worker_id="w", limit=10, lease_seconds=30)
    finally:
        await unchecked.close()


class _Interrupted(Exception):
    pass


@pytest.mark.parametrize("current", ["k1", None], ids=["rotate", "encrypt_plain"])
async def test_rotation_reencrypts_everything_in_batches_and_resumes(
    db_url: str, current: str | None
) -> None:
    store = await _reopen(db_url, current)
    ids = [await _endpoint(store, headers={"X-Token": f"t{i}"}) for i in range(5)]
    app_id, ep_id = ids[0]
    await store.resources.rotate_endpoint_secret(app_id, ep_id, "whsec_second", 4102444800.0)
    job_secret, _ = await store.jobs.job_secret(app_id)

    calls = 0
    real = store.keyring.reseal_secrets

    async def flaky(table: str, after: str | None, limit: int, reseal: keyring.Reseal) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise _Interrupted
        return await real(table, after, limit, reseal)

    store.keyring.reseal_secrets = flaky  # type: ignore[method-assign]  # a crash mid-rotation
    with pytest.raises(_Interrupted):
        await keyring.rotate(store.keyring, current, "k2", batch=2)
    await store.close()
    for key in (current, "k2"):
        with pytest.raises(SecretKeyError, match="did not finish"):
            await _reopen(db_url, key)

    store = await open_store(db_url, secret_key=current, check_key=False)
    await keyring.check(store.keyring, SecretBox(current), rotating=True)
    with pytest.raises(SecretKeyError, match="another key"):
        await keyring.rotate(store.keyring, current, "k3", batch=2)
    done = await keyring.rotate(store.keyring, current, "k2", batch=2)
    await store.close()
    assert done == {"apps": 5, "endpoints": 5}

    with pytest.raises(SecretKeyError, match="is not the key" if current else "not set"):
        await _reopen(db_url, current)
    store = await _reopen(db_url, "k2")
    try:
        for i, (a, e) in enumerate(ids):
            got = await store.resources.get_endpoint(a, e)
            assert got.headers == {"X-Token": f"t{i}"}
        got = await store.resources.get_endpoint(app_id, ep_id)
        assert got.secret == "whsec_second" and got.previous_secrets[0][0] == "whsec_plain"
        assert (await store.jobs.job_secret(app_id))[0] == job_secret
    finally:
        await store.close()
    for row in await raw(db_url, "SELECT secret, previous_secrets, headers FROM endpoints"):
        assert row["secret"].startswith("enc:v1:") and row["headers"].startswith("enc:v1:")


async def test_a_secret_in_encrypted_form_is_refused(api: Api) -> None:
    app = await api.app()
    r = await api.http.post(
        f"/v1/apps/{app['id']}/endpoints", json={"url": "http://127.0.0.1:9/", "secret": "enc:v1:x"}
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "secret"


# ---------------------------------------------------------------------------------------------
# item 13: custom headers are secrets


async def test_headers_are_redacted_everywhere_but_their_own_route(
    api_factory: Any, receiver: Receiver
) -> None:
    api: Api = await api_factory(secret_key="k1", workers=1)
    app = await api.app()
    created = await api.endpoint(
        app["id"], url=receiver.url(), headers={"Authorization": TOKEN, "X-Tenant": "acme"}
    )
    base = f"/v1/apps/{app['id']}/endpoints"
    one = f"{base}/{created['id']}"
    redacted = {"Authorization": "***", "X-Tenant": "***"}
    assert created["headers"] == redacted
    assert (await api.http.get(one)).json()["headers"] == redacted
    assert (await api.http.get(base)).json()["data"][0]["headers"] == redacted
    rotated = (await api.http.post(f"{one}/secret/rotate")).json()
    assert rotated["endpoint"]["headers"] == redacted

    # a GET-then-PATCH round trip keeps the stored values; a new value replaces one
    r = await api.http.patch(one, json={"headers": {"Authorization": "***", "X-Tenant": "b"}})
    assert r.status_code == 200 and r.json()["headers"] == redacted
    clear = (await api.http.get(f"{one}/headers")).json()
    assert clear == {"headers": {"Authorization": TOKEN, "X-Tenant": "b"}}
    r = await api.http.patch(one, json={"headers": {"X-New": "***"}})
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "headers.X-New"
    r = await api.http.post(base, json={"url": receiver.url(), "headers": {"X-A": "***"}})
    assert r.status_code == 422

    # the clear values are what is sent
    await api.send(app["id"])
    await receiver.wait_for(lambda r: r.at("/hook"))
    sent = receiver.at("/hook")[0].headers
    assert sent["Authorization"] == TOKEN and sent["X-Tenant"] == "b"

    # app-scoped like the secret: another tenant's key sees nothing
    other = await api.app()
    _, key = await create_key(api.store, "other", other["id"])
    async with httpx.AsyncClient(base_url=api.base_url) as c:
        r = await c.get(f"{one}/headers", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code in (403, 404) and TOKEN not in r.text


# ---------------------------------------------------------------------------------------------
# item 11: header names


@pytest.mark.parametrize(
    "name",
    [
        "Content_Length", "Transfer_Encoding", "Webhook_Signature", "x_webhook_signature",
        "webhook_id", "HOST", "Connection", "Keep-Alive", "TE", "Trailer", "Upgrade",
        "Proxy-Authorization", "proxy_connection", "X Bad", "X:Bad", "X-Ünï", "", "X-A\n",
    ],
)  # fmt: skip
async def test_reserved_hop_by_hop_and_malformed_header_names_are_refused(
    api: Api, name: str
) -> None:
    app = await api.app()
    base = f"/v1/apps/{app['id']}/endpoints"
    r = await api.http.post(base, json={"url": "http://127.0.0.1:9/", "headers": {name: "1"}})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["field"] == f"headers.{name}"
    assert (await api.http.get(base)).json()["data"] == []  # nothing written
    ep = await api.endpoint(app["id"], url="http://127.0.0.1:9/")
    r = await api.http.patch(f"{base}/{ep['id']}", json={"headers": {name: "1"}})
    assert r.status_code == 422, r.text


async def test_one_header_under_two_spellings_and_control_characters_are_refused(
    api: Api,
) -> None:
    app = await api.app()
    base = f"/v1/apps/{app['id']}/endpoints"
    for headers, field in (
        ({"X-Token": "a", "x_token": "b"}, "headers.x_token"),
        ({"X-Token": "a\x7fb"}, "headers.X-Token"),
        ({"X-Token": "a\x01"}, "headers.X-Token"),
    ):
        r = await api.http.post(base, json={"url": "http://127.0.0.1:9/", "headers": headers})
        assert r.status_code == 422 and r.json()["error"]["details"]["field"] == field
    ok = await api.endpoint(
        app["id"], url="http://127.0.0.1:9/", headers={"X-Custom_Name.v2": "a\tb ü"}
    )
    assert ok["headers"] == {"X-Custom_Name.v2": "***"}


async def test_the_client_reads_an_endpoints_headers(api: Api) -> None:
    async with AsyncClient(api.base_url, api.admin_key) as hw:
        app = await hw.apps.create("shop")
        ep = await hw.endpoints.create(
            app["id"], "http://127.0.0.1:9/", headers={"Authorization": TOKEN}
        )
        assert ep["headers"] == {"Authorization": "***"}
        got = await hw.endpoints.headers(app["id"], ep["id"])
        assert got == {"headers": {"Authorization": TOKEN}}
