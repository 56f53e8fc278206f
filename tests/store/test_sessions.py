"""The Sessions role on both stores: console sessions end on sign-out, when idle, at their hard
end and with their key; portal links open one session, once."""

from __future__ import annotations

import asyncio
import time

from hookwise.api.auth import create_key
from hookwise.store import Store
from hookwise.store.rules.sessions import Lifetimes, digest
from tests.store.conftest import OpenStore


async def _app(store: Store, name: str = "Acme") -> str:
    app = await store.resources.create_app(
        name=name, uid=None, metadata={}, results_inline_budget=262144
    )
    return app.id


async def test_a_session_is_found_by_its_token_until_it_ends(store: Store) -> None:
    store.sessions.lifetimes = Lifetimes(idle_seconds=100, max_seconds=1000)
    key, _ = await create_key(store, "ops", None)
    t0 = time.time()
    token, s = await store.sessions.start_session(key, now=t0)
    assert s.kind == "admin" and s.key == key and s.token_hash == digest(token)
    found = await store.sessions.find_session(token, now=t0 + 1)
    assert found is not None and found.kind == "admin" and found.key is not None
    assert found.key.id == key.id and found.key.name == "ops"
    assert await store.sessions.find_session(token + "x", now=t0 + 1) is None
    # requests keep it alive past the idle limit, never past its hard end
    for at in (t0 + 90, t0 + 180, t0 + 270):
        assert await store.sessions.find_session(token, now=at) is not None
    assert await store.sessions.find_session(token, now=t0 + 371) is None  # idle
    token2, _ = await store.sessions.start_session(key, now=t0)
    assert await store.sessions.find_session(token2, now=t0 + 999) is None  # idle too
    await store.sessions.end_session(token)
    assert await store.sessions.find_session(token, now=t0 + 1) is None


async def test_a_session_never_outlives_its_hard_end(store: Store) -> None:
    store.sessions.lifetimes = Lifetimes(idle_seconds=100, max_seconds=150)
    key, _ = await create_key(store, "ops", None)
    t0 = time.time()
    token, _ = await store.sessions.start_session(key, now=t0)
    assert await store.sessions.find_session(token, now=t0 + 90) is not None
    assert await store.sessions.find_session(token, now=t0 + 149) is not None
    assert await store.sessions.find_session(token, now=t0 + 150) is None


async def test_revoking_a_key_ends_its_sessions_only(store: Store) -> None:
    app_id = await _app(store)
    gone, _ = await create_key(store, "gone", app_id)
    kept, _ = await create_key(store, "kept", app_id)
    a, _ = await store.sessions.start_session(gone)
    b, _ = await store.sessions.start_session(gone)
    c, session = await store.sessions.start_session(kept)
    assert session.kind == "app" and session.app_id == app_id
    await store.resources.delete_api_key(gone.id)
    assert await store.sessions.find_session(a) is None
    assert await store.sessions.find_session(b) is None
    assert await store.sessions.find_session(c) is not None


async def test_deleting_an_app_ends_its_sessions_and_links(store: Store) -> None:
    app_id = await _app(store)
    link, _ = await store.sessions.create_portal_link(app_id, 60)
    opened = await store.sessions.open_portal_link(link)
    assert not isinstance(opened, str)
    later, _ = await store.sessions.create_portal_link(app_id, 60)
    await store.resources.delete_app(app_id)
    assert await store.sessions.find_session(opened[0]) is None
    assert await store.sessions.open_portal_link(later) == "unknown"


async def test_a_portal_link_opens_one_portal_session_once(store: Store) -> None:
    app_id = await _app(store)
    t0 = time.time()
    link, expires_at = await store.sessions.create_portal_link(app_id, 900, now=t0)
    assert link.startswith("hwp_") and expires_at == t0 + 900
    # looking at a link (a link preview's GET) uses nothing up
    assert await store.sessions.check_portal_link(link, now=t0 + 5) is None
    assert await store.sessions.check_portal_link(link, now=t0 + 6) is None
    opened = await store.sessions.open_portal_link(link, now=t0 + 10)
    assert not isinstance(opened, str)
    token, s = opened
    assert s.kind == "portal" and s.app_id == app_id and s.key is None
    found = await store.sessions.find_session(token, now=t0 + 11)
    assert found is not None and found.kind == "portal" and found.app_id == app_id
    assert await store.sessions.open_portal_link(link, now=t0 + 11) == "used"
    assert await store.sessions.open_portal_link(link, now=t0 + 9999) == "used"
    assert await store.sessions.open_portal_link("hwp_nope") == "unknown"
    assert await store.sessions.check_portal_link(link, now=t0 + 12) == "used"
    assert await store.sessions.check_portal_link("hwp_nope") == "unknown"

    stale, _ = await store.sessions.create_portal_link(app_id, 60, now=t0 - 120)
    assert await store.sessions.check_portal_link(stale, now=t0) == "expired"
    assert await store.sessions.open_portal_link(stale, now=t0) == "expired"


async def test_two_racing_openers_of_one_link_get_one_session(stores: OpenStore) -> None:
    s1, s2 = await stores(), await stores()
    app_id = await _app(s1)
    for _ in range(5):
        link, _ = await s1.sessions.create_portal_link(app_id, 60)
        got = await asyncio.gather(
            s1.sessions.open_portal_link(link), s2.sessions.open_portal_link(link)
        )
        assert sorted(isinstance(g, str) for g in got) == [False, True], got
        assert "used" in got


async def test_ended_sessions_and_old_links_are_pruned(store: Store) -> None:
    store.sessions.lifetimes = Lifetimes(idle_seconds=100, max_seconds=1000)
    key, _ = await create_key(store, "ops", None)
    app_id = await _app(store)
    t0 = time.time()
    await store.sessions.start_session(key, now=t0)
    await store.sessions.start_session(key, now=t0)
    await store.sessions.create_portal_link(app_id, 60, now=t0)
    recent, _ = await store.sessions.create_portal_link(app_id, 2 * 86400, now=t0)
    assert await store.sessions.prune_sessions(now=t0 + 99) == 0
    week = 7 * 86400
    assert await store.sessions.prune_sessions(now=t0 + 60 + week) == 3  # 2 sessions, 1 link
    assert await store.sessions.prune_sessions(now=t0 + 60 + week) == 0
    assert await store.sessions.open_portal_link(recent, now=t0 + week) == "expired"  # kept
