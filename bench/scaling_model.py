"""The scaling model of issue 18: what N cores deliver, from the CPU each unit of work costs.

A unit (a delivery, an ingested message, a message end to end) costs every process in its path
some CPU: ``costs`` maps each process (role) to its CPU µs per unit. On N cores that share all
of it, at best ``rate = N / sum(costs)``: the cores are full and everything they do is the
path's. Measured rates miss it by what the cores did instead, which ``Shares`` splits from
``/proc/stat``: idle (every process in the path waiting: a round trip; ``iowait``, the part
of it with a disk write pending: a WAL flush), other processes (neighbours on a shared
machine), and time stolen by the hypervisor. ``busy_rate`` is the same arithmetic on the share
of the cores that was the path's (on a quiet machine: all but the idle share): it checks that
the costs count every process in the path. Nothing is fitted: every term is measured. A
process is one thread of Python at most, so one of them is also bounded at ``1 / its cost``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

Costs = Mapping[str, float]  # role -> CPU µs per unit


def predict(cores: float, costs: Costs, leave_out: Iterable[str] = ()) -> float:
    """Units/s on ``cores`` full cores: ``cores / sum(costs)``, without the roles ``leave_out``."""
    skip = set(leave_out)
    total = sum(us for role, us in costs.items() if role not in skip)
    return cores * 1e6 / total if total > 0 else math.inf


def combine(*paths: Costs) -> dict[str, float]:
    """The costs of units that take every one of ``paths`` (ingest + delivery = end to end)."""
    out: dict[str, float] = {}
    for costs in paths:
        for role, us in costs.items():
            out[role] = out.get(role, 0.0) + us
    return out


def error_pct(predicted: float, measured: float) -> float:
    """How far the prediction is above (+) or below (-) the measured rate, in %."""
    return 100.0 * (predicted - measured) / measured if measured > 0 else math.nan


def processes_needed(rate: float, us_per_unit: float) -> int:
    """How many single-threaded processes of a role carry ``rate`` units/s: each is one core
    at most, ``1e6 / us_per_unit`` units/s."""
    return max(1, math.ceil(rate * us_per_unit / 1e6 - 1e-9))


def process_bound(us_per_unit: float) -> float:
    """The most units/s one process of a role can do (a full core)."""
    return 1e6 / us_per_unit if us_per_unit > 0 else math.inf


@dataclass(frozen=True)
class Shares:
    """Where the pinned cores' time went in a window, as fractions that add up to 1."""

    path: float  # the processes of the path (their measured CPU)
    others: float  # any other process on these cores
    idle: float  # nothing runnable (iowait included)
    iowait: float  # the part of ``idle`` with a disk write pending
    steal: float  # the hypervisor's

    @classmethod
    def of(cls, path_seconds: float, ticks: Mapping[str, float], tick: float) -> Shares:
        """From the path's CPU seconds and the cores' ``/proc/stat`` tick deltas (summed over
        the pinned cores: ``total``, ``idle`` (idle + iowait), ``iowait``, ``steal``)."""
        total = ticks["total"] / tick
        if total <= 0:
            return cls(math.nan, math.nan, math.nan, math.nan, math.nan)
        idle, steal = ticks["idle"] / tick, ticks["steal"] / tick
        path = max(0.0, min(path_seconds, total - idle - steal))
        others = total - idle - steal - path
        return cls(path / total, others / total, idle / total, ticks["iowait"] / tick / total,
                   steal / total)  # fmt: skip


def busy_rate(cores: float, costs: Costs, shares: Shares) -> float:
    """``predict`` on the share of the cores the path had: ``cores * path share / sum``."""
    return predict(cores * shares.path, costs)


def quiet_rate(cores: float, costs: Costs, idle: float) -> float:
    """``predict`` with the share of the cores the path leaves ``idle`` (its own waits): what
    the cores do with no neighbour, ``cores * (1 - idle) / sum``."""
    return predict(cores * (1.0 - idle), costs)


@dataclass(frozen=True)
class ScaleOut:
    """The prediction for a machine of ``cores`` running the whole path."""

    cores: int
    rate: float  # units/s, the receiver's CPU counted on these cores
    rate_without: float  # units/s, the receiver elsewhere (as in production)
    cores_by_role: dict[str, float]  # at ``rate_without``
    processes: dict[str, int]  # single-threaded processes each role needs at ``rate_without``


def scale_out(
    cores: int, costs: Costs, receiver: str, single_process: Iterable[str] = ()
) -> ScaleOut:
    """``cores`` full cores shared by every role in ``costs``; ``receiver`` is the role that
    runs elsewhere in production; ``single_process`` roles are one thread each (API, worker)
    and need ``processes_needed`` of them."""
    without = predict(cores, costs, leave_out=[receiver])
    return ScaleOut(
        cores=cores,
        rate=predict(cores, costs),
        rate_without=without,
        cores_by_role={r: without * us / 1e6 for r, us in costs.items() if r != receiver},
        processes={r: processes_needed(without, costs[r]) for r in single_process if r in costs},
    )


__all__ = [
    "Costs",
    "ScaleOut",
    "Shares",
    "busy_rate",
    "combine",
    "error_pct",
    "predict",
    "process_bound",
    "processes_needed",
    "quiet_rate",
    "scale_out",
]
