"""ProgressiveChecker: stop a streamed answer once it cannot be valid, and never before."""

from __future__ import annotations

import itertools
import json
import math
import re
from typing import Any

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from router.errors import InvalidSchema, ValidationFailed
from router.validation import AnswerSpec, compile_schema
from router.validation.prefix_schema import prefix_validator
from router.validation.progressive import (
    DEFAULT_GROWTH,
    ProgressiveChecker,
    checker_for_answer,
    progressive_checker,
)

# --- a realistic schema: an order, as a structured-output answer --------------------------

ORDER_SCHEMA: dict[str, Any] = {
    "$defs": {
        "Money": {
            "type": "object",
            "properties": {
                "amount": {"type": "number", "minimum": 0},
                "currency": {"type": "string", "enum": ["EUR", "USD", "GBP"]},
            },
            "required": ["amount", "currency"],
            "additionalProperties": False,
        },
        "Address": {
            "type": "object",
            "properties": {
                "street": {"type": "string", "minLength": 1},
                "city": {"type": "string"},
                "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
            },
            "required": ["street", "city", "country"],
            "additionalProperties": False,
        },
        "LineItem": {
            "type": "object",
            "properties": {
                "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"},
                "quantity": {"type": "integer", "minimum": 1},
                "price": {"$ref": "#/$defs/Money"},
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
                "gift": {"type": "boolean"},
            },
            "required": ["sku", "quantity", "price", "tags"],
            "additionalProperties": False,
        },
    },
    "type": "object",
    "properties": {
        "schema_version": {"const": 2},
        "status": {"type": "string", "enum": ["pending", "shipped", "delivered"]},
        "customer": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "email": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                "address": {"$ref": "#/$defs/Address"},
            },
            "required": ["name", "email", "address"],
            "additionalProperties": False,
        },
        "items": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/LineItem"}},
        "payment": {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {
                        "method": {"const": "card"},
                        "last4": {"type": "string", "pattern": "^[0-9]{4}$"},
                    },
                    "required": ["method", "last4"],
                    "additionalProperties": False,
                },
                {
                    "type": "object",
                    "properties": {
                        "method": {"const": "bank_transfer"},
                        "iban": {"type": "string"},
                    },
                    "required": ["method", "iban"],
                    "additionalProperties": False,
                },
            ]
        },
        "location": {
            "type": "array",
            "prefixItems": [
                {"type": "number", "minimum": -90, "maximum": 90},
                {"type": "number", "minimum": -180, "maximum": 180},
            ],
            "items": False,
        },
        "notes": {"type": ["string", "null"], "maxLength": 200},
    },
    "required": ["schema_version", "status", "customer", "items", "payment", "notes"],
    "additionalProperties": False,
}

ORDER = {
    "schema_version": 2,
    "status": "shipped",
    "customer": {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "address": {"street": "12 Analytical Row", "city": "London", "country": "GB"},
    },
    "items": [
        {
            "sku": "GEA-0001",
            "quantity": 2,
            "price": {"amount": 12.5, "currency": "GBP"},
            "tags": ["brass"],
        },
        {
            "sku": "CAM-0420",
            "quantity": 1,
            "price": {"amount": 80, "currency": "GBP"},
            "tags": ["steel", "spare"],
            "gift": True,
        },
    ],
    "payment": {"method": "card", "last4": "4242"},
    "location": [51.5, -0.12],
    "notes": "Leave at the door.",
}

words = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
skus = st.from_regex(r"\A[A-Z]{3}-[0-9]{4}\Z")
money = st.fixed_dictionaries(
    {
        "amount": st.integers(0, 10**6) | st.floats(0, 1e6, allow_nan=False),
        "currency": st.sampled_from(["EUR", "USD", "GBP"]),
    }
)
line_items = st.fixed_dictionaries(
    {
        "sku": skus,
        "quantity": st.integers(1, 10**4),
        "price": money,
        "tags": st.lists(words, max_size=3),
    },
    optional={"gift": st.booleans()},
)
orders = st.fixed_dictionaries(
    {
        "schema_version": st.just(2),
        "status": st.sampled_from(["pending", "shipped", "delivered"]),
        "customer": st.fixed_dictionaries(
            {
                "name": words,
                "email": st.none() | words,
                "address": st.fixed_dictionaries(
                    {
                        "street": words.filter(bool),
                        "city": words,
                        "country": st.from_regex(r"\A[A-Z]{2}\Z"),
                    }
                ),
            }
        ),
        "items": st.lists(line_items, min_size=1, max_size=4),
        "payment": st.fixed_dictionaries(
            {"method": st.just("card"), "last4": st.from_regex(r"\A[0-9]{4}\Z")}
        )
        | st.fixed_dictionaries({"method": st.just("bank_transfer"), "iban": words}),
        "notes": st.none() | st.text(max_size=40),
    },
    optional={
        "location": st.tuples(
            st.floats(-90, 90, allow_nan=False), st.floats(-180, 180, allow_nan=False)
        ).map(list)
    },
)


