"""The arithmetic of the scaling model (bench/scaling_model.py), without measuring anything."""

from __future__ import annotations

import math

import pytest

from bench.scaling import saturation_line
from bench.scaling_model import (
    Shares,
    busy_rate,
    combine,
    error_pct,
    predict,
    process_bound,
    processes_needed,
    quiet_rate,
    scale_out,
)

DRAIN = {"worker": 100.0, "postgres": 150.0, "sink": 50.0}  # µs per delivery


def test_n_cores_over_the_sum_of_the_costs() -> None:
    assert predict(1, DRAIN) == pytest.approx(1e6 / 300)
    assert predict(2, DRAIN) == pytest.approx(2e6 / 300)
    assert predict(8, DRAIN, leave_out=["sink"]) == pytest.approx(8e6 / 250)
    assert predict(1, {}) == math.inf


def test_end_to_end_adds_the_costs_of_both_paths() -> None:
    ingest = {"api": 200.0, "postgres": 100.0}
    assert combine(DRAIN, ingest) == {"worker": 100, "postgres": 250, "sink": 50, "api": 200}
    assert predict(2, combine(DRAIN, ingest)) == pytest.approx(2e6 / 600)


def test_error_is_signed_and_relative_to_the_measured_rate() -> None:
    assert error_pct(115.0, 100.0) == pytest.approx(15.0)
    assert error_pct(80.0, 100.0) == pytest.approx(-20.0)
    assert math.isnan(error_pct(1.0, 0.0))


def test_a_process_is_one_core_at_most() -> None:
    assert process_bound(100.0) == pytest.approx(10_000)
    assert processes_needed(10_000, 100.0) == 1  # exactly one full core
    assert processes_needed(10_001, 100.0) == 2
    assert processes_needed(25_000, 100.0) == 3
    assert processes_needed(0.0, 100.0) == 1


def test_shares_split_the_cores_time() -> None:
    # 2 cores for 1 s at 100 ticks/s: 200 ticks, 50 idle (10 of them iowait), 10 stolen;
    # the path used 1.2 s, so other processes 0.2 s.
    ticks = {"total": 200.0, "idle": 50.0, "iowait": 10.0, "steal": 10.0}
    sh = Shares.of(1.2, ticks, tick=100.0)
    assert (sh.path, sh.others, sh.idle, sh.iowait, sh.steal) == pytest.approx(
        (0.6, 0.1, 0.25, 0.05, 0.05)
    )
    assert sh.path + sh.others + sh.idle + sh.steal == pytest.approx(1.0)
    # the path's CPU read from /proc may exceed the busy ticks by rounding: never negative others
    assert Shares.of(1.5, ticks, tick=100.0).others == 0.0


def test_the_utilisation_terms_scale_the_cores() -> None:
    sh = Shares(path=0.5, others=0.2, idle=0.25, iowait=0.1, steal=0.05)
    assert busy_rate(2, DRAIN, sh) == pytest.approx(predict(1, DRAIN))
    assert quiet_rate(2, DRAIN, sh.idle) == pytest.approx(predict(1.5, DRAIN))


def test_scale_out_with_and_without_the_receiver() -> None:
    out = scale_out(8, DRAIN, "sink", ["worker"])
    assert out.rate == pytest.approx(8e6 / 300)
    assert out.rate_without == pytest.approx(8e6 / 250)
    # at 32,000 deliveries/s: 3.2 cores of workers (4 processes), 4.8 of PostgreSQL
    assert out.cores_by_role == pytest.approx({"worker": 3.2, "postgres": 4.8})
    assert out.processes == {"worker": 4}


def test_what_saturates_first() -> None:
    line = saturation_line({"worker": 200.0, "api": 250.0, "postgres": 500.0, "sink": 20.0})
    assert "the API (one process) at 4,000 messages/s end to end, then the worker at 5,000" in line
    assert "PostgreSQL, the one server: 53% of the CPU" in line  # 500 of 950, the sink left out
