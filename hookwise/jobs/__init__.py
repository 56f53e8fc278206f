"""Jobs: async work the sender does and hookwise tracks, with per-item and completion events.

Pure logic shared by the store and the API: event names, payload bodies (and the inline
budget of the completion), validation. No I/O here.
"""

from __future__ import annotations

from hookwise.jobs.events import (
    CANCELED,
    COMPLETED,
    FAILED,
    ITEM_FINISHED,
    JOB_EVENTS,
    event_for,
    final_summary,
)
from hookwise.jobs.payloads import Completion, item_event, result_row
from hookwise.jobs.profile import DEFAULT, JobProfile

__all__ = [
    "CANCELED",
    "COMPLETED",
    "DEFAULT",
    "FAILED",
    "ITEM_FINISHED",
    "JOB_EVENTS",
    "Completion",
    "JobProfile",
    "event_for",
    "final_summary",
    "item_event",
    "result_row",
]
