"""The rules of console sessions and portal links, without a database."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hookwise.dashboard.brand import text_on
from hookwise.store.rules.sessions import (
    LINK_PREFIX,
    SESSION_PREFIX,
    Lifetimes,
    digest,
    is_live,
    link_refusal,
    new_token,
    touch_due,
)

LIFE = Lifetimes(idle_seconds=100.0, max_seconds=1000.0)


def test_tokens_are_random_and_only_their_hash_is_kept() -> None:
    token, hashed = new_token(SESSION_PREFIX)
    again, _ = new_token(SESSION_PREFIX)
    assert token.startswith("hws_") and token != again and len(token) > 40
    assert hashed == digest(token) and token not in hashed and len(hashed) == 64
    assert new_token(LINK_PREFIX)[0].startswith("hwp_")


def test_a_session_ends_when_idle_or_at_its_hard_end() -> None:
    assert is_live(last_seen_at=0, expires_at=1000, now=99.9, lifetimes=LIFE)
    assert not is_live(last_seen_at=0, expires_at=1000, now=100, lifetimes=LIFE)  # idle
    assert is_live(last_seen_at=950, expires_at=1000, now=999, lifetimes=LIFE)
    assert not is_live(last_seen_at=999, expires_at=1000, now=1000, lifetimes=LIFE)  # hard end


def test_last_seen_is_written_at_most_once_a_minute() -> None:
    assert not touch_due(last_seen_at=100, now=159.9)
    assert touch_due(last_seen_at=100, now=160)


@given(st.floats(0, 1e9), st.floats(0, 1e9), st.booleans())
def test_a_used_link_says_used_an_old_one_expired(expires: float, now: float, used: bool) -> None:
    why = link_refusal(1.0 if used else None, expires, now)
    if used:
        assert why == "used"
    else:
        assert why == ("expired" if now >= expires else None)


def test_the_portal_header_text_contrasts_with_its_colour() -> None:
    assert text_on("#ffffff") == "#000000" and text_on("#ffd400") == "#000000"
    assert text_on("#000000") == "#ffffff" and text_on("#1d2433") == "#ffffff"
    assert text_on("#0b5cff") == "#ffffff"
