"""The Python client of the hookwise API (httpx, sync and async). It speaks HTTP only.

``Client`` blocks, ``AsyncClient`` is awaited; both offer ``apps``, ``keys``, ``endpoints``,
``messages``, ``attempts``, ``deliveries`` and ``jobs``. Answers are the API's JSON as dicts;
listings iterate over every page.
"""

from __future__ import annotations

from hookwise.client.aio import AsyncClient
from hookwise.client.errors import ApiError, ClientError, TransportError
from hookwise.client.sync import Client

__all__ = ["ApiError", "AsyncClient", "Client", "ClientError", "TransportError"]
