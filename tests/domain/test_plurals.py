"""Counts read as English."""

from __future__ import annotations

from hookwise.domain.plurals import plural


def test_plurals() -> None:
    assert plural(1, "failed delivery") == "1 failed delivery"
    assert plural(2, "failed delivery") == "2 failed deliveries"
    assert plural(0, "row") == "0 rows"
    assert plural(1_000, "endpoint") == "1,000 endpoints"
    assert plural(3, "app", "apps (tenants)") == "3 apps (tenants)"
