"""The benchmark's child processes run the code they name (bench/processes.py)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bench.processes import PYTHON, REPO_ROOT, Proc

PRINT_PATH = "import os; print(os.environ.get('PYTHONPATH', ''))"


def _pythonpath(argv: list[str], tmp_path: Path) -> list[str]:
    proc = Proc("probe", argv, log_path=tmp_path / "probe.log", capture_stdout=True)
    try:
        line = proc.readline(timeout=30)
    finally:
        proc.stop()
    assert line is not None
    return line.split(os.pathsep) if line else []


def test_the_harness_interpreter_gets_the_checkout(tmp_path: Path) -> None:
    assert str(REPO_ROOT) in _pythonpath([PYTHON, "-c", PRINT_PATH], tmp_path)


def test_another_program_runs_its_own_code(tmp_path: Path) -> None:
    """``$BENCH_HOOKWISE`` of another build must not import this checkout's hookwise."""
    other = shutil.which("python3", path="/usr/bin:/bin")
    if other is None or Path(other).resolve() == Path(PYTHON).resolve():
        pytest.skip("no interpreter other than the harness's")
    assert str(REPO_ROOT) not in _pythonpath([other, "-c", PRINT_PATH], tmp_path)
