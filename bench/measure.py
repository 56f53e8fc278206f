"""The workload's payload and the arithmetic every figure shares (rates, percentiles, medians)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

import orjson

BODY_BYTES = 1024
IN_FLIGHT = 64


def payload(size: int = BODY_BYTES) -> dict[str, Any]:
    """A JSON object whose compact serialisation is exactly ``size`` bytes."""
    base: dict[str, Any] = {
        "type": "invoice.paid",
        "data": {"invoice_id": "inv_0001", "amount": 4200, "currency": "EUR", "note": ""},
    }
    pad = size - len(orjson.dumps(base))
    if pad < 0:
        raise ValueError(f"payload cannot be smaller than {size - pad} bytes")
    base["data"]["note"] = "x" * pad
    return base


def payload_bytes(size: int = BODY_BYTES) -> bytes:
    """``payload(size)`` serialised."""
    return orjson.dumps(payload(size))


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def crossing(timeline: Sequence[Sequence[float]], count: float, field: int = 1) -> float | None:
    """The time the sink's counter ``field`` reached ``count`` (interpolated), or None."""
    prev_t, prev_c = None, 0.0
    for row in timeline:
        t, c = row[0], row[field]
        if c >= count:
            if prev_t is None or c == prev_c:
                return t
            return prev_t + (t - prev_t) * (count - prev_c) / (c - prev_c)
        prev_t, prev_c = t, c
    return None


def value_at(timeline: Sequence[Sequence[float]], t: float, field: int) -> float:
    """The sink's counter ``field`` at time ``t`` (interpolated between samples)."""
    prev_t, prev_c = None, 0.0
    for row in timeline:
        if row[0] >= t:
            if prev_t is None or row[0] == prev_t:
                return float(row[field])
            return prev_c + (row[field] - prev_c) * (t - prev_t) / (row[0] - prev_t)
        prev_t, prev_c = row[0], float(row[field])
    return prev_c


def window_rate(
    timeline: Sequence[Sequence[float]],
    total: int,
    *,
    lo: float = 0.1,
    hi: float = 0.9,
    field: int = 1,
) -> float:
    """Steady-state rate: requests/s between the ``lo`` and ``hi`` fractions of ``total``.

    Measuring between 10 % and 90 % of the drain leaves out start-up (processes forking, pools
    connecting) and the ragged tail, for every sender alike.
    """
    a, b = crossing(timeline, total * lo, field), crossing(timeline, total * hi, field)
    if a is None or b is None or b <= a:
        return float("nan")
    return total * (hi - lo) / (b - a)


def summarize(samples: Sequence[float]) -> dict[str, float]:
    """Median, min and max of the finite samples (NaN when there are none)."""
    finite = [s for s in samples if s == s and s not in (float("inf"), float("-inf"))]
    if not finite:
        nan = float("nan")
        return {"median": nan, "min": nan, "max": nan}
    return {"median": statistics.median(finite), "min": min(finite), "max": max(finite)}
