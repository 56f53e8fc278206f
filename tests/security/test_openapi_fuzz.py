"""schemathesis over the whole ``/openapi.json``: no 5xx, no status, content type or body the
document does not declare, ``Allow`` on every 405.

The server and the fuzzer run inside a new network namespace that has only loopback, so an
endpoint the fuzzer creates with a public URL (``HOOKWISE_ALLOW_NETWORKS`` is empty: public
addresses pass the guard) can never be reached: nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.processes import Proc, admin_key, env, free_port, wait_healthy

EXAMPLES = int(os.environ.get("HOOKWISE_FUZZ_EXAMPLES", "80"))  # per operation and phase
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "unsupported_method",
        "allow_header_conformance",
    )
)
ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")
INNER = 'ip link set lo up && exec "$0" -m tests.security.test_openapi_fuzz "$1"'


def _namespaces() -> str | None:
    """Why a network namespace cannot be made here, or None."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "needs unshare and ip (util-linux, iproute2)"
    probe = subprocess.run(["unshare", "--net", "--", "true"], capture_output=True, timeout=30)
    if probe.returncode == 0:
        return None
    return probe.stderr.decode(errors="replace").strip() or f"exit {probe.returncode}"


def _server_errors(log: str) -> dict[str, int]:
    """The exceptions behind the server's 500s, by their text."""
    found: dict[str, int] = {}
    for line in log.splitlines():
        if re.match(r"^([A-Za-z_][\w.]*(?:Error|Exception|Violation)): (.*)$", line):
            found[line] = found.get(line, 0) + 1
    return found


