"""Background processing: retries with backoff, the dead state, and the CLI that handles it."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from hookwise.receiver import (
    Event,
    Inbox,
    PermanentFailure,
    PostgresInbox,
    Processor,
    Receiver,
    SqliteInbox,
    State,
)
from hookwise.receiver.cli import receive_app
from hookwise.receiver.worker import background
from tests.receiver.receiver_helpers import signed, wait_until

FAST_RETRIES = (0.01, 0.01, 0.01, 0.01, 0.01)


def fast_processor(receiver: Receiver) -> Processor:
    return Processor(receiver, poll_interval=0.05, handler_timeout=5)


async def deliver(receiver: Receiver, secret: str, payload: dict[str, Any]) -> str:
    reply = await receiver.handle(*signed(payload, secret))
    assert reply.status == 200, reply.body
    return str(orjson.loads(reply.body)["id"])


async def state_of(receiver: Receiver, item_id: str) -> State | None:
    item = await receiver.inbox.get(item_id)
    return None if item is None else item.state


async def test_a_handler_failing_three_times_then_succeeding_ends_done(
    make_inbox: Callable[[], Inbox], secret: str
) -> None:
    receiver = Receiver(inbox=make_inbox(), secret=secret, retry_schedule=FAST_RETRIES)
    calls: list[int] = []

    @receiver.on("job.completed")
    async def flaky(event: Event) -> None:
        calls.append(event.attempt)
        if len(calls) <= 3:
            raise RuntimeError(f"downstream down ({len(calls)})")

    async with background(receiver, processor=fast_processor(receiver)):
        item_id = await deliver(receiver, secret, {"event": "job.completed", "job_id": "j"})

        async def done() -> bool:
            return await state_of(receiver, item_id) is State.DONE

        await wait_until(done, what="the item done")
        item = await receiver.inbox.get(item_id)
    assert calls == [1, 2, 3, 4]
    assert item is not None and item.attempts == 4
    assert item.last_error == "RuntimeError: downstream down (3)"


def write_app(tmp_path: Path, inbox: Inbox, secret: str) -> str:
    """A module the CLI can load with --app, pointing at the same inbox."""
    if isinstance(inbox, SqliteInbox):
        made = f"SqliteInbox({str(inbox.path)!r}, table={inbox.table!r})"
    else:
        assert isinstance(inbox, PostgresInbox)
        made = f"PostgresInbox({inbox.dsn!r}, table={inbox.table!r})"
    path = tmp_path / "hooks_app.py"
    path.write_text(
        "from hookwise.receiver import PostgresInbox, Receiver, SqliteInbox\n"
        f"receiver = Receiver(inbox={made}, secret={secret!r})\n"
    )
    return f"{path}:receiver"


async def cli(*args: str) -> str:
    result = await asyncio.to_thread(CliRunner().invoke, receive_app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


async def test_a_handler_that_always_fails_is_dead_listed_and_retried(
    make_inbox: Callable[[], Inbox], secret: str, tmp_path: Path
) -> None:
    receiver = Receiver(inbox=make_inbox(), secret=secret, retry_schedule=(0.01, 0.01))
    fixed = threading.Event()
    calls: list[str] = []

    @receiver.on("*")
    async def broken(event: Event) -> None:
        calls.append(event.id)
        if not fixed.is_set():
            raise ValueError("bug in handler")

    app = write_app(tmp_path, receiver.inbox, secret)
    async with background(receiver, processor=fast_processor(receiver)):
        item_id = await deliver(receiver, secret, {"event": "email.replied", "id": "e1"})

        async def dead() -> bool:
            return await state_of(receiver, item_id) is State.DEAD

        await wait_until(dead, what="the item dead")
        assert len(calls) == 3  # first attempt + two retries

        listing = await cli("dead", "list", "--app", app)
        assert item_id in listing and "ValueError: bug in handler" in listing
        assert "1 dead item\n" in listing
        (row,) = [
            orjson.loads(line)
            for line in (await cli("dead", "list", "--json", "--app", app)).splitlines()
        ]
        assert (
            row["id"] == item_id and row["attempts"] == 3 and row["event_type"] == "email.replied"
        )
        status = orjson.loads(await cli("status", "--app", app))
        assert status["dead"] == 1

        fixed.set()
        assert "1 item queued again" in await cli("dead", "retry", item_id, "--app", app)

        async def done() -> bool:
            return await state_of(receiver, item_id) is State.DONE

        await wait_until(done, what="the retried item done")
    assert len(calls) == 4
    assert "0 dead items" in await cli("dead", "list", "--app", app)


async def test_retry_all_and_the_inbox_url_option(tmp_path: Path, secret: str) -> None:
    url = f"sqlite:///{tmp_path / 'inbox.db'}"
    receiver = Receiver(inbox=url, secret=secret, retry_schedule=())

    @receiver.on("*")
    def fail(event: Event) -> None:
        raise PermanentFailure("no such customer")

    for n in range(3):
        await deliver(receiver, secret, {"event": "x", "id": f"e{n}"})
    await fast_processor(receiver).drain()
    assert (await receiver.inbox.counts())[State.DEAD] == 3
    assert "3 items queued again" in await cli("dead", "retry", "--all", "--inbox", url)
    assert (await receiver.inbox.counts())[State.RECEIVED] == 3
    await receiver.close()
    result = await asyncio.to_thread(
        CliRunner().invoke, receive_app, ["dead", "retry", "--inbox", url]
    )
    assert result.exit_code != 0 and "--all" in result.output


@pytest.mark.parametrize(
    ("raised", "stored"),
    [
        ("customer deleted", "customer deleted"),
        # PostgreSQL's text type refuses NUL: stored as U+FFFD (else the failure record, and
        # every one written with it, would be refused)
        ("bad byte \x00 in the row", "bad byte \ufffd in the row"),
    ],
)
async def test_permanent_failure_is_dead_at_once(
    make_inbox: Callable[[], Inbox], secret: str, raised: str, stored: str
) -> None:
    receiver = Receiver(inbox=make_inbox(), secret=secret)

    @receiver.on("job.completed")
    async def reject(event: Event) -> None:
        raise PermanentFailure(raised)

    item_id = await deliver(receiver, secret, {"event": "job.completed"})
    await fast_processor(receiver).drain()
    item = await receiver.inbox.get(item_id)
    assert item is not None and item.state is State.DEAD and item.attempts == 1
    assert item.last_error == f"PermanentFailure: {stored}"
    await receiver.close()


async def test_handlers_match_by_pattern_and_sync_ones_run_in_a_thread(
    make_inbox: Callable[[], Inbox], secret: str
) -> None:
    receiver = Receiver(inbox=make_inbox(), secret=secret)
    seen: list[tuple[str, str, bool]] = []
    loop_thread = threading.get_ident()

    @receiver.on("job.completed")
    async def exact(event: Event) -> None:
        seen.append(("exact", event.type, threading.get_ident() == loop_thread))

    @receiver.on("job.*", "*")  # registered twice, runs once per event
    def family(event: Event) -> None:
        seen.append(("family", event.type, threading.get_ident() == loop_thread))

    for payload in (
        {"event": "job.completed"},
        {"event": "email.replied"},
        {"type": "job.failed"},
        {"no": "type"},
    ):
        await deliver(receiver, secret, payload)
    await fast_processor(receiver).drain()
    assert sorted(seen) == [
        ("exact", "job.completed", True),
        ("family", "", False),
        ("family", "email.replied", False),
        ("family", "job.completed", False),
        ("family", "job.failed", False),
    ]
    assert (await receiver.inbox.counts())[State.DONE] == 4
    await receiver.close()


async def test_events_without_handlers_are_done_and_slow_handlers_time_out(
    make_inbox: Callable[[], Inbox], secret: str
) -> None:
    receiver = Receiver(inbox=make_inbox(), secret=secret, retry_schedule=())

    @receiver.on("slow")
    async def slow(event: Event) -> None:
        await asyncio.sleep(30)

    quiet = await deliver(receiver, secret, {"event": "nobody.listens"})
    stuck = await deliver(receiver, secret, {"event": "slow"})
    await Processor(receiver, handler_timeout=0.05).drain()
    assert await state_of(receiver, quiet) is State.DONE
    item = await receiver.inbox.get(stuck)
    assert item is not None and item.state is State.DEAD and "TimeoutError" in str(item.last_error)
    await receiver.close()


async def test_the_processor_survives_an_inbox_outage(
    tmp_path: Path, secret: str, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = Receiver(inbox=SqliteInbox(tmp_path / "missing-dir" / "inbox.db"), secret=secret)
    stop = asyncio.Event()
    task = asyncio.create_task(Processor(receiver, poll_interval=0.01).run(stop))

    def failed_claims() -> int:
        return sum("cannot claim" in r.getMessage() for r in caplog.records)

    await wait_until(lambda: failed_claims() >= 3, what="three failed claims")
    assert not task.done()  # logged, not raised
    stop.set()
    await asyncio.wait_for(task, 5)


async def test_status_and_prune_from_the_cli(tmp_path: Path, secret: str) -> None:
    url = f"sqlite:///{tmp_path / 'inbox.db'}"
    receiver = Receiver(inbox=url, secret=secret)
    for n in range(2):
        await deliver(receiver, secret, {"event": "x", "id": f"e{n}"})
    await fast_processor(receiver).drain()
    await receiver.close()
    assert orjson.loads(await cli("status", "--inbox", url))["done"] == 2
    assert "0 done items deleted" in await cli("prune", "--older-than", "1d", "--inbox", url)
    assert "2 done items deleted" in await cli("prune", "--older-than", "0s", "--inbox", url)
    bad = await asyncio.to_thread(
        CliRunner().invoke, receive_app, ["prune", "--older-than", "soon", "--inbox", url]
    )
    assert bad.exit_code != 0 and "30d" in bad.output


async def test_an_event_no_handler_matches_is_logged(
    make_inbox: Callable[[], Inbox], secret: str, caplog: Any
) -> None:
    receiver = Receiver(inbox=make_inbox(), secret=secret)

    @receiver.on("invoice.*")
    async def invoices(event: Event) -> None: ...

    caplog.set_level(logging.WARNING, "hookwise.receiver")
    async with background(receiver, processor=fast_processor(receiver)):
        item_id = await deliver(receiver, secret, {"event": "email.replied", "id": "e1"})

        async def done() -> bool:
            return await state_of(receiver, item_id) is State.DONE

        await wait_until(done, what="the item done")
    assert any("no handler for 'email.replied'" in r.getMessage() for r in caplog.records)
