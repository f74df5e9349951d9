"""Re-ask: an invalid answer goes back to the model with its errors, against the real server.

The provider is scripted to answer invalid, then valid (or invalid forever); each test runs
with `Router` and `AsyncRouter` and checks what the provider received, what the result and
the error record, and what the usage hook saw.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import anyio
import pytest

from router.client import AsyncRouter
from router.completion import Status
from router.errors import AnswerRefused, IncompleteAnswer, TotalTimeout, ValidationFailed
from router.policy import Policy
from router.testing import Fault, Reply, SimulatedProvider, ToolCallSpec

from .conftest import API_KEY, REQUEST, run_call, within

ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "order_id": {"type": "string", "pattern": "^ord_[0-9]{6}$"},
        "status": {"enum": ["pending", "paid", "shipped"]},
        "currency": {"enum": ["EUR", "USD"]},
        "items": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "sku": {"type": "string"},
                    "quantity": {"type": "integer", "minimum": 1},
                    "unit_price": {"type": "number", "minimum": 0},
                },
                "required": ["sku", "quantity", "unit_price"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["order_id", "status", "currency", "items"],
    "additionalProperties": False,
}
ORDER_REQUEST: dict[str, Any] = {
    **REQUEST,
    "messages": [{"role": "user", "content": "Extract the order from this e-mail: ..."}],
    "response_format": {
        "type": "json_schema",
        "json_schema": {"name": "order", "strict": True, "schema": ORDER_SCHEMA},
    },
}
VALID = {
    "order_id": "ord_004217",
    "status": "paid",
    "currency": "EUR",
    "items": [{"sku": "KB-101", "quantity": 2, "unit_price": 49.5}],
}
INVALID = {
    "order_id": "4217",
    "status": "paid",
    "currency": "EUR",
    "items": [{"sku": "KB-101", "quantity": "two", "unit_price": 49.5}],
}
USAGE_1 = {"prompt_tokens": 100, "completion_tokens": 40, "total_tokens": 140}
USAGE_2 = {"prompt_tokens": 180, "completion_tokens": 42, "total_tokens": 222}


def reask_policy(reask: int, *, mode: str = "batch", attempts: int = 1) -> Policy:
    """Every call validated with `reask` re-asks; short clocks, as the other tests use."""
    stream = "  stream: {include_usage: always, fallback: none}\n" if mode == "stream" else ""
    text = (
        "version: 1\n"
        "defaults:\n"
        f"  mode: {mode}\n{stream}"
        f"  validate: {{reask: {reask}}}\n"
        "  timeouts: {connect: 1s, first_token: 0.5s, idle: 0.5s, total: 5s}\n"
        f"  retries: {{attempts: {attempts}, backoff: {{initial: 20ms, max: 40ms}}}}\n"
        "rules: []\n"
    )
    return Policy.from_text(text, source="reask-policy.yaml")


def test_an_invalid_answer_is_reasked_and_the_second_one_wins(
    kind: str, provider: SimulatedProvider
) -> None:
    provider.enqueue(Reply.json(INVALID, usage=USAGE_1), Reply.json(VALID, usage=USAGE_2))
    request = copy.deepcopy(ORDER_REQUEST)
    out = run_call(kind, provider, reask_policy(2), request)

    assert out.error is None, out.error
    completion = out.result
    assert completion.parsed == VALID
    assert out.deltas == [json.dumps(VALID)]  # batch: only the valid answer reaches the caller
    assert [(a.mode, a.outcome) for a in completion.attempts] == [
        ("batch", "invalid"),
        ("batch", "ok"),
    ]
    first = completion.attempts[0]
    paths = {issue.path for issue in first.issues}
    assert {"$.order_id", "$.items[0].quantity"} <= paths
    assert first.usage is not None
    assert first.usage.total_tokens == 140
    assert completion.attempts[1].usage is not None
    assert completion.attempts[1].usage.total_tokens == 222
    assert completion.usage is not None
    assert completion.usage.total_tokens == 222

    # The second request carries the invalid answer and its errors, after the caller's turns.
    first_request, second_request = provider.chat_requests
    assert first_request.body is not None
    assert second_request.body is not None
    assert first_request.body["messages"] == ORDER_REQUEST["messages"]
    messages = second_request.body["messages"]
    assert messages[:1] == ORDER_REQUEST["messages"]
    assert messages[1] == {"role": "assistant", "content": json.dumps(INVALID)}
    assert messages[2]["role"] == "user"
    feedback = messages[2]["content"]
    assert "$.order_id" in feedback
    assert "$.items[0].quantity" in feedback
    assert '"two" is not of type "integer"' in feedback
    assert second_request.body["response_format"] == ORDER_REQUEST["response_format"]
    assert request == ORDER_REQUEST  # the caller's body is never mutated

    # One report for the call: both attempts, and the usage of both answers added up.
    (report,) = out.reports
    assert report.status is Status.COMPLETE
    assert [a.outcome for a in report.attempts] == ["invalid", "ok"]
    assert report.usage is not None
    assert (report.usage.prompt_tokens, report.usage.completion_tokens) == (280, 82)
    assert report.usage.total_tokens == 362
    assert report.to_dict()["usage"]["total_tokens"] == 362


def test_reasks_exhausted_fail_with_every_attempt(kind: str, provider: SimulatedProvider) -> None:
    provider.set_default(Reply.json(INVALID, usage=USAGE_1))
    out = run_call(kind, provider, reask_policy(2), ORDER_REQUEST)

    assert isinstance(out.error, ValidationFailed)
    assert type(out.error) is ValidationFailed
    assert len(provider.chat_requests) == 3  # the first answer and two re-asks
    assert [a.outcome for a in out.error.attempts] == ["invalid"] * 3
    assert all(a.issues for a in out.error.attempts)
    assert all(a.usage is not None for a in out.error.attempts)
    partial = out.error.partial
    assert partial is not None
    assert partial.status is Status.FAILED
    assert partial.attempts == list(out.error.attempts)
    assert partial.text == json.dumps(INVALID)
    assert out.deltas == []  # nothing invalid reached the caller
    # Each re-ask adds the latest answer and its errors after the earlier ones.
    last = provider.chat_requests[-1].body
    assert last is not None
    roles = [message["role"] for message in last["messages"]]
    assert roles == ["user", "assistant", "user", "assistant", "user"]
    (report,) = out.reports
    assert report.status is Status.FAILED
    assert report.usage is not None
    assert report.usage.total_tokens == 3 * 140


def test_a_truncated_or_refused_answer_is_not_reasked(
    kind: str, provider: SimulatedProvider
) -> None:
    provider.enqueue(Reply.json(VALID, finish_reason="length"))
    out = run_call(kind, provider, reask_policy(2), ORDER_REQUEST)
    assert isinstance(out.error, IncompleteAnswer)
    assert [a.outcome for a in out.error.attempts] == ["incomplete"]

    provider.reset()
    provider.enqueue(Reply.refusal("I can't read that e-mail."))
    out = run_call(kind, provider, reask_policy(2), ORDER_REQUEST)
    assert isinstance(out.error, AnswerRefused)
    assert [a.outcome for a in out.error.attempts] == ["refused"]
    assert len(provider.chat_requests) == 1


def test_a_transient_failure_during_a_reask_is_retried(
    kind: str, provider: SimulatedProvider
) -> None:
    provider.enqueue(Reply.json(INVALID), Fault.http_status(503), Reply.json(VALID, usage=USAGE_2))
    out = run_call(kind, provider, reask_policy(1, attempts=2), ORDER_REQUEST)
    assert out.error is None, out.error
    assert [a.outcome for a in out.result.attempts] == ["invalid", "status_503", "ok"]
    assert len(provider.chat_requests) == 3
    retried = provider.chat_requests[2].body
    assert retried is not None
    assert len(retried["messages"]) == 3


TOOL_REQUEST: dict[str, Any] = {
    **REQUEST,
    "tools": [
        {
            "type": "function",
            "function": {"name": "create_order", "parameters": ORDER_SCHEMA},
        }
    ],
    "tool_choice": {"type": "function", "function": {"name": "create_order"}},
}


def test_an_invalid_tool_call_is_answered_with_its_errors(
    kind: str, provider: SimulatedProvider
) -> None:
    provider.enqueue(
        Reply.tool_calls(ToolCallSpec.of("create_order", INVALID, id="call_1")),
        Reply.tool_calls(ToolCallSpec.of("create_order", VALID, id="call_2")),
    )
    out = run_call(kind, provider, reask_policy(1), TOOL_REQUEST)
    assert out.error is None, out.error
    (call,) = out.result.choices[0].message.tool_calls
    assert call.function.parsed_arguments == VALID
    body = provider.chat_requests[1].body
    assert body is not None
    assistant, tool = body["messages"][1:]
    assert assistant["tool_calls"][0]["id"] == "call_1"
    assert tool["role"] == "tool"
    assert tool["tool_call_id"] == "call_1"
    assert "$.items[0].quantity" in tool["content"]


@pytest.mark.parametrize("reask", [0, 3])
def test_a_stream_that_reached_the_caller_is_never_reasked(
    kind: str, provider: SimulatedProvider, reask: int
) -> None:
    provider.set_default(Reply.json(INVALID))
    out = run_call(kind, provider, reask_policy(reask, mode="stream"), ORDER_REQUEST)
    assert isinstance(out.error, ValidationFailed)
    assert "".join(out.deltas) == json.dumps(INVALID)
    assert len(provider.chat_requests) == 1


def test_a_withheld_stream_is_reasked(kind: str, provider: SimulatedProvider) -> None:
    provider.enqueue(Reply.json(INVALID), Reply.json(VALID))
    out = run_call(
        kind, provider, reask_policy(1, mode="stream"), ORDER_REQUEST, billing="before_delivery"
    )
    assert out.error is None, out.error
    assert "".join(out.deltas) == json.dumps(VALID)  # the invalid answer was never released
    assert [(a.mode, a.outcome) for a in out.result.attempts] == [
        ("stream", "invalid"),
        ("stream", "ok"),
    ]


def test_reasks_run_inside_the_same_total_clock(kind: str, provider: SimulatedProvider) -> None:
    # Each answer takes a good part of `total`: the re-asks run out of it long before 5.
    provider.set_default(Reply.json(INVALID, token_delay=0.3 / 20, chunk_chars=8))
    text = (
        "version: 1\n"
        "defaults:\n"
        "  mode: batch\n"
        "  validate: {reask: 5}\n"
        "  timeouts: {connect: 1s, total: 0.5s}\n"
        "  retries: {attempts: 1}\n"
        "rules: []\n"
    )
    out = run_call(kind, provider, Policy.from_text(text), ORDER_REQUEST)
    assert isinstance(out.error, TotalTimeout)
    assert within(out.elapsed, 0.5)
    *reasked, last = [a.outcome for a in out.error.attempts]
    assert reasked
    assert set(reasked) == {"invalid"}
    assert last == "total_timeout"
    assert len(provider.chat_requests) == len(reasked) + 1 < 6


@pytest.mark.anyio
async def test_cancelling_during_a_reask_records_it_and_closes_the_upstream(
    provider: SimulatedProvider,
) -> None:
    provider.enqueue(Reply.json(INVALID), Reply.json(VALID, first_token_delay=3.0))
    reports: list[Any] = []
    async with AsyncRouter(
        reask_policy(1), base_url=provider.base_url, api_key=API_KEY, usage_hook=reports.append
    ) as router:
        call = router.call(ORDER_REQUEST)
        with anyio.move_on_after(0.5):
            await call.result()
        await call.aclose()
    (report,) = reports
    assert report.status is Status.CANCELLED
    assert [a.outcome for a in report.attempts] == ["invalid", "cancelled"]
    assert len(provider.chat_requests) == 2
    assert provider.chat_requests[1].wait_client_closed(2.0)
