"""A real ``hookwise serve`` for the browser, and the API calls a test makes beside it.

The service knows its own URL (``HOOKWISE_PUBLIC_URL``), so its inspector bins are endpoint
targets the SSRF guard lets through by name: the tests need no other receiver.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from hookwise.api.auth import create_key
from hookwise.store import open_store
from tests.pg import run_async
from tests.processes import Proc, env, free_port, wait_healthy

T = TypeVar("T")


class Hookwise:
    """One running ``hookwise serve`` and an admin client of its API."""

    def __init__(self, store: str, db_url: str, folder: Path) -> None:
        self.store = store
        self.db_url = db_url
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        self.admin_key = run_async(lambda: _admin_key(db_url))
        environ = env(
            db_url,
            HOOKWISE_PORT=str(port),
            HOOKWISE_PUBLIC_URL=self.base_url,
            HOOKWISE_POLL_INTERVAL_SECONDS="0.1",
            HOOKWISE_LOG_LEVEL="warning",
            HOOKWISE_SHUTDOWN_GRACE_SECONDS="0",  # nothing in flight is worth waiting for
        )
        self.proc = Proc(["serve"], environ, folder / f"serve-{store}.log")
        run_async(lambda: wait_healthy(self.base_url, self.proc))
        self.http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.admin_key}"},
            timeout=10,
        )

    def close(self) -> None:
        self.http.close()
        if self.proc.popen.poll() is None:
            self.proc.terminate()
        self.proc.close()

    def url(self, path: str) -> str:
        return self.base_url + path

    def _call(self, method: str, path: str, status: int, **kw: Any) -> Any:
        r = self.http.request(method, path, **kw)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def app(self, name: str) -> dict[str, Any]:
        return self._call("POST", "/v1/apps", 201, json={"name": name})  # type: ignore[no-any-return]

    def app_at_a_bin(self, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """A new app and its endpoint at a new bin, which tries once (no retries)."""
        app = self.app(name)
        target = self.bin(f"{name} bin")
        return app, self.endpoint(app["id"], target["url"], retry_schedule=[])

    def bin(self, name: str) -> dict[str, Any]:
        """A new inspector bin: ``{"id", "url"}``."""
        return self._call("POST", "/v1/inspector/bins", 201, json={"name": name})  # type: ignore[no-any-return]

    def endpoint(self, app_id: str, url: str, **body: Any) -> dict[str, Any]:
        path = f"/v1/apps/{app_id}/endpoints"
        return self._call("POST", path, 201, json={"url": url, **body})  # type: ignore[no-any-return]

    def secret(self, app_id: str, endpoint_id: str) -> str:
        path = f"/v1/apps/{app_id}/endpoints/{endpoint_id}/secret"
        return self._call("GET", path, 200)["key"]  # type: ignore[no-any-return]

    def send(self, app_id: str, event_type: str, payload: Any) -> dict[str, Any]:
        body = {"event_type": event_type, "payload": payload}
        return self._call("POST", f"/v1/apps/{app_id}/messages", 202, json=body)  # type: ignore[no-any-return]

    def portal_link(self, app_id: str) -> str:
        """A new portal link into the app (``POST /v1/apps/{app}/portal-links``)."""
        return self._call("POST", f"/v1/apps/{app_id}/portal-links", 201)["url"]  # type: ignore[no-any-return]

    def attempts(self, app_id: str) -> list[dict[str, Any]]:
        """The app's attempts, newest first."""
        return self._call("GET", f"/v1/apps/{app_id}/attempts", 200)["data"]  # type: ignore[no-any-return]

    def delivered(self, app_id: str, n: int = 1) -> list[dict[str, Any]]:
        """The app's attempts once there are ``n`` of them (the worker runs in the service)."""
        return until(lambda: a if len(a := self.attempts(app_id)) >= n else None)


async def _admin_key(db_url: str) -> str:
    """An admin key, made in this process (the database migrated on the way): a second
    interpreter running ``hookwise keys create`` costs a second or more of start-up."""
    store = await open_store(db_url)
    try:
        return (await create_key(store, "browser tests", None))[1]
    finally:
        await store.close()


def until(probe: Callable[[], T | None], timeout: float = 15.0) -> T:
    """``probe()`` once it is truthy: a condition awaited, polled every 50 ms."""
    deadline = time.monotonic() + timeout
    while not (got := probe()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{probe} still false after {timeout} s")
        time.sleep(0.05)
    return got
