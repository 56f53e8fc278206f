"""``python -m hookwise.receiver`` is ``hookwise receive``."""

from __future__ import annotations

from hookwise.receiver.cli import receive_app

if __name__ == "__main__":
    receive_app(prog_name="hookwise receive")
