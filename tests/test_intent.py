"""Intent: inference from a Chat Completions body, hints, checks, and CLI hint parsing."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from router.errors import IntentError
from router.intent import FIELDS, Intent, parse_hint

TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}


def test_nothing_given_gives_the_table_defaults() -> None:
    intent = Intent.from_request()
    assert intent.to_dict() == {
        "audience": None,
        "output": "text",
        "tools": "none",
        "post_process": False,
        "billing": "none",
        "expected_tokens": None,
        "model": None,
        "provider": None,
        "labels": {},
    }


@pytest.mark.parametrize(
    ("body", "output", "tools", "post_process"),
    [
        ({"messages": []}, "text", "none", False),
        ({"response_format": {"type": "json_object"}}, "json", "none", True),
        ({"response_format": {"type": "json_schema", "json_schema": {}}}, "schema", "none", True),
        ({"response_format": {"type": "text"}}, "text", "none", False),
        ({"tools": [TOOL]}, "text", "offered", False),
        ({"tools": [TOOL], "tool_choice": "auto"}, "text", "offered", False),
        ({"tools": [TOOL], "tool_choice": "none"}, "text", "none", False),
        ({"tools": [TOOL], "tool_choice": "required"}, "tools", "required", True),
        (
            {"tools": [TOOL], "tool_choice": {"type": "function", "function": {"name": "lookup"}}},
            "tools",
            "required",
            True,
        ),
        (
            {
                "tools": [TOOL],
                "tool_choice": {"type": "allowed_tools", "allowed_tools": {"mode": "auto"}},
            },
            "text",
            "offered",
            False,
        ),
        (
            {
                "tools": [TOOL],
                "tool_choice": {"type": "allowed_tools", "allowed_tools": {"mode": "required"}},
            },
            "tools",
            "required",
            True,
        ),
        ({"tools": [], "tool_choice": "required"}, "text", "none", False),
        (
            {"functions": [{"name": "f"}], "function_call": {"name": "f"}},
            "tools",
            "required",
            True,
        ),
    ],
)
def test_output_and_tools_are_inferred_from_the_body(
    body: dict[str, Any], output: str, tools: str, post_process: bool
) -> None:
    intent = Intent.from_request(body)
    assert (intent.output, intent.tools, intent.post_process) == (output, tools, post_process)


def test_expected_tokens_and_model_come_from_the_body() -> None:
    assert Intent.from_request({"max_tokens": 10}).expected_tokens == 10
    assert Intent.from_request({"max_completion_tokens": 5, "max_tokens": 10}).expected_tokens == 5
    assert Intent.from_request({"model": "gpt-4o"}).model == "gpt-4o"
    assert Intent.from_request({"model": 3}).model is None


def test_a_bad_max_tokens_in_the_body_is_an_intent_error() -> None:
    with pytest.raises(IntentError, match="max_tokens") as info:
        Intent.from_request({"max_tokens": "lots"})
    assert info.value.field == "expected_tokens"


def test_hints_win_over_inference() -> None:
    body = {"response_format": {"type": "json_object"}, "model": "a", "max_tokens": 9}
    intent = Intent.from_request(
        body, output="text", model="b", expected_tokens=900, post_process=True
    )
    assert (intent.output, intent.model, intent.expected_tokens) == ("text", "b", 900)
    assert intent.post_process is True


def test_post_process_follows_a_hinted_output() -> None:
    assert Intent.from_request(output="schema").post_process is True
    assert Intent.from_request({"response_format": {"type": "json_object"}}, output="text")
    assert (
        Intent.from_request(
            {"response_format": {"type": "json_object"}}, output="text"
        ).post_process
        is False
    )


def test_a_none_hint_counts_as_not_given() -> None:
    assert Intent.from_request({"model": "m"}, model=None).model == "m"


def test_labels_as_a_mapping_and_one_by_one() -> None:
    intent = Intent.from_request(labels={"route": "a", "tenant": "t"}, **{"labels.route": "b"})
    assert dict(intent.labels) == {"route": "b", "tenant": "t"}
    with pytest.raises(TypeError):
        intent.labels["x"] = "y"  # type: ignore[index]


def test_an_unknown_hint_names_the_field_and_suggests() -> None:
    with pytest.raises(IntentError, match='did you mean "audience"') as info:
        Intent.from_request(audiense="user")
    assert info.value.field == "audiense"
    assert "audience" in info.value.allowed


def test_a_value_outside_the_domain_lists_the_allowed_values() -> None:
    with pytest.raises(IntentError, match=r'did you mean "user".*allowed: user, service') as info:
        Intent.from_request(audience="usr")
    assert info.value.field == "audience"
    assert info.value.allowed == ("user", "service")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("post_process", "yes"),
        ("post_process", 1),
        ("expected_tokens", -1),
        ("expected_tokens", True),
        ("expected_tokens", "12"),
        ("model", 4),
        ("labels", {"a": 1}),
        ("labels", ["a"]),
        ("labels.route", 3),
        ("billing", "later"),
    ],
)
def test_wrong_types_are_refused(name: str, value: object) -> None:
    with pytest.raises(IntentError) as info:
        Intent.from_request(**{name: value})
    assert info.value.field == name


def test_intent_is_immutable_and_replace_makes_a_copy() -> None:
    intent = Intent.from_request(audience="user")
    with pytest.raises(AttributeError):
        intent.audience = "service"  # type: ignore[misc]
    other = intent.replace(audience="service", model="m")
    assert (intent.audience, other.audience, other.model) == ("user", "service", "m")
    assert other.replace(model=None).model is None


def test_equality_hash_repr_and_pickle() -> None:
    a = Intent.from_request(audience="user", labels={"k": "v"})
    b = Intent(
        audience="user",
        output="text",
        tools="none",
        post_process=False,
        billing="none",
        labels={"k": "v"},
    )
    assert a == b
    assert hash(a) == hash(b)
    assert "audience='user'" in repr(a)
    assert pickle.loads(pickle.dumps(a)) == a


def test_constructor_checks_values() -> None:
    with pytest.raises(IntentError):
        Intent(audience="robot")


def test_get_reads_fields_and_labels() -> None:
    intent = Intent.from_request(model="m", labels={"route": "r"})
    assert intent.get("model") == "m"
    assert intent.get("labels.route") == "r"
    assert intent.get("labels.none") is None
    with pytest.raises(IntentError):
        intent.get("nope")


@pytest.mark.parametrize(
    ("key", "text", "expected"),
    [
        ("audience", "user", ("audience", "user")),
        ("post_process", "true", ("post_process", True)),
        ("post_process", "no", ("post_process", False)),
        ("expected_tokens", "50", ("expected_tokens", 50)),
        ("model", "gpt-4o", ("model", "gpt-4o")),
        ("labels.route", "search", ("labels.route", "search")),
    ],
)
def test_parse_hint_types_by_field(key: str, text: str, expected: tuple[str, object]) -> None:
    assert parse_hint(key, text) == expected
    name, value = expected
    assert Intent.from_request(**{name: value}).get(name) == value


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("expected_tokens", "many"),
        ("expected_tokens", "-3"),
        ("post_process", "maybe"),
        ("audience", "people"),
        ("audiense", "user"),
        ("labels", "x"),
    ],
)
def test_parse_hint_refuses_bad_text(key: str, text: str) -> None:
    with pytest.raises(IntentError):
        parse_hint(key, text)


def test_fields_describe_every_intent_attribute() -> None:
    assert list(FIELDS) == list(Intent.from_request().to_dict())
    assert FIELDS["billing"].allowed == ("none", "after_delivery", "before_delivery")
    assert {spec.kind for spec in FIELDS.values()} == {"enum", "bool", "int", "str", "labels"}


def test_a_body_that_is_not_an_object_is_an_intent_error() -> None:
    with pytest.raises(IntentError, match="JSON object"):
        Intent.from_request(["not", "a", "body"])  # type: ignore[arg-type]
    for empty in ([], "", 0):  # falsy is no excuse
        with pytest.raises(IntentError, match="JSON object"):
            Intent.from_request(empty)  # type: ignore[arg-type]
    assert Intent.from_request({}) == Intent.from_request(None)
    assert Intent.from_request(body={"model": "m"}).model == "m"
