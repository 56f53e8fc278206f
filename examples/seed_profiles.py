"""The job webhook profiles of the seed products, and their set-up with the Python client.

docs/how-to/seeds.md quotes this file; a test runs it against a real server and checks that each
seed's webhook comes out as that product documents it.

    python examples/seed_profiles.py --key hwk_… 001      # or HOOKWISE_URL / HOOKWISE_ADMIN_KEY
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from hookwise.client import Client

# seeds 000 and 001 (Cleanlist): enrichment.completed with workflow_id, lead_list_id and
# enrichment_type, the product's own result rows, truncation fields only when results were cut
CLEANLIST: dict[str, Any] = {
    "events": {
        "completed": "enrichment.completed",
        "failed": "enrichment.failed",
        "canceled": "enrichment.canceled",
        "item_finished": "enrichment.item_finished",
    },
    "fields": {
        "id": None,
        "timestamp": None,
        "job_id": "workflow_id",
        "type": "enrichment_type",
        "custom": None,
    },
    "summary_names": {"succeeded": "successful"},
    "result_rows": "result",
    "truncation_fields": "when_truncated",
    "results_endpoint": "https://api.cleanlist.ai/api/v1/public/enrich/status?workflow_id={job_id}",
}

# seed 003: one task per job, {task_id, status, task_type, result | error} and nothing else
TASKS: dict[str, Any] = {
    "single_result": True,
    "fields": {
        "event": None,
        "id": None,
        "timestamp": None,
        "job_id": "task_id",
        "type": "task_type",
        "custom": None,
        "completed_at": None,
    },
}

# seed 004: contact_finished per contact, one event when the batch finishes, lacks credits or
# is canceled, custom passed back
BATCHES: dict[str, Any] = {
    "events": {
        "item_finished": "contact_finished",
        "completed": "batch_finished",
        "failed": "batch_failed",
        "canceled": "batch_canceled",
    },
    "status_names": {"insufficient_credits": "out_of_credits"},
    "fields": {"job_id": "batch_id", "item": "contact"},
}

PROFILES = {"000": CLEANLIST, "001": CLEANLIST, "003": TASKS, "004": BATCHES}
CAPS = {"003": 100}  # seed 003: bulk jobs take up to 100 leads


def setup(hw: Client, seed: str, name: str) -> dict[str, Any]:
    """An app whose job webhooks look like ``seed``'s."""
    app: dict[str, Any] = hw.apps.create(
        name, job_profile=PROFILES[seed], max_items_per_job=CAPS.get(seed)
    )
    return app


def bulk_enrichment(hw: Client, app_id: str, webhook_url: str) -> dict[str, Any]:
    """Seed 001's bulk enrichment, as the product reports it to hookwise."""
    job: dict[str, Any] = hw.jobs.create(
        app_id,
        "partial",  # the enrichment_type
        id="public_bulk_4d6f2c3a-9b1e",  # the workflow_id the customer already got
        total=1,
        webhook_url=webhook_url,
        fields={"lead_list_id": "550e8400-e29b-41d4"},
    )
    contact = {
        "task_id": "task_1",
        "primary_email": "john.doe@acme.com",
        "primary_email_status": "reliable",
        "prospect": {"first_name": "John", "last_name": "Doe"},
        "company": {"name": "Acme Corp", "domain": "acme.com"},
    }
    hw.jobs.report(app_id, job["id"], [{"id": "task_1", "status": "succeeded", "result": contact}])
    done: dict[str, Any] = hw.jobs.finish(
        app_id, job["id"], "completed", summary={"emails_found": 1, "phones_found": 0}
    )
    return done


def main(url: str, key: str, seed: str, webhook_url: str | None = None) -> dict[str, Any]:
    """Set up an app for ``seed``; with a ``webhook_url``, run seed 001's enrichment to it."""
    with Client(url, key) as hw:
        app = setup(hw, seed, f"seed {seed}")
        if webhook_url is not None:
            return bulk_enrichment(hw, app["id"], webhook_url)
        return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seed", choices=sorted(PROFILES))
    parser.add_argument("--url", default=os.environ.get("HOOKWISE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--key", default=os.environ.get("HOOKWISE_ADMIN_KEY", ""))
    parser.add_argument("--webhook-url", default=None)
    args = parser.parse_args()
    print(main(args.url, args.key, args.seed, args.webhook_url))
