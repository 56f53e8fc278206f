"""SQLite: job tracking (filled in by the jobs work)."""

from __future__ import annotations


class SqliteJobs:
    """Job operations on SQLite."""
