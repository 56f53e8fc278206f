"""``custom`` is the customer's pass-through: strings only, returned byte for byte."""

from __future__ import annotations

from typing import Any

import orjson

from tests.conftest import Api
from tests.jobs.helpers import create_job, error, finish
from tests.receivers import Receiver

CUSTOM = {
    "crm_id": "42",
    "user": "Zoë Ñúñez 👩‍💻",
    "quoted": 'say "hi" \\ back\\slash',
    "spaces": "  leading and trailing  ",
    "lines": "one\ntwo\r\nthree\ttab",
    "json_like": '{"not": "parsed"}',
    "number_like": "007",
    "empty": "",
    "nul": "a\u0000b",
    "rtl": "\u202eevil",
}


async def test_a_number_is_refused_naming_its_key(api: Api) -> None:
    app = await api.app()
    r = await api.http.post(
        f"/v1/apps/{app['id']}/jobs",
        json={"type": "enrich", "custom": {"user_id": "u1", "crm_id": 42}},
    )
    e = error(r, 422, "validation_error")
    assert e["details"]["field"] == "custom.crm_id"
    assert "crm_id" in e["message"] and "number" in e["message"]
    for bad, kind in [
        (True, "a boolean"),
        (None, "null"),
        ([1], "a list"),
        ({"a": "b"}, "an object"),
    ]:
        r = await api.http.post(
            f"/v1/apps/{app['id']}/jobs", json={"type": "enrich", "custom": {"k": bad}}
        )
        e = error(r, 422)
        assert e["details"]["field"] == "custom.k" and kind in e["message"]
    listed = await api.http.get(f"/v1/apps/{app['id']}/jobs")
    assert listed.json()["data"] == []


async def test_strings_come_back_byte_for_byte(api_factory: Any, receiver: Receiver) -> None:
    api: Api = await api_factory(workers=1)
    app = await api.app()
    job = await create_job(api, app["id"], webhook_url=receiver.url("/cb"), custom=CUSTOM)
    await finish(api, app["id"], job["id"])
    await receiver.wait_for(lambda r: r.at("/cb"), timeout=10)
    (got,) = receiver.at("/cb")
    body = orjson.loads(got.body)
    assert body["custom"] == CUSTOM
    assert list(body["custom"]) == list(CUSTOM)
    # the delivered bytes hold each value exactly as a JSON encoder writes it, unescaped UTF-8
    for value in CUSTOM.values():
        assert orjson.dumps(value) in got.body
    polled = await api.http.get(f"/v1/apps/{app['id']}/jobs/{job['id']}")
    assert polled.json()["custom"] == CUSTOM
    assert list(polled.json()["custom"]) == list(CUSTOM)
