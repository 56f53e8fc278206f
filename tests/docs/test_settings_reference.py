"""Every setting is read by the code and named in docs/reference/settings.md."""

from __future__ import annotations

from hookwise.settings import Settings
from tests.docs.samples import ROOT


def test_every_setting_is_read_and_documented() -> None:
    page = (ROOT / "docs" / "reference" / "settings.md").read_text()
    source = "\n".join(
        p.read_text() for p in (ROOT / "hookwise").rglob("*.py") if p.name != "settings.py"
    )
    prefix = Settings.model_config.get("env_prefix", "")
    for name in Settings.model_fields:
        assert f".{name}" in source, f"{name} is declared but nothing reads it"
        assert f"`{prefix}{name.upper()}`" in page, f"{prefix}{name.upper()} is not documented"
