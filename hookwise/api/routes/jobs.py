"""Jobs: async work the sender does and hookwise tracks, reports by webhook, and serves for
polling.

``POST …/jobs`` answers at once; the sender reports finished items to ``…/items`` and ends the
job with ``…/finish``; hookwise sends ``job.item_finished`` (when asked) and ``job.completed`` /
``job.failed`` / ``job.canceled`` to the job's ``webhook_url`` and to every endpoint subscribed
to them. ``GET …/jobs/{job}`` and ``…/results`` are the polling fallback.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request
from pydantic import Field
from pydantic.config import JsonDict
from starlette.responses import Response

from hookwise.api import views
from hookwise.api.context import ApiContext, Ctx, ScopedApp
from hookwise.api.routes.common import Cursor, Digits, Limit
from hookwise.api.schemas import WEB_URL, Input, RotateIn
from hookwise.domain.errors import Conflict, InvalidInput
from hookwise.domain.ids import new_id
from hookwise.domain.models import App, Job, JobFinish, JobItem, JobResult, NewJob
from hookwise.domain.models import Page as PageOf
from hookwise.domain.schedule import RetrySchedule
from hookwise.domain.signing import SECRET_PREFIX, is_valid_whsec, new_secret
from hookwise.jobs import result_row
from hookwise.jobs.profile import JobProfile
from hookwise.jobs.validation import (
    MAX_CUSTOM_KEY,
    MAX_CUSTOM_KEYS,
    MAX_CUSTOM_VALUE,
    MAX_FIELDS,
    MAX_ITEMS_PER_BATCH,
    MAX_SUMMARY_KEYS,
    validate_custom,
    validate_fields,
    validate_job_id,
    validate_summary,
    validate_type,
)

router = APIRouter(tags=["jobs"])

JobStatusQuery = Annotated[
    str | None,
    Query(
        pattern="^(running|completed|completed_with_errors|failed|canceled|insufficient_credits)$"
    ),
]
FirstPage = Annotated[int, Query(ge=0, le=1000, description="results inline in the answer"), Digits]


def _named(values: JsonDict, most: int) -> JsonDict:
    """The document's view of an object of at most ``most`` named values (checked by
    hookwise.jobs.validation, which names the key)."""
    names: JsonDict = {"minLength": 1, "maxLength": MAX_CUSTOM_KEY}
    return {"additionalProperties": values, "maxProperties": most, "propertyNames": names}


class WebhookEventsIn(Input):
    item_finished: bool = Field(False, description="send job.item_finished for every item")


class JobIn(Input):
    type: str = Field(min_length=1, max_length=200, description="what kind of work, e.g. enrich")
    id: str | None = Field(
        None, min_length=1, max_length=64, description="producer-chosen id: a repeat is a no-op"
    )
    total: int | None = Field(None, ge=0, le=1_000_000_000, description="items announced")
    webhook_url: str | None = Field(None, min_length=1, max_length=2048, json_schema_extra=WEB_URL)
    webhook_events: WebhookEventsIn | None = None
    webhook_retry_schedule: list[float] | None = Field(
        None, description="seconds before each retry to webhook_url (default [1, 2, 4, 8, 16])"
    )
    webhook_timeout_seconds: float = Field(10.0, gt=0, le=30)
    custom: dict[str, Any] | None = Field(
        None,
        description="string values only, passed back exactly in every job event",
        json_schema_extra=_named(
            {"type": "string", "maxLength": MAX_CUSTOM_VALUE}, MAX_CUSTOM_KEYS
        ),
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="the sender's own data; shown by the API only"
    )
    fields: dict[str, Any] | None = Field(
        None,
        description="extra top-level fields of every event of the job, right after its id",
        json_schema_extra={"maxProperties": MAX_FIELDS},
    )


class ItemIn(Input):
    id: str | None = Field(None, min_length=1, max_length=200, description="unique in the job")
    status: Literal["succeeded", "failed"]
    result: Any = None
    error: Any = None


class ItemsIn(Input):
    items: list[ItemIn] = Field(min_length=1, max_length=MAX_ITEMS_PER_BATCH)


class FinishIn(Input):
    status: Literal[
        "completed", "completed_with_errors", "failed", "canceled", "insufficient_credits"
    ]
    summary: dict[str, Any] | None = Field(
        None,
        description="the sender's own counters",
        json_schema_extra=_named(
            {"type": ["number", "string", "boolean", "null"]}, MAX_SUMMARY_KEYS
        ),
    )


def _base(ctx: ApiContext, request: Request) -> str:
    return (ctx.settings.public_url or str(request.base_url)).rstrip("/")


def _job_url(base: str, job: Job) -> str:
    return f"{base}/v1/apps/{job.app_id}/jobs/{job.id}"


def _results_json(results: list[JobResult]) -> orjson.Fragment:
    rendered = [result_row(r.id, r.status, r.result_json, r.error_json) for r in results]
    return orjson.Fragment(b"[" + b",".join(rendered) + b"]")


def _profile(app: App) -> JobProfile:
    """The app's job webhook profile (validated when it was stored)."""
    return JobProfile.parse(app.job_profile)


