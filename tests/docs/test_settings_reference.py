"""The settings reference (docs/reference/settings.md) names every setting hookwise reads."""

from __future__ import annotations

from hookwise.settings import Settings
from tests.docs.samples import ROOT

# declared but read by nothing yet: once code reads one, it must be documented
UNREAD = {"default_timeout_seconds", "workers_in_process"}


def test_every_setting_read_is_documented() -> None:
    page = (ROOT / "docs" / "reference" / "settings.md").read_text()
    source = "\n".join(
        p.read_text() for p in (ROOT / "hookwise").rglob("*.py") if p.name != "settings.py"
    )
    prefix = Settings.model_config.get("env_prefix", "")
    for name in Settings.model_fields:
        if name in UNREAD:
            assert f".{name}" not in source, f"{name} is read now: document it, drop it here"
            continue
        assert f"`{prefix}{name.upper()}`" in page, f"{prefix}{name.upper()} is not documented"
