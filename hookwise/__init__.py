"""hookwise: webhooks done properly, for the sender and for the receiver.

The names users import live here; each is loaded on first use, so ``import hookwise`` stays
cheap for a receiver that never touches the sender's service.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hookwise.client import ApiError, AsyncClient, Client
    from hookwise.composition import Services, open_services, running
    from hookwise.domain.errors import (
        HookwiseError,
        InvalidSignature,
        MissingHeaders,
        StaleTimestamp,
        VerificationError,
    )
    from hookwise.domain.signing import Signer, Verifier, new_secret
    from hookwise.receiver import Event, Receiver
    from hookwise.settings import Settings
    from hookwise.store import Store, open_store

__version__ = "0.1.0"

_WHERE = {
    "ApiError": "hookwise.client",
    "AsyncClient": "hookwise.client",
    "Client": "hookwise.client",
    "Event": "hookwise.receiver",
    "HookwiseError": "hookwise.domain.errors",
    "InvalidSignature": "hookwise.domain.errors",
    "MissingHeaders": "hookwise.domain.errors",
    "Receiver": "hookwise.receiver",
    "Services": "hookwise.composition",
    "Settings": "hookwise.settings",
    "Signer": "hookwise.domain.signing",
    "StaleTimestamp": "hookwise.domain.errors",
    "Store": "hookwise.store",
    "VerificationError": "hookwise.domain.errors",
    "Verifier": "hookwise.domain.signing",
    "new_secret": "hookwise.domain.signing",
    "open_services": "hookwise.composition",
    "open_store": "hookwise.store",
    "running": "hookwise.composition",
}

__all__ = [
    "ApiError",
    "AsyncClient",
    "Client",
    "Event",
    "HookwiseError",
    "InvalidSignature",
    "MissingHeaders",
    "Receiver",
    "Services",
    "Settings",
    "Signer",
    "StaleTimestamp",
    "Store",
    "VerificationError",
    "Verifier",
    "__version__",
    "new_secret",
    "open_services",
    "open_store",
    "running",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'hookwise' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
