"""Scripted answers match OpenAI's chunks and whole responses, field for field."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest

from router.testing import (
    PING_COMMENT,
    PING_DATA,
    PING_EVENT,
    Quirks,
    Reply,
    SimulatedProvider,
    ToolCallSpec,
)

from .conftest import chat, chunks, content, events
from .conftest import post as http_post


def post(provider: SimulatedProvider, **body: object) -> httpx.Response:
    return http_post(provider.base_url + "/chat/completions", json=chat(**body), timeout=5)  # type: ignore[arg-type]


def test_chunks_have_openai_shape_and_framing(provider: SimulatedProvider) -> None:
    provider.set_default(Reply.text("Hello there"))
    raw = post(provider, stream=True).content
    assert raw.endswith(b"}\n\ndata: [DONE]\n\n")
    assert re.fullmatch(rb"(data: [^\n]+\n\n)+", raw)
    parsed = chunks(raw)
    first = parsed[0]
    assert list(first) == [
        "id",
        "object",
        "created",
        "model",
        "service_tier",
        "system_fingerprint",
        "choices",
        "obfuscation",
    ]
    assert all(re.fullmatch(r"[A-Za-z0-9]{1,12}", chunk["obfuscation"]) for chunk in parsed)
    assert re.fullmatch(r"chatcmpl-[A-Za-z0-9]{29}", first["id"])
    assert first["object"] == "chat.completion.chunk"
    assert first["model"] == "gpt-4o-mini"
    assert first["system_fingerprint"].startswith("fp_")
    assert first["choices"] == [
        {
            "index": 0,
            "delta": {"role": "assistant", "content": "", "refusal": None},
            "logprobs": None,
            "finish_reason": None,
        }
    ]
    assert {c["id"] for c in parsed} == {first["id"]}
    assert {c["created"] for c in parsed} == {first["created"]}
    assert [c["choices"][0]["delta"] for c in parsed[1:]] == [
        {"content": "Hello"},
        {"content": " there"},
        {},
    ]
    assert parsed[-1]["choices"][0]["finish_reason"] == "stop"
    assert b", " not in raw  # compact JSON, as OpenAI sends it


def test_include_usage_adds_null_usage_and_a_final_usage_only_chunk(
    provider: SimulatedProvider,
) -> None:
    raw = post(provider, stream=True, stream_options={"include_usage": True}).content
    parsed = chunks(raw)
    assert all("usage" in chunk for chunk in parsed)
    assert all(chunk["usage"] is None for chunk in parsed[:-1])
    last = parsed[-1]
    assert last["choices"] == []
    assert last["usage"]["completion_tokens"] == 7
    assert last["usage"]["total_tokens"] == (
        last["usage"]["prompt_tokens"] + last["usage"]["completion_tokens"]
    )
    assert "usage" not in chunks(post(provider, stream=True).content)[0]


def test_whole_answer_is_a_chat_completion(provider: SimulatedProvider) -> None:
    provider.set_default(
        Reply.text(
            "Hello there", usage={"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
        )
    )
    answer = post(provider)
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert re.fullmatch(r"chatcmpl-\w{29}", body["id"])
    assert body["object"] == "chat.completion"
    assert body["choices"] == [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Hello there",
                "refusal": None,
                "annotations": [],
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ]
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}


@pytest.mark.parametrize("reason", ["stop", "length", "content_filter", "tool_calls"])
def test_finish_reasons(provider: SimulatedProvider, reason: str) -> None:
    provider.set_default(Reply.text("cut", finish_reason=reason))
    assert chunks(post(provider, stream=True).content)[-1]["choices"][0]["finish_reason"] == reason
    assert post(provider).json()["choices"][0]["finish_reason"] == reason


def test_parallel_tool_calls_stream_as_indexed_fragments(provider: SimulatedProvider) -> None:
    provider.set_default(
        Reply.tool_calls(
            ToolCallSpec.of("get_weather", {"city": "Paris"}, id="call_a"),
            ToolCallSpec.of("get_time", {"tz": "Europe/Paris"}, id="call_b"),
        )
    )
    parsed = chunks(post(provider, stream=True).content)
    # OpenAI opens a tool-calling answer with the role and the first call in one delta.
    assert parsed[0]["choices"][0]["delta"] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "index": 0,
                "id": "call_a",
                "type": "function",
                "function": {"name": "get_weather", "arguments": ""},
            }
        ],
        "refusal": None,
    }
    calls: dict[int, dict[str, str]] = {}
    for chunk in parsed:
        for fragment in chunk["choices"][0]["delta"].get("tool_calls", []):
            entry = calls.setdefault(fragment["index"], {"id": "", "name": "", "arguments": ""})
            entry["id"] += fragment.get("id", "")
            entry["name"] += fragment.get("function", {}).get("name", "")
            entry["arguments"] += fragment.get("function", {}).get("arguments", "")
    assert calls == {
        0: {"id": "call_a", "name": "get_weather", "arguments": '{"city": "Paris"}'},
        1: {"id": "call_b", "name": "get_time", "arguments": '{"tz": "Europe/Paris"}'},
    }
    assert parsed[-1]["choices"][0]["finish_reason"] == "tool_calls"
    whole = post(provider).json()["choices"][0]
    assert whole["message"]["content"] is None
    assert whole["message"]["tool_calls"][1] == {
        "id": "call_b",
        "type": "function",
        "function": {"name": "get_time", "arguments": '{"tz": "Europe/Paris"}'},
    }
    assert whole["finish_reason"] == "tool_calls"


def test_tool_call_deltas_without_index(provider: SimulatedProvider) -> None:
    provider.set_default(
        Reply.tool_calls(ToolCallSpec.of("f", {"a": 1}), quirks=Quirks(tool_call_index=False))
    )
    fragments = [
        fragment
        for chunk in chunks(post(provider, stream=True).content)
        for fragment in chunk["choices"][0]["delta"].get("tool_calls", [])
    ]
    assert fragments
    assert all("index" not in fragment for fragment in fragments)


def test_structured_json_answer_streams_in_pieces(provider: SimulatedProvider) -> None:
    provider.set_default(Reply.json({"name": "Ada", "born": 1815}))
    raw = post(provider, stream=True).content
    assert json.loads(content(raw)) == {"name": "Ada", "born": 1815}
    assert len(chunks(raw)) > 4
    assert json.loads(post(provider).json()["choices"][0]["message"]["content"]) == {
        "name": "Ada",
        "born": 1815,
    }


def test_refusal(provider: SimulatedProvider) -> None:
    provider.set_default(Reply.refusal("I can't help with that."))
    parsed = chunks(post(provider, stream=True).content)
    assert parsed[0]["choices"][0]["delta"] == {"role": "assistant", "content": None, "refusal": ""}
    refusal = "".join(c["choices"][0]["delta"].get("refusal") or "" for c in parsed)
    assert refusal == "I can't help with that."
    message = post(provider).json()["choices"][0]["message"]
    assert message["content"] is None
    assert message["refusal"] == "I can't help with that."


def test_reasoning_content_deltas_come_before_the_answer(provider: SimulatedProvider) -> None:
    provider.set_default(Reply.text("42", reasoning="Let me think."))
    deltas = [c["choices"][0]["delta"] for c in chunks(post(provider, stream=True).content)]
    reasoning = "".join(d.get("reasoning_content") or "" for d in deltas)
    assert reasoning == "Let me think."
    first_content = next(i for i, d in enumerate(deltas) if d.get("content"))
    last_reasoning = max(i for i, d in enumerate(deltas) if d.get("reasoning_content"))
    assert last_reasoning < first_content
    assert post(provider).json()["choices"][0]["message"]["reasoning_content"] == "Let me think."


def test_n_greater_than_one_interleaves_choices(provider: SimulatedProvider) -> None:
    provider.set_default(Reply.many("first answer", "second answer"))
    raw = post(provider, stream=True, n=3).content
    assert [content(raw, i) for i in range(3)] == ["first answer", "second answer", "second answer"]
    indexes = [c["choices"][0]["index"] for c in chunks(raw)]
    assert indexes[:2] == [0, 1]
    whole = post(provider, n=2).json()["choices"]
    assert [c["message"]["content"] for c in whole] == ["first answer", "second answer"]


def test_azure_filter_chunks(provider: SimulatedProvider) -> None:
    provider.set_quirks(Quirks(azure_filters=True))
    raw = post(provider, stream=True).content
    parsed = chunks(raw)
    assert parsed[0]["choices"] == []
    assert parsed[0]["id"] == ""
    assert parsed[0]["prompt_filter_results"][0]["prompt_index"] == 0
    assert "content_filter_results" in parsed[2]["choices"][0]
    assert "content_filter_offsets" in parsed[-1]["choices"][0]
    assert "delta" not in parsed[-1]["choices"][0]
    assert list(parsed[1]) == sorted(parsed[1])  # Azure's alphabetical key order
    assert content(raw) == "Hello! How can I help you today?"


@pytest.mark.parametrize("ping", [PING_COMMENT, PING_EVENT, PING_DATA])
def test_pings_between_deltas(provider: SimulatedProvider, ping: str) -> None:
    provider.set_default(Reply.text("a b c", quirks=Quirks(ping=ping)))
    raw = post(provider, stream=True).content
    assert raw.count(ping.encode()) == 3
    assert content(raw.replace(ping.encode(), b"")) == "a b c"


def test_server_that_rejects_stream_options(provider: SimulatedProvider) -> None:
    provider.set_quirks(Quirks(reject_stream_options=True))
    rejected = post(provider, stream=True, stream_options={"include_usage": True})
    assert rejected.status_code == 400
    assert rejected.json() == {
        "error": {
            "message": "Unrecognized request argument supplied: stream_options",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
    assert post(provider, stream=True).status_code == 200


def test_timing_delays_first_token_and_between_tokens(provider: SimulatedProvider) -> None:
    provider.set_default(Reply.text("a b", first_token_delay=0.2, token_delay=0.2))
    with (
        httpx.Client(verify=False, base_url=provider.base_url) as client,
        client.stream("POST", "/chat/completions", json=chat(stream=True)) as response,
    ):
        start = time.monotonic()
        arrivals = [time.monotonic() - start for _ in response.iter_raw()]
    assert arrivals[0] >= 0.15
    assert arrivals[-1] - arrivals[0] >= 0.15


def test_model_echoes_the_request(provider: SimulatedProvider) -> None:
    assert post(provider, model="gpt-4o").json()["model"] == "gpt-4o"
    assert (
        events(post(provider, stream=True, model="o3-mini").content)[0].count('"model":"o3-mini"')
        == 1
    )


def test_generated_tool_call_ids_look_like_openai_ones(provider: SimulatedProvider) -> None:
    provider.set_default(Reply.tool_calls(ToolCallSpec.of("f", {}), ToolCallSpec.of("g", {})))
    opened = [
        fragment["id"]
        for chunk in chunks(post(provider, stream=True).content)
        for fragment in chunk["choices"][0]["delta"].get("tool_calls", [])
        if "id" in fragment
    ]
    assert len(opened) == 2
    assert all(re.fullmatch(r"call_[A-Za-z0-9]{24}", call_id) for call_id in opened)
    assert opened[0] != opened[1]


def test_stream_faults_count_tool_call_fragments_as_progress(provider: SimulatedProvider) -> None:
    from router.testing import Fault

    reply = Reply.tool_calls(ToolCallSpec.of("f", {"long": "x" * 40}))
    provider.set_default(Fault.end_without_done(after=2, reply=reply))
    parsed = chunks(post(provider, stream=True).content)
    assert len(parsed) == 2  # the opening (role + first call) and one arguments fragment
    assert "tool_calls" in parsed[0]["choices"][0]["delta"]


def test_obfuscation_padding_follows_usage_and_can_be_turned_off(
    provider: SimulatedProvider,
) -> None:
    options = {"include_usage": True}
    padded = chunks(post(provider, stream=True, stream_options=options).content)
    assert list(padded[-1])[-3:] == ["choices", "usage", "obfuscation"]
    plain = chunks(
        post(
            provider, stream=True, stream_options={**options, "include_obfuscation": False}
        ).content
    )
    assert all("obfuscation" not in chunk for chunk in plain)


def test_stream_options_without_stream_is_a_400_as_at_openai(provider: SimulatedProvider) -> None:
    rejected = post(provider, stream_options={"include_usage": True})
    assert rejected.status_code == 400
    assert rejected.json()["error"] == {
        "message": "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        "type": "invalid_request_error",
        "param": "stream_options",
        "code": None,
    }


def test_options_of_many_choices_apply_to_each_choice() -> None:
    reply = Reply.many("one", "two", finish_reason="length", reasoning="hmm", token_delay=0.1)
    assert [choice.text for choice in reply.choices] == ["one", "two"]
    assert {choice.resolved_finish_reason for choice in reply.choices} == {"length"}
    assert {choice.reasoning for choice in reply.choices} == {("hmm",)}
    assert reply.token_delay == 0.1
