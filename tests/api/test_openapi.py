"""The OpenAPI document says what the API answers, and the API refuses what it does not take."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hookwise.api.schemas import EVENT_FILTER, EVENT_TYPE, UID
from hookwise.domain.errors import InvalidInput
from hookwise.domain.events import validate_event_type, validate_filters
from tests.conftest import Api

ERRORS = {"400", "401", "403", "404", "409", "413", "422", "429"}


async def _doc(api: Api) -> dict[str, Any]:
    r = await api.http.get("/openapi.json")
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


async def test_every_operation_documents_its_errors_in_the_error_shape(api: Api) -> None:
    doc = await _doc(api)
    assert "HTTPValidationError" not in str(doc)  # FastAPI's 422 shape, which never comes
    assert set(doc["components"]["schemas"]["ErrorOut"]["properties"]) == {"error"}
    seen: set[str] = set()
    for path, item in doc["paths"].items():
        for method, op in item.items():
            answers = op["responses"]
            errors = {s for s in answers if s[0] in "45"}
            seen |= errors
            assert "503" in errors, (method, path)
            if path.startswith("/v1/"):
                assert {"401", "403", "422", "429"} <= errors, (method, path)
                assert "Retry-After" in answers["429"]["headers"]
            if "{" in path:
                assert "404" in errors, (method, path)
            if "requestBody" in op:
                assert {"400", "413"} <= errors, (method, path)
            for status in errors:
                schema = answers[status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorOut"}
    assert seen >= ERRORS
    job_create = doc["paths"]["/v1/apps/{app}/jobs"]["post"]["responses"]
    assert {"200", "201"} <= set(job_create)  # a repeated id answers 200


async def test_names_and_query_parameters_are_declared_as_enforced(api: Api) -> None:
    doc = await _doc(api)
    schemas = doc["components"]["schemas"]
    assert schemas["MessageIn"]["properties"]["event_type"]["pattern"] == EVENT_TYPE["pattern"]
    assert schemas["EventTypeIn"]["properties"]["name"]["pattern"] == EVENT_TYPE["pattern"]
    assert schemas["AppIn"]["properties"]["uid"]["anyOf"][0]["pattern"] == UID
    events = schemas["EndpointIn"]["properties"]["events"]["anyOf"][0]
    assert events["items"]["pattern"] == EVENT_FILTER["pattern"]
    limit = next(
        p for p in doc["paths"]["/v1/apps"]["get"]["parameters"] if p["name"] == "limit"
    )  # fmt: skip
    assert limit["schema"]["type"] == "integer"
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 1000)
    metrics = doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == ["text/plain; version=0.0.4; charset=utf-8"]


async def test_metrics_are_served_as_documented(api: Api) -> None:
    r = await api.http.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"


async def test_a_405_names_every_method_of_the_path(api: Api) -> None:
    r = await api.http.put("/v1/apps", json={})
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, POST"
    assert r.json()["error"]["code"] == "method_not_allowed"
    app = await api.app()
    r = await api.http.post(f"/v1/apps/{app['id']}")
    assert r.status_code == 405
    assert r.headers["allow"] == "DELETE, GET, PATCH"


REFUSED: list[tuple[str, str, dict[str, Any], str]] = [
    ("POST", "/v1/apps", {"name": "n", "results_inline_budget": "2048"}, "results_inline_budget"),
    ("POST", "/v1/apps", {"name": "n", "results_inline_budget": True}, "results_inline_budget"),
    ("POST", "/v1/apps", {"name": "n", "results_inline_budget": 2048.0}, "results_inline_budget"),
    ("POST", "/v1/apps", {"name": 1}, "name"),
    ("POST", "{app}/endpoints", {"url": "http://127.0.0.1/h", "timeout_seconds": True},
     "timeout_seconds"),
    ("POST", "{app}/endpoints", {"url": "http://127.0.0.1/h", "timeout_seconds": "5"},
     "timeout_seconds"),
    ("POST", "{app}/endpoints", {"url": "http://127.0.0.1/h", "max_in_flight": "1"},
     "max_in_flight"),
    ("POST", "{app}/endpoints", {"url": "http://127.0.0.1/h", "events": [1]}, "events.0"),
    ("PATCH", "/v1/event-types/a.b", {"archived": 0}, "archived"),
    ("PATCH", "/v1/event-types/a.b", {"archived": "false"}, "archived"),
    ("POST", "{app}/messages", {"event_type": "a.b", "payload": {}, "tags": [1]}, "tags.0"),
    ("POST", "{app}/jobs", {"type": "t", "webhook_events": {"item_finished": 1}},
     "webhook_events.item_finished"),
    ("GET", "/v1/apps?limit=1.0", {}, "limit"),
    ("GET", "/v1/apps?limit=%2B5", {}, "limit"),
    ("GET", "/v1/apps?limit=1_0", {}, "limit"),
    ("GET", "/v1/event-types?include_archived=yes", {}, "include_archived"),
    ("GET", "/v1/event-types?include_archived=1", {}, "include_archived"),
]  # fmt: skip
ACCEPTED: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "{app}/endpoints", {"url": "http://127.0.0.1/h", "timeout_seconds": 5,
                                 "status": "paused", "retry_schedule": [1, 2.5]}),
    ("PATCH", "/v1/event-types/a.b", {"archived": True}),
    ("POST", "{app}/jobs", {"type": "t", "webhook_events": {"item_finished": True}}),
    ("GET", "/v1/apps?limit=5", {}),
    ("GET", "/v1/event-types?include_archived=true", {}),
    ("GET", "/v1/event-types?include_archived=false", {}),
]  # fmt: skip


async def _call(api: Api, method: str, path: str, body: dict[str, Any]) -> Any:
    app = (await api.http.get("/v1/apps/typed")).json()["id"]
    path = path.replace("{app}", f"/v1/apps/{app}")
    return await api.http.request(method, path, json=body if method != "GET" else None)


@pytest.fixture
async def typed(api: Api) -> Api:
    await api.app(uid="typed")
    r = await api.http.post("/v1/event-types", json={"name": "a.b"})
    assert r.status_code == 201, r.text
    return api


async def test_types_are_strict(typed: Api) -> None:
    for method, path, body, field in REFUSED:
        r = await _call(typed, method, path, body)
        assert r.status_code == 422, (method, path, body, r.text)
        assert r.json()["error"]["details"]["field"] == field, (body, r.text)
    for method, path, body in ACCEPTED:
        r = await _call(typed, method, path, body)
        assert r.status_code < 300, (method, path, body, r.text)


NAMES = st.text(alphabet="aZ09_-.*: /", max_size=12)


@settings(max_examples=500, deadline=None)
@given(NAMES)
def test_the_documented_name_patterns_answer_as_the_domain_does(name: str) -> None:
    documented = re.fullmatch(str(EVENT_TYPE["pattern"]), name) is not None
    try:
        validate_event_type(name)
        taken = True
    except InvalidInput:
        taken = False
    assert documented == taken
    documented = re.fullmatch(str(EVENT_FILTER["pattern"]), name) is not None
    try:
        validate_filters([name])
        taken = True
    except InvalidInput:
        taken = False
    assert documented == taken
