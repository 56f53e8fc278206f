"""The API's resources, written once over a ``Transport``: with the blocking client a call
answers a dict and a listing an iterator; with the async client, an awaitable and an async
iterator."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic

from hookwise.client._core import (
    P,
    Request,
    T,
    Transport,
    drop_none,
    item_batches,
    merge_reports,
)


def _rfc3339(at: datetime | str) -> str:
    """A time as the API reads it (a ``datetime`` should carry its zone)."""
    return at.isoformat() if isinstance(at, datetime) else at


class Apps(Generic[T, P]):
    """Apps (tenants)."""

    def __init__(self, transport: Transport[T, P]) -> None:
        self._t = transport

    def create(
        self,
        name: str,
        *,
        uid: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        results_inline_budget: int | None = None,
        payload_format: str | None = None,
        **fields: Any,
    ) -> T:
        """Create an app; ``payload_format`` (``envelope``/``raw``) is its new endpoints'
        default; ``job_profile`` shapes its job webhooks and ``max_items_per_job`` caps its
        jobs (docs/how-to/jobs.md); other fields as the API takes them."""
        body = drop_none(
            {"name": name, "uid": uid, "metadata": metadata,
             "results_inline_budget": results_inline_budget, "payload_format": payload_format,
             **fields}
        )  # fmt: skip
        return self._t.send(Request("POST", "/v1/apps", json=body))

    def update(self, app: str, **fields: Any) -> T:
        """Change an app's fields (``name``, ``payload_format``, ``job_profile`` …; None sets
        null: ``job_profile=None`` goes back to hookwise's shape)."""
        return self._t.send(Request("PATCH", f"/v1/apps/{app}", json=fields))

    def get(self, app: str) -> T:
        """One app by id or uid."""
        return self._t.send(Request("GET", f"/v1/apps/{app}"))

    def list(self, *, page_size: int = 100) -> P:
        """Every app the key can see."""
        return self._t.paginate(Request("GET", "/v1/apps", {"limit": page_size}))

    def portal_link(self, app: str, *, expires_in: int | None = None) -> T:
        """A single-use link into the app's customer portal: ``{"url", "expires_at"}``;
        ``expires_in`` seconds (60 to 86400, default 900) until an unused link expires."""
        body = drop_none({"expires_in": expires_in})
        return self._t.send(Request("POST", f"/v1/apps/{app}/portal-links", json=body))


class Keys(Generic[T, P]):
    """API keys."""

    def __init__(self, transport: Transport[T, P]) -> None:
        self._t = transport

    def create(self, name: str, *, app_id: str | None = None) -> T:
        """A new key (admin without ``app_id``); its ``key`` is shown only in this answer."""
        return self._t.send(
            Request("POST", "/v1/keys", json=drop_none({"name": name, "app_id": app_id}))
        )

    def list(self, *, app_id: str | None = None, page_size: int = 100) -> P:
        """Every key (never its secret part), or only those scoped to ``app_id``."""
        params = drop_none({"limit": page_size, "app_id": app_id})
        return self._t.paginate(Request("GET", "/v1/keys", params))

    def revoke(self, key_id: str) -> T:
        """Delete a key: it stops working at once."""
        return self._t.send(Request("DELETE", f"/v1/keys/{key_id}"))

    def validate(self) -> T:
        """``{"valid": true, "key_id", "scope", "app_id"}`` for the client's own key."""
        return self._t.send(Request("GET", "/v1/auth/validate-key"))


