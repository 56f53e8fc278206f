"""The delivery engine's Prometheus figures."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.exposition import generate_latest

from hookwise.delivery import metrics


def _exported(registry: CollectorRegistry) -> list[bytes]:
    return [ln for ln in generate_latest(registry).splitlines() if b"_created" not in ln]


def test_observe_many_equals_one_by_one() -> None:
    values = [0.0, 0.004, 0.005, 0.0051, 0.3, 1.0, 2.5, 7, 59.9, 300, 3600, 3601, 10_000, 0.01]
    buckets = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600)
    one, many = CollectorRegistry(), CollectorRegistry()
    h_one = Histogram("lat", "x", buckets=buckets, registry=one)
    h_many = Histogram("lat", "x", buckets=buckets, registry=many)
    for v in values:
        h_one.observe(v)
    metrics.observe_many(h_many, values)
    metrics.observe_many(h_many, [])
    assert _exported(many) == _exported(one)
    assert b'lat_bucket{le="0.005"} 3.0' in generate_latest(many)  # 0, 0.004 and 0.005 itself
