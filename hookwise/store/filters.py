"""The WHERE clauses of the messages, deliveries and attempts lists (``$n`` marks)."""

from __future__ import annotations

from typing import Any

from hookwise.domain.models import DeliveryFilter

# the messages tagged ``{}``, within the app of mark $1
TAGGED = "SELECT message_id FROM message_tags WHERE app_id = $1 AND tag = {}"
# a message with a delivery in status ``{}`` (ix_deliveries_message: one probe a message)
WITH_DELIVERY = (
    "EXISTS (SELECT 1 FROM deliveries d WHERE d.app_id = $1 AND d.message_id = messages.id"
    " AND d.status = {})"
)
ID_SLACK = 60.0  # seconds between an id's time and its row's ``created_at``, at most


class Where:
    """Conditions on one app's rows (``app_id = $1``), added one at a time."""

    def __init__(self, app_id: str) -> None:
        self.args: list[Any] = [app_id]
        self._parts = ["app_id = $1"]

    def add(self, condition: str, value: Any) -> None:
        """AND ``condition``, whose ``{}`` is the mark of ``value``."""
        self.args.append(value)
        self._parts.append(condition.format(f"${len(self.args)}"))

    def add_literal(self, condition: str) -> None:
        """AND ``condition``, which has no value bound (a literal of a closed set)."""
        self._parts.append(condition)

    @property
    def condition(self) -> str:
        """The conditions so far, ANDed."""
        return " AND ".join(self._parts)

    def page(self, table: str, cursor: str | None) -> str:
        """The page's statement: the rows after ``cursor``, newest first, ``LIMIT`` the mark
        after the arguments."""
        if cursor:
            self.add("id < {}", cursor)
        where = " AND ".join(self._parts)
        return f"SELECT * FROM {table} WHERE {where} ORDER BY id DESC LIMIT ${len(self.args) + 1}"

    def newer_page(self, table: str, after: str) -> str:
        """The statement of the rows just newer than ``after``, oldest first."""
        self.add("id > {}", after)
        where = " AND ".join(self._parts)
        return f"SELECT * FROM {table} WHERE {where} ORDER BY id LIMIT ${len(self.args) + 1}"


def delivery_where(app_id: str, f: DeliveryFilter) -> Where:
    """The conditions of a deliveries or attempts list."""
    w = Where(app_id)
    for column in ("message_id", "endpoint_id", "status", "job_id"):
        if value := getattr(f, column):
            w.add(f"{column} = {{}}", value)
    if f.tag:
        w.add(f"message_id IN ({TAGGED})", f.tag)
    return w
