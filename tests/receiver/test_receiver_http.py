"""The receiver over real HTTP on loopback (``hookwise receive``'s service), both inboxes."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import asyncpg
import orjson
import pytest

from hookwise.domain.signing import new_secret
from hookwise.receiver import (
    Event,
    Inbox,
    PostgresInbox,
    Receiver,
    ReceiverService,
    SqliteInbox,
    State,
)
from hookwise.receiver.receiver import MAX_KEY_BYTES
from tests.receiver.receiver_helpers import Answer, Http, signed, wait_until

N_EVENTS = 1000


async def test_each_event_is_processed_once_though_every_tenth_is_sent_twice(
    make_inbox: Callable[[], Inbox], secret: str
) -> None:
    receiver = Receiver(inbox=make_inbox(), secret=secret)
    seen: Counter[str] = Counter()

    @receiver.on("job.item_finished")
    async def count(event: Event) -> None:
        seen[event.payload["data"]["n"]] += 1

    statuses: Counter[str] = Counter()
    gate = asyncio.Semaphore(32)

    async def deliver(http: Http, url: str, n: int) -> None:
        msg_id = f"msg_{n:05d}"
        payload = {"event": "job.item_finished", "id": msg_id, "data": {"n": str(n)}}
        async with gate:
            for _ in range(2 if n % 10 == 0 else 1):
                # Each attempt is signed again (new timestamp), with the same webhook-id.
                body, headers = signed(payload, secret, msg_id=msg_id)
                response = await http.post(url, body, headers)
                assert response.status == 200, response.body
                statuses[response.json()["status"]] += 1

    async with ReceiverService(receiver, port=0) as service, Http() as http:
        await asyncio.gather(*(deliver(http, service.url, n) for n in range(N_EVENTS)))

        async def all_done() -> bool:
            return (await receiver.inbox.counts())[State.DONE] == N_EVENTS

        await wait_until(all_done, what="every event done")

    assert statuses == {"accepted": N_EVENTS, "duplicate": N_EVENTS // 10}
    assert len(seen) == N_EVENTS and set(seen.values()) == {1}


async def test_bad_requests_are_refused_and_nothing_is_stored(
    make_inbox: Callable[[], Inbox], secret: str
) -> None:
    receiver = Receiver(inbox=make_inbox(), secret=secret, max_body_bytes=64 * 1024)
    good = {"event": "job.completed", "job_id": "job_1"}
    body, headers = signed(good, secret)
    cases: list[tuple[str, bytes, dict[str, str], int]] = []
    cases.append(("tampered body", body.replace(b"job_1", b"job_2"), headers, 401))
    cases.append(("wrong secret", *signed(good, new_secret()), 401))
    stale = int(time.time()) - 600
    cases.append(("stale timestamp", *signed(good, secret, timestamp=stale), 400))
    future = int(time.time()) + 600
    cases.append(("future timestamp", *signed(good, secret, timestamp=future), 400))
    cases.append(("missing headers", body, {"content-type": "application/json"}, 400))
    partial = {k: v for k, v in headers.items() if k != "webhook-timestamp"}
    cases.append(("partial headers", body, partial, 400))
    cases.append(("garbage signature", body, {**headers, "webhook-signature": "v1,!!"}, 401))
    cases.append(("no v1 entry", body, {**headers, "webhook-signature": "v9,abc"}, 401))
    cases.append(("bad timestamp", body, {**headers, "webhook-timestamp": "soon"}, 400))
    huge = {**headers, "webhook-timestamp": "9" * 400}  # was OverflowError, answered 503
    cases.append(("400-digit timestamp", body, huge, 400))
    cases.append(("non-JSON", *signed(b"not json {", secret), 400))
    cases.append(("JSON but not an object", *signed(b"[1, 2]", secret), 400))
    nul = {"event": "job.\x00completed", "job_id": "job_1"}  # PostgreSQL cannot store it
    cases.append(("NUL in the event type", *signed(nul, secret), 400))
    big = orjson.dumps({"event": "x", "blob": "a" * (64 * 1024)})
    cases.append(("oversize", *signed(big, secret), 413))
    hex_only = {"x-webhook-signature": headers["X-Webhook-Signature"]}
    cases.append(("valid hex signature alone (no timestamp)", body, hex_only, 400))
    async with ReceiverService(receiver, port=0, process=False) as service, Http() as http:
        for name, content, hdrs, status in cases:
            response = await http.post(service.url, content, hdrs)
            assert response.status == status, name
            assert set(response.json()["error"]) == {"code", "message", "details"}, name
        chunked = await http.post(service.url, _chunks(big), cases[-2][2])
        assert chunked.status == 413
        assert (await http.get(service.url)).json() == {"status": "ok"}
        put = await http.request("PUT", service.url, body, headers)
        assert put.status == 405 and put.headers["allow"] == "POST, GET, HEAD"
        assert await receiver.inbox.items() == []
        ok = await http.post(service.url, body, headers)
        assert ok.status == 200 and ok.json()["status"] == "accepted"
        assert len(await receiver.inbox.items()) == 1


async def _chunks(data: bytes, size: int = 8192):  # type: ignore[no-untyped-def]
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def test_a_month_old_request_stripped_to_its_hex_signature_is_refused(
    make_inbox: Callable[[], Inbox], secret: str
) -> None:
    receiver = Receiver(inbox=make_inbox(), secret=secret)
    ran: list[str] = []

    @receiver.on("*")
    def record(event: Event) -> None:
        ran.append(event.key)

    month_ago = int(time.time()) - 30 * 86400
    body, headers = signed({"event": "invoice.paid", "id": "evt_old"}, secret, timestamp=month_ago)
    stripped = {"X-Webhook-Signature": headers["X-Webhook-Signature"]}
    async with ReceiverService(receiver, port=0) as service, Http() as http:
        stale = await http.post(service.url, body, headers)
        assert stale.status == 400 and stale.json()["error"]["code"] == "verification_failed"
        replay = await http.post(service.url, body, stripped)
        assert replay.status == 400, replay.body
        assert "no timestamp" in replay.json()["error"]["message"]
        assert await receiver.inbox.items() == []
        # A fresh, fully signed request goes through the same processor: it was running.
        fresh_body, fresh = signed({"event": "invoice.paid", "id": "evt_new"}, secret)
        assert (await http.post(service.url, fresh_body, fresh)).status == 200
        await wait_until(lambda: len(ran) == 1, what="the fresh event processed")
    assert ran == [fresh["webhook-id"]]


async def test_a_hex_only_sender_is_accepted_when_configured_and_deduped(
    make_inbox: Callable[[], Inbox], secret: str
) -> None:
    old = new_secret()
    receiver = Receiver(inbox=make_inbox(), secret=[secret, old], accept_hex_only=True)
    async with ReceiverService(receiver, port=0, process=False) as service, Http() as http:
        body, headers = signed({"event": "a", "id": "evt_1"}, old)
        hex_only = {"X-Webhook-Signature": headers["X-Webhook-Signature"]}
        first = await http.post(service.url, body, hex_only)
        again = await http.post(service.url, body, hex_only)  # a replay: refused by dedupe only
        assert first.json()["status"] == "accepted" and again.json()["status"] == "duplicate"
        bad = await http.post(service.url, body, {"X-Webhook-Signature": "sha256=" + "0" * 64})
        assert bad.status == 401
        body, headers = signed({"event": "b"}, [new_secret(), secret])
        assert (await http.post(service.url, body, headers)).status == 200
    stored = await receiver.inbox.get("evt_1")  # hex-only: deduped on the body's id
    assert stored is not None and "x-webhook-signature" in stored.headers
    await receiver.close()


async def test_dedupe_on_a_body_field_and_known_ids(
    make_inbox: Callable[[], Inbox], secret: str
) -> None:
    async def known(workflow_id: str) -> bool:
        return workflow_id.startswith("wf_known")

    receiver = Receiver(
        inbox=make_inbox(), secret=secret, dedupe_key="workflow_id", known_ids=known
    )
    async with ReceiverService(receiver, port=0, process=False) as service, Http() as http:

        async def post(payload: dict[str, object]) -> Answer:
            body, headers = signed(payload, secret)
            return await http.post(service.url, body, headers)

        unknown = await post({"event": "enrichment.completed", "workflow_id": "wf_other"})
        assert unknown.status == 404
        missing = await post({"event": "enrichment.completed"})
        assert missing.status == 400 and "workflow_id" in missing.json()["error"]["message"]
        # seed 001's completion carries its terminal status: stored under the bare id
        done: dict[str, object] = {
            "event": "enrichment.completed",
            "workflow_id": "wf_known_1",
            "status": "completed",
        }
        first = await post(done)
        second = await post(done)
        assert first.json()["status"] == "accepted" and second.json()["status"] == "duplicate"
        items = await receiver.inbox.items()
        assert [i.dedupe_key for i in items] == ["wf_known_1"]
        assert items[0].event_type == "enrichment.completed"


async def test_known_ids_expected_accepts_only_registered_jobs(
    make_inbox: Callable[[], Inbox], secret: str
) -> None:
    receiver = Receiver(
        inbox=make_inbox(), secret=secret, dedupe_key="job_id", known_ids="expected"
    )
    await receiver.expect("job_1", status_url="http://127.0.0.1:9/jobs/job_1", deadline=3600)
    async with ReceiverService(receiver, port=0, process=False) as service, Http() as http:
        for job_id, status in (("job_2", 404), ("job_1", 200)):
            body, headers = signed({"event": "job.completed", "job_id": job_id}, secret)
            response = await http.post(service.url, body, headers)
            assert response.status == status


async def test_an_expected_id_holding_nul_is_a_400_on_every_inbox(
    make_inbox: Callable[[], Inbox], secret: str
) -> None:
    """Looked up in PostgreSQL, it failed as an outage (503); SQLite answered 404."""
    receiver = Receiver(
        inbox=make_inbox(), secret=secret, known_ids="expected", known_id_key="job_id"
    )
    reply = await receiver.handle(*signed({"event": "job.completed", "job_id": "j\x001"}, secret))
    assert reply.status == 400 and "NUL" in orjson.loads(reply.body)["error"]["message"]
    await receiver.close()


async def test_unsigned_senders_need_known_ids(make_inbox: Callable[[], Inbox]) -> None:
    with pytest.raises(ValueError, match="known_ids"):
        Receiver(inbox=make_inbox(), secret=None)
    receiver = Receiver(
        inbox=make_inbox(), secret=None, dedupe_key="workflow_id", known_ids={"wf_1"}
    )
    good = orjson.dumps({"workflow_id": "wf_1"})
    assert (await receiver.handle(good, {})).status == 200
    assert (await receiver.handle(orjson.dumps({"workflow_id": "wf_2"}), {})).status == 404
    await receiver.close()


async def test_what_no_inbox_can_store_is_refused_or_kept_replaced_never_a_503(
    make_inbox: Callable[[], Inbox], secret: str
) -> None:
    """A key over PostgreSQL's index limit failed the insert (and its whole group commit) as
    an outage, a header holding NUL did on PostgreSQL, a lone surrogate raised on both."""
    receiver = Receiver(inbox=make_inbox(), secret=secret)
    too_long = signed({"event": "a"}, secret, msg_id="k" * (MAX_KEY_BYTES + 1))
    at_limit = signed({"event": "a"}, secret, msg_id="k" * MAX_KEY_BYTES)
    beside = signed({"event": "a"}, secret, msg_id="msg_beside")
    replies = await asyncio.gather(*(receiver.handle(*r) for r in (too_long, at_limit, beside)))
    assert [r.status for r in replies] == [400, 200, 200]
    assert f"over {MAX_KEY_BYTES} bytes" in orjson.loads(replies[0].body)["error"]["message"]
    body, headers = signed({"event": "a"}, secret, msg_id="msg_odd_headers")
    odd = {**headers, "x-nul": "a\x00b", "x-lone-surrogate": "a\ud800b"}
    assert (await receiver.handle(body, odd)).status == 200
    item = await receiver.inbox.get("msg_odd_headers")
    assert item is not None
    assert (item.headers["x-nul"], item.headers["x-lone-surrogate"]) == ("a\ufffdb", "a?b")
    assert len(await receiver.inbox.items()) == 3
    await receiver.close()


async def _break(inbox: Inbox) -> None:
    """Make the inbox unwritable from outside, as a failed database would be."""
    if isinstance(inbox, SqliteInbox):
        conn = sqlite3.connect(inbox.path)
        conn.execute(f"DROP TABLE {inbox.table}")
        conn.commit()
        conn.close()
    else:
        assert isinstance(inbox, PostgresInbox)
        conn = await asyncpg.connect(inbox.dsn)
        await conn.execute(f"DROP TABLE {inbox.table}")
        await conn.close()


@pytest.mark.parametrize("policy", ["503", "200"])
async def test_inbox_down_answers_503_or_200_as_configured(
    make_inbox: Callable[[], Inbox], secret: str, policy: str
) -> None:
    receiver = Receiver(inbox=make_inbox(), secret=secret, on_inbox_down=policy)  # type: ignore[arg-type]
    async with ReceiverService(receiver, port=0, process=False) as service, Http() as http:
        await _break(receiver.inbox)
        body, headers = signed({"event": "job.completed"}, secret)
        response = await http.post(service.url, body, headers)
    if policy == "503":
        assert response.status == 503 and response.headers["retry-after"] == "5"
        assert response.json()["error"]["code"] == "inbox_unavailable"
    else:
        assert response.status == 200 and response.json()["stored"] is False


async def test_an_unreachable_database_answers_503() -> None:
    secret = new_secret()
    receiver = Receiver(
        inbox=PostgresInbox("postgresql://postgres@127.0.0.1:1/none", timeout=2), secret=secret
    )
    body, headers = signed({"event": "job.completed"}, secret)
    reply = await receiver.handle(body, headers)
    assert reply.status == 503 and ("retry-after", "5") in reply.headers


async def test_a_failing_known_ids_check_asks_for_a_retry(tmp_path: Path, secret: str) -> None:
    def lookup(workflow_id: str) -> bool:
        raise ConnectionError("the app's database is down")

    receiver = Receiver(
        inbox=f"sqlite:///{tmp_path / 'inbox.db'}",
        secret=secret,
        dedupe_key="workflow_id",
        known_ids=lookup,
    )
    reply = await receiver.handle(*signed({"workflow_id": "wf_1"}, secret))
    assert reply.status == 503 and orjson.loads(reply.body)["error"]["code"] == "check_failed"
    assert await receiver.inbox.items() == []
    await receiver.close()
