"""Our verdicts equal the reference implementation's (`jsonschema`) on the keywords structured
outputs use, including the traps: 1.0 as an integer, true as 1, regex dialects, unicode lengths.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.validation import compile_schema
from router.validation.keywords import native_pattern

DATA = Path(__file__).parent / "data"
INVOICE_SCHEMA = json.loads((DATA / "invoice.schema.json").read_text())
INVOICE = json.loads((DATA / "invoice.json").read_text())

STRINGS = [
    "",
    "a",
    "a\n",
    "\n",
    "abc",
    "é",
    "e\u0301",
    "😀",
    "👨‍👩‍👧",
    "\U0001f1eb\U0001f1f7",
    "١٢٣",
]
NUMBERS = [0, 1, -1, 1.0, 1.5, -0.0, 2**70, 2.0**70, 9007199254740993, 1e308, 0.1, 0.3]
SCALARS: list[Any] = [None, True, False, *NUMBERS, *STRINGS]
CONTAINERS: list[Any] = [[], [1], [True], [1.0, 2], {}, {"a": 1}, {"a": True}, {"k": 1}]

# (name, schema, extra instances beyond the shared scalars and containers)
CORPUS: list[tuple[str, Any, list[Any]]] = [
    ("type integer", {"type": "integer"}, []),
    ("type number", {"type": "number"}, []),
    ("type string", {"type": "string"}, []),
    ("type boolean", {"type": "boolean"}, []),
    ("type null", {"type": "null"}, []),
    ("type union", {"type": ["integer", "null"]}, []),
    (
        "object closed",
        {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
            "required": ["a"],
            "additionalProperties": False,
        },
        [{"a": 1}, {"a": 1.0, "b": "x"}, {"a": 1, "c": 2}, {"b": "x"}, {"a": True}],
    ),
    (
        "additionalProperties schema",
        {"properties": {"a": {}}, "additionalProperties": {"type": "number"}},
        [{"a": "x", "b": 1}, {"b": "1"}, {"b": True}],
    ),
    (
        "enum mixed",
        {"enum": ["a", 1, None, True, [1, 2], {"k": 1}]},
        [[1, 2], [1.0, 2], [True, 2], {"k": 1.0}, {"k": True}, "b", 1.0, 0],
    ),
    ("enum numbers", {"enum": [0, 0.055, 0.1, 0.2]}, [0.0, False, 0.2, 0.21, 2e-1]),
    ("enum strings", {"type": "string", "enum": ["EUR", "USD"]}, ["EUR", "eur", "EUR\n"]),
    ("const number", {"const": 2}, [2, 2.0, True, "2"]),
    ("const false", {"const": False}, [0, False, 0.0]),
    ("const list", {"const": [1, {"a": 0}]}, [[1, {"a": 0}], [True, {"a": 0}], [1, {"a": False}]]),
    ("items", {"type": "array", "items": {"type": "integer"}}, [[1, 2.0], [1, 2.5], [True]]),
    (
        "prefixItems closed",
        {"prefixItems": [{"type": "number"}, {"type": "string"}], "items": False},
        [[1, "a"], [1, "a", None], ["a", 1], [1]],
    ),
    (
        "anyOf nullable",
        {"anyOf": [{"type": "string", "maxLength": 2}, {"type": "null"}]},
        ["ab", "abc", None],
    ),
    (
        "ref and defs",
        {
            "$defs": {
                "Money": {
                    "type": "object",
                    "required": ["amount"],
                    "properties": {"amount": {"type": "number", "minimum": 0}},
                }
            },
            "type": "array",
            "items": {"$ref": "#/$defs/Money"},
        },
        [[{"amount": 1}], [{"amount": -1}], [{}], [{"amount": "1"}]],
    ),
    (
        "recursive tree",
        {
            "$defs": {
                "Node": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "minLength": 1},
                        "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                    },
                    "required": ["name"],
                    "additionalProperties": False,
                }
            },
            "$ref": "#/$defs/Node",
        },
        [
            {"name": "a", "children": [{"name": "b", "children": [{"name": ""}]}]},
            {"name": "a", "children": [{"name": "b", "children": [{"name": "c"}]}]},
            {"name": "a", "children": [{"x": 1}]},
        ],
    ),
    (
        "bounds",
        {"minimum": 9007199254740992, "maximum": 9007199254740992.0},
        [9007199254740993, 9007199254740992, 9007199254740991.0],
    ),
    ("exclusive bounds", {"exclusiveMinimum": 0, "exclusiveMaximum": 2**64}, [2**64, 2**64 - 1]),
    ("maxLength code points", {"maxLength": 1}, []),
    ("minLength code points", {"minLength": 2}, []),
    ("multipleOf float", {"multipleOf": 0.1}, [0.3, 0.2, 0.7, 10**20]),
    ("multipleOf cents", {"multipleOf": 0.01}, [19.99, 0.07, 4.35]),
    ("multipleOf int", {"multipleOf": 3}, [9, 9.0, 2**70, 3 * 2**70, 1.5]),
    ("format unasserted", {"format": "email"}, ["not an email"]),
    ("format date unasserted", {"type": "string", "format": "date"}, ["2026-13-45"]),
    (
        "draft 7 tuple and format",
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "items": [{"type": "integer"}, {"format": "email"}],
            "additionalItems": False,
        },
        [[1, "x"], [1, "x", 2], [1.0]],
    ),
    (
        "draft 7 content keywords are annotations",
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "contentEncoding": "base64",
            "contentMediaType": "application/json",
        },
        ["!!!", "e30="],
    ),
    (
        "draft 7 ref ignores its siblings",
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "definitions": {"A": {"type": "integer"}},
            "properties": {"a": {"$ref": "#/definitions/A", "maximum": 1}},
        },
        [{"a": 5}, {"a": "x"}],
    ),
    (
        "2020-12 ref keeps its siblings",
        {
            "$defs": {"A": {"type": "integer"}},
            "properties": {"a": {"$ref": "#/$defs/A", "maximum": 1}},
        },
        [{"a": 5}, {"a": 1}],
    ),
    (
        "2019-09 tuple items",
        {
            "$schema": "https://json-schema.org/draft/2019-09/schema",
            "items": [{"type": "integer"}],
            "additionalItems": False,
        },
        [[1], [1, 2], ["x"]],
    ),
    (
        "conditionals and counts",
        {
            "if": {"properties": {"k": {"const": "a"}}},
            "then": {"required": ["x"]},
            "else": {"required": ["y"]},
            "minProperties": 1,
        },
        [{"k": "a"}, {"k": "b", "y": 1}, {"k": "a", "x": 0}],
    ),
    ("oneOf", {"oneOf": [{"type": "integer"}, {"type": "number"}]}, [1.5, 1.0]),
    (
        "unevaluatedProperties",
        {
            "unevaluatedProperties": False,
            "properties": {"a": {}},
            "anyOf": [{"properties": {"b": {}}}],
        },
        [{"a": 1, "b": 2}, {"c": 1}],
    ),
    (
        "draft 4 boolean exclusiveMaximum",
        {
            "$schema": "http://json-schema.org/draft-04/schema#",
            "maximum": 5,
            "exclusiveMaximum": True,
        },
        [5, 4.999, 5.0],
    ),
    (
        "uniqueItems",
        {"uniqueItems": True},
        [[1, True], [1, 1.0], [[1], [True]], [{"a": 1}, {"a": 1}]],
    ),
    (
        "propertyNames",
        {"propertyNames": {"pattern": "^[a-z]+$"}},
        [{"abc": 1}, {"abc\n": 1}, {"a1": 1}],
    ),
    (
        "anchor ref keeps every keyword faithful",
        {
            "$defs": {"P": {"$anchor": "price", "enum": [0.1, 0.2], "pattern": "^a$"}},
            "items": {"$ref": "#price"},
        },
        [[0.1, 0.2], [0.3], [True], ["a\n"]],
    ),
]

# Patterns on which Python's `re` (the reference) and ECMA-262 or Rust regex disagree.
PATTERN_TRAPS: list[tuple[str, list[str]]] = [
    ("^a$", ["a", "a\n", "a\n\n", "\na"]),
    ("^[A-Z]{2}$", ["FR", "FR\n", "FRA"]),
    ("^$", ["", "\n"]),
    ("a|b$", ["b\n", "a\n", "c"]),
    (r"^\d+$", ["123", "١٢٣", "12a"]),
    (r"^\w+$", ["abc", "été", "a-b"]),
    (r"^\s$", [" ", "\u00a0", "\u2028", "\x1c", "\x85"]),
    ("^.$", ["a", "\r", "\n", "\u2028", "😀"]),
    (r"\bé", ["xé", "é"]),
    ("(?i)k", ["K", "\u212a"]),
    ("(?i)straße", ["STRASSE", "STRAßE"]),
    (r"^a\Z", ["a", "a\n"]),
    ("^a{,3}$", ["", "aaa", "aaaa", "a{,3}"]),
    ("a{,3}", ["a{,3}", "b"]),
    ("^[[:alpha:]]+$", ["abc", "[:a]", ":"]),
    ("^[a-z&&[^b]]+$", ["ac", "b", "&"]),
    ("^[a-z--b]$", ["-", "b"]),
    ("^[^]a]$", ["b", "]", "a"]),
    ("^a++$", ["aa", "a"]),
    ("^(?P<x>a)(?P=x)$", ["aa", "ab"]),
    ("(?<=a)b", ["ab", "cb"]),
    (r"^\$\d", ["$1", "$x"]),
    (r"^[\-\]a]+$", ["-]a", "b"]),
    ("x}", ["x}", "x"]),
    ("^ab]", ["ab]", "ab"]),
    (r"^\u00e9$", ["é", "e\u0301"]),
    (r"^[^\n]*$", ["abc", "ab\n", "a\nb"]),
    ("^(a|b)+?$", ["abab", "abc", "ab\n"]),
]


def _reference(schema: Any) -> Any:
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema)


def _reference_valid(schema: Any, instance: Any) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return bool(_reference(schema).is_valid(instance))


def _assert_same_verdict(schema: Any, instance: Any) -> None:
    ours = compile_schema(schema)
    expected = _reference_valid(schema, instance)
    assert ours.is_valid(instance) is expected, (schema, instance)
    assert (ours.issues(instance) == []) is expected, (schema, instance)


@pytest.mark.parametrize(("name", "schema", "extra"), CORPUS, ids=[c[0] for c in CORPUS])
def test_corpus_verdicts_match_the_reference(name: str, schema: Any, extra: list[Any]) -> None:
    assert compile_schema(schema).engine == "jsonschema-rs"
    for instance in [*SCALARS, *CONTAINERS, *extra]:
        _assert_same_verdict(schema, instance)


@pytest.mark.parametrize(("pattern", "instances"), PATTERN_TRAPS, ids=[p for p, _ in PATTERN_TRAPS])
def test_pattern_traps_follow_pythons_re(pattern: str, instances: list[str]) -> None:
    schema = {"type": "string", "pattern": pattern}
    for instance in instances:
        _assert_same_verdict(schema, instance)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            expected = re.search(pattern, instance) is not None
        assert compile_schema(schema).is_valid(instance) is expected


def test_the_traps_really_are_traps() -> None:
    """The raw fast engine disagrees with the reference on these: the care above is needed."""
    import jsonschema_rs

    raw = jsonschema_rs.validator_for
    assert raw({"pattern": "^a$"}).is_valid("a\n") is False
    assert raw({"pattern": r"^\d$"}).is_valid("٣") is False
    assert raw({"pattern": "^.$"}).is_valid("\r") is False
    assert raw({"multipleOf": 0.1}).is_valid(0.3) is True
    with pytest.raises(jsonschema_rs.ValidationError):
        raw({"pattern": "a{,3}"})
    for pattern, instance in [("^a$", "a\n"), (r"^\d$", "٣"), ("^.$", "\r")]:
        assert _reference_valid({"pattern": pattern}, instance) is True
    assert _reference_valid({"multipleOf": 0.1}, 0.3) is False


def test_common_patterns_stay_native_and_risky_ones_do_not() -> None:
    assert native_pattern("^[A-Z]{3}-[0-9]{4}$") == "^[A-Z]{3}-[0-9]{4}\\n?$"
    assert native_pattern("^INV-(?:[0-9]{4})+?[a-z]*") == "^INV-(?:[0-9]{4})+?[a-z]*"
    for risky in [
        r"^\d+$",
        r"^\w",
        "^.$",
        "(?i)k",
        r"a\Z",
        "a{,3}",
        "[[:alpha:]]",
        "[a&&b]",
        "[^]a]",
        "a++",
        "(?<=a)b",
        "a$b",
        "x}",
        "ab]",
        r"\u00e9",
        r"[^\n]",
    ]:
        assert native_pattern(risky) is None, risky


# --- generated documents -----------------------------------------------------------------

JSON_TEXT = st.text(alphabet=st.sampled_from(list("aZ0-_ \n\ré😀€$")), max_size=12)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(NUMBERS)
    | JSON_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(JSON_TEXT, inner, max_size=4),
    max_leaves=12,
)


def _leaf_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [prefix] + [p for k, v in node.items() for p in _leaf_paths(v, (*prefix, k))]
    if isinstance(node, list):
        return [prefix] + [p for i, v in enumerate(node) for p in _leaf_paths(v, (*prefix, i))]
    return [prefix]


INVOICE_PATHS = [p for p in _leaf_paths(INVOICE) if p]


@st.composite
def mutated_invoices(draw: st.DrawFn) -> Any:
    document = json.loads(json.dumps(INVOICE))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(INVOICE_PATHS))
        parent = document
        try:
            for part in path[:-1]:
                parent = parent[part]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(JSON_VALUES)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed the way there
    return document


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_invoices())
def test_generated_invoices_match_the_reference(document: Any) -> None:
    _assert_same_verdict(INVOICE_SCHEMA, document)


@settings(max_examples=100, deadline=None)
@given(JSON_VALUES, st.sampled_from(CORPUS))
def test_generated_values_match_the_reference(document: Any, case: tuple[str, Any, Any]) -> None:
    _assert_same_verdict(case[1], document)


# --- generated patterns from the natively-run subset --------------------------------------

_ATOMS = st.sampled_from(
    [
        "a",
        "b",
        "0",
        "-",
        " ",
        "é",
        "😀",
        r"\.",
        r"\-",
        r"\$",
        r"\\",
        "[a-z]",
        "[^a]",
        "[0-9A-Z]",
        r"[\-a]",
        r"[a\]]",
        "[é😀]",
    ]
)
_QUANTIFIERS = st.sampled_from(["", "", "?", "*", "+", "{2}", "{1,3}", "{2,}", "*?", "+?", "??"])


def _sequence(atoms: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    quantified = st.tuples(atoms, _QUANTIFIERS).map("".join)
    return st.lists(quantified, min_size=1, max_size=4).map("".join)


_GROUPED = st.recursive(
    _ATOMS,
    lambda inner: st.tuples(
        st.sampled_from(["(", "(?:"]),
        st.lists(_sequence(inner), min_size=1, max_size=2).map("|".join),
    ).map(lambda parts: parts[0] + parts[1] + ")"),
    max_leaves=4,
)
SAFE_PATTERNS = st.tuples(
    st.sampled_from(["", "^"]),
    st.lists(_sequence(_GROUPED), min_size=1, max_size=2).map("|".join),
    st.sampled_from(["", "$"]),
).map("".join)
SUBJECTS = st.text(alphabet=st.sampled_from(list("ab0- .é😀$\\]\n\r")), max_size=10)


@settings(max_examples=200, deadline=None)
@given(SAFE_PATTERNS, st.lists(SUBJECTS, min_size=1, max_size=5))
def test_natively_run_patterns_judge_like_pythons_re(pattern: str, subjects: list[str]) -> None:
    assert native_pattern(pattern) is not None, pattern
    validator = compile_schema({"pattern": pattern})
    for subject in [*subjects, *(s + "\n" for s in subjects)]:
        expected = re.search(pattern, subject) is not None
        assert validator.is_valid(subject) is expected, (pattern, subject)


# --- generated schemas ---------------------------------------------------------------------

_LEAF_KEYWORDS = st.one_of(
    st.tuples(
        st.just("type"),
        st.sampled_from(["integer", "number", "string", "array", "object", "boolean", "null"]),
    ),
    st.tuples(st.just("enum"), st.lists(JSON_VALUES, min_size=1, max_size=3)),
    st.tuples(st.just("const"), JSON_VALUES),
    st.tuples(
        st.sampled_from(["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]),
        st.sampled_from(NUMBERS),
    ),
    st.tuples(
        st.sampled_from(["minLength", "maxLength", "minItems", "maxItems", "minProperties"]),
        st.integers(min_value=0, max_value=2),
    ),
    st.tuples(
        st.just("pattern"),
        st.sampled_from(["^a", "a$", "^[a-z]+$", r"\d", "^.$", "b|^$", "^(a|b)*$", r"^\w+$"]),
    ),
    st.tuples(st.just("multipleOf"), st.sampled_from([0.5, 2, 0.1, 3, 1.5])),
    st.tuples(
        st.just("required"), st.lists(st.sampled_from(["a", "b", "c"]), max_size=2, unique=True)
    ),
    st.tuples(st.just("uniqueItems"), st.booleans()),
)


def _with_subschemas(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    keyed = st.one_of(
        st.tuples(st.sampled_from(["items", "not", "additionalProperties", "contains"]), inner),
        st.tuples(
            st.sampled_from(["anyOf", "allOf", "oneOf", "prefixItems"]),
            st.lists(inner, min_size=1, max_size=3),
        ),
        st.tuples(
            st.just("properties"),
            st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=2),
        ),
        _LEAF_KEYWORDS,
    )
    return st.lists(keyed, min_size=1, max_size=3).map(dict) | st.booleans()


GENERATED_SCHEMAS = st.recursive(
    st.lists(_LEAF_KEYWORDS, min_size=1, max_size=3).map(dict), _with_subschemas, max_leaves=6
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(GENERATED_SCHEMAS, st.lists(JSON_VALUES, min_size=1, max_size=5))
def test_generated_schemas_match_the_reference(schema: Any, documents: list[Any]) -> None:
    for document in documents:
        _assert_same_verdict(schema, document)
