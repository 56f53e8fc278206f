"""The store's SQLite file: the shared group-commit writer (``hookwise.sqlite.writer``).

The writer and its reasons (one writer thread, group commit, an op that fails alone, writes
that skip the fsync) are documented there; the receiver's SQLite inbox uses the same one.
"""

from __future__ import annotations

from hookwise.sqlite.writer import Database, connect, path_from_url

__all__ = ["Database", "connect", "path_from_url"]