@st.composite
def layouts(draw: st.DrawFn, value: Any) -> str:
    """`value` as JSON, laid out as one of the ways models and encoders write it."""
    text = json.dumps(
        value,
        indent=draw(st.sampled_from([None, 2, "\t"])),
        separators=draw(st.sampled_from([None, (",", ":")])),
        ensure_ascii=draw(st.booleans()),
    )
    return draw(st.sampled_from(["", "\n"])) + text + draw(st.sampled_from(["", "\n"]))


@st.composite
def splits(draw: st.DrawFn, text: str) -> list[str]:
    """`text` cut into deltas at random points (some of them empty)."""
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=len(text) // 2 + 1)))
    bounds = [0, *cuts, len(text)]
    return [text[start:end] for start, end in itertools.pairwise(bounds)]


def feed_all(checker: ProgressiveChecker, deltas: list[str]) -> None:
    for delta in deltas:
        checker.feed(delta)
    checker.close()


def eager(schema: Any) -> ProgressiveChecker:
    """A checker that judges the answer after every delta: every prefix is examined."""
    return ProgressiveChecker(schema, min_step=1, growth=0)


class Fed:
    """How many characters a checker had been given, kept while it is fed."""

    def __init__(self) -> None:
        self.before = 0  # before the delta being fed
        self.after = 0  # once it is fed


def feed_counting(checker: ProgressiveChecker, deltas: list[str], fed: Fed) -> None:
    for delta in deltas:
        fed.before, fed.after = fed.after, fed.after + len(delta)
        checker.feed(delta)
    checker.close()


def raised_at(
    checker: ProgressiveChecker, text: str, step: int = 1
) -> tuple[int, ValidationFailed]:
    """Feed `text` in `step`-character deltas; return how much had been fed when it raised."""
    deltas = [text[start : start + step] for start in range(0, len(text), step)]
    with pytest.raises(ValidationFailed) as caught:
        feed_all(checker, deltas)
    assert caught.value.raw is not None
    return len(caught.value.raw), caught.value


# --- never a false alarm ---------------------------------------------------------------------


def test_the_realistic_schema_and_example_agree() -> None:
    assert compile_schema(ORDER_SCHEMA).is_valid(ORDER)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_valid_answers_pass_every_prefix(data: st.DataObject) -> None:
    order = data.draw(orders)
    assert compile_schema(ORDER_SCHEMA).is_valid(order)
    text = data.draw(layouts(order))
    feed_all(eager(ORDER_SCHEMA), data.draw(splits(text)))


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_valid_answers_pass_on_the_default_schedule(data: st.DataObject) -> None:
    order = data.draw(orders)
    text = data.draw(layouts(order))
    feed_all(ProgressiveChecker(ORDER_SCHEMA, min_step=16), data.draw(splits(text)))


