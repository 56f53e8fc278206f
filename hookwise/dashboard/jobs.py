"""The console's jobs: the list (by status, paged) and one job with its progress, counts,
results (paged) and the webhook attempts it made."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from hookwise.api import views
from hookwise.dashboard.access import ctx_of
from hookwise.dashboard.app_view import open_app, render
from hookwise.domain.models import DeliveryFilter, Job, JobResult

router = APIRouter(prefix="/dashboard/apps/{app_ref}", include_in_schema=False)

PAGE = 50
STATUSES = ("running", "completed", "completed_with_errors", "failed", "canceled",
            "insufficient_credits")  # fmt: skip
Ref = Annotated[str | None, Query(max_length=128)]
Status = Annotated[str, Query(pattern=f"^({'|'.join(STATUSES)})?$")]


def job_view(j: Job) -> dict[str, Any]:
    """A job as the console's pages show it."""
    return {
        "id": j.id, "type": j.type, "status": j.status, "total": j.total,
        "done": j.reported, "succeeded": j.succeeded, "failed": j.failed,
        "summary": j.summary, "custom": j.custom, "metadata": j.metadata,
        "webhook_url": j.webhook_url, "item_events": j.item_events,
        "created_at": views.iso(j.created_at), "updated_at": views.iso(j.updated_at),
        "completed_at": views.iso(j.completed_at),
    }  # fmt: skip


def _result(r: JobResult) -> dict[str, Any]:
    return {"seq": r.seq, "id": r.id, "status": r.status,
            "result": r.result_json, "error": r.error_json}  # fmt: skip


@router.get("/jobs")
async def list_page(
    request: Request, app_ref: str, status: Status = "", cursor: Ref = None
) -> Response:
    """The app's jobs, newest first, paged."""
    app = await open_app(request, app_ref)
    if isinstance(app, Response):
        return app
    p = await ctx_of(request).store.jobs.list_jobs(
        app.id, limit=PAGE, cursor=cursor, status=status or None
    )
    more = {"status": status} if status else {}
    next_url = None
    if p.next_cursor:
        next_url = f"/dashboard/apps/{app.id}/jobs?" + urlencode({**more, "cursor": p.next_cursor})
    context = {
        "jobs": [job_view(j) for j in p.data], "status": status, "statuses": STATUSES,
        "next_url": next_url, "first_url": f"/dashboard/apps/{app.id}/jobs?" + urlencode(more),
        "paged": cursor is not None,
    }  # fmt: skip
    return render(request, "jobs.html", app, "jobs", context)


@router.get("/jobs/{job_id}")
async def detail_page(
    request: Request,
    app_ref: str,
    job_id: str,
    results_cursor: Ref = None,
    attempts_cursor: Ref = None,
) -> Response:
    """One job: status, progress, counts, a page of results, a page of its attempts."""
    app = await open_app(request, app_ref)
    if isinstance(app, Response):
        return app
    store = ctx_of(request).store
    job = await store.jobs.get_job(app.id, job_id)
    results = await store.jobs.list_job_results(app.id, job.id, limit=PAGE, cursor=results_cursor)
    attempts = await store.messages.list_attempts(
        app.id, DeliveryFilter(job_id=job.id), limit=PAGE, cursor=attempts_cursor
    )
    here = f"/dashboard/apps/{app.id}/jobs/{job.id}"
    keep = {"results_cursor": results_cursor or "", "attempts_cursor": attempts_cursor or ""}

    def url(**change: str) -> str:
        q = urlencode({k: v for k, v in {**keep, **change}.items() if v})
        return f"{here}?{q}" if q else here

    j = job_view(job)
    context = {
        "job": j,
        "summary": orjson.dumps(j["summary"], option=orjson.OPT_INDENT_2).decode()
        if j["summary"]
        else None,
        "results": [_result(r) for r in results.data],
        "results_next": url(results_cursor=results.next_cursor) if results.next_cursor else None,
        "results_first": url(results_cursor="") if results_cursor else None,
        "attempts": [views.attempt(a) for a in attempts.data],
        "attempts_next": url(attempts_cursor=attempts.next_cursor)
        if attempts.next_cursor
        else None,
        "attempts_first": url(attempts_cursor="") if attempts_cursor else None,
    }
    return render(request, "job.html", app, "jobs", context)
