"""Health and metrics."""

from __future__ import annotations

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from starlette.responses import Response

from hookwise.api import views
from hookwise.api.context import Ctx
from hookwise.delivery import metrics

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(ctx: Ctx) -> Response:
    """200 when the database answers, 503 (error shape) when it does not."""
    await ctx.store.ping()
    return views.json({"status": "ok"})


_TEXT = {"schema": {"type": "string"}}


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"description": "the text format", "content": {CONTENT_TYPE_PLAIN_0_0_4: _TEXT}}
    },
)
async def prometheus(ctx: Ctx) -> Response:
    """Prometheus metrics (text format 0.0.4): attempts by outcome, delivery latency, queue
    depth."""
    stats = await ctx.store.queue.queue_stats()
    for state in ("pending", "due", "held", "in_flight"):
        metrics.QUEUE_DEPTH.labels(state).set(getattr(stats, state))
    return Response(generate_latest(), media_type=CONTENT_TYPE_PLAIN_0_0_4)
