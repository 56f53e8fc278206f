"""The endpoint rules, without a database: whitelists, stored forms, pause/resume, rotation."""

from __future__ import annotations

import orjson
import pytest

from hookwise.store.rules import endpoints as rules


def _seal(text: str) -> str:
    return f"sealed({text})"


def test_only_known_columns_can_be_set() -> None:
    for sets, fields in (
        (rules.app_sets, {"name": "n", "id": "x"}),
        (rules.event_type_sets, {"description": "d", "name": "x"}),
    ):
        with pytest.raises(ValueError, match=r"'id'|'name'"):
            sets(fields, 1.0)
    with pytest.raises(ValueError, match="secret"):
        rules.endpoint_sets({"secret": "whsec_x"}, _seal, 1.0)
    # a column name is formatted into the UPDATE: nothing else may reach it
    with pytest.raises(ValueError):
        rules.app_sets({"name = 'x', uid": "y"}, 1.0)


def test_changes_are_stored_in_their_column_form() -> None:
    assert rules.app_sets({"metadata": {"a": 1}}, 5.0) == {"metadata": '{"a":1}', "updated_at": 5.0}
    assert rules.event_type_sets({"schema": None, "archived": 1}, 5.0) == {
        "schema": None, "archived": True, "updated_at": 5.0,
    }  # fmt: skip
    sets = rules.endpoint_sets(
        {"events": ("a.b",), "headers": {"X-A": "1"}, "timeout_seconds": 3, "retry_schedule": [1]},
        _seal,
        5.0,
    )
    assert sets == {
        "events": '["a.b"]', "headers": 'sealed({"X-A":"1"})', "timeout_seconds": 3.0,
        "retry_schedule": "[1]", "updated_at": 5.0,
    }  # fmt: skip
    assert isinstance(sets["timeout_seconds"], float)
    assert rules.endpoint_sets({"headers": {}}, _seal, 5.0)["headers"] == "{}"


def test_resuming_forgets_the_failure_streak_and_releases_held_deliveries() -> None:
    sets = rules.endpoint_sets({"status": "active"}, _seal, 5.0)
    assert sets["consecutive_failures"] == 0 and sets["paused_reason"] is None
    assert rules.deliveries_on_status({"status": "active"}) == "release"
    paused = rules.endpoint_sets({"status": "paused", "paused_reason": "ops"}, _seal, 5.0)
    assert "consecutive_failures" not in paused and paused["paused_reason"] == "ops"
    assert rules.deliveries_on_status({"status": "paused"}) == "hold"
    assert rules.deliveries_on_status({"url": "http://x"}) is None


def test_a_rotation_keeps_the_old_secret_until_its_time_and_drops_expired_ones() -> None:
    prev = [["old1", 50.0], ["old2", 200.0]]
    got = rules.rotated_secrets(prev, "current", 300.0, now=100.0)
    assert got == [["current", 300.0], ["old2", 200.0]]
    assert orjson.loads(orjson.dumps(got)) == got  # stored as JSON as is