# Random documents, each with a random schema it satisfies: every keyword the prefix schema
# rewrites (required, minItems, uniqueItems, not, oneOf, if/then/else, enum of objects, ...).

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(-1e6, 1e6, allow_nan=False)
    | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=12,
)


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _derived(draw: st.DrawFn, value: Any, defs: dict[str, Any]) -> Any:
    """A schema `value` satisfies, with a random choice of keywords."""
    schema: dict[str, Any] = {}
    flip = draw(st.lists(st.booleans(), min_size=12, max_size=12))
    if flip[0]:
        schema["type"] = _type_of(value)
    if flip[1] and not flip[2]:
        schema["enum"] = [value, *draw(st.lists(json_values, max_size=2))]
    if flip[2] and flip[3] and flip[4]:
        schema["const"] = value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if flip[3]:
            schema["minimum"] = math.floor(value)
        if flip[4]:
            schema["maximum"] = math.ceil(value)
    elif isinstance(value, str):
        if flip[3]:
            schema["maxLength"] = len(value)
        if flip[4]:
            schema["minLength"] = len(value)
        if flip[5]:
            schema["pattern"] = "^" + re.escape(value) + r"\Z"
    elif isinstance(value, list):
        if value and flip[3]:
            schema["prefixItems"] = [_derived(draw, item, defs) for item in value]
            schema["items"] = False
        elif value:
            schema["items"] = {"anyOf": [_derived(draw, item, defs) for item in value]}
        if flip[4]:
            schema["minItems"] = len(value)
            schema["maxItems"] = len(value)
        if flip[5] and len({json.dumps(item, sort_keys=True) for item in value}) == len(value):
            schema["uniqueItems"] = True
        if value and flip[6]:
            schema["contains"] = _derived(draw, value[-1], defs)
            schema["minContains"] = 1
        if value and flip[7]:
            schema["not"] = {"maxItems": len(value) - 1}
    elif isinstance(value, dict):
        if flip[3] or flip[4]:
            schema["properties"] = {key: _derived(draw, item, defs) for key, item in value.items()}
            if flip[4]:
                schema["additionalProperties"] = False
        schema["required"] = sorted(draw(st.sets(st.sampled_from(sorted(value))))) if value else []
        if flip[5]:
            schema["minProperties"] = len(value)
            schema["maxProperties"] = len(value)
        if value and flip[6]:
            schema["not"] = {"maxProperties": len(value) - 1}
            first = next(iter(value))
            schema["dependentRequired"] = {first: sorted(value)}
        if value and flip[7]:
            key = draw(st.sampled_from(sorted(value)))
            schema["if"] = {"required": [key]}
            schema["then"] = {"required": sorted(value)}
            schema["else"] = False
    if flip[8]:
        schema = {"oneOf": [schema, False]}
    if flip[9]:
        schema = {"anyOf": [{"type": "string", "maxLength": 0}, schema]}
    if flip[10]:
        name = f"d{len(defs)}"
        defs[name] = schema
        schema = {"$ref": f"#/$defs/{name}"}
    return schema


@st.composite
def documents_and_schemas(draw: st.DrawFn) -> tuple[Any, dict[str, Any]]:
    value = draw(json_values)
    defs: dict[str, Any] = {}
    root = _derived(draw, value, defs)
    schema = {"$defs": defs, "allOf": [root]}
    assume(compile_schema(schema).is_valid(value))
    return value, schema


@settings(max_examples=80, deadline=None)  # compiling each random schema dominates the time
@given(st.data())
def test_no_prefix_of_a_valid_document_is_rejected(data: st.DataObject) -> None:
    value, schema = data.draw(documents_and_schemas())
    text = data.draw(layouts(value))
    feed_all(eager(schema), data.draw(splits(text)))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_raises_by_close_exactly_when_the_whole_document_breaks_the_prefix_rules(
    data: st.DataObject,
) -> None:
    """A schema derived from another document: often broken; caught by the end at the latest."""
    _, schema = data.draw(documents_and_schemas())
    value = data.draw(json_values)
    doomed = not prefix_validator(schema).is_valid(value)
    event(f"doomed: {doomed}")
    text = data.draw(layouts(value))
    for checker in (eager(schema), ProgressiveChecker(schema, min_step=8)):
        deltas = data.draw(splits(text))
        if doomed:
            with pytest.raises(ValidationFailed):
                feed_all(checker, deltas)
        else:
            feed_all(checker, deltas)