def _job(job: Job, base: str, profile: JobProfile) -> dict[str, Any]:
    url = _job_url(base, job)
    summary = job.summary or {"total": job.total, "succeeded": job.succeeded, "failed": job.failed}
    own = profile.for_type(job.type)
    return {
        "id": job.id, "job_id": job.id, "app_id": job.app_id, "type": job.type,
        "status": job.status, "event": own.event_for(job.status) if job.finished else None,
        "total": job.total, "succeeded": job.succeeded, "failed": job.failed,
        "summary": summary, "custom": job.custom, "metadata": job.metadata, "fields": job.fields,
        "webhook_url": job.webhook_url,
        "webhook_events": {"item_finished": job.item_events},
        "webhook_endpoint_id": job.webhook_endpoint_id,
        "created_at": views.iso(job.created_at), "updated_at": views.iso(job.updated_at),
        "completed_at": views.iso(job.completed_at),
        "status_url": url, "results_endpoint": f"{url}/results",
    }  # fmt: skip


def _same_request(job: Job, new: NewJob) -> str | None:
    """The first field in which a repeated create differs from the stored job."""
    pairs = {
        "type": (job.type, new.type),
        "total": (job.total, new.total),
        "webhook_url": (job.webhook_url, new.webhook_url),
        "webhook_events.item_finished": (job.item_events, new.item_events),
        "custom": (job.custom, new.custom),
        "metadata": (job.metadata, new.metadata),
        "fields": (job.fields, new.fields),
    }
    return next((k for k, (a, b) in pairs.items() if a != b), None)


_REPEAT: dict[int | str, dict[str, Any]] = {
    200: {"description": "the same id again: the job as it is (Idempotent-Replayed)"}
}


@router.post("/v1/apps/{app}/jobs", status_code=201, responses=_REPEAT)
async def create(app: ScopedApp, body: JobIn, ctx: Ctx, request: Request) -> Response:
    """Start tracking a job: ``201 {id, status: "running", status_url}`` at once. The same
    ``id`` again answers ``200`` with the job as it is (``Idempotent-Replayed: true``)."""
    if body.webhook_url is not None:
        await ctx.policy.check_url(body.webhook_url, field="webhook_url")
    own = _profile(app).for_type(body.type)
    cap = own.item_cap(app.max_items_per_job)
    if cap is not None and body.total is not None and body.total > cap:
        raise InvalidInput("total", f"a {body.type!r} job of this app holds at most {cap} items")
    new = NewJob(
        app_id=app.id,
        id=validate_job_id(body.id) if body.id is not None else new_id("job"),
        type=validate_type(body.type),
        total=body.total,
        webhook_url=body.webhook_url,
        webhook_retry_schedule=RetrySchedule.parse(
            body.webhook_retry_schedule, "webhook_retry_schedule"
        ).delays,
        webhook_timeout_seconds=body.webhook_timeout_seconds,
        item_events=bool(body.webhook_events and body.webhook_events.item_finished),
        custom=validate_custom(body.custom),
        metadata=body.metadata,
        fields=validate_fields(body.fields, own.taken()),
    )
    made = await ctx.store.jobs.create_job(new)
    job = made.job
    out = {"id": job.id, "status": job.status, "status_url": _job_url(_base(ctx, request), job)}
    if made.created:
        return views.json(out, 201)
    differs = _same_request(job, new)
    if differs is not None:
        raise Conflict(
            f"job {job.id!r} exists already with another {differs}",
            details={"reason": "job_exists", "job_id": job.id, "field": differs},
        )
    return views.json(out, 200, {"Idempotent-Replayed": "true"})


