"""Server time of the console's session and portal pages with 100,000 attempts in the app.

    .venv/bin/python -m bench.console_portal [--attempts 100000] [--rounds 30]
        [--store sqlite|postgres|both]

Seeds one app with that many messages, deliveries and attempts (rows written in batches through
the store's own database handle), then times each page through the ASGI app in this process
(``httpx.ASGITransport``: the server's work, no sockets): sign-in, the apps list for an admin
and an app key, a portal link's opening, a portal session's home, and sign-out. Prints the
median, p95 and worst of ``rounds`` requests per page, in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from hookwise.api.auth import create_key
from hookwise.composition import open_services
from hookwise.domain.ids import new_id
from hookwise.settings import Settings
from hookwise.store.sql import Tx, executemany

BATCH = 5000


async def _seed(store: Any, app_id: str, endpoint_id: str, n: int) -> None:
    """``n`` succeeded messages, each with one delivery and one attempt."""
    db = store._handle  # the bench writes rows as the store does, without an API call each
    now = time.time() - n
    for start in range(0, n, BATCH):
        rows = range(start, min(n, start + BATCH))
        ids = [(i, new_id("msg"), new_id("dlv"), new_id("att")) for i in rows]
        msgs = [(app_id, m, "order.created", b'{"n":1}', "[]", now + i) for i, m, _, _ in ids]
        dlvs = [
            (app_id, d, m, endpoint_id, "succeeded", 1, now + i, now + i, 200, now + i)
            for i, m, d, _ in ids
        ]
        atts = [
            (app_id, a, d, m, endpoint_id, 1, "succeeded", 200, "ok", 12.5, now + i,
             "http://127.0.0.1:9/hook", "scheduled")
            for i, m, d, a in ids
        ]  # fmt: skip

        def tx(msgs: Any = msgs, dlvs: Any = dlvs, atts: Any = atts) -> Tx[None]:
            yield executemany(
                "INSERT INTO messages (app_id, id, event_type, body, tags, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                msgs,
            )
            yield executemany(
                "INSERT INTO deliveries (app_id, id, message_id, endpoint_id, status,"
                " attempt_count, last_attempt_at, created_at, last_status_code, updated_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                dlvs,
            )
            yield executemany(
                "INSERT INTO attempts (app_id, id, delivery_id, message_id, endpoint_id,"
                " attempt_number, status, response_status_code, response_body, duration_ms,"
                " started_at, url, trigger) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
                " $11, $12, $13)",
                atts,
            )

        await db.write(tx)


async def _time(ask: Callable[[], Awaitable[httpx.Response]], rounds: int, ok: set[int]) -> str:
    took = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        r = await ask()
        took.append((time.perf_counter() - t0) * 1000)
        assert r.status_code in ok, (r.status_code, r.text[:200])
    took.sort()
    p95 = took[min(len(took) - 1, int(len(took) * 0.95))]
    return f"median {statistics.median(took):6.1f}  p95 {p95:6.1f}  max {took[-1]:6.1f} ms"


async def measure(db_url: str, attempts: int, rounds: int) -> None:
    services = await open_services(Settings(db=db_url, allow_networks="127.0.0.0/8"))
    try:
        store = services.store
        _, admin = await create_key(store, "bench", None)
        app = await store.resources.create_app(
            name="Bench", uid=None, metadata={}, results_inline_budget=262144
        )
        api = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=services.api), base_url="http://bench",
            headers={"Authorization": f"Bearer {admin}"},
        )  # fmt: skip
        ep = (
            await api.post(f"/v1/apps/{app.id}/endpoints", json={"url": "http://127.0.0.1:9/h"})
        ).json()
        t0 = time.perf_counter()
        await _seed(store, app.id, ep["id"], attempts)
        print(f"  seeded {attempts} attempts in {time.perf_counter() - t0:.1f} s")
        _, app_key = await create_key(store, "bench app", app.id)

        async def browser(key: str) -> httpx.AsyncClient:
            c = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=services.api), base_url="http://bench"
            )
            assert (await c.post("/dashboard/login", data={"key": key})).status_code == 303
            return c

        ops, tenant = await browser(admin), await browser(app_key)
        links = [
            (await api.post(f"/v1/apps/{app.id}/portal-links")).json()["url"] for _ in range(rounds)
        ]
        customer = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=services.api), base_url="http://bench"
        )
        pages: dict[str, tuple[Callable[[], Awaitable[httpx.Response]], set[int]]] = {
            "GET  /dashboard/login": (lambda: customer.get("/dashboard/login"), {200}),
            "POST /dashboard/login": (
                lambda: customer.post("/dashboard/login", data={"key": admin}),
                {303},
            ),
            "GET  /dashboard (admin)": (lambda: ops.get("/dashboard"), {200}),
            "GET  /dashboard (app key)": (lambda: tenant.get("/dashboard"), {200}),
            "GET  /portal/{token}": (lambda: customer.get(links.pop()), {200}),
            "GET  /dashboard (portal)": (lambda: customer.get("/dashboard"), {303}),
        }
        for name, (ask, ok) in pages.items():
            print(f"  {name:28} {await _time(ask, rounds, ok)}")
        for c in (api, ops, tenant, customer):
            await c.aclose()
    finally:
        await services.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    if args.store in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            print("sqlite")
            await measure(f"sqlite:///{Path(tmp) / 'bench.db'}", args.attempts, args.rounds)
    if args.store in ("postgres", "both"):
        from bench import pg

        name = f"hw_bench_portal_{int(time.time())}"
        conn = await pg.connect()
        await conn.execute(f'CREATE DATABASE "{name}"')
        try:
            print("postgres")
            await measure(pg.db_url(name), args.attempts, args.rounds)
        finally:
            await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