@pytest.mark.parametrize(
    ("schema", "text"),
    [
        # A half-built item may equal an earlier one: uniqueItems waits for the end.
        ({"uniqueItems": True}, '[{"a": 1}, {"a": 1, "b": 2}]'),
        # A part of the array is short enough for the `not` branch: `not` waits.
        ({"not": {"maxItems": 1}}, "[1, 2]"),
        # A part of the object fits both branches: oneOf is judged as anyOf.
        (
            {"oneOf": [{"required": ["b"]}, {"properties": {"b": False}}]},
            '{"a": 1, "b": 2}',
        ),
        # Before `kind` arrives, `if` does not hold, yet `then` is the branch that applies.
        (
            {
                "if": {"required": ["kind"]},
                "then": {"properties": {"x": {"type": "integer"}}},
                "else": False,
            },
            '{"x": 1, "kind": "point"}',
        ),
        # A part of an enumerated object is not equal to it.
        ({"enum": [{"a": 1, "b": [2, 3]}]}, '{"a": 1, "b": [2, 3]}'),
        ({"const": [[1, 2], [3]]}, "[[1, 2], [3]]"),
        # `12` may still become `123`: a number at the end of a prefix is not judged yet.
        ({"properties": {"q": {"minimum": 100}}}, '{"q": 123}'),
        ({"properties": {"q": {"maximum": 1}}}, '{"q": 1e-3}'),
        ({"type": "integer", "minimum": 10}, "10"),
        # A lone surrogate escape decodes with the standard decoder: no syntax alarm.
        ({"properties": {"s": {"type": "string"}}}, '{"s": "\\ud800", "n": 1}'),
        # Deeper than the fast parser goes.
        ({"type": "array"}, "[" * 300 + "]" * 300),
        # An answer that starts with whitespace.
        (ORDER_SCHEMA, "\n  " + json.dumps(ORDER)),
    ],
)
def test_parts_that_look_wrong_but_can_still_end_well(schema: Any, text: str) -> None:
    assert compile_schema(schema).is_valid(json.loads(text))
    feed_all(eager(schema), list(text))


def test_a_keyword_it_cannot_see_into_leaves_only_the_syntax_checked() -> None:
    # `x-shapes` might hold subschemas a `$ref` points into; the rewrite cannot know.
    schema = {
        "x-shapes": {"point": {"required": ["x", "y"]}},
        "properties": {"a": {"type": "integer"}},
    }
    feed_all(eager(schema), ['{"a": "not a number"', "}"])
    at, error = raised_at(eager(schema), '{"a": 1 2}')
    assert error.issues[0].keyword == "json"
    assert at <= len('{"a": 1 2}')


# --- caught as soon as it is certain ---------------------------------------------------------

BROKEN_ANSWERS = [
    # (description, replacement in ORDER's compact text, completes at, path, keyword)
    ("wrong type", ('"quantity": 2', '"quantity": "two"'), '"two"', "$.items[0].quantity", "type"),
    ("outside an enum", ('"shipped"', '"lost"'), '"lost"', "$.status", "enum"),
    (
        "not the const",
        ('"schema_version": 2', '"schema_version": 3'),
        "3,",
        "$.schema_version",
        "const",
    ),
    (
        "unknown key",
        ('"gift": true', '"gift": true, "discount": 5'),
        '"discount": 5}',
        "$.items[1]",
        "additionalProperties",
    ),
    ("cannot match", ('"GEA-0001"', '"gear"'), '"gear"', "$.items[0].sku", "pattern"),
    (
        "wrong item type",
        ('"tags": ["brass"]', '"tags": ["brass", 7]'),
        "7]",
        "$.items[0].tags[1]",
        "type",
    ),
    (
        "too many items",
        ('["steel", "spare"]', '["steel", "spare", "a", "b"]'),
        '"b"',
        "$.items[1].tags",
        "maxItems",
    ),
    (
        "below the minimum",
        ('"quantity": 1', '"quantity": 0'),
        "0,",
        "$.items[1].quantity",
        "minimum",
    ),
    (
        "nested unknown key",
        ('"city": "London"', '"city": "London", "zip": "N1"'),
        '"N1"',
        "$.customer.address",
        "additionalProperties",
    ),
    ("no branch fits", ('"last4": "4242"', '"iban": "GB00"'), '"GB00"', "$.payment", "anyOf"),
    (
        "item past prefixItems",
        ("[51.5, -0.12]", "[51.5, -0.12, 3]"),
        "3]",
        "$.location[2]",
        "items",
    ),
    ("too long", ('"Leave at the door."', json.dumps("x" * 201)), 'x"', "$.notes", "maxLength"),
    ("not JSON", ('"quantity": 2', '"quantity": 2 3'), " 3", "$", "json"),
    ("NaN", ('"amount": 80', '"amount": NaN'), " N", "$", "json"),
]


#: Runs a test once per broken answer, with its replacement, where it completes, path, keyword.
over_broken_answers = pytest.mark.parametrize(
    ("replace", "completes", "path", "keyword"),
    [case[1:] for case in BROKEN_ANSWERS],
    ids=[case[0] for case in BROKEN_ANSWERS],
)


