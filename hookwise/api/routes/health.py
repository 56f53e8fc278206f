"""Health and metrics."""

from __future__ import annotations

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
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


@router.get("/metrics")
async def prometheus(ctx: Ctx) -> Response:
    """Prometheus metrics: attempts by outcome, delivery latency, queue depth."""
    stats = await ctx.store.queue_stats()
    for state in ("pending", "due", "held", "in_flight"):
        metrics.QUEUE_DEPTH.labels(state).set(getattr(stats, state))
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
