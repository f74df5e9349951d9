"""close_prefix: the complete parts of a JSON prefix, closed; or where it stops being JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import from_json

from router.validation.prefix_scanner import BrokenPrefix, close_prefix
from router.validation.progressive import _without_trailing_number

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=15,
)


@st.composite
def json_texts(draw: st.DrawFn) -> str:
    """A JSON document in one of the layouts models and encoders produce."""
    value = draw(json_values)
    indent = draw(st.sampled_from([None, 0, 2, "\t"]))
    separators = draw(st.sampled_from([None, (",", ":"), (" , ", " : ")]))
    text = json.dumps(value, indent=indent, separators=separators, ensure_ascii=draw(st.booleans()))
    return draw(st.sampled_from(["", " ", "\n"])) + text + draw(st.sampled_from(["", "\n"]))


@pytest.mark.parametrize(
    ("prefix", "closed"),
    [
        ("", None),
        ("  ", None),
        ("{", "{}"),
        ("[", "[]"),
        ('{"a"', "{}"),
        ('{"a":', "{}"),
        ('{"a": 1', "{}"),  # the number may grow
        ('{"a": 1,', '{"a": 1}'),
        ('{"a": 1 ', '{"a": 1}'),
        ('{"a": tr', "{}"),
        ('{"a": true', '{"a": true}'),
        ('{"a": "x', "{}"),
        ('{"a": "x"', '{"a": "x"}'),
        ('{"a": "\\u00', "{}"),
        ('{"a": [1, {"b": [null, "', '{"a": [1, {"b": [null]}]}'),
        ("[[], {}, [1.5e", "[[], {}, []]"),
        ('"abc', None),
        ('"abc"', '"abc"'),
        ("12", None),
        ("-", None),
    ],
)
def test_closes_what_is_complete(prefix: str, closed: str | None) -> None:
    assert close_prefix(prefix) == closed


def test_a_final_number_is_complete() -> None:
    assert close_prefix('{"a": 12', final=True) == '{"a": 12}'
    assert close_prefix("12", final=True) == "12"


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ('{"a": 1 "b": 2}', 8, "expected ',' or '}'"),
        ("[1, 2]]", 6, "extra data"),
        ('{"a": 1} x', 9, "extra data"),
        ("{a: 1}", 1, "key in double quotes"),
        ('{"a" 1}', 5, "expected ':'"),
        ("[01]", 2, "expected ',' or ']'"),
        ("[1.]", 2, "expected ',' or ']'"),
        ("[NaN]", 1, "expected a JSON value"),
        ("[-Infinity]", 1, "invalid number"),
        ("[trux]", 1, "expected a JSON value"),
        ('["\\x"]', 1, "invalid string"),
        ('["a\nb"]', 1, "invalid string"),
        ("[1,]", 3, "expected a JSON value"),
        ('{"a": 1,}', 8, "key in double quotes"),
        ("\ufeff{}", 0, "expected a JSON value"),
    ],
)
def test_says_where_json_breaks(text: str, position: int, reason: str) -> None:
    with pytest.raises(BrokenPrefix, match=reason) as caught:
        close_prefix(text)
    assert caught.value.position == position


def test_accepts_what_the_standard_decoder_accepts() -> None:
    # A lone surrogate escape decodes with `json` (the Rust parser refuses it).
    assert close_prefix('["\\ud800", 1') == '["\\ud800"]'
    deep = "[" * 300 + "]" * 300
    assert close_prefix(deep, final=True) == deep


@settings(max_examples=150, deadline=None)
@given(json_texts())
def test_every_prefix_of_json_closes_to_json(text: str) -> None:
    for end in range(len(text) + 1):
        closed = close_prefix(text[:end])
        if closed is not None:
            json.loads(closed)
    final = close_prefix(text, final=True)
    assert final is not None
    assert json.loads(final) == json.loads(text)


@settings(max_examples=150, deadline=None)
@given(json_texts())
def test_agrees_with_the_fast_partial_parser(text: str) -> None:
    """The fast path (trailing number dropped, then `from_json` partial) keeps the same parts."""
    for end in range(len(text) + 1):
        prefix = text[:end]
        closed = close_prefix(prefix)
        exact = None if closed is None else json.loads(closed)
        try:
            fast: Any = from_json(_without_trailing_number(prefix), allow_partial=True)
        except ValueError:
            fast = None  # only a top-level scalar cut short
        assert fast == exact, prefix


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet='{}[]",:0123456789.eE+-tfrunl \\ab', max_size=12))
def test_json_texts_close_to_themselves_and_broken_ones_never_decode(text: str) -> None:
    try:
        value = json.loads(text)
    except ValueError:
        value = ...
    try:
        closed = close_prefix(text, final=True)
    except BrokenPrefix:
        assert value is ..., "refused a JSON text"
        for tail in ("", "]", "}", '"', "]}", "}]", '"}', '"]', "0]", "0}", 'e"}', "1"):
            with pytest.raises(json.JSONDecodeError):
                json.loads(text + tail)
        return
    if value is not ...:
        assert closed is not None
        assert json.loads(closed) == value
