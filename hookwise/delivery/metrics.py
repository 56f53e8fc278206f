"""Prometheus metrics of the delivery engine."""

from __future__ import annotations

from bisect import bisect_left

from prometheus_client import Counter, Gauge, Histogram

ATTEMPTS = Counter("hookwise_attempts_total", "Webhook attempts by outcome", ["outcome"])
DELIVERY_LATENCY = Histogram(
    "hookwise_delivery_latency_seconds",
    "From message accepted to its successful attempt",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
)
QUEUE_DEPTH = Gauge("hookwise_queue_depth", "Deliveries by state", ["state"])
IN_FLIGHT = Gauge(
    "hookwise_in_flight",
    "Deliveries claimed and not yet recorded in this process (attempts under way, answers"
    " waiting for their record, deliveries leased ahead)",
)

SUCCEEDED = ATTEMPTS.labels("succeeded")
FAILED = ATTEMPTS.labels("failed")


def observe_many(histogram: Histogram, values: list[float]) -> None:
    """``histogram.observe`` of every value, with one lock per bucket touched instead of two per
    value (the recorder observes a whole batch at once)."""
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if bounds is None or buckets is None or total is None:  # another client version: the slow way
        for v in values:
            histogram.observe(v)
        return
    counts = [0] * len(bounds)
    for v in values:
        counts[bisect_left(bounds, v)] += 1
    total.inc(sum(values))
    for i, n in enumerate(counts):
        if n:
            buckets[i].inc(n)
