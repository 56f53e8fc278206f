"""The relay protocol's frames: round trips, and malformed frames as InvalidInput."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookwise.domain.errors import InvalidInput
from hookwise.domain.relay import (
    BODY_LIMIT,
    Ready,
    Refused,
    RelayAnswer,
    RelayRequest,
    decode,
    relay_url,
)

_text = st.text(max_size=40)


@given(
    st.builds(
        RelayRequest,
        _text,
        _text,
        _text,
        st.integers(1, 99),
        st.floats(0.1, 30),
        st.dictionaries(_text, _text, max_size=4),
        st.binary(max_size=200),
    )
)
def test_a_request_round_trips(req: RelayRequest) -> None:
    assert decode(req.encode()) == req


@given(
    st.builds(
        RelayAnswer,
        _text,
        st.none() | st.integers(100, 599),
        st.floats(0, 1e6),
        st.none() | _text,
        st.none() | _text,
        st.none() | _text,
        st.none() | _text,
    )
)
def test_an_answer_round_trips(answer: RelayAnswer) -> None:
    assert decode(answer.encode()) == answer


def test_ready_and_refused_round_trip() -> None:
    for frame in (Ready("ep_1", "dev", ("user.*",), "whsec_x"), Refused(404, "app 'x' not found")):
        assert decode(frame.encode()) == frame


def test_an_answer_body_is_cut_to_what_an_attempt_keeps() -> None:
    answer = decode(RelayAnswer("d", 200, 1.0, body="x" * 10_000).encode())
    assert isinstance(answer, RelayAnswer) and len(answer.body or "") == BODY_LIMIT


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("nope", "frame"),
        ("[1]", "frame"),
        ('{"type": "hello"}', "type"),
        ('{"type": "answer", "delivery_id": "d", "status": 99, "duration_ms": 1}', "status"),
        ('{"type": "answer", "delivery_id": "d", "status": true, "duration_ms": 1}', "status"),
        ('{"type": "answer", "delivery_id": "d", "duration_ms": "1"}', "duration_ms"),
        ('{"type": "answer", "duration_ms": 1}', "delivery_id"),
        (
            '{"type": "request", "delivery_id": "d", "message_id": "m", "event_type": "e",'
            ' "attempt": 1, "timeout_seconds": 1, "headers": {}, "body": "%%%"}',
            "body",
        ),
        (
            '{"type": "request", "delivery_id": "d", "message_id": "m", "event_type": "e",'
            ' "attempt": 1, "timeout_seconds": 1, "headers": {"a": 1}, "body": ""}',
            "headers",
        ),
    ],
)
def test_a_malformed_frame_names_its_field(text: str, field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        decode(text)
    assert exc.value.field == field


@pytest.mark.parametrize("name", ["", "-dev", "a b", "x" * 64, "é", "a/b"])
def test_a_listener_name_is_a_plain_word(name: str) -> None:
    with pytest.raises(InvalidInput):
        relay_url(name)


def test_a_listener_name_becomes_its_endpoint_url() -> None:
    assert relay_url("laptop-1.dev_x") == "relay://laptop-1.dev_x"
