"""The README's 30-second tour, pasted as written, against a real ``hookwise serve``: every call
answers 2xx (no 404 for a variable the tour forgot to set)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.processes import Proc, admin_key, env, free_port, wait_healthy

README = Path(__file__).parent.parent.parent / "README.md"


def tour() -> str:
    """The shell block under '## A 30-second tour'."""
    section = README.read_text().split("## A 30-second tour", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the tour has no sh block"
    return block[1]


async def test_the_readme_tour_runs_as_written(db_url: str, tmp_path: Path) -> None:
    script = tour()
    assert "$APP" in script and re.search(r"^export APP=", script, re.M), "the tour sets $APP"
    key = admin_key(db_url)
    port = free_port()
    # workers off: the tour's endpoint is example.com, and tests only talk to 127.0.0.1
    proc = Proc(["serve", "--port", str(port), "--workers", "0"], env(db_url), tmp_path / "log")
    try:
        await wait_healthy(f"http://127.0.0.1:{port}", proc)
        # the key line is the one the reader fills in; the port is this test's
        pasted = re.sub(r"^export KEY=.*$", f"export KEY={key}", script, flags=re.M)
        pasted = pasted.replace("localhost:8000", f"127.0.0.1:{port}")
        wrapped = (
            'curl() { command curl --fail-with-body -w "\\n" "$@"; }\nset -e\n' + pasted
        )  # every call must answer 2xx
        out = subprocess.run(
            ["bash", "-c", wrapped], capture_output=True, text=True, timeout=60, check=False
        )
        assert out.returncode == 0, (out.stdout, out.stderr)
        answers = out.stdout.strip().splitlines()
        assert len(answers) == script.count("curl ") and '"error"' not in out.stdout, answers
    finally:
        proc.close()


def test_the_readme_says_how_to_get_hookwise_on_the_path() -> None:
    text = README.read_text()
    assert "source .venv/bin/activate" in text and "pipx run --spec . hookwise" in text
    # what it says works: the venv's activate script puts this very hookwise first on PATH
    bindir = Path(sys.executable).parent
    out = subprocess.run(
        ["bash", "-c", f"source {bindir / 'activate'} && command -v hookwise"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert out.stdout.strip() == str(bindir / "hookwise"), out.stderr
