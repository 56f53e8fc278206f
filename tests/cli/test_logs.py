"""Log settings: the level silences the per-request lines, JSON lines carry their fields."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import orjson
import pytest

from hookwise.cli.logs import JsonLines, configure


@pytest.fixture
def restored() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def test_the_level_decides_what_is_logged(restored: None) -> None:
    configure("warning", "text")
    assert not logging.getLogger("hookwise.access").isEnabledFor(logging.INFO)
    configure("info", "json")
    assert logging.getLogger("hookwise.delivery").isEnabledFor(logging.INFO)
    assert not logging.getLogger("uvicorn.error").isEnabledFor(logging.INFO)
    assert isinstance(logging.getLogger().handlers[0].formatter, JsonLines)


def test_json_lines_carry_the_extra_fields() -> None:
    record = logging.makeLogRecord({
        "name": "hookwise.access", "levelname": "INFO", "msg": "%s %s %d",
        "args": ("GET", "/v1/apps", 200), "method": "GET", "status": 200,
    })  # fmt: skip
    line = orjson.loads(JsonLines().format(record))
    assert line["message"] == "GET /v1/apps 200" and line["level"] == "info"
    assert (line["logger"], line["method"], line["status"]) == ("hookwise.access", "GET", 200)
    assert "args" not in line and "msg" not in line
