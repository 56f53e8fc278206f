"""Server time of every console page (issue 16: under 150 ms with 100,000 attempts in the app),
on both stores, in one table.

    .venv/bin/python -m bench.console [--rows 100000] [--runs 20] [--stores sqlite,postgres]

Set-up, per store, in a fresh database (a temp SQLite file; a temp PostgreSQL database, dropped
at the end), through hookwise's own API in process: an app with three endpoints (on a closed
port of 127.0.0.1), 30 event types, one message whose three deliveries the worker attempts and
records (with the request it sent), a job with 1,000 results, an inspector bin full to its cap
of signed 4 KiB captures, and portal links. Then that message, its deliveries and attempts
are cloned in SQL (``bench.clone``; SQLite through ``bench.bulk.seed_sqlite``, PostgreSQL
through ``bench.pg.seed``, which also ``ANALYZE``s) until the app holds ``--rows`` attempts,
all within the last 24 h (every one in the endpoint page's day window), 1 in 10 failed,
durations spread over 0-999 ms, ids ordered as their creation times are.

Every page is then requested in process through httpx's ``ASGITransport`` against the real
application (routing, middleware, session, store reads, templates; no socket): once to warm up
(template compilation, statement caches), then ``--runs`` times. The table gives the median,
p95 and max wall time in ms, and ✓ / ✗ for the p95 against the budget; the exit status is 1
when a page is over it. Every GET route under ``/dashboard`` and ``/portal`` must be in
``pages()``: a route added without a page here is named at the end, and fails the run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from fastapi.routing import iter_route_contexts

from bench import clone, pg
from bench.bulk import seed_sqlite
from bench.measure import percentile
from bench.registry import Metric, RunContext, Scenario, Target, register
from hookwise.api.auth import create_key
from hookwise.composition import Services, open_services
from hookwise.domain.ids import id_floor
from hookwise.domain.signing import Signer
from hookwise.settings import Settings

BUDGET_MS = 150.0
DAY = 86400.0
ENDPOINTS = 3
EVENT_TYPES = 30
JOB_RESULTS = 1000
SECRET = "whsec_" + "A" * 32
CAPTURE = b'{"pad": "' + b"x" * 4080 + b'"}'
RESPONSE_HEADERS = "\n".join(
    ["Content-Type: application/json", "Date: Sun, 06 Dec 2026 06:00:00 GMT", "Server: nginx"]
    + [f"X-Trace-{i}: {'t' * 40}" for i in range(4)]
)


@dataclass(frozen=True)
class Page:
    """One request of the console: who asks (``admin``, ``portal``, ``anon``), how, and the
    status that means it rendered."""

    method: str
    path: str
    status: int = 200
    who: str = "admin"
    form: dict[str, str] = field(default_factory=dict)


def pages(i: dict[str, str]) -> dict[str, Page]:
    """Every console page and polled fragment, by name; ``i`` holds the seeded ids."""
    app = f"/dashboard/apps/{i['app']}"
    ep = f"{app}/endpoints/{i['ep']}"
    bin_ = f"/dashboard/inspector/{i['bin']}"
    checked = {"secret": SECRET}
    return {
        "login": Page("GET", "/dashboard/login", who="anon"),
        "apps": Page("GET", "/dashboard"),
        "app overview": Page("GET", app),
        "app live (fragment)": Page("GET", f"{app}/live"),
        "operations poll (fragment)": Page("GET", f"{app}/live/operations", status=286),
        "live log, nothing new": Page(
            "GET", f"{app}/live/attempts?after={i['att_new']}", status=204
        ),
        "live log, 200 new": Page("GET", f"{app}/live/attempts?after={i['att_old']}"),
        "endpoint": Page("GET", ep),
        "endpoint live (fragment)": Page("GET", f"{ep}/live"),
        "endpoint new": Page("GET", f"{app}/endpoints/new"),
        "messages": Page("GET", f"{app}/messages"),
        "messages, next page": Page("GET", f"{app}/messages?cursor={i['cursor']}"),
        "messages, event type": Page("GET", f"{app}/messages?event_type=bench.event1"),
        "messages, event type (none)": Page("GET", f"{app}/messages?event_type=bench.none"),
        "messages, failed": Page("GET", f"{app}/messages?status=failed"),
        "messages, held (none)": Page("GET", f"{app}/messages?status=held"),
        "messages, since+until": Page(
            "GET", f"{app}/messages?since={i['since']}&until={i['until']}"
        ),
        "messages, newer": Page("GET", f"{app}/messages?newer={i['msg']}"),
        "message detail": Page("GET", f"{app}/messages/{i['msg']}"),
        "attempt detail": Page("GET", f"{app}/attempts/{i['att']}"),
        "jobs": Page("GET", f"{app}/jobs"),
        "job detail": Page("GET", f"{app}/jobs/{i['job']}"),
        "event types": Page("GET", f"{app}/event-types"),
        "inspector bins": Page("GET", "/dashboard/inspector"),
        "inspector bin": Page("GET", bin_),
        "captures poll, checked (fragment)": Page("POST", f"{bin_}/captures", form=checked),
        "captures poll, unchanged (fragment)": Page(
            "POST", f"{bin_}/captures", status=204, form={**checked, "shown": i["shown"]}
        ),
        "portal link (its button)": Page("GET", "{link}", who="anon"),
        "portal link opened": Page("POST", "{link}", who="anon"),
        "portal home (redirect)": Page("GET", "/dashboard", status=303, who="portal"),
        "portal app overview": Page("GET", app, who="portal"),
        "portal endpoint": Page("GET", ep, who="portal"),
    }


# --- the set-up --------------------------------------------------------------------------------


def _clones(series: clone.Series, at: float) -> list[clone.Clone]:
    """The seed message, its deliveries and their attempts, cloned ``g`` = 1..n, all keyed by
    the message id. Clone ``g`` is created at ``at + g * step``: ids start with the time
    ``at`` (as minted ids do) then ``g``, so they sort as their times do; a delivery's and an
    attempt's id end with the last 4 characters of its seed's id (one per endpoint)."""
    pad = series.pad.replace("26", "17")
    pad21 = series.pad.replace("26", "21")
    step = "{step}"  # filled in by _fill, when n is known

    def ident(prefix: str, seed_col: str | None) -> str:
        head = f"'{id_floor(prefix, at)}'"
        if seed_col is None:
            return f"{head} || {pad21}"
        return f"{head} || {pad} || substr(t.{seed_col}, length(t.{seed_col}) - 3, 4)"

    created = f"({at} + g * {step})"
    failed = "g % 10 = 0"
    status = f"CASE WHEN {failed} THEN 'failed' ELSE 'succeeded' END"
    code = f"CASE WHEN {failed} THEN 500 ELSE 200 END"
    msg = ident("msg", None)
    message = {
        "id": msg, "event_id": "NULL", "created_at": created,
        "event_type": f"'bench.event' || (g % {EVENT_TYPES})",
    }  # fmt: skip
    delivery = {
        "id": ident("dlv", "id"), "message_id": msg, "status": status, "attempt_count": "1",
        "created_at": created, "updated_at": created, "last_attempt_at": created,
        "next_attempt_at": "NULL", "last_status_code": code,
    }  # fmt: skip
    attempt = {
        "id": ident("att", "id"), "delivery_id": ident("dlv", "delivery_id"), "message_id": msg,
        "started_at": created, "status": status, "response_status_code": code,
        "error_message": f"CASE WHEN {failed} THEN 'HTTP 500' ELSE NULL END",
        "duration_ms": "((g * 7919) % 1000) * 1.0", "trigger": "'auto'",
        "response_headers": f"'{RESPONSE_HEADERS}'",
    }  # fmt: skip
    return [
        clone.Clone("messages", "id", message),
        clone.Clone("deliveries", "message_id", delivery),
        clone.Clone("attempts", "message_id", attempt),
    ]


def _fill(c: clone.Clone, step: float) -> clone.Clone:
    return clone.Clone(
        c.table, c.key, {k: v.replace("{step}", repr(step)) for k, v in c.overrides.items()}
    )


async def _seed_api(services: Services, key: str) -> dict[str, str]:
    """What hookwise writes itself: the app and everything but the bulk; the ids."""
    transport = httpx.ASGITransport(app=services.api)
    auth = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://bench.local", headers=auth, timeout=60
    ) as http:

        async def post(path: str, body: object = None, status: int = 201) -> dict[str, str]:
            r = await http.post(path, json=body)
            assert r.status_code == status, (path, r.status_code, r.text[:300])
            return r.json() if r.content else {}

        a = (await post("/v1/apps", {"name": "Bench"}))["id"]
        eps = [
            await post(
                f"/v1/apps/{a}/endpoints",
                {"url": f"http://127.0.0.1:9/{n}", "retry_schedule": [],
                 "headers": {"X-Token": "secret"}},
            )
            for n in range(ENDPOINTS)
        ]  # fmt: skip
        for n in range(EVENT_TYPES):
            await post(
                "/v1/event-types",
                {"name": f"bench.event{n}", "description": "a bench event",
                 "schema": {"type": "object", "properties": {"n": {"type": "integer"}}}},
            )  # fmt: skip
        msg = await post(
            f"/v1/apps/{a}/messages", {"event_type": "bench.event1", "payload": {"n": 1}}, 202
        )
        job = await post(f"/v1/apps/{a}/jobs", {"type": "bench.job", "total": JOB_RESULTS})
        for start in range(0, JOB_RESULTS, 200):
            items = [
                {"id": f"item{k}", "status": "succeeded", "result": {"k": k}}
                for k in range(start, min(JOB_RESULTS, start + 200))
            ]
            await http.post(f"/v1/apps/{a}/jobs/{job['id']}/items", json={"items": items})
        bin_ = await post("/v1/inspector/bins")
        signer = Signer.from_secrets([SECRET])
        for k in range(services.settings.inspector_max_captures):
            headers = signer.headers(f"msg_{k}", int(time.time()), CAPTURE)
            await http.post(f"/inspect/{bin_['id']}", content=CAPTURE, headers=headers)
        await services.worker.drain(timeout=60)
    return {"app": a, "ep": eps[0]["id"], "seed": msg["id"], "job": job["id"], "bin": bin_["id"]}


async def _ids(http: httpx.AsyncClient, ids: dict[str, str], at: float) -> dict[str, str]:
    """The ids the pages ask about, read back through the API once the bulk is in."""
    a = ids["app"]
    mid = (await http.get(f"/v1/apps/{a}/messages", params={"limit": 1000})).json()
    some = (await http.get(f"/v1/apps/{a}/attempts", params={"limit": 500})).json()["data"]
    return {
        **ids, "msg": mid["data"][500]["id"], "cursor": mid["next_cursor"],
        "att": some[-1]["id"], "att_new": some[0]["id"], "att_old": some[200]["id"],
        "since": time.strftime("%Y-%m-%dT%H:%M", time.gmtime(at + 3600)),
        "until": time.strftime("%Y-%m-%dT%H:%M", time.gmtime(at + 7200)),
    }  # fmt: skip


@asynccontextmanager
async def seeded(store: str, rows: int) -> AsyncIterator[tuple[str, str, dict[str, str]]]:
    """A fresh database of ``store`` holding ``rows`` attempts in one app: its URL, an admin
    key and the seeded ids; removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="console-bench-"))
    name = f"hwbench_console_{os.getpid()}"
    path = folder / "hw.db"
    url = f"sqlite:///{path}" if store == "sqlite" else pg.db_url(name)
    try:
        if store != "sqlite":
            await pg.create_db(name)
        services = await open_services(_settings(url))
        try:
            _, key = await create_key(services.store, "bench", None)
            ids = await _seed_api(services, key)
        finally:
            await services.close()
        at = time.time() - DAY
        n = max(1, -(-rows // ENDPOINTS))
        series = clone.SQLITE if store == "sqlite" else clone.PG
        clones = [_fill(c, DAY * 0.99 / n) for c in _clones(series, at)]
        start = time.perf_counter()
        if store == "sqlite":
            await asyncio.to_thread(seed_sqlite, str(path), clones, ids["seed"], n)
        else:
            await pg.seed(name, clones, ids["seed"], n)
        print(f"{store}: {n * ENDPOINTS:,} attempts cloned in {time.perf_counter() - start:.1f} s")
        ids["at"] = str(at)
        yield url, key, ids
    finally:
        if store != "sqlite":
            await pg.drop_db(name)
        shutil.rmtree(folder, ignore_errors=True)


def _settings(url: str) -> Settings:
    return Settings(db=url, allow_networks="127.0.0.0/8", public_url="http://bench.local")


# --- the measurement ---------------------------------------------------------------------------


def _token(page: str) -> str:
    found = re.search(r'"X-CSRF-Token": "([0-9a-f]+)"', page)
    assert found, "the page carries no CSRF token"
    return found.group(1)


async def measure(
    url: str, key: str, seeded_ids: dict[str, str], runs: int
) -> tuple[dict[str, list[float]], list[str]]:
    """Milliseconds of ``runs`` requests of each page, after one warm-up request each; and
    the console's GET routes no page requests."""
    services = await open_services(_settings(url))
    transport = httpx.ASGITransport(app=services.api)

    def client() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=transport, base_url="http://bench.local", timeout=60)

    async with client() as api, client() as admin, client() as portal, client() as anon:
        try:
            api.headers["Authorization"] = f"Bearer {key}"
            ids = await _ids(api, seeded_ids, float(seeded_ids["at"]))
            a = ids["app"]

            async def link() -> str:
                r = await api.post(f"/v1/apps/{a}/portal-links")
                assert r.status_code == 201, r.text
                return str(httpx.URL(r.json()["url"]).path)

            assert (await admin.post("/dashboard/login", data={"key": key})).status_code == 303
            admin.headers["X-CSRF-Token"] = _token((await admin.get("/dashboard")).text)
            assert (await portal.post(await link())).status_code == 200
            page = await portal.get(f"/dashboard/apps/{a}")
            portal.headers["X-CSRF-Token"] = _token(page.text)
            checked = await admin.post(
                f"/dashboard/inspector/{ids['bin']}/captures", data={"secret": SECRET}
            )
            shown = re.search(r'name="shown" value="([0-9a-f]+)"', checked.text)
            assert shown, "the captures poll gives no marker"
            ids["shown"] = shown.group(1)
            clients = {"admin": admin, "portal": portal, "anon": anon}
            out: dict[str, list[float]] = {}
            for name, p in pages(ids).items():
                c = clients[p.who]
                took = []
                for k in range(runs + 1):
                    target = await link() if p.path == "{link}" else p.path
                    start = time.perf_counter()
                    r = await c.request(p.method, target, data=p.form or None)
                    ms = (time.perf_counter() - start) * 1000
                    if r.status_code != p.status:
                        raise RuntimeError(f"{name}: {target}: {r.status_code} {r.text[:300]}")
                    if k:  # the first is the warm-up
                        took.append(ms)
                out[name] = took
            timed = [p.path.replace("{link}", "/portal/x") for p in pages(ids).values()]
            return out, untimed(console_routes(services), timed)
        finally:
            await services.close()


def untimed(routes: list[str], timed: list[str]) -> list[str]:
    """The route templates of ``routes`` that no path of ``timed`` matches."""
    missing = []
    for template in routes:
        pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")
        if not any(pattern.match(path.split("?")[0]) for path in timed):
            missing.append(template)
    return missing


def console_routes(services: Services) -> list[str]:
    """Every GET route template under /dashboard and /portal, however it is included."""
    return sorted(
        {
            r.path
            for r in iter_route_contexts(services.api.routes)
            if r.path and r.methods and "GET" in r.methods
            and r.path.startswith(("/dashboard", "/portal"))
        }
    )  # fmt: skip


def table(results: dict[str, dict[str, list[float]]], rows: int) -> tuple[str, bool]:
    """The figures as one Markdown table, and whether every page is within the budget."""
    stores = list(results)
    head = "| page | " + " | ".join(f"{s} median | p95 | max | ok" for s in stores) + " |"
    lines = [head, "|---" * (1 + 4 * len(stores)) + "|"]
    ok = True
    for page in next(iter(results.values())):
        cells = []
        for s in stores:
            ms = results[s][page]
            p95 = percentile(ms, 95)
            ok &= p95 < BUDGET_MS
            mark = "✓" if p95 < BUDGET_MS else "✗"
            cells += [f"{statistics.median(ms):.1f}", f"{p95:.1f}", f"{max(ms):.1f}", mark]
        lines.append(f"| {page} | " + " | ".join(cells) + " |")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines.append(
        f"\nms of server time per request (in process, httpx ASGITransport), {rows:,} attempts"
        f" in the app; ✓/✗: p95 against {BUDGET_MS:.0f} ms; load average {load}"
        f" on {os.cpu_count()} CPUs"
    )
    return "\n".join(lines), ok


async def measure_all(
    stores: list[str], rows: int, runs: int
) -> tuple[dict[str, dict[str, list[float]]], set[str]]:
    """Every page's milliseconds on each store, and the GET routes no page requests."""
    results: dict[str, dict[str, list[float]]] = {}
    missing: set[str] = set()
    for store in stores:
        async with seeded(store, rows) as (url, key, ids):
            results[store], left = await measure(url, key, ids, runs)
            missing.update(left)
    return results, missing


async def run_figure(ctx: RunContext) -> dict[str, float]:
    """The harness's figure: the slowest page's p95 (smoke: 2,000 attempts, SQLite only)."""
    stores, rows, runs = (
        (["sqlite"], 2000, 2) if ctx.smoke else (["sqlite", "postgres"], 100_000, 20)
    )
    results, missing = await measure_all(stores, rows, runs)
    if missing:
        raise RuntimeError(f"GET routes with no page in bench/console.py: {sorted(missing)}")
    worst = max(
        (
            (percentile(ms, 95), f"{page} ({store})")
            for store, by in results.items()
            for page, ms in by.items()
        )
    )
    ctx.notes.append(f"slowest p95 {worst[0]:.1f} ms, {worst[1]}, {rows:,} attempts")
    return {"worst_p95": worst[0]}


register(
    Scenario(
        name="console",
        title="Console pages, server time (the table: python -m bench.console)",
        smoke=True,
        runs=1,
        allowance=120,
        run=run_figure,
        metrics=(
            Metric(
                "worst_p95", "slowest page, p95", "ms", digits=1,
                targets=(Target("<=", f"< {BUDGET_MS:.0f} ms", value=BUDGET_MS),),
            ),
        ),
    )
)  # fmt: skip


async def main(args: argparse.Namespace) -> int:
    results, missing = await measure_all(args.stores.split(","), args.rows, args.runs)
    text, ok = table(results, args.rows)
    print(text)
    if missing:
        print("GET routes with no page in bench/console.py:", ", ".join(sorted(missing)))
    return 0 if ok and not missing else 1


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line's options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=100_000, help="attempts in the app")
    p.add_argument("--runs", type=int, default=20, help="timed requests a page")
    p.add_argument("--stores", default="sqlite,postgres")
    return p.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse())))
