"""The shell and Python samples of the docs, as the docs test runs them.

A sample is a fenced block whose language is ``sh``, ``bash``, ``shell``, ``console`` (only its
``$ `` lines are commands) or ``python``. The line right before the fence may mark it:
``<!-- not-run: why -->`` (it cannot run in a test: it installs something, or serves until
stopped) or ``<!-- example: path -->`` (quoted from a file of ``examples/``, which that
example's own test runs). The convention is written down at the top of docs/index.md.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parent.parent.parent
SHELL = {"sh", "bash", "shell", "console"}
PYTHON = {"python", "py"}

_FENCE = re.compile(r"^(?P<indent> *)(?P<ticks>```+)\s*(?P<lang>[\w+-]*)")
_MARK = re.compile(r"^\s*<!--\s*(?P<kind>not-run|example):\s*(?P<text>.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Sample:
    """One fenced block of a doc page."""

    doc: Path
    line: int  # of the block's first code line, 1-based
    lang: str
    code: str
    mark: str = ""  # "", "not-run" or "example"
    note: str = ""  # the not-run reason, or the example's path

    @property
    def shell(self) -> bool:
        return self.lang in SHELL

    @property
    def where(self) -> str:
        return f"{shown(self.doc)}:{self.line}"


def shown(doc: Path) -> str:
    """A page's path as the repository names it."""
    return str(doc.relative_to(ROOT)) if doc.is_relative_to(ROOT) else str(doc)


def pages() -> list[Path]:
    """The pages whose samples run: every page of docs/, and the README."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def samples(doc: Path) -> list[Sample]:
    """The shell and Python blocks of ``doc``, in order."""
    found: list[Sample] = []
    lines = doc.read_text().splitlines()
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        indent, ticks, lang = fence["indent"], fence["ticks"], fence["lang"].lower()
        end = i + 1
        while end < len(lines) and not lines[end].startswith(indent + ticks):
            end += 1
        if lang in SHELL | PYTHON:
            body = [text.removeprefix(indent) for text in lines[i + 1 : end]]
            if lang == "console":  # commands only; output lines stay blank (line numbers kept)
                body = [t[2:] if t.startswith("$ ") else "" for t in body]
            mark = _MARK.match(lines[i - 1]) if i else None
            kind, note = (mark["kind"], mark["text"]) if mark else ("", "")
            found.append(Sample(doc, i + 2, lang, "\n".join(body) + "\n", kind, note))
        i = end + 1
    return found


def shell_script(page: list[Sample], base: str, key: str) -> tuple[str, dict[int, str]]:
    """One bash script of a page's runnable shell samples, and which doc line each of its lines
    is. ``export BASE=…``/``export KEY=…`` lines take the test's server and key, and
    ``localhost:8000`` (the README's) its address, without moving any line."""
    host = base.removeprefix("http://")
    head = [
        "set -euo pipefail",
        "trap 'echo \"docs-sample-failed-at $LINENO\" >&2' ERR",
        f"export BASE={shlex.quote(base)} KEY={shlex.quote(key)}",
    ]
    where: dict[int, str] = {}
    lines = list(head)
    for sample in page:
        for n, text in enumerate(sample.code.splitlines()):
            text = re.sub(r"^export BASE=\S*", f"export BASE={base}", text)
            text = re.sub(r"^export KEY=\S*", f"export KEY={key}", text)
            lines.append(text.replace("localhost:8000", host))
            where[len(lines)] = f"{shown(sample.doc)}:{sample.line + n}"
    lines.append('echo "docs-sample-app=${APP:-}"')
    return "\n".join(lines) + "\n", where


def python_source(sample: Sample, base: str) -> str:
    """A Python sample padded so that its line numbers are the doc's, with ``localhost:8000``
    taking the test's address."""
    host = base.removeprefix("http://")
    return "\n" * (sample.line - 1) + sample.code.replace("localhost:8000", host)
