"""``examples/bulk_job.py`` runs end to end against the running service."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from tests.conftest import Api

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bulk_job.py"


async def test_bulk_job_example(api_factory: Any) -> None:
    api: Api = await api_factory(workers=1)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLE), "--url", api.base_url, "--key", api.admin_key,
        "--wait", "20",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode()
    assert proc.returncode == 0, text + err.decode()
    assert "webhook received:" in text
    start = text.index("{")
    event = json.loads(text[start : text.rindex("}") + 1])
    assert event["event"] == "job.completed"
    assert event["status"] == "completed_with_errors"
    assert event["summary"] == {"total": 3, "succeeded": 2, "failed": 1, "emails_found": 2}
    assert event["custom"] == {"crm_list": "Q2 leads"}
    assert [r["id"] for r in event["results"]] == ["c1", "c2", "c3"]
    assert "1 delivery attempt(s) logged" in text
