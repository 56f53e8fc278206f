"""Seed 000's Flask + RQ receiver, rewritten on hookwise: no Redis, no RQ, no worker to run.

Run it:  flask --app examples/receiver_flask.py run --port 3000

The receiver persists each webhook before the 200 and processes it on a background thread of
the same process. Environment: WEBHOOK_SECRET, RECEIVER_INBOX (default sqlite:///flask-inbox.db).
"""

from __future__ import annotations

import os

from flask import Flask, request

from hookwise.receiver import Event, Receiver

app = Flask(__name__)
receiver = Receiver(
    inbox=os.environ.get("RECEIVER_INBOX", "sqlite:///flask-inbox.db"),
    secret=os.environ["WEBHOOK_SECRET"],
    dedupe_key="workflow_id",
)
hook = receiver.wsgi()  # verify → store → 200; handlers run in the background
processed: list[str] = []


@receiver.on("enrichment.completed")
def process_results(event: Event) -> None:
    """Your work goes here: retried on failure, dead-lettered if it keeps failing."""
    processed.append(event.key)


@app.post("/webhooks/enrichment")
def enrichment_webhook() -> tuple[bytes, int, list[tuple[str, str]]]:
    reply = hook.handle(request.get_data(), request.headers)
    return reply.body, reply.status, list(reply.headers)