def _broken(replace: tuple[str, str], completes: str) -> tuple[str, int]:
    """ORDER's text with one change, and the offset at which the change becomes certain."""
    text = json.dumps(ORDER)
    old, new = replace
    start = text.index(old)
    broken = text[:start] + new + text[start + len(old) :]
    return broken, broken.index(completes, start) + len(completes)


@over_broken_answers
def test_caught_when_the_offending_value_completes(
    replace: tuple[str, str], completes: str, path: str, keyword: str
) -> None:
    text, certain_at = _broken(replace, completes)
    at, error = raised_at(eager(ORDER_SCHEMA), text)
    assert at == certain_at
    assert error.raw == text[:at]
    assert [(issue.path, issue.keyword) for issue in error.issues] == [(path, keyword)]
    assert path in str(error)


@over_broken_answers
def test_caught_soon_on_the_default_schedule(
    replace: tuple[str, str], completes: str, path: str, keyword: str
) -> None:
    text, certain_at = _broken(replace, completes)
    at, error = raised_at(ProgressiveChecker(ORDER_SCHEMA), text, step=5)
    # By the first check once the text is 2.25 times as long (or 256 characters longer); a
    # syntax error, which the fast parser passes over quietly, by the check after that.
    bound = certain_at
    for _ in range(2 if keyword == "json" else 1):
        bound = max(bound + 256, math.ceil((1 + DEFAULT_GROWTH) * bound))
    assert certain_at <= at <= bound + 5  # + the 5-character delta that crosses it
    assert error.issues[0].path == path


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_a_wrong_type_deep_in_a_random_answer_is_caught_exactly(data: st.DataObject) -> None:
    order = data.draw(orders)
    index = data.draw(st.integers(0, len(order["items"]) - 1))
    order["items"][index]["quantity"] = "many"
    text = json.dumps(order)
    certain_at = text.index('"quantity": "many"') + len('"quantity": "many"')
    fed = Fed()
    with pytest.raises(ValidationFailed) as caught:
        feed_counting(eager(ORDER_SCHEMA), data.draw(splits(text)), fed)
    # It raised on the delta that completed the bad value: not before, not later.
    assert fed.before < certain_at <= fed.after
    assert caught.value.issues[0].path == f"$.items[{index}].quantity"


def test_schemas_the_reference_engine_judges_work_alike() -> None:
    # `patternProperties` sends a schema to the reference implementation (see the core).
    schema = {"patternProperties": {"^x_": {"type": "integer"}}, "additionalProperties": False}
    feed_all(eager(schema), list('{"x_a": 1, "x_b": 2}'))
    at, error = raised_at(eager(schema), '{"x_a": 1, "y": 2, "x_b": 3}')
    assert at == len('{"x_a": 1, "y": 2,')
    assert error.issues[0].keyword == "additionalProperties"


def test_close_judges_a_number_at_the_very_end() -> None:
    checker = eager({"type": "integer", "maximum": 10})
    checker.feed("12")
    with pytest.raises(ValidationFailed, match="maximum"):
        checker.close()


def test_text_after_the_document_is_refused() -> None:
    checker = eager({"type": "object"})
    checker.feed('{"a": 1}')
    with pytest.raises(ValidationFailed, match="extra data"):
        checker.feed(' {"b"')  # the partial parser alone would stop at the first document


def test_close_judges_what_arrived_since_the_last_check() -> None:
    checker = ProgressiveChecker({"type": "object"})
    checker.feed('{"a": 1} x')  # shorter than `min_step`: not checked yet
    with pytest.raises(ValidationFailed, match="extra data"):
        checker.close()


def test_close_leaves_a_cut_off_answer_to_the_final_validation() -> None:
    checker = ProgressiveChecker(ORDER_SCHEMA)
    checker.feed(json.dumps(ORDER)[:300])
    checker.close()  # incomplete, but nothing in it is wrong


def test_a_json_object_answer_must_be_an_object_from_its_first_character() -> None:
    checker = progressive_checker({"response_format": {"type": "json_object"}}, min_step=1)
    assert checker is not None
    with pytest.raises(ValidationFailed, match="object"):
        checker.feed("[")


