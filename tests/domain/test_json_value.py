"""The free-JSON rule: its quick check and the walk that names where always agree."""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import given

from hookwise.domain import json_value
from hookwise.domain.json_value import MAX_DEPTH, JsonValueError

_TEXT = st.text(max_size=4) | st.sampled_from(["\ud800", "a\udfffb", "é"])
_SCALAR = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**65), max_value=2**65)
    | st.floats()
    | _TEXT
)
_JSON = st.recursive(
    _SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=10,
)


def _nest(value: Any, depth: int) -> Any:
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


def _walk_says(value: Any) -> bool:
    try:
        json_value._check(value, 0)
    except JsonValueError:
        return False
    return True


@given(value=_JSON, depth=st.sampled_from([0, 1, MAX_DEPTH - 2, MAX_DEPTH - 1, MAX_DEPTH]))
def test_the_quick_check_agrees_with_the_walk(value: Any, depth: int) -> None:
    nested = _nest(value, depth)
    assert json_value._fine(nested) == _walk_says(nested)


@pytest.mark.parametrize(
    ("value", "where", "kind"),
    [
        ({"a": [1, {"b": 2**63}]}, "a[1].b", "number"),
        ([float("inf")], "[0]", "number"),
        ({"a": {"\ud800": 1}}, "a.\\ud800", "surrogate"),  # shown escaped
        (_nest(1, MAX_DEPTH + 1), ".".join(["k[0]"] * (MAX_DEPTH // 2)), "depth"),
    ],
)
def test_the_error_names_where(value: Any, where: str, kind: str) -> None:
    with pytest.raises(JsonValueError) as caught:
        json_value.check(value)
    assert (caught.value.where, caught.value.kind) == (where, kind)


def test_the_edges_are_kept() -> None:
    json_value.check({"min": -(2**63), "max": 2**63 - 1, "deep": _nest(1, MAX_DEPTH - 1)})
    json_value.check(_nest(1, MAX_DEPTH))
    with pytest.raises(JsonValueError):
        json_value.check(_nest(1, MAX_DEPTH + 1))
