"""The rules of accepting a message, without a database: which endpoints it goes to."""

from __future__ import annotations

from typing import Any

import orjson

from hookwise.store.rules.messages import targets


def _ep(id: str, *events: str, kind: str = "endpoint") -> dict[str, Any]:
    return {"id": id, "kind": kind, "events": orjson.dumps(list(events)).decode()}


ENDPOINTS = [
    _ep("all"),
    _ep("users", "user.*"),
    _ep("orders", "order.*"),
    _ep("exact", "user.created"),
    _ep("job", kind="job_target"),
]


def _ids(rows: list[Any]) -> list[str]:
    return [r["id"] for r in rows]


def test_subscribed_regular_endpoints_in_order() -> None:
    assert _ids(targets(ENDPOINTS, "user.created", None, ())) == ["all", "users", "exact"]
    assert _ids(targets(ENDPOINTS, "order.paid", None, ())) == ["all", "orders"]
    # a job target (hidden endpoint, subscribed to everything) gets only what names it
    assert "job" not in _ids(targets(ENDPOINTS, "job.completed", None, ()))


def test_extra_endpoints_follow_once_and_only_if_they_exist() -> None:
    got = targets(ENDPOINTS, "order.paid", None, ("job", "users", "orders", "job", "gone"))
    assert _ids(got) == ["all", "orders", "job", "users"]


def test_only_one_endpoint_whatever_it_subscribes_to() -> None:
    assert _ids(targets(ENDPOINTS, "webhook.test", "orders", ("job",))) == ["orders"]
    assert _ids(targets(ENDPOINTS, "webhook.test", "job", ())) == ["job"]
    assert targets(ENDPOINTS, "webhook.test", "gone", ()) == []
