"""Server time of the console's app pages with 100,000 attempts in the app, on both stores.

``python -m bench.console_pages [--rows 100000] [--runs 20] [--backends sqlite,postgres]``

Set-up: an app with three endpoints gets one message through the API (one delivery and one
attempt per endpoint, recorded by the worker with their headers), a job with 200 results and
30 event types; then the message, its deliveries and attempts are cloned in SQL
(``bench.clone``) until the app holds ``--rows`` attempts: a third of them per endpoint, one
message in three hundred with a failed delivery, one in a thousand pending, none held (the
filter that matches nothing is the costliest). Each page is then asked ``--runs`` times
in-process (httpx over ASGI: the time is the server's, with no network), signed in as the
admin; the first (it compiles the templates), then the median and the slowest of the
rest are printed. The budget is 150 ms a page (issue 16).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from bench import clone, pg
from hookwise.api.auth import create_key
from hookwise.composition import Services, open_services
from hookwise.domain.ids import id_floor
from hookwise.settings import Settings

BUDGET_MS = 150.0
RESPONSE_HEADERS = "\n".join(
    ["Content-Type: application/json", "Date: Sun, 06 Dec 2026 06:00:00 GMT", "Server: nginx"]
    + [f"X-Trace-{i}: {'t' * 40}" for i in range(4)]
)


def _clones(series: clone.Series, deliveries: list[tuple[str, str]], at: float) -> list[Any]:
    """The clone statements: messages, and per seed delivery (its id, its attempt's id) the
    delivery and the attempt of each cloned message. Ids begin with the time ``at`` (as
    minted ids do), then the clone's number; creation times step by a millisecond."""
    pad16 = series.pad.replace("26", "16")

    def ident(prefix: str, k: int | None = None) -> str:
        head = id_floor(prefix, at)
        mark = "" if k is None else str(k)
        width = 16 - len(mark)
        return f"'{head}{mark}' || substr({pad16}, {17 - width}, {width})"

    created = f"{at} + g * 0.001"
    status = (
        "CASE WHEN g % 1000 = 0 THEN 'pending' WHEN g % 300 = 0 THEN 'failed' ELSE 'succeeded' END"
    )
    out = [
        clone.Clone(
            "messages", "id", {"id": ident("msg"), "event_id": "NULL", "created_at": created}
        )
    ]
    for k, (_, _) in enumerate(deliveries):
        out.append(
            clone.Clone(
                "deliveries",
                "id",
                {
                    "id": ident("dlv", k), "message_id": ident("msg"), "status": status,
                    "created_at": created, "updated_at": created, "last_attempt_at": created,
                    "next_attempt_at": f"CASE WHEN g % 1000 = 0 THEN {created} + 3600 END",
                    "last_status_code": "200", "attempt_count": "1",
                },
            )
        )  # fmt: skip
        out.append(
            clone.Clone(
                "attempts",
                "id",
                {
                    "id": ident("att", k), "delivery_id": ident("dlv", k),
                    "message_id": ident("msg"), "started_at": created,
                    "status": "CASE WHEN g % 300 = 0 THEN 'failed' ELSE 'succeeded' END",
                    "response_status_code": "CASE WHEN g % 300 = 0 THEN 500 ELSE 200 END",
                    "response_headers": f"'{RESPONSE_HEADERS}'",
                },
            )
        )  # fmt: skip
    return out


async def _seed_sql(db: str, stmts: list[tuple[Any, str]], n: int) -> float:
    """Run each clone ``n`` times (keyed by its seed row's id); seconds taken."""
    t0 = time.perf_counter()
    if db.startswith("sqlite"):
        conn = sqlite3.connect(db.removeprefix("sqlite:///"))
        with conn:
            for c, key in stmts:
                cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{c.table}")')]
                conn.execute(clone.clone_sql(clone.SQLITE, c, cols), (key, n))
        conn.execute("ANALYZE")
        conn.close()
    else:
        name = db.rsplit("/", 1)[1]
        conn = await pg.connect(name)
        try:
            async with conn.transaction():
                for c, key in stmts:
                    cols = await pg.columns(conn, c.table)
                    await conn.execute(clone.clone_sql(clone.PG, c, cols), key, n)
            await conn.execute("ANALYZE")
        finally:
            await conn.close()
    return time.perf_counter() - t0


async def _setup(services: Services, http: httpx.AsyncClient, rows: int) -> dict[str, str]:
    """The app, its seed rows and clones; the ids the pages are asked about."""
    app = (await http.post("/v1/apps", json={"name": "Bench"})).json()
    a = app["id"]
    for n in range(3):
        r = await http.post(
            f"/v1/apps/{a}/endpoints",
            json={"url": f"http://127.0.0.1:9/{n}", "retry_schedule": [],
                  "headers": {"X-Token": "secret"}},
        )  # fmt: skip
        assert r.status_code == 201, r.text
    for n in range(30):
        await http.post(
            "/v1/event-types",
            json={"name": f"bench.event{n}", "description": "a bench event",
                  "schema": {"type": "object", "properties": {"n": {"type": "integer"}}}},
        )  # fmt: skip
    msg = (await http.post(f"/v1/apps/{a}/messages", json={"event_type": "bench.event1",
                                                          "payload": {"n": 1}})).json()  # fmt: skip
    job = (await http.post(f"/v1/apps/{a}/jobs", json={"type": "bench.job", "total": 200})).json()
    items = [{"id": f"item{i}", "status": "succeeded", "result": {"i": i}} for i in range(200)]
    await http.post(f"/v1/apps/{a}/jobs/{job['id']}/items", json={"items": items})
    await services.worker.drain(timeout=60)
    dl = (await http.get(f"/v1/apps/{a}/deliveries", params={"message_id": msg["id"]})).json()
    seeds = [(d["id"], "") for d in dl["data"]]
    atts = (await http.get(f"/v1/apps/{a}/attempts", params={"message_id": msg["id"]})).json()
    att_of = {x["delivery_id"]: x["id"] for x in atts["data"]}
    at = time.time() - 86400
    n = rows // len(seeds)
    series = clone.SQLITE if services.settings.db.startswith("sqlite") else clone.PG
    cl = _clones(series, seeds, at)
    stmts: list[tuple[Any, str]] = [(cl[0], msg["id"])]
    for k, (dlv, _) in enumerate(seeds):
        stmts += [(cl[1 + 2 * k], dlv), (cl[2 + 2 * k], att_of[dlv])]
    took = await _seed_sql(services.settings.db, stmts, n)
    print(f"  seeded {n * len(seeds):,} attempts in {took:.1f} s")
    mid = (await http.get(f"/v1/apps/{a}/messages", params={"limit": 1000})).json()
    some = (await http.get(f"/v1/apps/{a}/attempts", params={"limit": 500})).json()["data"]
    return {
        "app": a, "msg": mid["data"][500]["id"], "cursor": mid["next_cursor"],
        "att": some[-1]["id"], "att_new": some[0]["id"], "att_old": some[200]["id"],
        "job": job["id"], "since": time.strftime("%Y-%m-%dT%H:%M", time.gmtime(at + 10)),
        "until": time.strftime("%Y-%m-%dT%H:%M", time.gmtime(at + 20)),
    }  # fmt: skip


def _pages(i: dict[str, str]) -> dict[str, str]:
    base = f"/dashboard/apps/{i['app']}"
    return {
        "overview": base,
        "live log (nothing new)": f"{base}/live/attempts?after={i['att_new']}",
        "live log (200 new)": f"{base}/live/attempts?after={i['att_old']}",
        "messages": f"{base}/messages",
        "messages, next page": f"{base}/messages?cursor={i['cursor']}",
        "messages, event type": f"{base}/messages?event_type=bench.event1",
        "messages, event type (none)": f"{base}/messages?event_type=bench.nothing",
        "messages, status failed": f"{base}/messages?status=failed",
        "messages, status held (none)": f"{base}/messages?status=held",
        "messages, since+until": f"{base}/messages?since={i['since']}&until={i['until']}",
        "messages, newer": f"{base}/messages?newer={i['msg']}",
        "message detail": f"{base}/messages/{i['msg']}",
        "attempt detail": f"{base}/attempts/{i['att']}",
        "jobs": f"{base}/jobs",
        "job detail": f"{base}/jobs/{i['job']}",
        "event types": f"{base}/event-types",
    }


async def _time(get: Callable[[], Awaitable[httpx.Response]], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = await get()
        out.append((time.perf_counter() - t0) * 1000)
        assert r.status_code in (200, 204), (r.status_code, r.text[:300])
    return out


async def measure(db: str, rows: int, runs: int) -> list[tuple[str, float, float, float]]:
    """Seed ``db`` and time every page: (page, first ms, then median ms, slowest ms); the
    first request of a page also compiles its templates."""
    settings = Settings(db=db, allow_networks="127.0.0.0/8", poll_interval_seconds=0.2)
    services = await open_services(settings)
    try:
        _, key = await create_key(services.store, "bench", None)
        transport = httpx.ASGITransport(app=services.api)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", timeout=60,
            headers={"Authorization": f"Bearer {key}"},
        ) as http:  # fmt: skip
            ids = await _setup(services, http, rows)
            r = await http.post("/dashboard/login", data={"key": key})
            assert r.status_code == 303, r.text
            out = []
            for name, path in _pages(ids).items():
                ms = await _time(lambda p=path: http.get(p), runs + 1)  # type: ignore[misc]
                out.append((name, ms[0], statistics.median(ms[1:]), max(ms[1:])))
            return out
    finally:
        await services.close()


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--backends", default="sqlite,postgres")
    args = p.parse_args()
    for backend in args.backends.split(","):
        print(f"{backend}: {args.rows:,} attempts, {args.runs} runs a page")
        with tempfile.TemporaryDirectory() as tmp:
            if backend == "sqlite":
                results = await measure(f"sqlite:///{Path(tmp) / 'bench.db'}", args.rows, args.runs)
            else:
                name = f"hookwise_bench_pages_{os.getpid()}"
                await pg.create_db(name)
                try:
                    results = await measure(pg.db_url(name), args.rows, args.runs)
                finally:
                    await pg.drop_db(name)
        for name, first, median, worst in results:
            mark = "ok" if median < BUDGET_MS else "OVER"
            print(
                f"  {name:30} first {first:6.1f} ms  median {median:6.1f} ms"
                f"  max {worst:6.1f} ms  {mark}"
            )


if __name__ == "__main__":
    asyncio.run(main())
