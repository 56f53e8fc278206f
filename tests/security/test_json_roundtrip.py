"""Any JSON value the API accepts in a free-form field reads back exactly through its GET and
list routes; anything else is a 4xx in the error shape with nothing written. Never a 5xx.

Hypothesis draws values deep, wide, with huge numbers, lone surrogates, NUL and long keys; the
same server (one per store) answers every example."""

from __future__ import annotations

import json
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from tests.conftest import Api

_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=12) | st.sampled_from(
    ["\x00", "\ud800", "a\udfffb", "k" * 300, "é€😀"]
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([2**63 - 1, -(2**63), 2**63, -(2**63) - 1, 10**30])
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def _values(draw: st.DrawFn) -> Any:
    value = draw(_JSON)
    for _ in range(draw(st.sampled_from([0, 0, 0, 10, 63, 64, 65, 200, 300]))):
        value = {"d": value} if draw(st.booleans()) else [value]
    return value


def _raw(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True)  # lone surrogates travel as \ud800 escapes


def _fine(value: Any, depth: int = 0) -> bool:
    """Inside the documented limits (docs/reference/api.md): what the API must accept."""
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return bool(-(2**63) <= value < 2**63)
    if isinstance(value, float):
        return True
    if isinstance(value, str):
        return not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if depth >= 64:
        return False
    items = value.items() if isinstance(value, dict) else enumerate(value)
    return all((not isinstance(k, str) or _fine(k)) and _fine(v, depth + 1) for k, v in items)


_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _check_refused(status: int, body: dict[str, Any], value: Any) -> None:
    assert status in (400, 422), (status, body)
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert not _fine(value), ("refused a value inside the limits", body)


@pytest.fixture
async def shared(api: Api) -> tuple[Api, str]:
    app = await api.app(name="roundtrip")
    return api, app["id"]


@_SETTINGS
@given(value=_values())
async def test_payload_reads_back_or_is_refused(shared: tuple[Api, str], value: Any) -> None:
    api, app_id = shared
    raw = '{"event_type":"a.b","payload":' + _raw(value) + "}"
    r = await api.http.post(
        f"/v1/apps/{app_id}/messages", content=raw, headers={"Content-Type": "application/json"}
    )
    if r.status_code != 202:
        _check_refused(r.status_code, r.json(), value)
        return
    msg_id = r.json()["id"]
    got = await api.http.get(f"/v1/apps/{app_id}/messages/{msg_id}")
    assert got.status_code == 200 and got.json()["payload"] == value
    listed = await api.http.get(f"/v1/apps/{app_id}/messages", params={"limit": 1})
    assert listed.status_code == 200 and listed.json()["data"][0]["payload"] == value


@_SETTINGS
@given(value=_values())
async def test_metadata_and_results_read_back_or_are_refused(
    shared: tuple[Api, str], value: Any
) -> None:
    api, app_id = shared
    before = len((await api.http.get("/v1/apps", params={"limit": 1000})).json()["data"])
    raw = '{"name":"m","metadata":{"v":' + _raw(value) + "}}"
    r = await api.http.post("/v1/apps", content=raw, headers={"Content-Type": "application/json"})
    if r.status_code != 201:
        _check_refused(r.status_code, r.json(), {"v": value})
        after = (await api.http.get("/v1/apps", params={"limit": 1000})).json()["data"]
        assert len(after) == before
    else:
        made = r.json()["id"]
        assert (await api.http.get(f"/v1/apps/{made}")).json()["metadata"] == {"v": value}
        listed = await api.http.get("/v1/apps", params={"limit": 1000})
        assert listed.status_code == 200
        assert {"v": value} in [a["metadata"] for a in listed.json()["data"]]
        assert (await api.http.delete(f"/v1/apps/{made}")).status_code == 204

    job = (await api.http.post(f"/v1/apps/{app_id}/jobs", json={"type": "t"})).json()
    base = f"/v1/apps/{app_id}/jobs/{job['id']}"
    raw = '{"items":[{"id":"i","status":"succeeded","result":' + _raw(value) + "}]}"
    r = await api.http.post(
        f"{base}/items", content=raw, headers={"Content-Type": "application/json"}
    )
    results = await api.http.get(f"{base}/results")
    assert results.status_code == 200
    if r.status_code != 200:
        _check_refused(r.status_code, r.json(), value)
        assert results.json()["data"] == []
        return
    (row,) = results.json()["data"]
    assert row.get("result") == value
    polled = await api.http.get(base)
    assert polled.status_code == 200 and polled.json()["results"][0].get("result") == value