def test_prose_instead_of_json_stops_at_the_first_check() -> None:
    text = "Sure! Here is the order you asked for: " + json.dumps(ORDER)
    at, error = raised_at(ProgressiveChecker(ORDER_SCHEMA), text, step=5)
    assert at == 260  # the first check, after `min_step` characters
    assert error.issues[0].keyword == "json"
    assert "char 0" in error.issues[0].message


def test_an_empty_answer_is_left_to_the_final_validation() -> None:
    ProgressiveChecker(ORDER_SCHEMA).close()


def test_lone_string_answers_are_judged_when_they_close() -> None:
    checker = eager({"enum": ["yes", "no"]})
    checker.feed('"ma')
    with pytest.raises(ValidationFailed, match=r"enum|one of"):
        checker.feed('ybe"')


# --- the handle -------------------------------------------------------------------------------


def test_after_a_failure_every_call_raises_the_same_error() -> None:
    checker = eager(ORDER_SCHEMA)
    with pytest.raises(ValidationFailed) as first:
        checker.feed('{"status": "lost"}')
    with pytest.raises(ValidationFailed) as again:
        checker.feed("more")
    assert again.value is first.value
    with pytest.raises(ValidationFailed) as at_close:
        checker.close()
    assert at_close.value is first.value
    assert "failed" in repr(checker)


def test_feeding_after_close_is_a_usage_mistake() -> None:
    checker = ProgressiveChecker(ORDER_SCHEMA)
    checker.close()
    checker.close()  # closing twice is harmless
    with pytest.raises(ValueError, match="after close"):
        checker.feed("{")


def test_text_is_everything_received() -> None:
    checker = ProgressiveChecker(ORDER_SCHEMA)
    for delta in ["{", '"status"', ": ", ""]:
        checker.feed(delta)
    assert checker.text == '{"status": '


def test_accepts_a_compiled_schema() -> None:
    checker = ProgressiveChecker(compile_schema(ORDER_SCHEMA), min_step=1, growth=0)
    with pytest.raises(ValidationFailed):
        checker.feed('{"status": 1,')


def test_a_broken_schema_is_refused_up_front() -> None:
    with pytest.raises(InvalidSchema):
        ProgressiveChecker({"type": "no-such-type"})


@pytest.mark.parametrize(("option", "value"), [("min_step", 0), ("growth", -1.0)])
def test_schedule_options_are_checked(option: str, value: float) -> None:
    with pytest.raises(ValueError, match=option):
        ProgressiveChecker(ORDER_SCHEMA, **{option: value})


def test_the_number_of_checks_grows_with_the_log_of_the_size() -> None:
    order = {**ORDER, "items": ORDER["items"] * 60}
    text = json.dumps(order)
    assert len(text) > 10_000
    checker = ProgressiveChecker(ORDER_SCHEMA)
    feed_all(checker, [text[start : start + 5] for start in range(0, len(text), 5)])
    # 256, then 2.25 times as much each time up to the size, then the one at close.
    assert checker.checks <= math.ceil(math.log(len(text) / 256, 1 + DEFAULT_GROWTH)) + 2


def test_the_default_schedule_grows_the_text_by_a_quarter_more_than_its_size() -> None:
    checker = ProgressiveChecker({"type": "object"})
    text = "{" + " " * 7000
    due = []
    while checker.next_check_at < len(text):
        due.append(checker.next_check_at)
        checker.check_text(text[: checker.next_check_at])
    assert due == [256, 576, 1296, 2916, 6561]
    assert checker.checks == len(due)


def test_eager_checking_looks_after_every_delta() -> None:
    checker = eager(ORDER_SCHEMA)
    text = json.dumps(ORDER)
    feed_all(checker, list(text))
    assert checker.checks == len(text) + 1


# --- built for a request -----------------------------------------------------------------------


def _request(response_format: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [], "response_format": response_format}


def test_for_a_json_schema_request() -> None:
    request = _request(
        {"type": "json_schema", "json_schema": {"name": "order", "schema": ORDER_SCHEMA}}
    )
    checker = progressive_checker(request, min_step=1, growth=0)
    assert checker is not None
    with pytest.raises(ValidationFailed, match=r"\$\.status"):
        checker.feed('{"status": "lost",')


