"""RFC 8785 canonical JSON: known values and refusals that name the member."""

from __future__ import annotations

import json
import math
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import canonical_json
from ledger.errors import CanonicalJSONError


def test_canonical_json_rfc8785_examples() -> None:
    # RFC 8785 §3.2.2/3.2.3: sorted keys (UTF-16 order), no whitespace, ES6 numbers.
    assert canonical_json({"b": 1, "a": [True, None, 1.0, 1e21, "€"]}) == (
        '{"a":[true,null,1,1e+21,"€"],"b":1}'.encode()
    )
    assert canonical_json({"\u20ac": 1, "\r": 2, "1": 3}) == '{"\\r":2,"1":3,"€":1}'.encode()
    assert canonical_json((1, 2)) == b"[1,2]"


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"a": math.nan}, r"\$.a: nan"),
        ({"a": [1, math.inf]}, r"\$.a\[1\]"),
        ({"price": Decimal("1.10")}, r"\$.price: Decimal"),
        ({"at": datetime(2024, 1, 1)}, r"\$.at: datetime"),
        ({"raw": b"x"}, r"\$.raw: bytes"),
        ({1: "x"}, "object key 1 is a int"),
        ({"n": 2**53}, r"\$.n: integer 9007199254740992"),
        ({"s": "\ud800"}, r"\$.s: string is not valid Unicode"),
        ({"tags": {"a", "b"}}, r"\$.tags: set"),
    ],
)
def test_canonical_json_refuses_what_json_cannot_say(value: object, where: str) -> None:
    with pytest.raises(CanonicalJSONError, match=where):
        canonical_json(value)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(value=json_values)
def test_canonical_json_parses_back_and_ignores_key_order(value: object) -> None:
    data = canonical_json(value)
    # RFC 8785 numbers are IEEE doubles: 1.3e16 is written 13000000000000000.
    parsed = json.loads(data, parse_int=float)
    assert parsed == value
    assert canonical_json(parsed) == data
    if isinstance(value, dict):
        assert canonical_json(dict(reversed(list(value.items())))) == data


def test_other_mappings_and_sequences_are_accepted() -> None:
    assert canonical_json(MappingProxyType({"b": (1, 2), "a": "x"})) == b'{"a":"x","b":[1,2]}'


_keys = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(value=_json)
def test_the_orjson_path_equals_the_rfc8785_reference(value: object) -> None:
    import rfc8785

    assert canonical_json(value) == rfc8785.dumps(value)


def test_values_the_fast_path_leaves_to_the_reference() -> None:
    import rfc8785

    for value in [
        {"x": 1.5, "y": [0.1, 1e21, -0.0]},  # floats: ECMAScript formatting
        {"\U0001f600": 1, "\uffff": 2},  # a key beyond the BMP: UTF-16 order
        {"a": (1, 2)},  # a tuple
        {"c": '\x00\x1f\x7f\u2028\u2029"\\/'},  # escapes (the fast path)
    ]:
        assert canonical_json(value) == rfc8785.dumps(value)
    assert canonical_json({"\U0001f600": 1, "\uffff": 2}) == '{"😀":1,"\uffff":2}'.encode()
