"""Fixtures: real SQLite files, a real PostgreSQL server, real HTTP on loopback."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from hookwise.cli.serve import tune_gc
from hookwise.composition import Services, open_services
from hookwise.settings import Settings
from tests.browser.chromium import chromium_header
from tests.pg import BACKEND_NAMES, BACKENDS, pg_header, pg_template, postgres_url_for
from tests.receivers import Receiver

LOOPBACK = "127.0.0.0/8,::1/128"


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: a SQLite file, or a PostgreSQL database from the template."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hookwise.db'}"
    return postgres_url_for(request)


@pytest.fixture
def settings_factory(db_url: str) -> Any:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "db": db_url,
            "allow_networks": LOOPBACK,
            "poll_interval_seconds": 0.2,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


class Api:
    """The service under test: a real uvicorn server on loopback plus its Services."""

    def __init__(self, services: Services, base_url: str, admin_key: str) -> None:
        self.services = services
        self.base_url = base_url
        self.admin_key = admin_key
        self.http = httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {admin_key}"}, timeout=30
        )

    @property
    def store(self) -> Any:
        return self.services.store

    async def app(self, **body: Any) -> dict[str, Any]:
        r = await self.http.post("/v1/apps", json={"name": "test app", **body})
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    async def endpoint(self, app_id: str, **body: Any) -> dict[str, Any]:
        r = await self.http.post(f"/v1/apps/{app_id}/endpoints", json=body)
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    async def send(
        self, app_id: str, event_type: str = "email.sent", payload: Any = None, **extra: Any
    ) -> dict[str, Any]:
        r = await self.http.post(
            f"/v1/apps/{app_id}/messages",
            json={"event_type": event_type, "payload": payload or {"n": 1}, **extra},
        )
        assert r.status_code == 202, r.text
        return r.json()  # type: ignore[no-any-return]

    async def held_backlog(self, app_id: str, endpoint_id: str, n: int) -> None:
        """``n`` order.created messages held (the endpoint paused), then all released at once:
        the workers find the whole backlog in place."""
        path = f"/v1/apps/{app_id}/endpoints/{endpoint_id}"
        assert (await self.http.patch(path, json={"status": "paused"})).status_code == 200
        for i in range(n):
            await self.send(app_id, "order.created", payload={"i": i})
        assert (await self.http.patch(path, json={"status": "active"})).status_code == 200

    async def attempts(self, app_id: str, **params: Any) -> list[dict[str, Any]]:
        r = await self.http.get(f"/v1/apps/{app_id}/attempts", params={"limit": 1000, **params})
        assert r.status_code == 200, r.text
        return list(reversed(r.json()["data"]))

    async def drain(self, timeout: float = 30.0) -> None:
        await self.services.worker.drain(timeout=timeout)


async def start_uvicorn(app: Any) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, f"http://127.0.0.1:{port}"


@pytest.fixture
async def api_factory(settings_factory: Any) -> AsyncIterator[Any]:
    """Build Api instances (real uvicorn on loopback); workers do not run unless asked."""
    made: list[tuple[Api, uvicorn.Server, asyncio.Task[None]]] = []

    async def make(*, workers: int = 0, **overrides: Any) -> Api:
        from hookwise.api.auth import create_key

        services = await open_services(settings_factory(**overrides))
        _, key = await create_key(services.store, "test admin", None)
        server, task, base = await start_uvicorn(services.api)
        api = Api(services, base, key)
        if workers:
            services.start_workers(workers)
        made.append((api, server, task))
        return api

    yield make
    for api, server, task in made:
        await api.http.aclose()
        server.should_exit = True
        await task
        await api.services.close()


@pytest.fixture
async def api(api_factory: Any) -> Api:
    return await api_factory()  # type: ignore[no-any-return]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--screenshots",
        action="store_true",
        help="browser tests save screenshots into docs/console/ (or HOOKWISE_SCREENSHOTS=1)",
    )


# Tests that assert a wall-clock bound a busy neighbour would break (a call that "answers at
# once" while a bulk change runs, a latency ratio). `make test` runs the suite on pytest-xdist
# workers without them (`-m "not alone"`), then them one at a time (`-m alone`). A new test of
# that kind takes `@pytest.mark.alone`; these are the ones written before the mark.
ALONE = (
    "tests/delivery/test_pause_delete.py::",
    "tests/delivery/test_release.py::",
    "tests/delivery/test_isolation.py::",
    "tests/api/test_operations.py::test_a_large_recover_answers_at_once_",
    "tests/api/test_bulk_resend.py::test_a_large_resend_answers_at_once_",
    "tests/store/test_postgres.py::test_notify_wakes_a_worker_in_another_process",
)


@pytest.fixture(autouse=True)
def collector_as_served(request: pytest.FixtureRequest) -> Iterator[None]:
    """An `alone` test times the service in this process: its garbage collector runs as in
    `hookwise serve` (``tune_gc``), not as pytest's. At the default thresholds, a full
    collection over the test process's heap took 100-160 ms here, long enough to hold up any
    call it fell on, which the served process never sees."""
    if request.node.get_closest_marker("alone") is None:
        yield
        return
    thresholds = gc.get_threshold()
    tune_gc()
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


# The cluster tests run several processes of up to 17 PostgreSQL connections each: one xdist
# worker runs them all (`--dist loadgroup`), so two never share the server's 100 connections.
# The browser tests share one Chromium and one server per store: one worker runs them all too.
ONE_WORKER = {"tests/cluster/": "cluster", "tests/browser/": "browser"}
# The longest tests (real processes, the fuzzer) are handed out first, and the short ones fill
# the gaps at the end, so that no worker is left with a long test while the others are idle.
FIRST = (
    "tests/security/test_openapi_fuzz.py::",
    "tests/test_crash.py::",
    "tests/test_listen.py::",
    "tests/cli/",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(ALONE):
            item.add_marker(pytest.mark.alone)
        for prefix, group in ONE_WORKER.items():
            if item.nodeid.startswith(prefix):
                item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda item: not item.nodeid.startswith(FIRST))  # stable: else as collected


def pytest_report_header(config: pytest.Config) -> list[str]:
    backends = ", ".join(BACKEND_NAMES)
    return [
        f"hookwise backends: {backends} (CI={os.environ.get('CI', '')})",
        *pg_header(),
        *chromium_header(),
    ]


__all__ = ["pg_template"]  # the session fixture behind postgres_url_for
