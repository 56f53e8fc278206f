"""Which Chromium the browser tests drive: Debian's, never a downloaded build.

Without it the browser tests are skipped, loudly (the reason is in the header and in the
summary); under CI (``CI=true``) a missing Chromium fails them, as a missing PostgreSQL does.
``.ci/run`` installs the ``chromium`` package when ``/usr/bin/chromium`` is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("HOOKWISE_CHROMIUM", "/usr/bin/chromium"))
CI = os.environ.get("CI") == "true"


def chromium_problem() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[dev]')"
    return None


def require_chromium() -> str:
    """The Chromium to launch; skips the calling test (under CI: fails it) when there is none."""
    problem = chromium_problem()
    if problem is not None:
        if CI:
            pytest.fail(f"{problem} (CI=true: a missing browser is a failure)")
        pytest.skip(f"SKIPPED: {problem}")
    return str(CHROMIUM)


def chromium_header() -> list[str]:
    """A line for the pytest header: which browser runs, or loudly why none does."""
    problem = chromium_problem()
    if problem is None:
        return [f"browser tests: {CHROMIUM} (headless, through Playwright)"]
    if CI:
        return [f"ERROR: {problem}; CI=true, so every browser test FAILS"]
    return [f"WARNING: {problem}; every browser test is SKIPPED (CI=true makes it fail)"]