@router.get("/v1/apps/{app}/jobs")
async def list_jobs(
    app: ScopedApp,
    ctx: Ctx,
    request: Request,
    limit: Limit = 50,
    cursor: Cursor = None,
    status: JobStatusQuery = None,
    type: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The app's jobs, newest first (without their results)."""
    p = await ctx.store.jobs.list_jobs(app.id, limit=limit, cursor=cursor, status=status, type=type)
    base, profile = _base(ctx, request), _profile(app)
    return views.json(
        {"data": [_job(j, base, profile) for j in p.data], "next_cursor": p.next_cursor}
    )


@router.get("/v1/apps/{app}/jobs/{job_id}")
async def get(
    app: ScopedApp, job_id: str, ctx: Ctx, request: Request, limit: FirstPage = 100
) -> Response:
    """The polling fallback: status, counts, summary, custom, and the first ``limit`` results
    (``results_truncated`` more are at ``results_endpoint``, from ``next_cursor`` on)."""
    job = await ctx.store.jobs.get_job(app.id, job_id)
    first: PageOf[JobResult] = PageOf([], None)
    if limit and job.reported:
        first = await ctx.store.jobs.list_job_results(app.id, job.id, limit=limit, cursor=None)
    elif job.reported:
        first = PageOf([], "0")
    out = _job(job, _base(ctx, request), _profile(app))
    out["results"] = _results_json(first.data)
    out["results_truncated"] = job.reported - len(first.data)
    out["next_cursor"] = first.next_cursor
    return views.json(out)


@router.get("/v1/apps/{app}/jobs/{job_id}/results")
async def results(
    app: ScopedApp,
    job_id: str,
    ctx: Ctx,
    limit: Limit = 100,
    cursor: Cursor = None,
    status: Annotated[str | None, Query(pattern="^(succeeded|failed)$")] = None,
) -> Response:
    """Every result of the job in report order, page by page:
    ``{"data": [{id, status, result?, error?}], "next_cursor"}``."""
    p = await ctx.store.jobs.list_job_results(
        app.id, job_id, limit=limit, cursor=cursor, status=status
    )
    return views.json({"data": _results_json(p.data), "next_cursor": p.next_cursor})


def _items(body: ItemsIn) -> list[JobItem]:
    items, seen = [], set()
    for n, item in enumerate(body.items):
        ident = item.id if item.id is not None else new_id("item")
        if ident in seen:
            raise InvalidInput(f"items[{n}].id", f"{ident!r} appears twice in this batch")
        seen.add(ident)
        items.append(
            JobItem(
                id=ident,
                status=item.status,
                result_json=None if item.result is None else orjson.dumps(item.result).decode(),
                error_json=None if item.error is None else orjson.dumps(item.error).decode(),
            )
        )
    return items


@router.post("/v1/apps/{app}/jobs/{job_id}/items")
async def report(app: ScopedApp, job_id: str, body: ItemsIn, ctx: Ctx) -> Response:
    """Report up to 1,000 finished items; stored (and their ``job.item_finished`` events
    committed) atomically. Ids reported before are skipped, so a retried batch is harmless."""
    done = await ctx.store.jobs.report_job_items(
        app.id, job_id, _items(body), profile=_profile(app), max_items=app.max_items_per_job
    )
    job = done.job
    return views.json(
        {
            "job_id": job.id,
            "accepted": done.accepted,
            "duplicates": list(done.duplicates),
            "succeeded": job.succeeded,
            "failed": job.failed,
            "total": job.total,
            "events": len(done.message_ids),
        }
    )


@router.post("/v1/apps/{app}/jobs/{job_id}/finish")
async def finish(
    app: ScopedApp, job_id: str, body: FinishIn, ctx: Ctx, request: Request
) -> Response:
    """Give the job its final status; sends ``job.completed`` (completed,
    completed_with_errors), ``job.failed`` (failed, insufficient_credits) or ``job.canceled``
    with the results that fit the app's inline budget. A job finishes once (409 after)."""
    base, profile = _base(ctx, request), _profile(app)
    done = await ctx.store.jobs.finish_job(
        app.id,
        job_id,
        JobFinish(
            status=body.status,
            summary=validate_summary(body.summary),
            results_endpoint=f"{base}/v1/apps/{app.id}/jobs/{job_id}/results",
            inline_budget=app.results_inline_budget,
        ),
        profile=profile,
    )
    out = _job(done.job, base, profile)
    out.update(
        message_id=done.message_id,
        results_inline=done.results_inline,
        results_truncated=done.results_truncated,
    )
    return views.json(out)


def _secret_view(secret: str, previous: list[tuple[str, Any]]) -> dict[str, Any]:
    return {
        "key": secret,
        "previous": [{"key": s, "valid_until": views.iso(u)} for s, u in previous],
    }


@router.get("/v1/apps/{app}/job-secret")
async def job_secret(app: ScopedApp, ctx: Ctx) -> Response:
    """The secret that signs every job ``webhook_url`` of the app (one per app, made on first
    use), and older ones still valid during a rotation."""
    return views.json(_secret_view(*await ctx.store.jobs.job_secret(app.id)))


@router.post("/v1/apps/{app}/job-secret/rotate")
async def rotate_job_secret(app: ScopedApp, ctx: Ctx, body: RotateIn | None = None) -> Response:
    """Replace the job secret; the old one keeps signing (a second signature) for the grace
    time."""
    body = body or RotateIn()
    secret = body.secret or new_secret()
    if secret.startswith(SECRET_PREFIX) and not is_valid_whsec(secret):
        raise InvalidInput("secret", "a whsec_ secret must be base64 of at least 16 bytes")
    got = await ctx.store.jobs.rotate_job_secret(app.id, secret, time.time() + body.grace_seconds)
    return views.json(_secret_view(*got))
