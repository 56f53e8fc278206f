"""Lease holders of an SQLite file, each tied to an OS file lock it holds while it lives.

An opened ``SqliteStore`` is one holder: it creates ``<database>-holder-<id>.lock`` beside the
database and keeps an exclusive ``flock`` on it until it closes. The kernel drops the lock when
the process dies, however it dies (``kill -9`` included), so a lock file that can be locked
names a holder that is provably gone. Workers on the store lease under ids that start with the
holder id; a starting store takes back the leases of every gone holder (makes them due now)
and removes its file, and touches nothing else: a live holder's lock cannot be taken, so a
second process started on the same file leaves the first one's leases alone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: leases only expire (the lease rule)
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("hookwise.store")

_MARK = "-holder-"
_SUFFIX = ".lock"
_NEW = "-newholder-"  # a file being made a holder's: not yet locked, never judged gone


def _new_id() -> str:
    """host:pid:random, as a worker's name (the host cut to 40: leases hold 64 characters)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{os.urandom(3).hex()}"


class Holder:
    """This store's lock file, held until ``close``; ``None`` id where locks are unavailable."""

    def __init__(self, database: str) -> None:
        self._database = database
        self._fd: int | None = None
        self._path: Path | None = None
        self.id: str | None = None

    def hold(self) -> None:
        """Create and lock this holder's file.

        The file is created and locked under a name no holder has (``_NEW``), then renamed
        into place: a store starting at the same moment never sees a holder's file unlocked,
        so never judges a new holder gone (nor unlinks its file)."""
        if fcntl is None or self._database in ("", ":memory:"):
            return
        holder = _new_id()
        path = Path(f"{self._database}{_MARK}{holder}{_SUFFIX}")
        new = Path(f"{self._database}{_NEW}{holder}")
        try:
            fd = os.open(new, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError as exc:  # a folder we may not write: leases only expire
            log.warning("no lease holder lock beside %s: %s", self._database, exc)
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new name: nobody else has it
            os.rename(new, path)
        except OSError as exc:
            os.close(fd)
            with contextlib.suppress(OSError):
                new.unlink()
            log.warning("no lease holder lock beside %s: %s", self._database, exc)
            return
        self._fd, self._path, self.id = fd, path, holder

    def gone(self) -> list[GoneHolder]:
        """The holders of this database whose process is gone, each locked by us until
        ``GoneHolder.forget`` (a holder found gone by two starting stores is taken back once)."""
        if self._fd is None:
            return []
        db = Path(self._database)
        prefix = db.name + _MARK
        found = []
        for path in db.parent.iterdir():
            if not (path.name.startswith(prefix) and path.name.endswith(_SUFFIX)):
                continue
            holder = path.name[len(prefix) : -len(_SUFFIX)]
            if holder != self.id and (locked := _lock_if_free(path)) is not None:
                found.append(GoneHolder(holder, path, locked))
        return found

    def close(self, *, keep_file: bool = False) -> None:
        """Unlock this holder's file and remove it, unless ``keep_file`` (its leases could not
        be taken back: the next store to start finds it gone and takes them back)."""
        if self._fd is not None and self._path is not None:
            if not keep_file:
                with contextlib.suppress(OSError):
                    self._path.unlink()
            os.close(self._fd)
            self._fd = self._path = None


class GoneHolder:
    """A gone holder's file, locked by us: take back its leases, then ``forget`` it."""

    def __init__(self, holder: str, path: Path, fd: int) -> None:
        self.id = holder
        self._path = path
        self._fd = fd

    def forget(self) -> None:
        """Remove its file (once its leases are taken back) and drop our lock."""
        with contextlib.suppress(OSError):
            self._path.unlink()
        os.close(self._fd)

    def keep(self) -> None:
        """Drop our lock and leave the file (taking back failed: the next start tries again)."""
        os.close(self._fd)


def _lock_if_free(path: Path) -> int | None:
    """A descriptor of ``path`` holding its lock, or None when a live holder has it (or the
    file went away meanwhile: another starting store took that holder back)."""
    assert fcntl is not None
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.fstat(fd).st_ino != os.stat(path).st_ino:  # unlinked since we opened it
            raise FileNotFoundError(path)
    except OSError:
        os.close(fd)
        return None
    return fd
