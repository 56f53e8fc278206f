"""Helpers of the jobs tests: a job's API calls through the admin client of ``Api``."""

from __future__ import annotations

from typing import Any

import orjson

from tests.conftest import Api
from tests.receivers import Received


async def create_job(api: Api, app_id: str, **body: Any) -> dict[str, Any]:
    r = await api.http.post(f"/v1/apps/{app_id}/jobs", json={"type": "enrich.bulk", **body})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def report(api: Api, app_id: str, job_id: str, items: list[dict[str, Any]]) -> Any:
    r = await api.http.post(f"/v1/apps/{app_id}/jobs/{job_id}/items", json={"items": items})
    assert r.status_code == 200, r.text
    return r.json()


async def finish(api: Api, app_id: str, job_id: str, **body: Any) -> dict[str, Any]:
    r = await api.http.post(
        f"/v1/apps/{app_id}/jobs/{job_id}/finish", json={"status": "completed", **body}
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def job_secret(api: Api, app_id: str) -> str:
    r = await api.http.get(f"/v1/apps/{app_id}/job-secret")
    assert r.status_code == 200, r.text
    return str(r.json()["key"])


def events(received: list[Received], event: str | None = None) -> list[dict[str, Any]]:
    """The JSON bodies received, optionally only one event type."""
    bodies = [orjson.loads(r.body) for r in received]
    return [b for b in bodies if event is None or b["event"] == event]


def error(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The error of an answer in the one shape, checked."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]  # type: ignore[no-any-return]
