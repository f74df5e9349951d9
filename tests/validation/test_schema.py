"""Compiled schema validators: every issue with its path, cached, pure, refusing bad schemas."""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from router.errors import InvalidSchema, ValidationFailed
from router.validation import SchemaCache, SchemaValidator, compile_schema

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def invoice_schema() -> dict[str, Any]:
    return json.loads((DATA / "invoice.schema.json").read_text())


@pytest.fixture
def invoice() -> dict[str, Any]:
    return json.loads((DATA / "invoice.json").read_text())


def test_a_valid_answer_is_returned_parsed(invoice_schema: dict[str, Any]) -> None:
    text = (DATA / "invoice.json").read_text()
    validator = compile_schema(invoice_schema)
    assert validator.engine == "jsonschema-rs"
    assert validator.validate_json(text) == json.loads(text)
    assert validator.issues(json.loads(text)) == []


def test_every_issue_is_listed_with_its_path(
    invoice_schema: dict[str, Any], invoice: dict[str, Any]
) -> None:
    invoice["items"][0]["quantity"] = 1.5
    invoice["items"][2]["unit_price"]["currency"] = "BTC"
    invoice["items"][3]["tax_rate"] = 0.21
    invoice["buyer"]["address"]["country"] = "Germany"
    del invoice["seller"]["email"]
    invoice["payment"]["terms_days"] = 365
    invoice["location"] = [45.7, 4.8, 12.0]
    invoice["surprise"] = True
    with pytest.raises(ValidationFailed) as caught:
        compile_schema(invoice_schema).validate_json(json.dumps(invoice))
    found = {(issue.path, issue.keyword) for issue in caught.value.issues}
    assert found == {
        ("$.items[0].quantity", "type"),
        ("$.items[2].unit_price.currency", "enum"),
        ("$.items[3].tax_rate", "enum"),
        ("$.buyer.address.country", "pattern"),
        ("$.seller", "required"),
        ("$.payment.terms_days", "maximum"),
        ("$.location[2]", "items"),
        ("$", "additionalProperties"),
    }
    assert caught.value.raw == json.dumps(invoice)
    assert str(caught.value).startswith("the answer does not match its schema: 8 issues:")
    messages = {issue.path: issue.message for issue in caught.value.issues}
    assert messages["$.items[3].tax_rate"] == "0.21 is not one of [0, 0.055, 0.1, 0.2]"
    assert messages["$.buyer.address.country"] == '"Germany" does not match "^[A-Z]{2}$"'


def test_schema_errors_are_the_callers_and_say_where() -> None:
    with pytest.raises(InvalidSchema, match=r"\$\.properties\.a\.type") as caught:
        compile_schema({"properties": {"a": {"type": "integr"}}})
    assert caught.value.code == "schema"
    with pytest.raises(InvalidSchema, match="regex"):
        compile_schema({"pattern": "(unclosed"})
    with pytest.raises(InvalidSchema, match="not JSON data"):
        compile_schema({"const": float("nan")})
    with pytest.raises(InvalidSchema, match="object or a boolean"):
        compile_schema([{"type": "string"}])  # type: ignore[arg-type]


def test_remote_refs_are_never_fetched() -> None:
    validator = compile_schema({"$ref": "https://schemas.example.invalid/order.json"})
    with pytest.raises(InvalidSchema, match="cannot be resolved"):
        validator.issues({"id": 1})


def test_boolean_schemas() -> None:
    assert compile_schema(True).issues({"anything": [1]}) == []
    (issue,) = compile_schema(False).issues(1)
    assert issue.path == "$"


def test_cache_is_keyed_by_content_not_key_order_or_identity() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    reordered = {"required": ["a"], "properties": {"a": {"type": "integer"}}, "type": "object"}
    first = compile_schema(schema)
    assert compile_schema(copy.deepcopy(schema)) is first
    assert compile_schema(reordered) is first
    assert compile_schema({**schema, "required": []}) is not first
    # 1 and 1.0 and true are different schemas, though Python finds them equal
    assert compile_schema({"const": 1}) is not compile_schema({"const": True})


def test_later_changes_to_the_callers_dict_change_nothing() -> None:
    schema: dict[str, Any] = {"type": "object", "required": ["b"]}
    validator = SchemaValidator(schema)
    schema["required"].append("c")
    assert validator.issues({"b": 1}) == []


def test_cache_is_bounded_lru() -> None:
    cache = SchemaCache(maxsize=2)
    one = cache.get({"const": 1})
    cache.get({"const": 2})
    assert cache.get({"const": 1}) is one  # refreshed: now the most recent
    cache.get({"const": 3})  # evicts {"const": 2}
    assert len(cache) == 2
    assert cache.get({"const": 1}) is one
    cache.clear()
    assert len(cache) == 0
    with pytest.raises(ValueError, match="maxsize"):
        SchemaCache(maxsize=0)