class Endpoints(Generic[T, P]):
    """An app's endpoints."""

    def __init__(self, transport: Transport[T, P]) -> None:
        self._t = transport

    def create(
        self,
        app: str,
        url: str,
        *,
        events: Sequence[str] | None = None,
        secret: str | None = None,
        retry_schedule: Sequence[float] | None = None,
        **fields: Any,
    ) -> T:
        """Subscribe ``url`` to ``events`` (None: every type); other fields as the API takes
        them (``payload_format``, ``timeout_seconds``, ``rate_limit_per_second``, ``headers``,
        ``description``)."""
        body = drop_none(
            {"url": url, "events": None if events is None else [*events], "secret": secret,
             "retry_schedule": None if retry_schedule is None else [*retry_schedule], **fields}
        )  # fmt: skip
        return self._t.send(Request("POST", f"/v1/apps/{app}/endpoints", json=body))

    def get(self, app: str, endpoint_id: str) -> T:
        """One endpoint with its health."""
        return self._t.send(Request("GET", f"/v1/apps/{app}/endpoints/{endpoint_id}"))

    def update(self, app: str, endpoint_id: str, **fields: Any) -> T:
        """Change fields: ``status="active"`` re-enables a paused endpoint (and resets its
        failure counter), ``payload_format="raw"`` sends the payload alone …"""
        path = f"/v1/apps/{app}/endpoints/{endpoint_id}"
        return self._t.send(Request("PATCH", path, json=fields))

    def secret(self, app: str, endpoint_id: str) -> T:
        """``{"key", "previous"}``: the endpoint's signing secret."""
        return self._t.send(Request("GET", f"/v1/apps/{app}/endpoints/{endpoint_id}/secret"))

    def rotate_secret(
        self,
        app: str,
        endpoint_id: str,
        *,
        secret: str | None = None,
        grace_seconds: float | None = None,
    ) -> T:
        """A new signing secret (``{"key", "endpoint"}``); the old one keeps signing beside it
        for ``grace_seconds`` (a day by default)."""
        body = drop_none({"secret": secret, "grace_seconds": grace_seconds})
        path = f"/v1/apps/{app}/endpoints/{endpoint_id}/secret/rotate"
        return self._t.send(Request("POST", path, json=body))

    def test(self, app: str, endpoint_id: str) -> T:
        """Send a signed ``webhook.test`` ping now; its attempt."""
        return self._t.send(Request("POST", f"/v1/apps/{app}/endpoints/{endpoint_id}/test"))

    def headers(self, app: str, endpoint_id: str) -> T:
        """``{"headers"}``: the endpoint's custom headers in clear (other answers redact them)."""
        return self._t.send(Request("GET", f"/v1/apps/{app}/endpoints/{endpoint_id}/headers"))

    def list(self, app: str, *, page_size: int = 100) -> P:
        """Every endpoint of the app."""
        return self._t.paginate(Request("GET", f"/v1/apps/{app}/endpoints", {"limit": page_size}))

    def recover(self, app: str, endpoint_id: str, since: datetime | str) -> T:
        """Re-queue the endpoint's failed deliveries created since ``since``: the operation
        (``{"id", "kind": "recover", "status", "done", "total", …}``), finished in the
        background; follow it with ``operations.get``."""
        path = f"/v1/apps/{app}/endpoints/{endpoint_id}/recover"
        return self._t.send(Request("POST", path, json={"since": _rfc3339(since)}))


class EventTypes(Generic[T, P]):
    """The event-type catalog (shared by every app)."""

    def __init__(self, transport: Transport[T, P]) -> None:
        self._t = transport

    def create(
        self, name: str, *, description: str = "", schema: Mapping[str, Any] | None = None
    ) -> T:
        """Add ``name`` (``email.replied``) to the catalog."""
        body = drop_none({"name": name, "description": description, "schema": schema})
        return self._t.send(Request("POST", "/v1/event-types", json=body))

    def list(self, *, page_size: int = 100) -> P:
        """Every event type."""
        return self._t.paginate(Request("GET", "/v1/event-types", {"limit": page_size}))


class Operations(Generic[T, P]):
    """Bulk changes an app's calls started, running in the background in bounded steps."""

    def __init__(self, transport: Transport[T, P]) -> None:
        self._t = transport

    def get(self, app: str, operation_id: str) -> T:
        """An operation's progress: ``status`` (running, done, canceled), ``done``, ``total``."""
        return self._t.send(Request("GET", f"/v1/apps/{app}/operations/{operation_id}"))

    def list(self, app: str, *, page_size: int = 100) -> P:
        """The app's operations, newest first (running, and finished ones not pruned yet)."""
        return self._t.paginate(Request("GET", f"/v1/apps/{app}/operations", {"limit": page_size}))


class Messages(Generic[T, P]):
    """Events sent to an app's endpoints."""

    def __init__(self, transport: Transport[T, P]) -> None:
        self._t = transport

    def create(
        self,
        app: str,
        event_type: str,
        payload: Any,
        *,
        event_id: str | None = None,
        tags: Sequence[str] | None = None,
    ) -> T:
        """Send an event; answered once it is durable. ``event_id`` makes a repeat a no-op."""
        body = drop_none(
            {"event_type": event_type, "payload": payload, "event_id": event_id,
             "tags": None if tags is None else [*tags]}
        )  # fmt: skip
        return self._t.send(Request("POST", f"/v1/apps/{app}/messages", json=body))

    def get(self, app: str, message_id: str) -> T:
        """One message."""
        return self._t.send(Request("GET", f"/v1/apps/{app}/messages/{message_id}"))

    def list(
        self, app: str, *, event_type: str | None = None, job_id: str | None = None,
        page_size: int = 100,
    ) -> P:  # fmt: skip
        """The app's messages, newest first."""
        params = drop_none({"limit": page_size, "event_type": event_type, "job_id": job_id})
        return self._t.paginate(Request("GET", f"/v1/apps/{app}/messages", params))

    def resend_many(
        self, app: str, since: datetime | str, *, until: datetime | str | None = None,
        event_type: str | None = None, endpoint_id: str | None = None, status: str = "failed",
    ) -> T:  # fmt: skip
        """Re-queue the app's deliveries created since ``since`` (until ``until``) that failed
        (``status="all"``: every finished one), of one event type or endpoint if given: the
        operation (``{"id", "kind": "resend", "status", "done", "total", …}``), finished in the
        background; follow it with ``operations.get``."""
        body = drop_none({
            "since": _rfc3339(since), "until": None if until is None else _rfc3339(until),
            "event_type": event_type, "endpoint_id": endpoint_id, "status": status,
        })  # fmt: skip
        return self._t.send(Request("POST", f"/v1/apps/{app}/resend", json=body))


