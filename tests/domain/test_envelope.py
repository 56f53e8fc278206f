"""The envelope and the payload cut out of it: what a ``raw`` endpoint is sent."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from hookwise.domain.envelope import envelope, payload_of, sent_body

_json: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
_names = st.from_regex(r"[a-zA-Z0-9_-]{1,20}(\.[a-zA-Z0-9_-]{1,20}){0,3}", fullmatch=True)


@given(payload=_json, event=_names)
def test_the_payload_cut_out_is_the_payload_as_json(payload: Any, event: str) -> None:
    body = envelope(event, "msg_2bGxLr8Yk1", "2026-05-12T14:30:00.000Z", payload)
    raw = payload_of(body)
    assert raw == orjson.dumps(payload)
    assert sent_body(body, "raw") == (raw, "raw")
    assert sent_body(body, "envelope") == (body, None)


def test_the_payload_keeps_text_that_looks_like_the_envelope() -> None:
    payload = {"data": '","data":{}}', "event": 'x","id":"y'}
    body = envelope("email.replied", "msg_1", "2026-05-12T14:30:00.000Z", payload)
    assert orjson.loads(payload_of(body) or b"") == payload


def test_a_body_that_is_no_envelope_is_sent_as_stored() -> None:
    job_event = orjson.dumps({"event": "job.completed", "job_id": "j1", "data": {}})
    for body in (job_event, b"[]", b'{"event":"a","data":1}', b""):
        assert payload_of(body) is None
        assert sent_body(body, "raw") == (body, None)
