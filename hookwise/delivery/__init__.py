"""The delivery engine: claim → send → record.

``MemoryTransport`` and ``Reply`` (the in-memory double of the transport, for tests) are loaded
on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hookwise.delivery.memory import MemoryTransport, Reply

__all__ = ["MemoryTransport", "Reply"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'hookwise.delivery' has no attribute {name!r}")
    from hookwise.delivery import memory

    value = getattr(memory, name)
    globals()[name] = value
    return value
