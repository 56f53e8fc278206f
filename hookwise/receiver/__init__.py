"""The hookwise receiver toolkit: verify, persist, ACK fast, dedupe, process in the background.

    from hookwise.receiver import Receiver

    receiver = Receiver(inbox="sqlite:///hooks.db", secret="whsec_…")

    @receiver.on("job.completed")
    async def job_completed(event):
        ...

    app = receiver.asgi()   # or hookwise receive --app myapp:receiver --port 3000

See ``docs/how-to/receive.md``.
"""

from __future__ import annotations

from hookwise.domain.errors import (
    InvalidSignature,
    MissingHeaders,
    StaleTimestamp,
    VerificationError,
)
from hookwise.receiver.adapters.asgi import ASGIReceiver
from hookwise.receiver.adapters.portal import SyncReceiver
from hookwise.receiver.adapters.wsgi import WSGIReceiver
from hookwise.receiver.errors import (
    BadPayload,
    CheckFailed,
    InboxUnavailable,
    PermanentFailure,
    ResultsFetchError,
)
from hookwise.receiver.event import Event, Handler
from hookwise.receiver.inbox import Expectation, Inbox, InboxItem, NewItem, State, open_inbox
from hookwise.receiver.job_shape import JobShape, JobState
from hookwise.receiver.postgres_inbox import PostgresInbox
from hookwise.receiver.processor import Processor
from hookwise.receiver.receiver import Receiver
from hookwise.receiver.reconciler import Reconciler
from hookwise.receiver.reply import Reply
from hookwise.receiver.service import ReceiverService
from hookwise.receiver.sqlite_inbox import SqliteInbox
from hookwise.receiver.verify import Verifier, make_verifier, verify_request

__all__ = [
    "ASGIReceiver",
    "BadPayload",
    "CheckFailed",
    "Event",
    "Expectation",
    "Handler",
    "Inbox",
    "InboxItem",
    "InboxUnavailable",
    "InvalidSignature",
    "JobShape",
    "JobState",
    "MissingHeaders",
    "NewItem",
    "PermanentFailure",
    "PostgresInbox",
    "Processor",
    "Receiver",
    "ReceiverService",
    "Reconciler",
    "Reply",
    "ResultsFetchError",
    "SqliteInbox",
    "StaleTimestamp",
    "State",
    "SyncReceiver",
    "VerificationError",
    "Verifier",
    "WSGIReceiver",
    "make_verifier",
    "open_inbox",
    "verify_request",
]