def test_cache_is_thread_safe() -> None:
    cache = SchemaCache(maxsize=8)
    results: list[tuple[int, SchemaValidator]] = []

    def compile_many() -> None:
        for n in range(20):
            results.append((n % 10, cache.get({"maximum": n % 10})))

    threads = [threading.Thread(target=compile_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(results) == 80
    assert len(cache) == 8
    # Each thread got the validator of the schema it asked for, and it judges as that one.
    assert all(validator.schema == {"maximum": asked} for asked, validator in results)
    assert all((validator.issues(5) == []) is (asked >= 5) for asked, validator in results)


def test_lone_surrogates_fall_back_to_the_reference_engine() -> None:
    validator = compile_schema({"type": "string", "maxLength": 1, "pattern": "^a"})
    assert validator.engine == "jsonschema-rs"
    assert validator.is_valid("\ud800") is False
    assert [i.keyword for i in validator.issues("\ud800")] == ["pattern"]
    with pytest.raises(ValidationFailed, match="is too long"):
        validator.validate_json('"a\\udc00"')


def test_pattern_properties_use_the_reference_engine() -> None:
    validator = compile_schema({"patternProperties": {"^n$": {"type": "integer"}}})
    assert validator.engine == "jsonschema"
    # Python's `$` also matches before a final newline: the key "n\n" is checked
    (issue,) = validator.issues({"n\n": "x"})
    assert issue.path == "$['n\\n']"
    assert issue.keyword == "type"


def test_repr_names_draft_engine_and_fingerprint() -> None:
    validator = compile_schema({"$schema": "http://json-schema.org/draft-07/schema#"})
    assert validator.draft == "Draft7"
    assert repr(validator).startswith("<SchemaValidator Draft7 engine=jsonschema-rs ")
    assert len(validator.fingerprint) == 64


def test_validate_returns_the_document_or_raises() -> None:
    validator = compile_schema({"type": "array", "items": {"type": "integer"}})
    assert validator.validate([1, 2]) == [1, 2]
    with pytest.raises(ValidationFailed) as caught:
        validator.validate([1, "2", 3.5])
    assert [i.path for i in caught.value.issues] == ["$[1]", "$[2]"]


def test_python_data_that_is_not_json_never_crashes() -> None:
    validator = compile_schema({"type": "object", "properties": {"a": {"type": "array"}}})
    (issue,) = validator.issues({"a": {1, 2}})
    assert (issue.path, issue.keyword) == ("$.a", "type")
    assert validator.is_valid({1: "x"}) is True  # the reference ignores a non-string key


def test_a_schema_changed_in_place_is_never_served_a_stale_validator() -> None:
    cache = SchemaCache()
    schema: dict[str, Any] = {"properties": {"a": {"const": 1}}}
    first = cache.get(schema)
    assert cache.get(schema) is first  # same object, unchanged: the identity memo answers
    schema["properties"]["a"]["const"] = True  # equal to 1 in Python, not in JSON Schema
    second = cache.get(schema)
    assert second is not first
    assert second.is_valid({"a": True}) is True
    assert second.is_valid({"a": 1}) is False
    schema["properties"]["a"] = {"const": 1}
    assert cache.get(schema) is first  # back to the first content: the content keys answer
    schema["properties"]["b"] = {"type": "string"}
    assert cache.get(schema).issues({"b": 3})[0].path == "$.b"


def test_matches_compares_types_too() -> None:
    validator = SchemaValidator({"enum": [1, 2.5, False, None, "x", [1], {"k": 0}]})
    assert validator.matches({"enum": [1, 2.5, False, None, "x", [1], {"k": 0}]})
    assert not validator.matches({"enum": [True, 2.5, False, None, "x", [1], {"k": 0}]})
    assert not validator.matches({"enum": [1.0, 2.5, False, None, "x", [1], {"k": 0}]})
    assert not validator.matches({"enum": [1, 2.5, 0, None, "x", [1], {"k": 0}]})
    assert not validator.matches({"enum": [1, 2.5, False, None, "x", [1], {"k": False}]})
    assert not validator.matches({"enum": [1, 2.5, False, None, "x", (1,), {"k": 0}]})


def test_deep_documents_are_judged_without_crashing() -> None:
    nested = {
        "$defs": {"N": {"type": "array", "items": {"$ref": "#/$defs/N"}}},
        "$ref": "#/$defs/N",
    }
    validator = compile_schema(nested)
    assert isinstance(validator.validate_json("[" * 900 + "]" * 900), list)
    with pytest.raises(ValidationFailed) as caught:
        validator.validate_json("[" * 900 + "1" + "]" * 900)
    assert caught.value.issues[0].path.startswith("$[0][0][0]")
    # A lone surrogate sends the document to the reference, which cannot recurse that deep.
    (issue,) = validator.issues(json.loads("[" * 900 + '"\\ud800"' + "]" * 900))
    assert (issue.path, issue.keyword) == ("$", "depth")
