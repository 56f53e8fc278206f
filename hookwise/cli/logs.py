"""Where the service's log lines go and how they read: text or JSON lines on stderr."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson

# the attributes every LogRecord has: what is left over came from ``extra=``
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonLines(logging.Formatter):
    """One JSON object a line: time, level, logger, message and the record's ``extra`` fields
    (``method``, ``status``, ``endpoint_id`` …), for a log shipper to index."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        out.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


def configure(level: str = "info", fmt: str = "text") -> None:
    """Log at ``level`` and above on stderr, as ``text`` or ``json``; alembic only when it
    warns, uvicorn's own lines only when they matter (hookwise writes the access log)."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for quiet in ("alembic", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(quiet).setLevel(logging.WARNING)
