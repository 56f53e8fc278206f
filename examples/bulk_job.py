"""A small bulk job end to end: the sender's side and the customer's receiver in one script.

Start the service with loopback allowed (the receiver below listens on 127.0.0.1)::

    HOOKWISE_ALLOW_NETWORKS=127.0.0.0/8 hookwise serve
    hookwise keys create --admin                     # prints hwk_…
    python examples/bulk_job.py --key hwk_…          # or HOOKWISE_URL / HOOKWISE_ADMIN_KEY

The script creates an app, starts a tiny webhook receiver, submits a job with a
``webhook_url``, reports three items as its "work" finishes, finishes the job, and prints the
signed ``job.completed`` the receiver gets (or polls the job if no webhook comes in time).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from hookwise.client import Client
from hookwise.domain.errors import VerificationError
from hookwise.domain.signing import Verifier


def start_receiver(secret: str) -> tuple[str, queue.Queue[dict[str, Any]], HTTPServer]:
    """A webhook receiver on a free loopback port: verifies, ACKs, hands the event over."""
    verifier = Verifier.from_secrets(secret)
    inbox: queue.Queue[dict[str, Any]] = queue.Queue()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            try:
                verifier.verify(body, dict(self.headers))
            except VerificationError as exc:
                self.send_response(401)
                self.end_headers()
                print(f"rejected an unsigned webhook: {exc}", file=sys.stderr)
                return
            self.send_response(204)  # ACK first, work later
            self.end_headers()
            inbox.put(json.loads(body))

        def log_message(self, *_: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/webhooks/hookwise", inbox, server


def enrich(contact: dict[str, str]) -> dict[str, Any]:
    """The sender's own work for one item (here: pretend to find an email)."""
    if contact["domain"].endswith(".com"):
        return {"id": contact["id"], "status": "succeeded",
                "result": {"email": f"{contact['first']}@{contact['domain']}"}}  # fmt: skip
    return {"id": contact["id"], "status": "failed", "error": "no email found"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("HOOKWISE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--key", default=os.environ.get("HOOKWISE_ADMIN_KEY"))
    parser.add_argument("--wait", type=float, default=30.0, help="seconds to wait for the webhook")
    args = parser.parse_args()
    if not args.key:
        parser.error("an admin key is needed: --key hwk_… or HOOKWISE_ADMIN_KEY")

    contacts = [
        {"id": "c1", "first": "john", "domain": "acme.com"},
        {"id": "c2", "first": "jane", "domain": "initech.com"},
        {"id": "c3", "first": "bob", "domain": "localhost"},
    ]
    with Client(args.url, args.key) as hw:
        # --8<-- [start:job]
        app = hw.apps.create("bulk-job example", uid=f"example-{uuid.uuid4().hex[:8]}")
        secret = hw.jobs.secret(app["id"])["key"]  # what the customer verifies with
        webhook_url, inbox, server = start_receiver(secret)

        job = hw.jobs.create(
            app["id"],
            "enrich.bulk",
            total=len(contacts),
            webhook_url=webhook_url,
            custom={"crm_list": "Q2 leads"},
        )
        print(f"job {job['id']} is {job['status']}; status at {job['status_url']}")
        for contact in contacts:  # the sender's work, reported as each item finishes
            hw.jobs.report(app["id"], job["id"], [enrich(contact)])
        hw.jobs.finish(app["id"], job["id"], "completed_with_errors", summary={"emails_found": 2})
        # --8<-- [end:job]

        try:
            event = inbox.get(timeout=args.wait)
            print("webhook received:")
        except queue.Empty:  # the polling fallback
            event = hw.jobs.get(app["id"], job["id"])
            print("no webhook in time; polled the job:")
        finally:
            server.shutdown()
        print(json.dumps(event, indent=2))
        attempts: list[dict[str, Any]] = []
        for _ in range(50):  # an attempt is logged just after the receiver's answer
            attempts = list(hw.attempts.list(app["id"], job_id=job["id"]))
            if attempts:
                break
            time.sleep(0.1)
        print(f"{len(attempts)} delivery attempt(s) logged for {job['id']}")
    return 0 if event.get("event") == "job.completed" else 1


if __name__ == "__main__":
    sys.exit(main())