@pytest.mark.timeout(600)
def test_the_openapi_document_holds_under_schemathesis(tmp_path: Path) -> None:
    why = _namespaces()
    if why is not None:
        if os.environ.get("CI") == "true":  # CI runs as root, where unshare works
            pytest.fail(f"no network namespace under CI: {why}")
        pytest.skip(f"no network namespace: {why}")
    run = subprocess.run(
        ["unshare", "--net", "--", "sh", "-c", INNER, sys.executable, str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=540,
    )  # fmt: skip
    keep = os.environ.get("HOOKWISE_FUZZ_KEEP")  # a folder for the server's log and the report
    if keep:
        shutil.copytree(tmp_path, keep, dirs_exist_ok=True)
    out = tmp_path / "schemathesis.out"
    text = out.read_text() if out.exists() else run.stdout + run.stderr
    assert (tmp_path / "report.json").exists(), text[-4000:]
    report = json.loads((tmp_path / "report.json").read_text())
    errors = _server_errors((tmp_path / "serve.log").read_text())
    checks = set(re.findall(r"^- (ST\d+) ", text, re.M))
    statuses = set(re.findall(r"^ +Received: (\d+)", text, re.M))
    print(f"schemathesis: {report['test_cases']}, failed checks {sorted(checks)}, 5xx {errors}")
    assert report["operations"]["tested"] == report["operations"]["total"], text[-4000:]
    assert report["test_cases"]["errored"] == 0, text[-8000:]
    assert not errors, text[-8000:]
    assert not checks and not statuses, text[-8000:]
    assert report["exit_code"] == 0, text[-8000:]


PUBLIC = "93.184.215.14"
PUBLIC_URL = f"http://{PUBLIC}/hook"  # global, so the guard passes it: unreachable in here
DOOMED = {  # the DELETE operations get resources of their own
    "DELETE /v1/apps/{app}": "app",
    "DELETE /v1/apps/{app}/endpoints/{endpoint_id}": "endpoint_id",
    "DELETE /v1/event-types/{name}": "name",
    "DELETE /v1/keys/{key_id}": "key_id",
}


def _seed(base: str, key: str) -> tuple[dict[str, str], dict[str, str]]:
    """One of every resource, so that fuzzed requests reach more than a 404: the path
    parameters schemathesis is given (and the doomed ones for the DELETE operations)."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as c:

        def made(path: str, body: dict[str, Any], field: str = "id") -> str:
            r = c.post(path, json=body)
            assert r.status_code in (201, 202), r.text
            return str(r.json()[field])

        app = made("/v1/apps", {"name": "fuzzed", "uid": "fuzzed"})
        apps = f"/v1/apps/{app}"
        name = made("/v1/event-types", {"name": "fuzz.seeded"}, "name")
        endpoint = made(f"{apps}/endpoints", {"url": PUBLIC_URL})
        message = made(f"{apps}/messages", {"event_type": name, "payload": {"n": 1}})
        job = made(f"{apps}/jobs", {"type": "fuzz", "id": "fuzz-job"})
        attempts: list[dict[str, Any]] = []
        deadline = time.monotonic() + 60
        while not attempts and time.monotonic() < deadline:  # the worker's failed attempt
            attempts = c.get(f"{apps}/attempts").json()["data"]
            time.sleep(0.1) if not attempts else None
        assert attempts, "no attempt was recorded"
        given = {
            "app": app, "name": name, "endpoint_id": endpoint, "message_id": message,
            "delivery_id": attempts[0]["delivery_id"], "attempt_id": attempts[0]["id"],
            "job_id": job, "key_id": made("/v1/keys", {"name": "spare", "app_id": app}),
        }  # fmt: skip
        doomed = {
            "app": made("/v1/apps", {"name": "doomed"}),
            "endpoint_id": made(f"{apps}/endpoints", {"url": PUBLIC_URL}),
            "name": made("/v1/event-types", {"name": "fuzz.doomed"}, "name"),
            "key_id": made("/v1/keys", {"name": "doomed", "app_id": app}),
        }
    return given, doomed


def _config(given: dict[str, str], doomed: dict[str, str]) -> str:
    """schemathesis.toml: the seeded path parameters, globally and per DELETE operation."""
    lines = ["[parameters]", *(f'"path.{k}" = "{v}"' for k, v in given.items())]
    for operation, param in DOOMED.items():
        lines += ["", "[[operations]]", f'include-name = "{operation}"']
        lines += ["[operations.parameters]", f'"path.{param}" = "{doomed[param]}"']
    return "\n".join(lines) + "\n"


def _isolated() -> None:
    """Refuse to fuzz unless a public address is unreachable from here."""
    with socket.socket() as probe:
        probe.settimeout(5)
        code = probe.connect_ex((PUBLIC, 80))
    assert code == errno.ENETUNREACH, f"not isolated: connect gave {errno.errorcode.get(code)}"


def _fuzz(tmp: Path) -> None:
    """Inside the namespace: ``hookwise serve`` on SQLite, then schemathesis against it."""
    _isolated()
    db = f"sqlite:///{tmp / 'hookwise.db'}"
    key = admin_key(db)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Proc(
        ["serve", "--host", "127.0.0.1", "--port", str(port)],
        env(db, HOOKWISE_ALLOW_NETWORKS=""),
        tmp / "serve.log",
    )
    try:
        asyncio.run(wait_healthy(base, server, timeout=90))  # a loaded CI machine
        config = tmp / "schemathesis.toml"
        config.write_text(_config(*_seed(base, key)))
        with (tmp / "schemathesis.out").open("w") as out:
            done = subprocess.run(
                [
                    SCHEMATHESIS, "--config-file", str(config), "run", f"{base}/openapi.json",
                    "--header", f"Authorization: Bearer {key}",
                    "--checks", CHECKS, "--max-examples", str(EXAMPLES), "--seed", "13",
                    "--workers", "2", "--request-timeout", "30", "--no-shrink", "--no-color",
                    "--report", "json", "--report-json-path", str(tmp / "report.json"),
                ],
                stdout=out, stderr=subprocess.STDOUT, timeout=480, cwd=tmp,
            )  # fmt: skip
        (tmp / "exit").write_text(str(done.returncode))
    finally:
        server.terminate()
        server.close()


if __name__ == "__main__":
    _fuzz(Path(sys.argv[1]))