class _DeliveryLog(Generic[T, P]):
    """A filtered, newest-first listing under ``/v1/apps/{app}/<kind>``."""

    _kind = ""

    def __init__(self, transport: Transport[T, P]) -> None:
        self._t = transport

    def list(
        self,
        app: str,
        *,
        job_id: str | None = None,
        message_id: str | None = None,
        endpoint_id: str | None = None,
        status: str | None = None,
        page_size: int = 100,
    ) -> P:
        """The app's rows, newest first, filtered."""
        params = drop_none(
            {"limit": page_size, "job_id": job_id, "message_id": message_id,
             "endpoint_id": endpoint_id, "status": status}
        )  # fmt: skip
        return self._t.paginate(Request("GET", f"/v1/apps/{app}/{self._kind}", params))


class Attempts(_DeliveryLog[T, P]):
    """The audit log: one row per HTTP attempt."""

    _kind = "attempts"


class Deliveries(_DeliveryLog[T, P]):
    """One row per message and target."""

    _kind = "deliveries"


class Jobs(Generic[T, P]):
    """Async work: create, report items, finish; read back by polling."""

    def __init__(self, transport: Transport[T, P]) -> None:
        self._t = transport

    def create(
        self,
        app: str,
        type: str,
        *,
        id: str | None = None,
        total: int | None = None,
        webhook_url: str | None = None,
        item_events: bool = False,
        webhook_retry_schedule: Sequence[float] | None = None,
        custom: Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> T:
        """Start a job: ``{"id", "status": "running", "status_url"}``. With ``id`` a repeat
        answers the same job; ``fields`` go at the top level of its events."""
        body = drop_none(
            {"type": type, "id": id, "total": total, "webhook_url": webhook_url,
             "webhook_events": {"item_finished": True} if item_events else None,
             "webhook_retry_schedule": None if webhook_retry_schedule is None
             else [*webhook_retry_schedule],
             "custom": None if custom is None else dict(custom),
             "metadata": None if metadata is None else dict(metadata),
             "fields": None if fields is None else dict(fields)}
        )  # fmt: skip
        return self._t.send(Request("POST", f"/v1/apps/{app}/jobs", json=body))

    def report(self, app: str, job_id: str, items: Iterable[Mapping[str, Any]]) -> T:
        """Report finished items ``{"id", "status": "succeeded"|"failed", "result"?,
        "error"?}``, sent in batches the API takes; ids reported before are skipped, so a
        retry is harmless. Answers the summed ``accepted``, ``duplicates`` and the counts."""
        path = f"/v1/apps/{app}/jobs/{job_id}/items"
        requests = [Request("POST", path, json={"items": b}) for b in item_batches(items)]
        return self._t.send_all(requests, merge_reports(job_id))

    def finish(
        self,
        app: str,
        job_id: str,
        status: str = "completed",
        *,
        summary: Mapping[str, Any] | None = None,
    ) -> T:
        """Give the job its final status (``completed``, ``completed_with_errors``,
        ``failed``, ``canceled``, ``insufficient_credits``); sends the completion event."""
        body = drop_none({"status": status, "summary": None if summary is None else dict(summary)})
        return self._t.send(Request("POST", f"/v1/apps/{app}/jobs/{job_id}/finish", json=body))

    def get(self, app: str, job_id: str, *, results: int = 100) -> T:
        """The job as polled: status, counts, summary, custom and the first ``results``."""
        return self._t.send(Request("GET", f"/v1/apps/{app}/jobs/{job_id}", {"limit": results}))

    def list(
        self, app: str, *, status: str | None = None, type: str | None = None,
        page_size: int = 100,
    ) -> P:  # fmt: skip
        """The app's jobs, newest first."""
        params = drop_none({"limit": page_size, "status": status, "type": type})
        return self._t.paginate(Request("GET", f"/v1/apps/{app}/jobs", params))

    def results(
        self, app: str, job_id: str, *, status: str | None = None, page_size: int = 1000
    ) -> P:
        """Every result of the job in report order (all pages)."""
        params = drop_none({"limit": page_size, "status": status})
        return self._t.paginate(Request("GET", f"/v1/apps/{app}/jobs/{job_id}/results", params))

    def secret(self, app: str) -> T:
        """``{"key", "previous"}``: the secret that signs the app's job webhook_urls."""
        return self._t.send(Request("GET", f"/v1/apps/{app}/job-secret"))
