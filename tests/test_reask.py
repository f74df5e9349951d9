"""The re-ask request: the invalid answer and its errors after the caller's turns, pure."""

from __future__ import annotations

import copy
from typing import Any

from router.completion import Choice, Completion, FunctionCall, Message, ToolCall
from router.errors import AnswerRefused, IncompleteAnswer, ValidationFailed, ValidationIssue
from router.reask import MAX_ISSUES, can_reask, feedback, reask_request

REQUEST: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "system", "content": "Be exact."}, {"role": "user", "content": "Go"}],
    "temperature": 0,
}


def answer(content: str | None = None, tool_calls: list[ToolCall] | None = None) -> Completion:
    message = Message(content=content, tool_calls=tool_calls or [])
    return Completion(choices=[Choice(message=message, finish_reason="stop")])


def test_the_answer_and_every_issue_follow_the_callers_messages() -> None:
    original = copy.deepcopy(REQUEST)
    issues = [
        ValidationIssue("$.age", '"ten" is not of type "integer"', "type"),
        ValidationIssue("$", '"name" is a required property', "required"),
    ]
    body = reask_request(REQUEST, answer('{"age": "ten"}'), ValidationFailed("x", issues=issues))
    assert original == REQUEST  # never mutated
    assert body["temperature"] == 0
    assert body["messages"][:2] == REQUEST["messages"]
    assert body["messages"][2] == {"role": "assistant", "content": '{"age": "ten"}'}
    assert body["messages"][3] == {
        "role": "user",
        "content": "Your previous answer is invalid:\n"
        '- $.age: "ten" is not of type "integer"\n'
        '- $: "name" is a required property\n'
        "Answer again, in full, with every error fixed.",
    }


def test_feedback_is_bounded() -> None:
    issues = [ValidationIssue(f"$[{n}]", "x" * 1000) for n in range(MAX_ISSUES + 7)]
    text = feedback(issues)
    lines = text.splitlines()
    assert len(lines) == MAX_ISSUES + 3
    assert lines[-2] == "- ... and 7 more"
    assert all(len(line) < 320 for line in lines)


def test_each_tool_call_is_answered_with_its_own_issues() -> None:
    calls = [
        ToolCall(id="call_a", function=FunctionCall("f", '{"n": "1"}')),
        ToolCall(id="call_b", function=FunctionCall("g", "{}")),
    ]
    issues = [ValidationIssue("$.n", '"1" is not of type "integer"', tool_call=0)]
    body = reask_request(REQUEST, answer(None, calls), ValidationFailed("x", issues=issues))
    assistant, first, second = body["messages"][2:]
    assert [call["id"] for call in assistant["tool_calls"]] == ["call_a", "call_b"]
    assert first["tool_call_id"] == "call_a"
    assert "$.n" in first["content"]
    assert second == {"role": "tool", "tool_call_id": "call_b", "content": "This call is valid."}


def test_issues_of_the_content_follow_the_answered_tool_calls() -> None:
    calls = [ToolCall(id="call_a", function=FunctionCall("f", '{"n": "1"}'))]
    issues = [
        ValidationIssue("$.n", '"1" is not of type "integer"', tool_call=0),
        ValidationIssue("$", "the answer must be a JSON object", "type"),
    ]
    body = reask_request(REQUEST, answer("[]", calls), ValidationFailed("x", issues=issues))
    assistant, tool, user = body["messages"][2:]
    assert assistant["content"] == "[]"
    assert tool["tool_call_id"] == "call_a"
    assert "$.n" in tool["content"]
    assert "must be a JSON object" not in tool["content"]
    assert user["role"] == "user"
    assert "$: the answer must be a JSON object" in user["content"]
    assert "$.n" not in user["content"]


def test_tool_calls_without_ids_are_quoted_as_text() -> None:
    calls = [ToolCall(id=None, function=FunctionCall("f", '{"n": "1"}'))]
    issues = [ValidationIssue("$.n", "wrong", tool_call=0)]
    body = reask_request(REQUEST, answer(None, calls), ValidationFailed("x", issues=issues))
    assistant, user = body["messages"][2:]
    assert assistant == {"role": "assistant", "content": 'f({"n": "1"})'}
    assert user["role"] == "user"
    assert "$.n: wrong" in user["content"]


def test_only_a_fixable_single_answer_is_reasked() -> None:
    issues = [ValidationIssue("$", "wrong")]
    single = answer("{}")
    assert can_reask(ValidationFailed("x", issues=issues), single)
    assert not can_reask(IncompleteAnswer("x", issues=issues), single)
    assert not can_reask(AnswerRefused("x", issues=issues), single)
    assert not can_reask(ValidationFailed("x", issues=()), single)
    two = Completion(choices=[Choice(index=0), Choice(index=1)])
    assert not can_reask(ValidationFailed("x", issues=issues), two)
    assert not can_reask(ValidationFailed("x", issues=issues), None)
