"""Scenarios: what a figure measures, how it is judged, and the list ``bench.run`` runs.

A scenario is an async function that runs the workload once and returns its metrics by key;
the harness calls it ``runs`` times and reports median, min and max of each metric. A scenario
that cannot run here (no hookwise executable yet, no Redis) raises ``Unavailable``: its rows
say so and the rest of the run goes on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.sink_client import SinkHandle


class Unavailable(Exception):
    """The scenario cannot run on this machine now; the message says why.

    ``permanent``: trying again in this run is pointless (nothing to run at all).
    """

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


@dataclass(frozen=True)
class Target:
    """A goal from the issue: ``op`` (``>=``/``<=``) a value, or a factor of another figure.

    ``relative_to`` names another metric as ``"scenario.metric"``; the threshold is then
    ``factor`` times that figure's median in the same run.
    """

    op: str
    text: str
    value: float | None = None
    relative_to: str | None = None
    factor: float = 1.0

    def threshold(self, medians: dict[str, float]) -> float | None:
        """The number to compare with, or None when the reference figure is missing."""
        if self.relative_to is None:
            return self.value
        ref = medians.get(self.relative_to)
        if ref is None or ref != ref:
            return None
        return ref * self.factor

    def met(self, value: float, medians: dict[str, float]) -> bool | None:
        """Whether ``value`` meets the target (None when it cannot be judged)."""
        limit = self.threshold(medians)
        if limit is None or value != value:
            return None
        return value >= limit if self.op == ">=" else value <= limit


@dataclass(frozen=True)
class Metric:
    """One row of the table."""

    key: str
    label: str
    unit: str
    targets: tuple[Target, ...] = ()
    rate: bool = False  # a deliveries/s figure: shown as a ratio of the ceiling and of Celery
    digits: int = 0


@dataclass
class RunContext:
    """What a scenario gets: the shared sink, the settings of this run, earlier results."""

    sink: SinkHandle
    smoke: bool
    log_dir: Path
    work_dir: Path
    medians: dict[str, float] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)
    cleanups: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # shown under the table, per scenario
    run_index: int = 0
    allowance_scale: float = 1.0


RunFn = Callable[[RunContext], Awaitable[dict[str, float]]]
PrepareFn = Callable[[RunContext], Awaitable[object]]


@dataclass(frozen=True)
class Scenario:
    """A figure of the issue: a name, its rows, and the function that measures it once."""

    name: str
    title: str
    metrics: tuple[Metric, ...]
    run: RunFn
    smoke: bool = False  # part of ``--smoke``
    runs: int | None = None  # None: the harness default (3, or 1 in smoke)
    allowance: float = 90.0  # seconds of runs; a run that would not fit is not started
    prepare: PrepareFn | None = None  # once, before the runs (templates), outside the allowance
    group: str | None = None  # ``--only GROUP`` runs every scenario of the group
    on_demand: bool = False  # runs only when named in ``--only`` (by name or group)


REGISTRY: list[Scenario] = []


def register(scenario: Scenario) -> Scenario:
    """Add a scenario to the run (in order of registration)."""
    if any(s.name == scenario.name for s in REGISTRY):
        raise ValueError(f"scenario {scenario.name!r} registered twice")
    REGISTRY.append(scenario)
    return scenario
