"""The generated reference pages (scripts/docs_reference.py, an MkDocs hook) cover the whole
API and the whole CLI: every operation, schema and command, built without a server."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import typer

from hookwise.cli import app
from tests.docs.samples import ROOT


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "docs_reference", ROOT / "scripts/docs_reference.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REFERENCE = load()


def test_every_operation_and_schema_has_its_section() -> None:
    doc = REFERENCE.openapi()
    pages = REFERENCE.http_pages(doc)
    text = "\n".join(pages.values())
    operations = [(m, p) for p, ops in doc["paths"].items() for m in ops]
    assert len(operations) > 30
    for method, path in operations:
        assert f"`{method.upper()} {path}`" in text, (method, path)
    for name in doc["components"]["schemas"]:
        assert f"\n## {name}\n" in pages["reference/http/schemas.md"], name
    assert "ErrorOut" in pages["reference/http/index.md"]  # the one error shape


def test_every_command_has_its_section_with_its_options() -> None:
    page = REFERENCE.cli_page()
    root = typer.main.get_command(app)
    found = REFERENCE.commands(root, ["hookwise"])
    names = {" ".join(words) for words, _ in found}
    assert {"hookwise serve", "hookwise keys create", "hookwise receive dead retry"} <= names
    for words, cmd in found:
        assert f" `{' '.join(words)}`\n" in page, words
        for param in cmd.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--"):
                    assert opt in page, (words, opt)


def test_the_nav_entries_are_filled_with_the_generated_pages() -> None:
    nav = [{"Reference": [{"API": "reference/api.md"}, {"HTTP API": "x"}, {"Commands": "y"}]}]
    config = REFERENCE.on_config({"nav": nav})
    (reference,) = config["nav"]
    api, http, commands = reference["Reference"]
    assert api == {"API": "reference/api.md"} and commands == {"Commands": "reference/commands.md"}
    listed = [e if isinstance(e, str) else next(iter(e.values())) for e in http["HTTP API"]]
    assert listed[0] == "reference/http/index.md" and "reference/http/endpoints.md" in listed
    assert set(listed) == {p for p in REFERENCE._generated if p.startswith("reference/http/")}
