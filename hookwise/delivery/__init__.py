"""The delivery engine: claim → send → record."""
