"""Framework adapters: ASGI (FastAPI, Starlette, uvicorn), WSGI (Flask), Django.

Each turns its framework's request into ``Receiver.handle(body, headers)`` and the ``Reply``
back into a response; none of them does anything else.
"""

from __future__ import annotations

from hookwise.receiver.adapters.asgi import ASGIReceiver
from hookwise.receiver.adapters.portal import SyncReceiver
from hookwise.receiver.adapters.wsgi import WSGIReceiver

__all__ = ["ASGIReceiver", "SyncReceiver", "WSGIReceiver"]
