"""The Chat Completions dialect: request shaping, whole answers, error bodies."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from router.assemble import StreamAssembler
from router.completion import Status
from router.errors import ProtocolError
from router.providers import ChatCompletionsDialect, Dialect, UpstreamErrorInfo, get_dialect

DIALECT = ChatCompletionsDialect()

REQUEST: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "user", "content": "hi"}],
    "stream": False,
    "stream_options": {"include_usage": False, "include_obfuscation": False},
}


# --- the protocol --------------------------------------------------------------------------


def test_dialect_lookup_and_protocol() -> None:
    dialect: Dialect = get_dialect("azure")
    assert dialect.name == "azure"
    assert get_dialect().name == "openai"
    assert get_dialect("vllm").name == "vllm"  # compatible servers speak Chat Completions
    assert isinstance(dialect.new_assembler(), StreamAssembler)
    assert dialect.new_assembler() is not dialect.new_assembler()
    assert "azure" in repr(dialect)


# --- shape_request ---------------------------------------------------------------------------


def test_stream_with_usage_asks_for_it_and_keeps_other_stream_options() -> None:
    original = copy.deepcopy(REQUEST)
    shaped = DIALECT.shape_request(REQUEST, stream=True, include_usage=True)
    assert shaped["stream"] is True
    assert shaped["stream_options"] == {"include_usage": True, "include_obfuscation": False}
    assert shaped["messages"] == REQUEST["messages"]
    assert original == REQUEST  # the caller's body, nested dicts included, is untouched


def test_stream_without_usage_drops_include_usage() -> None:
    shaped = DIALECT.shape_request(
        {"model": "m", "stream_options": {"include_usage": True}}, stream=True, include_usage=False
    )
    assert shaped == {"model": "m", "stream": True}


def test_stream_without_any_stream_options() -> None:
    shaped = DIALECT.shape_request({"model": "m"}, stream=True, include_usage=True)
    assert shaped == {"model": "m", "stream": True, "stream_options": {"include_usage": True}}


def test_batch_drops_stream_and_stream_options() -> None:
    original = copy.deepcopy(REQUEST)
    shaped = DIALECT.shape_request({**REQUEST, "stream": True}, stream=False, include_usage=True)
    assert "stream" not in shaped
    assert "stream_options" not in shaped
    assert shaped["model"] == "gpt-4o-mini"
    assert original == REQUEST


def test_shaped_body_is_a_new_dict() -> None:
    body = {"model": "m"}
    shaped = DIALECT.shape_request(body, stream=False, include_usage=False)
    shaped["extra"] = 1
    assert body == {"model": "m"}


# --- parse_response --------------------------------------------------------------------------

RESPONSE: dict[str, Any] = {
    "id": "chatcmpl-123",
    "object": "chat.completion",
    "created": 1741570283,
    "model": "gpt-4o-2024-08-06",
    "system_fingerprint": "fp_1",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "refusal": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
                "annotations": [],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
}


def test_parse_response_reads_a_chat_completion() -> None:
    completion = DIALECT.parse_response(RESPONSE)
    assert completion.status == Status.COMPLETE
    assert completion.mode == "batch"
    assert completion.id == "chatcmpl-123"
    assert completion.created == 1741570283
    call = completion.choices[0].message.tool_calls[0]
    assert (call.id, call.function.name, call.function.arguments) == (
        "call_1",
        "get_weather",
        '{"city":"Paris"}',
    )
    assert completion.usage is not None
    assert completion.usage.total_tokens == 15
    expected = {k: v for k, v in RESPONSE.items()}
    expected["choices"] = [dict(RESPONSE["choices"][0])]
    message = dict(RESPONSE["choices"][0]["message"])
    del message["annotations"]
    expected["choices"][0]["message"] = message
    assert completion.to_dict() == expected


def test_parse_response_reasoning_refusal_and_several_choices() -> None:
    payload = {
        "id": "x",
        "choices": [
            {
                "index": 1,
                "message": {"content": "b", "reasoning": "why"},
                "finish_reason": "length",
            },
            {
                "index": 0,
                "message": {"refusal": "no", "reasoning_content": "hm"},
                "finish_reason": "stop",
            },
        ],
    }
    completion = DIALECT.parse_response(payload)
    assert [c.index for c in completion.choices] == [0, 1]
    assert completion.choices[0].message.refusal == "no"
    assert completion.choices[0].message.reasoning == "hm"
    assert completion.choices[1].message.reasoning == "why"
    assert completion.status == Status.COMPLETE


def test_parse_response_without_finish_reason_is_interrupted() -> None:
    payload = {"choices": [{"index": 0, "message": {"content": "x"}, "finish_reason": None}]}
    assert DIALECT.parse_response(payload).status == Status.INTERRUPTED
    assert DIALECT.parse_response({"choices": []}).status == Status.INTERRUPTED


def test_parse_response_keeps_object_arguments_as_json_text() -> None:
    payload = {
        "choices": [
            {
                "index": 0,
                "message": {"tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]},
                "finish_reason": "tool_calls",
            }
        ]
    }
    call = DIALECT.parse_response(payload).choices[0].message.tool_calls[0]
    assert json.loads(call.function.arguments) == {"a": 1}
    assert call.type == "function"
    assert call.id is None


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([1], "JSON list, expected a chat.completion"),
        ({"error": {"message": "quota", "type": "insufficient_quota"}}, "error payload: quota"),
        ({"id": "x"}, "choices is missing"),
        ({"choices": {"0": {}}}, "choices is dict"),
        ({"choices": ["x"]}, "choices[0] is str"),
        ({"choices": [{"index": "0"}]}, "choices[0].index is not an integer"),
        ({"choices": [{"message": "hi"}]}, "choices[0].message is not an object"),
        ({"choices": [{"message": {"content": 5}}]}, "choices[0].message.content is int"),
        ({"choices": [{"message": {"tool_calls": {}}}]}, "tool_calls is not a list"),
        ({"choices": [{"message": {"tool_calls": [1]}}]}, "tool_calls[0] is not an object"),
        (
            {"choices": [{"message": {"tool_calls": [{"function": "f"}]}}]},
            "tool_calls[0].function is not an object",
        ),
    ],
)
def test_parse_response_rejects_what_is_not_a_chat_completion(payload: Any, message: str) -> None:
    with pytest.raises(ProtocolError, match="response body") as caught:
        DIALECT.parse_response(payload)
    assert message in str(caught.value)


# --- parse_error -----------------------------------------------------------------------------


def body(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def test_openai_error_body() -> None:
    info = DIALECT.parse_error(
        400,
        body(
            {
                "error": {
                    "message": "This model's maximum context length is 128000 tokens.",
                    "type": "invalid_request_error",
                    "param": "messages",
                    "code": "context_length_exceeded",
                }
            }
        ),
    )
    assert isinstance(info, UpstreamErrorInfo)
    assert info.retryable is False
    assert info.status_code == 400
    assert (info.type, info.code, info.param) == (
        "invalid_request_error",
        "context_length_exceeded",
        "messages",
    )
    assert info.message == "HTTP 400: This model's maximum context length is 128000 tokens."
    assert info.payload["error"]["code"] == "context_length_exceeded"
    assert info.to_dict()["retryable"] is False


@pytest.mark.parametrize(
    ("status", "error", "retryable"),
    [
        (
            429,
            {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"},
            True,
        ),
        (429, {"message": "You exceeded your quota", "type": "insufficient_quota"}, False),
        (500, {"message": "The server had an error", "type": "server_error"}, True),
        (503, {"message": "Overloaded", "type": "overloaded_error"}, True),
        (500, {"message": "bad", "type": "invalid_request_error"}, False),
        (400, {"message": "too long", "code": "context_length_exceeded"}, False),
        (400, {"message": "filtered", "code": "content_filter"}, False),
        (401, {"message": "Incorrect API key provided", "code": "invalid_api_key"}, False),
        (404, {"message": "no such model", "code": "model_not_found"}, False),
        (408, {"message": "timeout"}, True),
        (409, {"message": "conflict"}, True),
        (422, {"message": "unprocessable"}, False),
    ],
)
def test_retry_verdict(status: int, error: dict[str, Any], retryable: bool) -> None:
    info = DIALECT.parse_error(status, body({"error": error}))
    assert info.retryable is retryable
    assert error["message"] in info.message


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"error": "upstream timeout"}, "upstream timeout"),
        (
            [
                {
                    "error": {
                        "code": 503,
                        "message": "The model is overloaded.",
                        "status": "UNAVAILABLE",
                    }
                }
            ],
            "overloaded",
        ),
        (
            {
                "object": "error",
                "message": "max_tokens is too large",
                "type": "BadRequestError",
                "code": 400,
            },
            "max_tokens",
        ),
        ({"detail": "Not Found"}, "Not Found"),
        ({"detail": [{"loc": ["body", "model"], "msg": "field required"}]}, "field required"),
        ({"message": "Invalid API key"}, "Invalid API key"),
    ],
)
def test_error_bodies_in_the_shapes_servers_send(payload: Any, message: str) -> None:
    info = DIALECT.parse_error(400, body(payload))
    assert message in info.message
    assert info.payload == payload


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            b"<html><body><h1>502 Bad Gateway</h1>\n\n</body></html>",
            "HTTP 502: <html><body><h1>502 Bad Gateway</h1> </body></html>",
        ),
        (b"", "HTTP 502: Bad Gateway"),
        (b"\xff\xfe garbage \x00", "HTTP 502: \ufffd\ufffd garbage \x00"),
        (b'{"unrelated": true}', 'HTTP 502: {"unrelated": true}'),
        (b"[]", "HTTP 502: []"),
    ],
)
def test_non_json_or_unknown_bodies_become_one_line(raw: bytes, expected: str) -> None:
    info = DIALECT.parse_error(502, raw)
    assert info.message == expected
    assert info.retryable is True


def test_huge_body_is_bounded_to_one_short_line() -> None:
    info = DIALECT.parse_error(500, b"<p>\n" + b"x " * 1_000_000)
    assert len(info.message) < 600
    assert "\n" not in info.message


def test_unknown_status_phrase() -> None:
    assert DIALECT.parse_error(599, b"").message == "HTTP 599: no details"
    assert DIALECT.parse_error(599, b"").retryable is True
    assert DIALECT.parse_error(418, b"").retryable is False


# --- parse_stream_error ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        ({"message": "The server had an error", "type": "server_error"}, True),
        ({"message": "boom", "type": "error"}, True),
        ({"message": "too long", "type": "invalid_request_error"}, False),
        ({"message": "too long", "code": "context_length_exceeded", "type": "error"}, False),
        ({"message": "bad max_tokens", "type": "BadRequestError", "code": 400}, False),
        ({"message": "busy", "type": "ServiceUnavailableError", "code": 503}, True),
        ({"message": "odd", "type": "error", "code": 42}, True),  # 42 is no HTTP status
    ],
)
def test_stream_error_verdict(error: dict[str, Any], retryable: bool) -> None:
    info = DIALECT.parse_stream_error(error)
    assert info.retryable is retryable
    assert info.status_code is None
    assert info.message == error["message"]


def test_stream_error_without_message_names_its_type() -> None:
    assert DIALECT.parse_stream_error({"type": "overloaded_error"}).message == "overloaded_error"
    assert DIALECT.parse_stream_error({}).message == "unknown error"


def test_parse_response_keeps_azure_filter_results() -> None:
    payload = {
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
        "choices": [
            {
                "index": 0,
                "message": {"content": "x"},
                "finish_reason": "stop",
                "content_filter_results": {"hate": {"filtered": False}},
            }
        ],
    }
    completion = DIALECT.parse_response(payload)
    assert completion.prompt_filter_results == [{"prompt_index": 0, "content_filter_results": {}}]
    assert completion.choices[0].content_filter_results == {"hate": {"filtered": False}}


def test_parse_response_keeps_a_legacy_function_call() -> None:
    payload = {
        "choices": [
            {
                "index": 0,
                "message": {"content": None, "function_call": {"name": "f", "arguments": "{}"}},
                "finish_reason": "function_call",
            }
        ]
    }
    call = DIALECT.parse_response(payload).choices[0].message.tool_calls[0]
    assert (call.id, call.type, call.function.name, call.function.arguments) == (
        None,
        "function",
        "f",
        "{}",
    )


def test_parse_error_keeps_the_whole_body_as_payload_and_the_status() -> None:
    body = {"error": {"message": "slow down", "type": "rate_limit_error", "param": "model"}}
    info = DIALECT.parse_error(429, json.dumps(body).encode())
    assert info.payload == body
    assert (info.status_code, info.type, info.param, info.retryable) == (
        429,
        "rate_limit_error",
        "model",
        True,
    )
    assert info.message == "HTTP 429: slow down"


def test_parse_stream_error_keeps_the_error_object_as_payload() -> None:
    error = {"message": "overloaded", "type": "server_error"}
    info = DIALECT.parse_stream_error(error)
    assert info.payload == error
    assert info.status_code is None


@pytest.mark.parametrize(
    ("payload", "retryable"),
    [
        ({"error": {"message": "overloaded", "type": "server_error"}}, True),
        ({"error": {"message": "slow down", "code": 429}}, True),
        ({"error": {"message": "quota", "type": "insufficient_quota"}}, False),
        ({"error": {"message": "bad", "code": 400}}, False),
        ({"error": "upstream timed out", "choices": []}, True),
    ],
)
def test_body_error_reads_the_verdict_from_the_error_not_the_200(
    payload: dict[str, Any], retryable: bool
) -> None:
    info = DIALECT.body_error(payload)
    assert info is not None
    assert info.retryable is retryable
    with pytest.raises(ProtocolError, match="error payload"):
        DIALECT.parse_response(payload)


@pytest.mark.parametrize(
    "payload",
    [
        {"error": None, "choices": [{"index": 0, "message": {"content": "hi"}}]},
        {"error": {"message": "x"}, "choices": [{"index": 0, "message": {"content": "hi"}}]},
        {"error": None},
        {"id": "x"},
    ],
)
def test_body_error_is_none_beside_an_answer_or_without_an_error(payload: dict[str, Any]) -> None:
    assert DIALECT.body_error(payload) is None
