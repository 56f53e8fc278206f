"""What ``pip install hookwise`` ships: every file the package reads at run time.

An editable install (the Quickstart's) reads the source tree, so a file missing from the
package data only breaks a real install: the dashboard's static folder once did.
"""

from __future__ import annotations

import fnmatch
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "hookwise"


def test_every_data_file_of_the_package_is_shipped() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["hookwise"]
    data = [
        p.relative_to(PACKAGE).as_posix()
        for p in PACKAGE.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    ]
    assert "dashboard/static/htmx.min.js" in data  # the walk sees the data files
    missing = [f for f in data if not any(fnmatch.fnmatchcase(f, pat) for pat in patterns)]
    assert missing == []


def test_runtime_dependencies_are_the_ones_imported() -> None:
    """The delivery client is hookwise's own (uvloop + httptools); aiohttp is for tests."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {d.split(">")[0].split("[")[0].split("=")[0].strip() for d in deps}
    assert {"uvloop", "httptools"} <= names
    assert "aiohttp" not in names
    sources = "\n".join(p.read_text() for p in PACKAGE.rglob("*.py"))
    assert "import aiohttp" not in sources and "from aiohttp" not in sources


def test_the_build_warns_about_nothing(tmp_path: Path) -> None:
    """setuptools warned three times per install about ``project.license`` as a table."""
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "DeprecationWarning" not in out.stdout + out.stderr
    assert list(tmp_path.glob("hookwise-*.whl"))
