"""The generated reference pages of the docs site: the HTTP API from the app's OpenAPI document
and the CLI from the Typer app, both built without a server.

An MkDocs hook (``hooks:`` in mkdocs.yml): ``on_config`` lists the pages in the nav,
``on_files`` adds them to the build. Nothing generated is committed, so nothing can go stale.
``python scripts/docs_reference.py OUT`` writes the same pages into a folder, to read them.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

HTTP_DIR = "reference/http"
CLI_PAGE = "reference/commands.md"
HTTP_NAV = "HTTP API"  # the nav entry this hook fills with one page per tag
CLI_NAV = "Commands"

Schema = dict[str, Any]


def openapi() -> Schema:
    """The document ``GET /openapi.json`` serves, from the app itself (no server, no store)."""
    from hookwise.api.app import create_app

    # building the app reads one setting; no route runs, so no store is needed
    ctx: Any = SimpleNamespace(settings=SimpleNamespace(max_payload_bytes=1))
    doc: Schema = create_app(ctx).openapi()
    return doc


def slug(text: str) -> str:
    """A file or anchor name for a tag or schema: lower case, words joined by dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def cell(text: object) -> str:
    """Text that fits in one table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def type_of(schema: Schema, link: str = "schemas.md") -> str:
    """A short Markdown rendering of a JSON schema's type, linking named schemas."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[`{name}`]({link}#{slug(name)})"
    if "anyOf" in schema or "oneOf" in schema:
        parts = [type_of(s, link) for s in schema.get("anyOf", schema.get("oneOf", []))]
        return " or ".join(dict.fromkeys(parts))
    kind = schema.get("type")
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']}`"
    if kind == "array":
        return f"array of {type_of(schema.get('items', {}), link)}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"object of {type_of(schema['additionalProperties'], link)}"
    if isinstance(kind, list):
        return " or ".join(f"`{k}`" for k in kind)
    return f"`{kind}`" if kind else "any JSON"


_LIMITS = {
    "minLength": "at least {} characters",
    "maxLength": "at most {} characters",
    "minimum": "≥ {}",
    "exclusiveMinimum": "> {}",
    "maximum": "≤ {}",
    "exclusiveMaximum": "< {}",
    "minItems": "at least {} items",
    "maxItems": "at most {} items",
    "maxProperties": "at most {} keys",
    "pattern": "matches `{}`",
    "format": "format `{}`",
}


def limits(schema: Schema) -> list[str]:
    """The constraints of a schema and of its non-null alternatives, in words."""
    found: list[str] = []
    for alt in [schema, *schema.get("anyOf", [])]:
        for key, words in _LIMITS.items():
            if key in alt:
                value = alt[key]
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                found.append(words.format(value))
        if alt.get("type") == "array" and isinstance(alt.get("items"), dict):
            found += [f"items: {x}" for x in limits(alt["items"])]
    return found


def notes(schema: Schema) -> str:
    """A field's description, constraints and default, for a table cell."""
    parts = [schema["description"]] if schema.get("description") else []
    parts += limits(schema)
    if "default" in schema:
        parts.append(f"default `{_json(schema['default'])}`")
    return cell("; ".join(parts))


def _json(value: object) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def fields_table(schema: Schema, link: str = "schemas.md") -> list[str]:
    """A table of an object schema's fields."""
    props: dict[str, Schema] = schema.get("properties", {})
    if not props:
        return [f"Type: {type_of(schema, link)}."]
    required = set(schema.get("required", []))
    rows = ["| field | type | required | |", "|---|---|---|---|"]
    for name, prop in props.items():
        flag = "yes" if name in required else ""
        rows.append(f"| `{name}` | {cell(type_of(prop, link))} | {flag} | {notes(prop)} |")
    return rows


def schemas_page(doc: Schema) -> str:
    """Every named schema the operations refer to, with its fields."""
    lines = [
        "# Schemas",
        "",
        "The request bodies and the error shape of the HTTP API, from `/openapi.json`.",
        "",
    ]
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        lines += [f"## {name}", ""]
        if schema.get("description"):
            lines += [schema["description"], ""]
        lines += [*fields_table(schema, ""), ""]
    return "\n".join(lines)


def _body_lines(op: Schema) -> list[str]:
    body = op.get("requestBody")
    if not body:
        return []
    lines = ["**Body**" + (" (required)" if body.get("required") else "") + ":", ""]
    for media, content in body.get("content", {}).items():
        lines.append(f"- `{media}`: {type_of(content.get('schema', {}))}")
    return [*lines, ""]


def _parameter_lines(op: Schema) -> list[str]:
    params = [p for p in op.get("parameters", []) if p["name"].lower() != "authorization"]
    if not params:
        return []
    lines = ["**Parameters**:", "", "| name | in | type | required | |", "|---|---|---|---|---|"]
    for p in params:
        schema = p.get("schema", {})
        flag = "yes" if p.get("required") else ""
        note = notes({**schema, "description": p.get("description", schema.get("description"))})
        lines.append(f"| `{p['name']}` | {p['in']} | {cell(type_of(schema))} | {flag} | {note} |")
    return [*lines, ""]


def _response_lines(op: Schema) -> list[str]:
    lines = ["**Responses**:", "", "| status | | body |", "|---|---|---|"]
    for status, resp in sorted(op.get("responses", {}).items()):
        bodies = [type_of(c["schema"]) for c in resp.get("content", {}).values() if c.get("schema")]
        lines.append(
            f"| {status} | {cell(resp.get('description', ''))} | {cell(', '.join(bodies))} |"
        )
    return [*lines, ""]


