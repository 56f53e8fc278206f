"""Every shell and Python sample of the docs runs, as written, against a real ``hookwise serve``
on a fresh SQLite database: a doc cannot drift from the code. A failure names the page and
line. The samples that cannot run are marked ``<!-- not-run: why -->`` and counted here, so they
stay few; those quoted from ``examples/`` are checked against the file, which its own test runs.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.docs.egress import LoopbackProxy, loopback_proxy
from tests.docs.samples import ROOT, Sample, pages, python_source, samples, shell_script, shown
from tests.processes import HOOKWISE, Proc, admin_key, free_port

# the samples no test can run (they install something, or serve until stopped): keep it low
MAX_NOT_RUN = 8
SAMPLE_TIMEOUT = 60


@dataclass
class Server:
    base: str
    key: str
    environ: dict[str, str]
    proxy: LoopbackProxy


def _wait_healthy(base: str, proc: Proc, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=base, timeout=2) as http:
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                raise RuntimeError(f"hookwise exited: {proc.log.read_text()[-2000:]}")
            try:
                if http.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)  # polling a condition: the server's health
    raise TimeoutError(f"hookwise did not become healthy: {proc.log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One ``hookwise serve`` for every page, with the default settings a reader has: its
    deliveries go through a proxy that reaches loopback only."""
    tmp = tmp_path_factory.mktemp("docs-server")
    db = f"sqlite:///{tmp / 'hookwise.db'}"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HOOKWISE_")}
    with loopback_proxy() as proxy:
        environ.update(HOOKWISE_DB=db, HOOKWISE_EGRESS_PROXY=proxy.url)
        key = admin_key(db)
        port = free_port()
        proc = Proc(["serve", "--port", str(port)], environ, tmp / "serve.log")
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_healthy(base, proc)
            yield Server(base, key, environ, proxy)
        finally:
            proc.close()


def _runnable(page: Path) -> list[Sample]:
    return [s for s in samples(page) if not s.mark]


PAGES = [page for page in pages() if _runnable(page)]


@pytest.mark.parametrize("page", PAGES, ids=shown)
def test_the_samples_of_a_page_run(
    page: Path, server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runnable = _runnable(page)
    shell = [s for s in runnable if s.shell]
    app = run_shell(shell, server, tmp_path) if shell else ""
    namespace: dict[str, Any] = {"__name__": "docs_sample", "BASE": server.base, "KEY": server.key}
    namespace["APP"] = app
    monkeypatch.chdir(tmp_path)
    for sample in runnable:
        if not sample.shell:
            run_python(sample, namespace, server.base)


def run_shell(page: list[Sample], server: Server, tmp_path: Path) -> str:
    """Run a page's shell samples in one bash; answer the ``$APP`` they left set."""
    script, where = shell_script(page, server.base, server.key)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    curl = bindir / "curl"  # every call must answer 2xx, and each answer ends its line
    curl.write_text(
        f"#!/bin/sh\nexec {shutil.which('curl')} --fail-with-body -sS -w '\\n' \"$@\"\n"
    )
    curl.chmod(0o755)
    environ = dict(server.environ, PATH=f"{bindir}:{Path(HOOKWISE).parent}:{os.environ['PATH']}")
    out = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=environ, capture_output=True, text=True,
        timeout=SAMPLE_TIMEOUT, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        failed = re.findall(r"docs-sample-failed-at (\d+)", out.stderr)
        line = where.get(int(failed[-1]), shown(page[0].doc)) if failed else shown(page[0].doc)
        pytest.fail(
            f"{line}: a shell sample failed (exit {out.returncode})\n"
            f"--- stdout\n{out.stdout[-3000:]}\n--- stderr\n{out.stderr[-3000:]}",
            pytrace=False,
        )
    apps: list[str] = re.findall(r"^docs-sample-app=(.*)$", out.stdout, re.M)
    return apps[-1]


def run_python(sample: Sample, namespace: dict[str, Any], base: str) -> None:
    """Run a Python sample in the page's namespace (top-level ``await`` allowed)."""
    filename = str(sample.doc)
    try:
        code = compile(
            python_source(sample, base), filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        )
        result = eval(code, namespace)  # exec, but a coroutine when the sample awaits
        if inspect.iscoroutine(result):
            asyncio.run(result)
        return
    except Exception as exc:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
        line = frames[-1].lineno if frames else getattr(exc, "lineno", sample.line)
        failure = f"{shown(sample.doc)}:{line}: a Python sample failed: {exc!r}\n"
        failure += "".join(traceback.format_exception(exc)[-6:])
    pytest.fail(failure, pytrace=False)


def test_the_samples_not_run_are_few_and_say_why() -> None:
    every = [s for page in pages() for s in samples(page)]
    not_run = [s for s in every if s.mark == "not-run"]
    assert all(s.note for s in not_run), [s.where for s in not_run if not s.note]
    assert len(not_run) <= MAX_NOT_RUN, [f"{s.where}: {s.note}" for s in not_run]
    ran = [s for s in every if not s.mark]
    assert len(ran) > 3 * len(not_run), (len(ran), len(not_run))
    print(f"{len(ran)} samples run, {len(not_run)} not run", file=sys.stderr)


def test_the_quoted_examples_are_verbatim_and_run_by_a_test() -> None:
    here = Path(__file__).parent  # this folder's tests name examples without running them
    tests = [p.read_text() for p in (ROOT / "tests").rglob("*.py") if here not in p.parents]
    quoted = [s for page in pages() for s in samples(page) if s.mark == "example"]
    assert quoted
    for sample in quoted:
        path = ROOT / sample.note
        assert quotes(path.read_text(), sample.code), f"{sample.where} drifted from {sample.note}"
        assert any(path.stem in text for text in tests), f"no test runs {sample.note}"


def quotes(text: str, code: str) -> bool:
    """True when ``code`` is in ``text`` as it is, or dedented from inside a block."""
    return any(textwrap.indent(code, " " * n) in text for n in range(0, 13, 4))
