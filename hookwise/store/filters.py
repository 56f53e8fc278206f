"""SQL WHERE clauses for the deliveries and attempts lists, shared by both backends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hookwise.domain.models import DeliveryFilter


def delivery_where(
    app_id: str, f: DeliveryFilter, cursor: str | None, param: Callable[[int], str]
) -> tuple[str, list[Any]]:
    """``WHERE`` text and its arguments; ``param(n)`` renders the n-th placeholder (1-based)."""
    args: list[Any] = [app_id]
    parts = [f"app_id = {param(1)}"]

    def add(sql: str, value: Any) -> None:
        args.append(value)
        parts.append(sql.format(param(len(args))))

    if f.message_id:
        add("message_id = {}", f.message_id)
    if f.endpoint_id:
        add("endpoint_id = {}", f.endpoint_id)
    if f.status:
        add("status = {}", f.status)
    if f.job_id:
        add("job_id = {}", f.job_id)
    if f.tag:
        args += [app_id, f.tag]
        n = len(args)
        parts.append(
            f"message_id IN (SELECT message_id FROM message_tags WHERE app_id = {param(n - 1)}"
            f" AND tag = {param(n)})"
        )
    if cursor:
        add("id < {}", cursor)
    return " AND ".join(parts), args
