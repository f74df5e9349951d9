"""validate_completion: what the request asked for, checked on every choice and tool call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from router.completion import Choice, Completion, FunctionCall, Message, Status, ToolCall
from router.errors import (
    AnswerRefused,
    IncompleteAnswer,
    InvalidSchema,
    ValidationFailed,
)
from router.validation import AnswerSpec, validate_answer, validate_completion

DATA = Path(__file__).parent / "data"
INVOICE_SCHEMA = json.loads((DATA / "invoice.schema.json").read_text())
INVOICE_TEXT = (DATA / "invoice.json").read_text().strip()

SCHEMA_REQUEST: dict[str, Any] = {
    "model": "gpt-4o",
    "messages": [{"role": "user", "content": "Extract the invoice."}],
    "response_format": {
        "type": "json_schema",
        "json_schema": {"name": "invoice", "strict": True, "schema": INVOICE_SCHEMA},
    },
}

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "minLength": 1},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
    },
}
TIME = {"type": "function", "function": {"name": "get_time"}}  # no parameters: any object
TOOLS_REQUEST: dict[str, Any] = {"model": "gpt-4o", "messages": [], "tools": [WEATHER, TIME]}


def answer(*contents: str | None, finish: str = "stop", refusal: str | None = None) -> Completion:
    return Completion(
        choices=[
            Choice(index=i, message=Message(content=c, refusal=refusal), finish_reason=finish)
            for i, c in enumerate(contents)
        ],
        status=Status.COMPLETE,
    )


def tool_answer(*calls: tuple[str, str], finish: str = "tool_calls") -> Completion:
    tool_calls = [
        ToolCall(id=f"call_{i}", function=FunctionCall(name=name, arguments=arguments))
        for i, (name, arguments) in enumerate(calls)
    ]
    message = Message(content=None, tool_calls=tool_calls)
    return Completion(choices=[Choice(message=message, finish_reason=finish)])


# --- response_format -----------------------------------------------------------------------


def test_schema_answer_is_parsed_into_the_completion() -> None:
    completion = answer(INVOICE_TEXT)
    parsed = validate_completion(completion, SCHEMA_REQUEST)
    assert parsed == json.loads(INVOICE_TEXT)
    assert completion.parsed is parsed
    assert completion.choices[0].parsed is parsed


def test_schema_failure_lists_every_issue_and_keeps_the_text() -> None:
    document = json.loads(INVOICE_TEXT)
    document["items"][1]["category"] = "food"
    document["status"] = "sent"
    text = json.dumps(document)
    completion = answer(text)
    with pytest.raises(ValidationFailed) as caught:
        validate_completion(completion, SCHEMA_REQUEST)
    error = caught.value
    assert type(error) is ValidationFailed
    assert [(i.path, i.keyword) for i in error.issues] == [
        ("$.status", "enum"),
        ("$.items[1].category", "enum"),
    ]
    assert all(i.choice is None and i.tool_call is None for i in error.issues)
    assert error.raw == text
    assert error.partial is completion
    assert completion.parsed is None


def test_broken_json_says_where() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_completion(answer('{"invoice_number": "INV-1" "x"}'), SCHEMA_REQUEST)
    (issue,) = caught.value.issues
    assert issue.keyword == "json"
    assert "line 1 column 28 (char 27)" in issue.message


@pytest.mark.parametrize("finish", ["length", "content_filter"])
def test_cut_off_structured_answer_is_incomplete_not_a_json_error(finish: str) -> None:
    completion = answer(INVOICE_TEXT[:700], finish=finish)
    with pytest.raises(IncompleteAnswer) as caught:
        validate_completion(completion, SCHEMA_REQUEST)
    assert f"finish_reason: {finish}" in str(caught.value)
    assert caught.value.raw == INVOICE_TEXT[:700]
    assert [i.keyword for i in caught.value.issues] == ["finish_reason"]


def test_cut_off_free_text_is_fine() -> None:
    completion = answer("Once upon a time", finish="length")
    assert validate_completion(completion, {"messages": []}) is None


def test_refusal_in_place_of_the_answer() -> None:
    completion = answer(None, refusal="I can't help with that.")
    with pytest.raises(AnswerRefused) as caught:
        validate_completion(completion, SCHEMA_REQUEST)
    assert caught.value.raw == "I can't help with that."
    assert "refused" in str(caught.value)


def test_empty_content_is_an_issue() -> None:
    with pytest.raises(ValidationFailed, match="no content"):
        validate_completion(answer(None), SCHEMA_REQUEST)
    with pytest.raises(ValidationFailed, match="no answer"):
        validate_completion(Completion(), SCHEMA_REQUEST)


def test_json_object_is_parsed_only_and_must_be_an_object() -> None:
    request = {"response_format": {"type": "json_object"}}
    assert validate_completion(answer('{"anything": [1, 2]}'), request) == {"anything": [1, 2]}
    with pytest.raises(ValidationFailed, match="must be a JSON object, not an array"):
        validate_completion(answer("[1, 2]"), request)


def test_json_schema_without_a_schema_is_parsed_only() -> None:
    request = {"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}
    assert validate_completion(answer("[1]"), request) == [1]


def test_text_requests_are_not_validated() -> None:
    completion = answer("plain words, not JSON")
    assert validate_completion(completion, {"messages": []}) is None
    assert completion.parsed is None


def test_broken_schema_is_a_usage_error() -> None:
    request = {
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "x", "schema": {"type": "objekt"}},
        }
    }
    with pytest.raises(InvalidSchema, match=r"\$\.type"):
        validate_completion(answer("{}"), request)


# --- n > 1 -----------------------------------------------------------------------------------


def test_every_choice_is_checked_and_issues_name_their_choice() -> None:
    good = INVOICE_TEXT
    bad = json.loads(INVOICE_TEXT)
    bad["payment"]["method"] = "cheque"
    completion = answer(good, json.dumps(bad), "{oops")
    with pytest.raises(ValidationFailed) as caught:
        validate_completion(completion, SCHEMA_REQUEST)
    assert [(i.choice, i.path, i.keyword) for i in caught.value.issues] == [
        (1, "$.payment.method", "enum"),
        (2, "$", "json"),
    ]
    assert str(caught.value).startswith("2 of 3 choices are invalid")
    assert "[choice 1] $.payment.method" in str(caught.value)
    assert completion.choices[0].parsed == json.loads(good)  # the good one is still parsed


def test_all_choices_valid() -> None:
    completion = answer(INVOICE_TEXT, INVOICE_TEXT)
    parsed = validate_completion(completion, SCHEMA_REQUEST)
    assert parsed == completion.choices[1].parsed == json.loads(INVOICE_TEXT)


def test_failure_class_is_kept_when_every_choice_fails_the_same_way() -> None:
    completion = answer(None, None, refusal="no")
    with pytest.raises(AnswerRefused) as caught:
        validate_completion(completion, SCHEMA_REQUEST)
    assert [i.choice for i in caught.value.issues] == [0, 1]
    mixed = answer(None, "{}")
    mixed.choices[0].message.refusal = "no"
    with pytest.raises(ValidationFailed) as caught_mixed:
        validate_completion(mixed, SCHEMA_REQUEST)
    assert type(caught_mixed.value) is ValidationFailed


# --- tool calls ------------------------------------------------------------------------------


def test_parallel_tool_calls_are_each_parsed() -> None:
    completion = tool_answer(
        ("get_weather", '{"city": "Paris", "unit": "celsius"}'),
        ("get_weather", '{"city": "Oslo", "unit": "fahrenheit"}'),
        ("get_time", ""),
    )
    assert validate_completion(completion, TOOLS_REQUEST) is None
    calls = completion.choices[0].message.tool_calls
    assert [c.function.parsed_arguments for c in calls] == [
        {"city": "Paris", "unit": "celsius"},
        {"city": "Oslo", "unit": "fahrenheit"},
        {},
    ]


def test_tool_call_problems_are_all_listed_with_their_call() -> None:
    completion = tool_answer(
        ("get_weather", '{"city": "", "unit": "kelvin", "days": 3}'),
        ("get_stock_price", '{"ticker": "ACME"}'),
        ("get_weather", '{"city": "Paris", "unit": '),
        ("get_time", "[1]"),
    )
    with pytest.raises(ValidationFailed) as caught:
        validate_completion(completion, TOOLS_REQUEST)
    found = [(i.tool_call, i.path, i.keyword) for i in caught.value.issues]
    assert found == [
        (0, "$.city", "minLength"),
        (0, "$.unit", "enum"),
        (0, "$", "additionalProperties"),
        (1, "$", "name"),
        (2, "$", "json"),
        (3, "$", "type"),
    ]
    unknown = caught.value.issues[3]
    assert unknown.message == "unknown tool 'get_stock_price' (offered: get_time, get_weather)"
    assert caught.value.raw == '{"city": "", "unit": "kelvin", "days": 3}'
    assert str(caught.value).endswith("(and 3 more)")


def test_tool_choice_required_needs_a_call() -> None:
    request = {**TOOLS_REQUEST, "tool_choice": "required"}
    with pytest.raises(ValidationFailed, match="tool_choice requires a tool call"):
        validate_completion(answer("I'd rather chat."), request)


def test_forced_function_must_be_the_one_called() -> None:
    request = {
        **TOOLS_REQUEST,
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    }
    with pytest.raises(ValidationFailed, match="tool_choice forces 'get_weather', not 'get_time'"):
        validate_completion(tool_answer(("get_time", "{}")), request)
    with pytest.raises(ValidationFailed, match="requires a call to 'get_weather'"):
        validate_completion(answer("no call"), request)


def test_offered_tools_do_not_force_a_call() -> None:
    assert validate_completion(answer("Just text."), TOOLS_REQUEST) is None


def test_cut_off_tool_call_is_incomplete() -> None:
    completion = tool_answer(("get_weather", '{"city": "Par'), finish="length")
    with pytest.raises(IncompleteAnswer) as caught:
        validate_completion(completion, TOOLS_REQUEST)
    assert caught.value.raw == '{"city": "Par'


def test_tool_calls_in_place_of_a_structured_answer_are_checked_alone() -> None:
    request = {**SCHEMA_REQUEST, "tools": [WEATHER]}
    completion = tool_answer(("get_weather", '{"city": "Lyon", "unit": "celsius"}'))
    assert validate_completion(completion, request) is None


def test_malformed_tools_are_usage_errors() -> None:
    with pytest.raises(InvalidSchema, match=r"no `function\.name`"):
        validate_completion(answer("x"), {"tools": [{"type": "function", "function": {}}]})
    bad_parameters = {"type": "function", "function": {"name": "f", "parameters": {"type": 3}}}
    with pytest.raises(InvalidSchema):
        validate_completion(answer("x"), {"tools": [bad_parameters]})


def test_unfinished_choice_of_an_interrupted_stream_is_incomplete() -> None:
    completion = answer(INVOICE_TEXT[:300], finish="stop")
    completion.choices[0].finish_reason = None
    completion.status = Status.INTERRUPTED
    with pytest.raises(IncompleteAnswer, match="stopped before the answer finished"):
        validate_completion(completion, SCHEMA_REQUEST)


def test_issues_name_both_their_choice_and_their_tool_call() -> None:
    good = tool_answer(("get_weather", '{"city": "Oslo", "unit": "celsius"}')).choices[0]
    bad = tool_answer(("get_weather", '{"city": "Oslo"}')).choices[0]
    bad.index = 1
    completion = Completion(choices=[good, bad], status=Status.COMPLETE)
    with pytest.raises(ValidationFailed) as caught:
        validate_completion(completion, TOOLS_REQUEST)
    (issue,) = caught.value.issues
    assert (issue.choice, issue.tool_call, issue.keyword) == (1, 0, "required")
    assert str(issue) == '[choice 1, tool call 0] $: "unit" is a required property'
    assert issue.to_dict()["choice"] == 1
    assert good.message.tool_calls[0].function.parsed_arguments == {
        "city": "Oslo",
        "unit": "celsius",
    }


def test_validate_answer_judges_with_a_spec_read_once() -> None:
    request = SCHEMA_REQUEST
    spec = AnswerSpec.from_request(request)
    good = answer(INVOICE_TEXT)
    assert validate_answer(good, spec) == validate_completion(answer(INVOICE_TEXT), request)
    assert good.parsed == json.loads(INVOICE_TEXT)
    broken = json.dumps({**json.loads(INVOICE_TEXT), "status": "sent"})
    with pytest.raises(ValidationFailed) as by_spec:
        validate_answer(answer(broken), spec)
    with pytest.raises(ValidationFailed) as by_request:
        validate_completion(answer(broken), request)
    assert by_spec.value.issues == by_request.value.issues