def operation(method: str, path: str, op: Schema) -> list[str]:
    """One operation: heading, description, parameters, body, responses."""
    lines = [f"## {op.get('summary', '')}: `{method.upper()} {path}`", ""]
    if op.get("description"):
        lines += [op["description"], ""]
    auth = any(p["name"].lower() == "authorization" for p in op.get("parameters", []))
    if auth:
        lines += ["Needs `Authorization: Bearer hwk_…`.", ""]
    return [*lines, *_parameter_lines(op), *_body_lines(op), *_response_lines(op)]


def tags(doc: Schema) -> dict[str, list[tuple[str, str, Schema]]]:
    """The operations of each tag, in the document's order."""
    grouped: dict[str, list[tuple[str, str, Schema]]] = {}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for tag in op.get("tags", ["other"]):
                grouped.setdefault(tag, []).append((method, path, op))
    return grouped


def http_pages(doc: Schema) -> dict[str, str]:
    """``{path in docs: Markdown}``: an index, one page per tag, and the schemas."""
    grouped = tags(doc)
    info = doc.get("info", {})
    index = [
        "# HTTP API",
        "",
        f"Generated from the OpenAPI document of hookwise {info.get('version', '')}, which a",
        "running server serves at `/openapi.json`. The guide to the API (errors, lists, the",
        "request inspector) is [API](../api.md).",
        "",
        "Every error is answered in one shape,",
        '[`ErrorOut`](schemas.md#errorout): `{"error": {"code", "message", "details"}}`.',
        "",
        "| resource | operations |",
        "|---|---|",
    ]
    pages = {}
    for tag, ops in grouped.items():
        name = f"{slug(tag)}.md"
        index.append(f"| [{tag}]({name}) | {len(ops)} |")
        lines = [f"# {tag.capitalize()}", ""]
        for method, path, op in ops:
            lines += operation(method, path, op)
        pages[f"{HTTP_DIR}/{name}"] = "\n".join(lines)
    index += ["", "[Schemas](schemas.md): the request bodies and the error shape.", ""]
    return {
        f"{HTTP_DIR}/index.md": "\n".join(index),
        **pages,
        f"{HTTP_DIR}/schemas.md": schemas_page(doc),
    }


def commands(cmd: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    """Every visible command under ``cmd``, depth first, with its words."""
    found = [(path, cmd)]
    if hasattr(cmd, "list_commands"):  # a group (Typer ships its own copy of click)
        ctx = cmd.context_class(cmd, info_name=path[-1])
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                found += commands(sub, [*path, name])
    return found


def command_section(words: list[str], cmd: Any) -> list[str]:
    """One command: usage, help, and its arguments and options as ``--help`` shows them."""
    ctx = cmd.context_class(cmd, info_name=" ".join(words))
    level = "#" * min(len(words) + 1, 4)
    lines = [f"{level} `{' '.join(words)}`", ""]
    lines += ["```", f"{' '.join(words)} {' '.join(cmd.collect_usage_pieces(ctx))}", "```", ""]
    if cmd.help:
        lines += [cmd.help.replace("\b\n", "").strip(), ""]
    for kind in ("argument", "option"):
        records = [p.get_help_record(ctx) for p in cmd.params if p.param_type_name == kind]
        if any(records):
            lines += [f"| {kind} | |", "|---|---|"]
            lines += [f"| `{cell(name)}` | {cell(text)} |" for name, text in filter(None, records)]
            lines.append("")
    return lines


def cli_page() -> str:
    """The reference of every ``hookwise`` command."""
    import typer

    from hookwise.cli import app

    root = typer.main.get_command(app)
    lines = [
        "# Commands",
        "",
        "Generated from the `hookwise` command itself: what `--help` prints, for every command.",
        "The guide to the CLI (local or remote, exit codes, logs, `listen`) is",
        "[CLI](cli.md).",
        "",
    ]
    for words, cmd in commands(root, ["hookwise"]):
        lines += command_section(words, cmd)
    return "\n".join(lines)


def pages() -> dict[str, str]:
    """Every generated page, by its path in the docs."""
    return {**http_pages(openapi()), CLI_PAGE: cli_page()}


_generated: dict[str, str] = {}


def on_config(config: Any) -> Any:
    """Fill the nav entries named ``HTTP API`` and ``Commands`` with the generated pages."""
    _generated.clear()
    _generated.update(pages())
    http = [p for p in _generated if p.startswith(HTTP_DIR + "/")]
    titled = [
        "reference/http/index.md",
        *[{_title(p): p} for p in http if not p.endswith(("index.md", "schemas.md"))],
        {"Schemas": f"{HTTP_DIR}/schemas.md"},
    ]
    config["nav"] = _fill(config["nav"], {HTTP_NAV: titled, CLI_NAV: CLI_PAGE})
    return config


def _title(path: str) -> str:
    return _generated[path].splitlines()[0].lstrip("# ")


def _fill(nav: Any, entries: dict[str, Any]) -> Any:
    if isinstance(nav, list):
        return [_fill(item, entries) for item in nav]
    if isinstance(nav, dict):
        return {k: entries[k] if k in entries else _fill(v, entries) for k, v in nav.items()}
    return nav


def on_files(files: Any, config: Any) -> Any:
    """Add the generated pages to the build."""
    from mkdocs.structure.files import File

    for path, text in _generated.items():
        files.append(File.generated(config, path, content=text))
    return files


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "site-reference")
    for path, text in pages().items():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        print(target)
