"""The Django adapter: a view function for ``urlpatterns``.

    from hookwise.receiver.adapters.django import django_view
    urlpatterns = [path("webhooks/", django_view(receiver))]

The view is CSRF-exempt (the signature is the authentication) and sync, so it runs under
both WSGI and ASGI Django; the receiver's async work runs on its own loop thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse  # type: ignore[import-untyped]
from django.views.decorators.csrf import csrf_exempt  # type: ignore[import-untyped]

from hookwise.domain.errors import PayloadTooLarge
from hookwise.receiver.adapters.length import declared_length
from hookwise.receiver.adapters.portal import SyncReceiver
from hookwise.receiver.receiver import Receiver
from hookwise.receiver.reply import Reply


def django_view(
    receiver: Receiver | SyncReceiver, *, process: bool = True, reconcile: bool = True
) -> Callable[..., Any]:
    """A Django view that answers webhooks for ``receiver``; ``view.portal`` is its SyncReceiver."""
    portal = (
        receiver
        if isinstance(receiver, SyncReceiver)
        else SyncReceiver(receiver, process=process, reconcile=reconcile)
    )

    def view(request: HttpRequest) -> HttpResponse:
        if request.method in ("GET", "HEAD"):
            reply = Reply.json(200, {"status": "ok"})
        elif request.method != "POST":
            reply = Reply.json(
                405,
                {"error": {"code": "method_not_allowed", "message": "POST a webhook"}},
                (("allow", "POST, GET, HEAD"),),
            )
        else:
            reply = _post(portal, request)
        response = HttpResponse(reply.body, status=reply.status)
        for name, value in reply.headers:
            response[name] = value
        return response

    exempt: Callable[..., Any] = csrf_exempt(view)
    exempt.portal = portal  # type: ignore[attr-defined]
    return exempt


def _post(portal: SyncReceiver, request: HttpRequest) -> Reply:
    limit = portal.receiver.max_body_bytes
    length = declared_length(request.META.get("CONTENT_LENGTH"))
    if length is not None and length > limit:
        return Reply.error(PayloadTooLarge(f"body over {limit} bytes"))
    return portal.handle(request.body, dict(request.headers))