def test_a_json_schema_request_without_a_schema_checks_the_syntax() -> None:
    checker = progressive_checker(_request({"type": "json_schema", "json_schema": {"name": "x"}}))
    assert checker is not None
    with pytest.raises(ValidationFailed, match="not JSON"):
        feed_all(checker, ["[1, 2]", " 3"])


@pytest.mark.parametrize(
    "request_body",
    [
        {"model": "m", "messages": []},
        _request({"type": "text"}),
    ],
)
def test_free_text_needs_no_checker(request_body: dict[str, Any]) -> None:
    assert progressive_checker(request_body) is None


def test_a_checker_for_a_spec_read_once_judges_as_one_built_from_the_request() -> None:
    request = _request({"type": "json_schema", "json_schema": {"schema": ORDER_SCHEMA}})
    spec = AnswerSpec.from_request(request)
    from_spec = checker_for_answer(spec, min_step=1, growth=0)
    assert from_spec is not None
    text, certain_at = _broken(*BROKEN_ANSWERS[0][1:3])
    at, _ = raised_at(from_spec, text)
    assert at == certain_at
    assert checker_for_answer(AnswerSpec.from_request(_request({"type": "text"}))) is None


def test_a_pydantic_model_is_left_to_the_final_validation() -> None:
    request = _request(
        {"type": "json_schema", "json_schema": {"name": "o", "schema": ORDER_SCHEMA}}
    )
    assert progressive_checker(request, response_model=dict) is None


def test_a_broken_schema_in_the_request_is_a_usage_error() -> None:
    request = _request({"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": 5}}})
    with pytest.raises(InvalidSchema):
        progressive_checker(request)


def test_exported_from_the_package() -> None:
    import router

    assert router.ProgressiveChecker is ProgressiveChecker
    assert router.progressive_checker is progressive_checker


# --- callers that keep the text: `next_check_at` and `check_text` ------------------------------


def check_all(checker: ProgressiveChecker, deltas: list[str]) -> int:
    """Drive `checker` as a call's stream does: one length comparison per delta."""
    text = ""
    for delta in deltas:
        text += delta
        if len(text) >= checker.next_check_at:
            checker.check_text(text)
    checker.close(text)
    return checker.checks


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_checking_held_text_never_rejects_a_valid_answer(data: st.DataObject) -> None:
    order = data.draw(orders)
    text = data.draw(layouts(order))
    checks = check_all(ProgressiveChecker(ORDER_SCHEMA, min_step=16), data.draw(splits(text)))
    assert checks >= 2  # at least one check while streaming, and the one at close


@over_broken_answers
def test_held_text_is_caught_where_fed_text_is(
    replace: tuple[str, str], completes: str, path: str, keyword: str
) -> None:
    text, _ = _broken(replace, completes)
    deltas = [text[start : start + 5] for start in range(0, len(text), 5)]
    fed_at, fed_error = raised_at(ProgressiveChecker(ORDER_SCHEMA), text, step=5)
    with pytest.raises(ValidationFailed) as caught:
        check_all(ProgressiveChecker(ORDER_SCHEMA), deltas)
    assert caught.value.raw is not None
    assert len(caught.value.raw) == fed_at
    assert [i.path for i in caught.value.issues] == [i.path for i in fed_error.issues]


def test_check_text_before_the_check_is_due_does_nothing() -> None:
    checker = ProgressiveChecker(ORDER_SCHEMA, min_step=100)
    assert checker.next_check_at == 100
    checker.check_text('{"id": 1')
    assert checker.checks == 0
    checker.check_text(" " * 120)
    assert checker.checks == 1
    assert checker.next_check_at > 120


def test_check_text_follows_the_usage_rules_of_feed() -> None:
    checker = ProgressiveChecker({"type": "object"}, min_step=1)
    with pytest.raises(ValidationFailed) as first:
        checker.check_text("[1, 2")
    with pytest.raises(ValidationFailed) as again:
        checker.check_text("[1, 2, 3")
    assert again.value is first.value
    closed = ProgressiveChecker({"type": "object"})
    closed.close("{}")
    with pytest.raises(ValueError, match="after close"):
        closed.check_text("{}")


def test_close_judges_the_text_it_is_given() -> None:
    checker = ProgressiveChecker({"type": "object", "properties": {"n": {"type": "integer"}}})
    with pytest.raises(ValidationFailed):
        checker.close('{"n": 1.5}')
