"""The orjson fast path of ledger.canonical writes exactly what the ``rfc8785`` reference writes."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import canonical_hash, canonical_json, orjson_writes_it_canonically
from ledger.errors import CanonicalJSONError

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(min_value=1e-6, max_value=1e16)
    | st.integers(min_value=-(2**53), max_value=2**53).map(float)
    | st.text()
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5)
    ),
    max_leaves=30,
)


def reference(value: Any) -> bytes | type[Exception]:
    try:
        return rfc8785.dumps(value)
    except Exception as error:
        return type(error)


@settings(max_examples=400, deadline=None)
@given(JSON_VALUES)
def test_same_bytes_as_the_reference(value: Any) -> None:
    expected = reference(value)
    if isinstance(expected, bytes):
        assert canonical_json(value) == expected
        assert canonical_hash(value) == hashlib.sha256(expected).hexdigest()
    else:  # what the reference refuses is refused, naming the member
        with pytest.raises(CanonicalJSONError, match=r"^\$"):
            canonical_json(value)


@pytest.mark.parametrize(
    ("value", "fast"),
    [
        ({"a": [1, "x", None, True, {"b": -(2**53 - 1)}]}, True),
        ({"quantity": 2.0, "share": 0.25, "price": 19.99}, True),
        ({"n": 2**52 * 3.0}, False),
        ({"tiny": 4.4e-6}, False),
        ({"huge": 1.5e300}, False),
        ({"zero": -0.0}, True),
        ({"\U0001f600": 1, "\ue000": 2}, False),
        ({"é": "\u2028\x00\x7f"}, True),
    ],
)
def test_fast_path_only_where_it_is_exact(value: Any, fast: bool) -> None:
    assert orjson_writes_it_canonically(value) is fast
    assert canonical_json(value) == rfc8785.dumps(value)


def test_integers_beyond_the_safe_range_are_refused_like_the_reference() -> None:
    assert not orjson_writes_it_canonically({"n": 2**53})
    with pytest.raises(rfc8785.IntegerDomainError):
        rfc8785.dumps({"n": 2**53})
    with pytest.raises(CanonicalJSONError, match=r"\$\.n: integer"):
        canonical_json({"n": 2**53})
