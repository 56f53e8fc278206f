"""Prometheus metrics of the delivery engine."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ATTEMPTS = Counter("hookwise_attempts_total", "Webhook attempts by outcome", ["outcome"])
DELIVERY_LATENCY = Histogram(
    "hookwise_delivery_latency_seconds",
    "From message accepted to its successful attempt",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
)
QUEUE_DEPTH = Gauge("hookwise_queue_depth", "Deliveries by state", ["state"])
IN_FLIGHT = Gauge("hookwise_in_flight", "Attempts in flight in this process")

SUCCEEDED = ATTEMPTS.labels("succeeded")
FAILED = ATTEMPTS.labels("failed")
