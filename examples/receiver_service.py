"""Seed 000's Express receiver, rewritten on hookwise.

Run it:  hookwise receive --app examples/receiver_service.py:receiver --port 3000
(or ``python -m hookwise.receiver`` with the same flags).

Environment: WEBHOOK_SECRET (the endpoint's ``whsec_…``), RECEIVER_INBOX (default
``sqlite:///receiver-inbox.db``; a ``postgresql://…`` URL works too), LEADS_DB, API_KEY.
"""

from __future__ import annotations

import os
import sqlite3

from hookwise.receiver import Event, Receiver

receiver = Receiver(
    inbox=os.environ.get("RECEIVER_INBOX", "sqlite:///receiver-inbox.db"),
    secret=os.environ["WEBHOOK_SECRET"],  # rule 3: only signed requests get in
    dedupe_key="workflow_id",  # rule 2: one workflow is processed once
    known_ids="expected",  # rule 3: 404 for workflows we never submitted
    api_key=os.environ.get("API_KEY"),  # rule 4: truncated results are fetched in full
)


@receiver.on("enrichment.completed")
def process_results(event: Event) -> None:
    """Runs in the background after the 200 (rule 1), with retries, then the dead state."""
    rows = [
        (r["task_id"], r.get("primary_email"), r.get("primary_email_status"))
        for r in event.payload.get("results", [])
    ]
    with sqlite3.connect(os.environ.get("LEADS_DB", "leads.db")) as db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS leads"
            " (source_id TEXT PRIMARY KEY, email TEXT, email_status TEXT)"
        )
        db.executemany(
            "INSERT INTO leads VALUES (?, ?, ?) ON CONFLICT (source_id) DO UPDATE"
            " SET email = excluded.email, email_status = excluded.email_status",
            rows,
        )
