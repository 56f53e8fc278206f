"""Bounds on the head of an HTTP answer (status line and header lines), checked on the raw bytes
before a parser sees them.

httptools hands a header over only once it is complete and buffers it until then, so without a
bound a hostile server could grow one line, or the number of lines, without end. The bounds are
aiohttp's per line (8,190 bytes), with a total and a count on top.
"""

from __future__ import annotations

MAX_LINE = 8190  # bytes in the status line or in one header line
MAX_HEAD = 65536  # bytes in the whole head, blank line included
MAX_HEADERS = 256  # header lines


class HeadTooLarge(Exception):
    """An answer's head passed one of the bounds; ``str(exc)`` says which."""


class HeadLimit:
    """Counts the bytes of one head as they arrive, in chunks cut anywhere."""

    __slots__ = ("_line", "_lines", "_size")

    def __init__(self) -> None:
        self._line = 0  # bytes of the line in progress
        self._size = 0
        self._lines = 0

    def reset(self) -> None:
        """Start counting a new head."""
        self._line = self._size = self._lines = 0

    def scan(self, data: bytes) -> int:
        """Account for ``data``, which continues the head: return the index just past the blank
        line that ends it, or -1 when the head goes on. Raises HeadTooLarge past a bound."""
        pos, end = 0, len(data)
        while pos < end:
            nl = data.find(b"\n", pos)
            if nl < 0:
                self._line += end - pos
                self._size += end - pos
                self._check(self._line)
                return -1
            length = self._line + nl - pos  # the line, its CR included, without the LF
            self._size += nl + 1 - pos
            self._line = 0
            pos = nl + 1
            if length <= 1:  # "\r\n" (or a bare "\n"): the blank line
                return pos
            self._lines += 1
            self._check(length)
            if self._lines > MAX_HEADERS + 1:  # the status line and the headers
                raise HeadTooLarge(f"answer has more than {MAX_HEADERS} header lines")
        return -1

    def _check(self, line: int) -> None:
        if line > MAX_LINE + 1:
            raise HeadTooLarge(f"answer header line longer than {MAX_LINE} bytes")
        if self._size > MAX_HEAD:
            raise HeadTooLarge(f"answer headers longer than {MAX_HEAD} bytes in all")
