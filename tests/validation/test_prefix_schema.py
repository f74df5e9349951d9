"""prefix_schema: the rules every part of a valid answer already obeys."""

from __future__ import annotations

from typing import Any

import pytest

from router.validation import compile_schema
from router.validation.prefix_schema import prefix_schema, prefix_validator


def test_keeps_what_a_part_must_already_obey() -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 10},
            "size": {"type": "integer", "minimum": 1, "maximum": 9, "multipleOf": 1},
            "kind": {"enum": ["a", "b"]},
            "version": {"const": 2},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
        },
        "additionalProperties": False,
        "propertyNames": {"maxLength": 8},
        "maxProperties": 5,
    }
    assert prefix_schema(schema) == schema


def test_defers_what_only_the_whole_answer_shows() -> None:
    schema = {
        "type": "object",
        "required": ["a"],
        "minProperties": 1,
        "dependentRequired": {"a": ["b"]},
        "properties": {
            "list": {
                "type": "array",
                "minItems": 2,
                "contains": {"type": "integer"},
                "minContains": 1,
                "maxContains": 3,
                "uniqueItems": True,
            },
        },
        "not": {"required": ["z"]},
        "unevaluatedProperties": False,
    }
    assert prefix_schema(schema) == {
        "type": "object",
        "properties": {"list": {"type": "array"}},
    }


def test_one_of_becomes_any_of() -> None:
    schema = {"oneOf": [{"type": "object", "required": ["a"]}, {"type": "object"}]}
    assert prefix_schema(schema) == {"allOf": [{"anyOf": [{"type": "object"}, {"type": "object"}]}]}


def test_if_then_else_becomes_then_or_else() -> None:
    schema = {"if": {"required": ["k"]}, "then": {"maxProperties": 2}, "else": {"type": "array"}}
    assert prefix_schema(schema) == {
        "allOf": [{"anyOf": [{"maxProperties": 2}, {"type": "array"}]}]
    }
    # Without an `else`, nothing can be said of a part.
    assert prefix_schema({"if": {"required": ["k"]}, "then": False}) == {}


def test_an_enum_of_objects_accepts_parts_of_them() -> None:
    schema = {"enum": ["off", {"mode": "on", "level": 3}, [1, 2]]}
    assert prefix_schema(schema) == {
        "allOf": [{"anyOf": [{"enum": ["off"]}, {"type": ["array", "object"]}]}]
    }
    assert prefix_schema({"const": {"a": 1}}) == {"allOf": [{"type": ["object"]}]}


def test_rewrites_every_place_that_holds_subschemas() -> None:
    strict = {"type": "object", "required": ["x"]}
    loose = {"type": "object"}
    schema = {
        "$defs": {"S": strict},
        "definitions": {"S": strict},
        "properties": {"p": strict},
        "patternProperties": {"^q": strict},
        "additionalProperties": strict,
        "propertyNames": {"type": "string"},
        "dependentSchemas": {"p": strict},
        "dependencies": {"p": strict, "q": ["p"]},
        "items": [strict],
        "additionalItems": strict,
        "prefixItems": [strict],
        "allOf": [strict],
        "anyOf": [strict, {"$ref": "#/$defs/S"}],
    }
    assert prefix_schema(schema) == {
        "$defs": {"S": loose},
        "definitions": {"S": loose},
        "properties": {"p": loose},
        "patternProperties": {"^q": loose},
        "additionalProperties": loose,
        "propertyNames": {"type": "string"},
        "dependentSchemas": {"p": loose},
        "dependencies": {"p": loose},
        "items": [loose],
        "additionalItems": loose,
        "prefixItems": [loose],
        "allOf": [loose],
        "anyOf": [loose, {"$ref": "#/$defs/S"}],
    }


@pytest.mark.parametrize("schema", [True, False, {}])
def test_boolean_and_empty_schemas_mean_the_same(schema: Any) -> None:
    assert prefix_schema(schema) == schema


def test_gives_up_on_subschemas_hidden_under_an_unknown_keyword() -> None:
    assert prefix_schema({"x-kinds": {"a": {"required": ["b"]}}, "type": "object"}) is True
    # Unknown keywords holding plain data are kept.
    assert prefix_schema({"x-label": {"text": "Order"}, "type": "object"}) == {
        "x-label": {"text": "Order"},
        "type": "object",
    }


def test_the_compiled_prefix_schema_is_cached_by_fingerprint() -> None:
    schema = {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}}
    first = prefix_validator(schema)
    assert prefix_validator(compile_schema(dict(reversed(schema.items())))) is first
    assert first.is_valid({})
    assert not first.is_valid({"a": "x"})
