"""The console's page budget (issue 16): every page renders in < 150 ms of server time with
100,000 attempts in the app, on both stores.

    .venv/bin/python -m bench.console                  # both stores, 100,000 attempts, ~1-2 min
    .venv/bin/python -m bench.console --attempts 2000 --requests 5 --stores sqlite

Each store gets a fresh database (a temp SQLite file; a temp PostgreSQL database, dropped at
the end), migrated. One app, one endpoint, one seed message whose test ping hookwise itself
attempts and records (``127.0.0.1:9`` refuses the connection); then that message, its
delivery and its attempt are cloned ``--attempts`` times in SQL (``bench.clone``), all on the
one endpoint and all in the last 24 h (the endpoint page's worst case: every attempt is in
its day window), 1 in 10 failed, durations spread over 0-999 ms, five event types.
PostgreSQL is then ``VACUUM ANALYZE``d (what autovacuum does after a bulk load); SQLite is
left without statistics, as hookwise runs it.

Pages are requested in process through httpx's ``ASGITransport`` against the real FastAPI
application, signed in with a console session; the time of each request is the server's
(routing, store reads, template) plus the in-process transport. Each page is requested
``--warmup`` times, then ``--requests`` times; the table gives the median and p95 in ms.

To add a page, add its path to ``PAGES``: ``{app}``, ``{ep}``, ``{msg}`` and ``{att}`` are the
app, the endpoint, a message and an attempt of the filled app.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import clone, pg
from bench.bulk import seed_sqlite
from bench.measure import percentile
from hookwise.api.auth import create_key
from hookwise.composition import open_services
from hookwise.settings import Settings
from hookwise.store.migrate import upgrade

PAGES: dict[str, str] = {
    "apps": "/dashboard",
    "app overview": "/dashboard/apps/{app}",
    "endpoint": "/dashboard/apps/{app}/endpoints/{ep}",
    "endpoint live": "/dashboard/apps/{app}/endpoints/{ep}/live",
    "endpoint new": "/dashboard/apps/{app}/endpoints/new",
    "attempt": "/dashboard/apps/{app}/attempts/{att}",
}
"""The pages timed, by name: add yours."""

BUDGET_MS = 150.0
DAY = 86400.0


@dataclass(frozen=True)
class Filled:
    """A database filled for the console, and the ids its pages are asked for."""

    url: str
    ids: dict[str, str]


def _clones(series: clone.Series, now: float, n: int) -> list[clone.Clone]:
    """The seed message, its delivery and its attempt, ``n`` times over the last day."""
    at = f"({now - DAY} + g * {DAY / (n + 1)})"
    failed = "g % 10 = 0"
    ok = {
        "status": f"CASE WHEN {failed} THEN 'failed' ELSE 'succeeded' END",
        "attempt_count": "1",
        "next_attempt_at": "NULL",
        "last_attempt_at": at,
        "last_status_code": f"CASE WHEN {failed} THEN 500 ELSE 200 END",
    }
    attempt = {
        **clone.attempt_overrides(series, at),
        "status": ok["status"],
        "response_status_code": ok["last_status_code"],
        "error_message": f"CASE WHEN {failed} THEN 'HTTP 500' ELSE NULL END",
        "duration_ms": "((g * 7919) % 1000) * 1.0",
        "trigger": "'auto'",
    }
    message = {**clone.message_overrides(series, at), "event_type": "'evt.' || (g % 5)"}
    return [
        clone.Clone("messages", "id", message),
        clone.Clone(
            "deliveries", "message_id", {**clone.delivery_overrides(series, "x", at), **ok}
        ),
        clone.Clone("attempts", "message_id", attempt),
    ]


async def _seed(url: str) -> tuple[dict[str, str], str]:
    """An app, an endpoint and one attempted message, written by hookwise; ids and a key."""
    settings = Settings(db=url, allow_networks="127.0.0.0/8")
    services = await open_services(settings)
    try:
        _, key = await create_key(services.store, "bench", None)
        auth = {"Authorization": f"Bearer {key}"}
        transport = httpx.ASGITransport(app=services.api)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=auth) as c:
            app = (await c.post("/v1/apps", json={"name": "console bench"})).json()
            ep = (
                await c.post(
                    f"/v1/apps/{app['id']}/endpoints",
                    json={"url": "http://127.0.0.1:9/hook", "retry_schedule": []},
                )
            ).json()
            att = (await c.post(f"/v1/apps/{app['id']}/endpoints/{ep['id']}/test")).json()
        return {"app": app["id"], "ep": ep["id"], "seed": att["message_id"]}, key
    finally:
        await services.close()


async def _fill_pg(name: str, clones: list[clone.Clone], seed: str, n: int) -> None:
    conn = await pg.connect(name)
    try:
        for c in clones:
            cols = [
                r["column_name"]
                for r in await conn.fetch(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = $1"
                    " ORDER BY ordinal_position",
                    c.table,
                )
            ]
            await conn.execute(clone.clone_sql(clone.PG, c, cols), seed, n)
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


@asynccontextmanager
async def filled(store: str, n: int) -> AsyncIterator[tuple[Filled, str]]:
    """A fresh database of ``store`` with ``n`` attempts in one app; removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="console-bench-"))
    name = f"hwbench_console_{os.getpid()}"
    try:
        if store == "sqlite":
            url = f"sqlite:///{folder / 'hw.db'}"
        else:
            await pg.create_db(name)
            url = pg.db_url(name)
        await asyncio.to_thread(upgrade, url)
        ids, key = await _seed(url)
        series = clone.SQLITE if store == "sqlite" else clone.PG
        clones = _clones(series, time.time(), n)
        if store == "sqlite":
            await asyncio.to_thread(seed_sqlite, str(folder / "hw.db"), clones, ids["seed"], n)
        else:
            await _fill_pg(name, clones, ids["seed"], n)
        ids["msg"] = f"msg_{n // 2:026d}"
        ids["att"] = f"att_{n // 2:026d}"
        yield Filled(url, ids), key
    finally:
        if store != "sqlite":
            await pg.drop_db(name)
        shutil.rmtree(folder, ignore_errors=True)


