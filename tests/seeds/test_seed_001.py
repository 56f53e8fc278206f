"""Seed 001 (Cleanlist's API quickstart): a bulk enrichment's ``enrichment.completed`` webhook,
reproduced by a job webhook profile: the body has the documented example's keys at the same
levels, with the same JSON types and the same event name."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from tests.conftest import Api
from tests.receivers import Receiver
from tests.seeds.shapes import EXAMPLE, bodies, shape

# the example of "Step 5a — Receive the result via webhook", as documented
DOCUMENTED: dict[str, Any] = {
    "event": "enrichment.completed",
    "workflow_id": "public_bulk_4d6f2c3a-...",
    "lead_list_id": "550e8400-...",
    "enrichment_type": "partial",
    "status": "completed",
    "summary": {"total": 2, "successful": 2, "failed": 0, "emails_found": 2, "phones_found": 0},
    "results": [
        {
            "task_id": "task_1",
            "primary_email": "john.doe@acme.com",
            "primary_email_status": "reliable",
            "prospect": {"first_name": "John", "last_name": "Doe"},
            "company": {"name": "Acme Corp", "domain": "acme.com"},
        }
    ],
    "completed_at": "2026-04-06T15:00:42Z",
}

PROFILE: dict[str, Any] = EXAMPLE.CLEANLIST


def contact(n: int) -> dict[str, Any]:
    """One enriched contact, as Cleanlist's results carry it."""
    return {
        "task_id": f"task_{n}",
        "primary_email": f"john.doe{n}@acme.com",
        "primary_email_status": "reliable",
        "prospect": {"first_name": "John", "last_name": f"Doe{n}"},
        "company": {"name": "Acme Corp", "domain": "acme.com"},
    }


async def test_enrichment_completed_as_documented(api: Api, receiver: Receiver) -> None:
    app = await api.app(job_profile=PROFILE)
    jobs = f"/v1/apps/{app['id']}/jobs"
    r = await api.http.post(
        jobs,
        json={"id": "public_bulk_4d6f2c3a-9b1e", "type": "partial", "total": 2,
              "webhook_url": receiver.url("/webhooks/cleanlist"),
              "fields": {"lead_list_id": "550e8400-e29b-41d4"}},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    items = [{"id": f"task_{n}", "status": "succeeded", "result": contact(n)} for n in (1, 2)]
    r = await api.http.post(f"{jobs}/public_bulk_4d6f2c3a-9b1e/items", json={"items": items})
    assert r.status_code == 200, r.text
    r = await api.http.post(
        f"{jobs}/public_bulk_4d6f2c3a-9b1e/finish",
        json={"status": "completed", "summary": {"emails_found": 2, "phones_found": 0}},
    )
    assert r.status_code == 200, r.text

    (body,) = await bodies(api, receiver, "/webhooks/cleanlist", 1)
    assert shape(body) == shape(DOCUMENTED)
    assert list(body) == list(DOCUMENTED)
    assert body["event"] == "enrichment.completed"
    assert body["workflow_id"] == "public_bulk_4d6f2c3a-9b1e"
    assert body["lead_list_id"] == "550e8400-e29b-41d4"
    assert body["summary"] == {
        "total": 2, "successful": 2, "failed": 0, "emails_found": 2, "phones_found": 0
    }  # fmt: skip
    assert body["results"] == [contact(1), contact(2)]
    assert body["completed_at"].endswith("Z")


async def test_the_documented_set_up_reproduces_it(api: Api, receiver: Receiver) -> None:
    url = receiver.url("/webhooks/cleanlist")
    await asyncio.to_thread(EXAMPLE.main, api.base_url, api.admin_key, "001", url)
    (body,) = await bodies(api, receiver, "/webhooks/cleanlist", 1)
    assert shape(body) == shape(DOCUMENTED)
    assert body["results"] == [DOCUMENTED["results"][0]]


def test_docs_seeds_quotes_the_example_verbatim() -> None:
    root = Path(__file__).parent.parent.parent
    doc = (root / "docs" / "how-to" / "seeds.md").read_text()
    quoted = re.findall(r"<!-- example: (\S+) -->\n```python\n(.*?)```", doc, flags=re.S)
    assert len(quoted) == 1
    for path, code in quoted:
        assert code in (root / path).read_text(), f"docs/how-to/seeds.md drifted from {path}"
