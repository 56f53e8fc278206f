"""Server time of the request inspector's pages, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.inspector_pages [--runs 30]

In process (httpx over ASGI, no socket), so the figures are the application's own time: the
bins page with 200 bins (it lists 100), and a bin full to its cap (100 captures of 4 KiB, signed)
as the page, a poll checking signatures, and a poll answered 204. These pages read bins and
captures only, never attempts, so an app's attempt count does not change them. Prints the
median and the slowest of ``--runs`` requests each, in ms; PostgreSQL is skipped when absent.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from bench import pg
from bench.registry import Unavailable
from hookwise.api.auth import create_key
from hookwise.composition import open_services
from hookwise.dashboard.inspector import SHOWN
from hookwise.domain.signing import Signer
from hookwise.settings import Settings

SECRET = "whsec_" + "A" * 32
BINS = 200
BODY = b'{"pad": "' + b"x" * 4080 + b'"}'


async def _timed(call: Callable[[], Awaitable[httpx.Response]], status: int, runs: int) -> str:
    took = []
    await call()  # warm: the first request of a kind fills caches (templates, statements)
    for _ in range(runs):
        start = time.perf_counter()
        r = await call()
        took.append((time.perf_counter() - start) * 1000)
        assert r.status_code == status, (r.status_code, r.text[:200])
    return f"median {statistics.median(took):6.1f} ms, slowest {max(took):6.1f} ms"


async def measure(db_url: str, runs: int) -> dict[str, str]:
    """The figures of one store."""
    services = await open_services(Settings(db=db_url, public_url="http://bench.local"))
    _, key = await create_key(services.store, "bench", None)
    transport = httpx.ASGITransport(app=services.api)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.local") as c:
            auth = {"Authorization": f"Bearer {key}"}
            bins = [(await c.post("/v1/inspector/bins", headers=auth)).json() for _ in range(BINS)]
            full = bins[0]["id"]
            signer = Signer.from_secrets([SECRET])
            for i in range(services.settings.inspector_max_captures):
                headers = signer.headers(f"msg_{i}", int(time.time()), BODY)
                await c.post(f"/inspect/{full}", content=BODY, headers=headers)
            await c.post("/dashboard/login", data={"key": key})
            page = (await c.get(f"/dashboard/inspector/{full}")).text
            found = re.search(r'"X-CSRF-Token": "([0-9a-f]+)"', page)
            assert found, "no CSRF token on the page"
            c.headers["X-CSRF-Token"] = found.group(1)
            captures = f"/dashboard/inspector/{full}/captures"
            checked = await c.post(captures, data={"secret": SECRET})
            shown = re.search(r'name="shown" value="([0-9a-f]+)"', checked.text)
            assert shown and checked.text.count('data-state="verified"') == 2 * SHOWN
            same = {"secret": SECRET, "shown": shown.group(1)}
            return {
                "bins page": await _timed(lambda: c.get("/dashboard/inspector"), 200, runs),
                "bin page": await _timed(lambda: c.get(f"/dashboard/inspector/{full}"), 200, runs),
                "poll, checked": await _timed(
                    lambda: c.post(captures, data={"secret": SECRET}), 200, runs
                ),
                "poll, unchanged": await _timed(lambda: c.post(captures, data=same), 204, runs),
            }
    finally:
        await services.close()


async def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        stores = [("sqlite", f"sqlite:///{Path(folder) / 'h.db'}")]
        name = "hookwise_bench_inspector"
        try:
            await pg.create_db(name)
            stores.append(("postgres", pg.db_url(name)))
        except Unavailable as exc:
            print(f"postgres: unavailable: {exc}")
        try:
            for store, db_url in stores:
                for page, figure in (await measure(db_url, runs)).items():
                    print(f"{store:9} {page:16} {figure}")
        finally:
            if len(stores) > 1:
                await pg.drop_db(name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    asyncio.run(main(parser.parse_args().runs))
