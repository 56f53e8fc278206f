"""CPU time of processes from ``/proc/PID/stat``: what one delivery costs each process.

``CpuMeter`` follows a set of pids that may change while it runs (PostgreSQL backends come and
go: the pool's connections, autovacuum workers): ``sample`` adds new pids and reads every
followed pid's ``utime + stime``; ``seconds`` is the CPU each spent between its first and last
sample (a pid first seen mid-run counts from its start: all its time was the run's). A pid gone
keeps its last reading. Reading another user's ``/proc/PID/stat`` needs no privilege.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

_TICK = float(os.sysconf("SC_CLK_TCK"))


def cpu_seconds(pid: int) -> float | None:
    """``utime + stime`` of ``pid`` in seconds, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # fields after the command (which may hold spaces and parentheses): state is field 3,
    # utime and stime are fields 14 and 15
    rest = stat[stat.rindex(b")") + 2 :].split()
    return (int(rest[11]) + int(rest[12])) / _TICK


class CpuMeter:
    """CPU seconds spent by a changing set of processes since they were first sampled."""

    def __init__(self) -> None:
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}

    def sample(self, pids: Iterable[int] = (), *, new_from_zero: bool = False) -> None:
        """Read every followed pid and start following ``pids``; a pid new here counts from 0
        (its whole life belongs to the run) when ``new_from_zero``."""
        for pid in set(pids) | set(self._first):
            now = cpu_seconds(pid)
            if now is None:
                continue
            if pid not in self._first:
                self._first[pid] = 0.0 if new_from_zero else now
            self._last[pid] = now

    def seconds(self) -> float:
        """CPU seconds of every followed pid between its first and its last sample."""
        return sum(self._last[pid] - first for pid, first in self._first.items())


__all__ = ["CpuMeter", "cpu_seconds"]