async def time_pages(
    f: Filled, key: str, pages: dict[str, str], warmup: int, requests: int
) -> dict[str, list[float]]:
    """Milliseconds of each request of each page (after the warm-up); under ``name + " cpu"``
    the CPU time this process spent on it (its SQLite threads included; PostgreSQL's not),
    which a machine shared with other work inflates less than the wall time."""
    services = await open_services(Settings(db=f.url, allow_networks="127.0.0.0/8"))
    out: dict[str, list[float]] = {}
    try:
        transport = httpx.ASGITransport(app=services.api)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.post("/dashboard/login", data={"key": key})
            assert r.status_code == 303, r.text
            for name, template in pages.items():
                path = template.format(**f.ids)
                took, cpu = [], []
                for i in range(warmup + requests):
                    start, start_cpu = time.perf_counter(), time.process_time()
                    r = await c.get(path)
                    ms = (time.perf_counter() - start) * 1000
                    cpu_ms = (time.process_time() - start_cpu) * 1000
                    if r.status_code != 200:
                        raise RuntimeError(f"{path}: HTTP {r.status_code} {r.text[:200]}")
                    if i >= warmup:
                        took.append(ms)
                        cpu.append(cpu_ms)
                out[name] = took
                out[f"{name} cpu"] = cpu
    finally:
        await services.close()
    return out


def table(results: dict[str, dict[str, list[float]]], n: int) -> str:
    """The figures as a Markdown table."""
    stores = list(results)
    head = "| page | " + " | ".join(f"{s} median | {s} p95" for s in stores) + " |"
    rows = [head, "|---" * (1 + 2 * len(stores)) + "|"]
    for page in next(iter(results.values())):
        cells = []
        for s in stores:
            ms = results[s][page]
            p95 = percentile(ms, 95)
            flag = "" if p95 < BUDGET_MS else " ⚠"
            cells += [f"{statistics.median(ms):.1f}", f"{p95:.1f}{flag}"]
        rows.append(f"| {page} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + (
        f"\n\nms per request, {n:,} attempts in the app; load average"
        f" {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )


async def main(args: argparse.Namespace) -> int:
    pages = {k: v for k, v in PAGES.items() if not args.pages or k in args.pages}
    results: dict[str, dict[str, list[float]]] = {}
    for store in args.stores:
        start = time.perf_counter()
        async with filled(store, args.attempts) as (f, key):
            took = time.perf_counter() - start
            print(f"{store}: {args.attempts:,} attempts in {took:.1f} s", flush=True)
            results[store] = await time_pages(f, key, pages, args.warmup, args.requests)
    print(table(results, args.attempts))
    slow = [
        p
        for by in results.values()
        for p, ms in by.items()
        if not p.endswith(" cpu") and percentile(ms, 95) > BUDGET_MS
    ]
    return 1 if slow else 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--attempts", type=int, default=100_000)
    p.add_argument("--requests", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--stores", nargs="+", default=["sqlite", "postgres"])
    p.add_argument("--pages", nargs="*", help="only these pages (names in PAGES)")
    return p.parse_args(argv)


def run(argv: list[str] | None = None) -> Any:
    """The command line."""
    return asyncio.run(main(parse(argv)))


if __name__ == "__main__":
    raise SystemExit(run())
