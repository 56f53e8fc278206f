"""Wiring: the one place where concrete pieces (store, sender, workers, API) are put together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from fastapi import FastAPI

from hookwise.api.app import create_app
from hookwise.api.auth import Authenticator
from hookwise.api.context import ApiContext
from hookwise.api.routes import inspector
from hookwise.dashboard import mount_dashboard
from hookwise.delivery.dialer import EgressProxy
from hookwise.delivery.http1 import tls_context
from hookwise.delivery.sender import HttpSender
from hookwise.delivery.worker import Worker, WorkerConfig
from hookwise.domain.errors import StoreUnavailable
from hookwise.egress.ssrf import NetworkPolicy
from hookwise.settings import Settings
from hookwise.store import Store, open_store
from hookwise.store.inspector import Limits
from hookwise.store.rules.sessions import Lifetimes
from hookwise.store.stepper import Stepper

log = logging.getLogger("hookwise")
RETENTION_INTERVAL_SECONDS = 3600.0


def worker_config(settings: Settings, concurrency: int | None = None) -> WorkerConfig:
    """The WorkerConfig the settings describe."""
    return WorkerConfig(
        concurrency=concurrency or settings.worker_concurrency,
        batch=settings.claim_batch,
        lease_seconds=settings.lease_seconds,
        poll_interval=settings.poll_interval_seconds,
        pause_after=settings.auto_pause_after,
        retry_after_cap=settings.retry_after_cap_seconds,
        shutdown_grace=settings.shutdown_grace_seconds,
        ahead=settings.lease_ahead,
    )


def inspector_limits(settings: Settings) -> Limits:
    """How long the request inspector's bins live and how much they keep."""
    return Limits(
        settings.inspector_ttl_seconds,
        settings.inspector_max_captures,
        settings.inspector_max_body_bytes,
    )


def secret_key(settings: Settings) -> str | None:
    """``HOOKWISE_SECRET_KEY`` in clear, or None."""
    return settings.secret_key.get_secret_value() if settings.secret_key else None


async def open_configured_store(
    settings: Settings, *, migrate: bool = True, check_key: bool = True
) -> Store:
    """The store ``HOOKWISE_DB`` names, with ``HOOKWISE_SECRET_KEY`` checked against it: every
    command that opens the store comes through here, so none starts with a missing or wrong key
    (SecretKeyError)."""
    return await open_store(
        settings.db, secret_key=secret_key(settings), migrate=migrate, check_key=check_key
    )


async def tell_operations(settings: Settings, store: Store) -> None:
    """Send operational events to the app ``HOOKWISE_OPERATIONS_APP`` names, if set."""
    app = settings.operations_app
    if not app:
        return
    found = await store.operational.start(app, failing_after=settings.operations_failing_after)
    if not found:
        log.warning(
            "HOOKWISE_OPERATIONS_APP %r is no app's id or uid yet: operational events are"
            " told to nobody until an app with that uid exists",
            app,
        )


def egress_proxy(settings: Settings) -> EgressProxy | None:
    """The egress proxy of ``HOOKWISE_EGRESS_PROXY``, if set."""
    url = settings.egress_proxy
    return EgressProxy.from_url(url.get_secret_value()) if url is not None else None


def worker_id(store: Store, n: int | str) -> str | None:
    """The id of this process's ``n``-th worker (or its stepper) on ``store``: under its lease
    holder where the store has one (SQLite: the leases of a process found gone are taken back
    at its next start), else None (it names itself; its leases expire)."""
    holder = store.queue.lease_holder
    return None if holder is None else f"{holder}:{n}"


@dataclass
class Services:
    """An opened store with the engine and the API on top of it."""

    settings: Settings
    store: Store
    policy: NetworkPolicy
    sender: HttpSender
    worker: Worker
    api: FastAPI
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    def start_workers(self, count: int = 1) -> None:
        """Run the delivery loop in the background (``count`` workers in this process), the
        stepper of bulk operations (a re-enabled endpoint's release), and retention when
        ``HOOKWISE_RETENTION_DAYS`` is set."""
        self._tasks.append(asyncio.create_task(self.worker.run(self._stop), name="worker-0"))
        stepper = Stepper(
            self.store.operations,
            owner=worker_id(self.store, "operations"),
            poll_seconds=self.settings.poll_interval_seconds,
        )
        self._tasks.append(asyncio.create_task(stepper.run(self._stop), name="operations"))
        if self.settings.retention_days > 0:
            self._tasks.append(asyncio.create_task(self._retention(), name="retention"))
        for i in range(1, count):
            extra = Worker(
                self.store.queue,
                self.sender,
                self.worker.config,
                worker_id=worker_id(self.store, i),
            )
            self._tasks.append(asyncio.create_task(extra.run(self._stop), name=f"worker-{i}"))

    async def _retention(self) -> None:
        """Prune old attempts and finished messages every hour (in batches, short locks)."""
        while not self._stop.is_set():
            try:
                cutoff = time.time() - self.settings.retention_days * 86400
                n = await self.store.retention.prune(older_than=cutoff)
                if n:
                    log.info(
                        "retention: pruned %d rows older than %g days",
                        n,
                        self.settings.retention_days,
                    )
            except StoreUnavailable as exc:
                log.warning("retention: store unavailable: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), RETENTION_INTERVAL_SECONDS)

    def begin_stop(self) -> None:
        """Stop claiming now; in-flight attempts go on finishing (``stop_workers`` awaits
        them), alongside the API's own graceful stop."""
        self._stop.set()

    async def stop_workers(self) -> None:
        """Stop claiming; let in-flight attempts finish and be recorded."""
        self.begin_stop()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._tasks.clear()

    async def close(self) -> None:
        """Stop workers, close the HTTP session and the store."""
        await self.stop_workers()
        await self.sender.close()
        await self.store.close()


async def open_services(
    settings: Settings, *, policy: NetworkPolicy | None = None, migrate: bool = True
) -> Services:
    """Open the store and build the engine and the API over it (workers not started)."""
    store = await open_configured_store(settings, migrate=migrate)
    try:
        await tell_operations(settings, store)
    except BaseException:
        await store.close()
        raise
    policy = (policy or NetworkPolicy.from_setting(settings.allow_networks)).with_own(
        inspector.base_urls(settings)
    )
    store.inspector.limits = inspector_limits(settings)
    store.sessions.lifetimes = Lifetimes(
        settings.console_idle_seconds, settings.console_max_seconds
    )
    sender = HttpSender(
        policy, ssl_context=tls_context(settings.ca_bundle), proxy=egress_proxy(settings)
    )
    await sender.start()
    worker = Worker(store.queue, sender, worker_config(settings), worker_id=worker_id(store, 0))
    ctx = ApiContext(
        settings=settings,
        store=store,
        policy=policy,
        auth=Authenticator(store, rate_per_second=settings.rate_limit_per_key),
        tester=worker.attempt_now,
        worker_id=worker.worker_id,
    )
    api = create_app(ctx)
    mount_dashboard(api)
    return Services(settings, store, policy, sender, worker, api)


@contextlib.asynccontextmanager
async def running(settings: Settings, *, workers: int = 1) -> AsyncIterator[Services]:
    """Services with workers running, closed on exit (for embedding and tests)."""
    services = await open_services(settings)
    if workers:
        services.start_workers(workers)
    try:
        yield services
    finally:
        await services.close()
