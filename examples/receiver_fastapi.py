"""A receiver mounted in an existing FastAPI app, processing in the same process.

Run it:  uvicorn examples.receiver_fastapi:app --port 3000
Environment: WEBHOOK_SECRET, RECEIVER_INBOX (default sqlite:///fastapi-inbox.db).
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from hookwise.receiver import Event, Receiver

receiver = Receiver(
    inbox=os.environ.get("RECEIVER_INBOX", "sqlite:///fastapi-inbox.db"),
    secret=os.environ["WEBHOOK_SECRET"],
)
app = FastAPI(lifespan=receiver.lifespan)  # opens the inbox, runs processor and reconciler
app.mount("/webhooks", receiver.asgi())


@receiver.on("job.*")
async def on_job(event: Event) -> None:
    """Every ``job.…`` event, once, in the background."""
    print(f"{event.type} {event.key}: {event.payload.get('status')}", flush=True)
