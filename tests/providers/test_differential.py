"""Differential test: our assembly equals the official openai package's, from the same bytes.

Hypothesis writes well-formed Chat Completions streams (text, parallel tool calls, one or
two choices, a usage-only final chunk), cuts the bytes at random points, and both sides
read them: our `SSEDecoder` + `StreamAssembler`, and the openai SDK's own `Stream` decoder +
`ChatCompletionStreamState` accumulator (the code behind `client.chat.completions.stream`).
"""

from __future__ import annotations

import json
from typing import Any

import openai
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk

try:  # the HTTP library the installed openai package is built on
    import httpx2 as sdk_http
except ImportError:  # openai releases built on httpx
    import httpx as sdk_http

from router.completion import Status
from router.providers import get_dialect
from router.sse import SSEDecoder

_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)),
    min_size=1,
    max_size=8,
)


@st.composite
def tool_call(draw: st.DrawFn, call_number: int) -> tuple[str, str, list[str]]:
    name = draw(st.sampled_from(["get_weather", "lookup", "add"]))
    arguments = json.dumps({"q": draw(_text), "n": draw(st.integers(-5, 5))}, ensure_ascii=False)
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(arguments) - 1)), max_size=4)))
    fragments = [arguments[a:b] for a, b in zip([0, *cuts], [*cuts, len(arguments)], strict=True)]
    return f"call_{call_number}_{name}", name, fragments


@st.composite
def choice_script(draw: st.DrawFn) -> dict[str, Any]:
    """What one choice says: text fragments, or tool calls (possibly after some text)."""
    texts = draw(st.lists(_text, max_size=6))
    calls = draw(st.lists(st.integers(), max_size=3))
    tools = [draw(tool_call(number)) for number in range(len(calls))]
    finish = "tool_calls" if tools else draw(st.sampled_from(["stop", "length"]))
    return {"texts": texts, "tools": tools, "finish": finish}


@st.composite
def stream(draw: st.DrawFn) -> tuple[list[bytes], bool]:
    """The events of one well-formed stream, in an order a server could send them."""
    n = draw(st.integers(1, 2))
    scripts = [draw(choice_script()) for _ in range(n)]
    with_usage = draw(st.booleans())
    head = {
        "id": "chatcmpl-" + draw(st.text("abcdefXYZ0123456789", min_size=4, max_size=12)),
        "object": "chat.completion.chunk",
        "created": draw(st.integers(1_600_000_000, 1_800_000_000)),
        "model": draw(st.sampled_from(["gpt-4o-mini-2024-07-18", "gpt-4.1", "o3-mini"])),
        "system_fingerprint": "fp_" + draw(st.text("0123456789abcdef", min_size=6, max_size=10)),
    }

    def event(choices: list[dict[str, Any]], usage: Any = None) -> dict[str, Any]:
        body = dict(head)
        body["choices"] = choices
        if with_usage:
            body["usage"] = usage
        return body

    def choice(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}

    events = [event([choice(i, {"role": "assistant", "content": ""}) for i in range(n)])]
    # Per choice, its deltas in order; the choices' deltas are then interleaved at random.
    queues: list[list[dict[str, Any]]] = []
    for index, script in enumerate(scripts):
        deltas = [{"content": text} for text in script["texts"]]
        for tool_index, (call_id, name, fragments) in enumerate(script["tools"]):
            deltas.append(
                {
                    "tool_calls": [
                        {
                            "index": tool_index,
                            "id": call_id,
                            "type": "function",
                            "function": {"name": name, "arguments": ""},
                        }
                    ]
                }
            )
            deltas.extend(
                {"tool_calls": [{"index": tool_index, "function": {"arguments": fragment}}]}
                for fragment in fragments
            )
        queues.append([choice(index, delta) for delta in deltas])
    while any(queues):
        pick = draw(st.sampled_from([i for i, queue in enumerate(queues) if queue]))
        events.append(event([queues[pick].pop(0)]))
    for index, script in enumerate(scripts):
        events.append(event([choice(index, {}, script["finish"])]))
    if with_usage:
        tokens = draw(st.integers(1, 500))
        usage = {"prompt_tokens": 7, "completion_tokens": tokens, "total_tokens": tokens + 7}
        events.append(event([], usage))
    separators = draw(st.sampled_from([(",", ":"), (", ", ": ")]))
    ascii_only = draw(st.booleans())
    encoded = [
        f"data: {json.dumps(e, ensure_ascii=ascii_only, separators=separators)}\n\n".encode()
        for e in events
    ]
    encoded.append(b"data: [DONE]\n\n")
    return encoded, with_usage


def split(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(body) + 1) for cut in cuts})
    bounds = zip([0, *points], [*points, len(body)], strict=True)
    return [body[start:end] for start, end in bounds]


def ours(chunks: list[bytes]) -> tuple[dict[str, Any], Status]:
    decoder = SSEDecoder()
    assembler = get_dialect("openai").new_assembler()
    for chunk in chunks:
        for event in decoder.decode(chunk):
            assembler.feed(event)
    decoder.flush()
    completion = assembler.finish(eof=True)
    return completion.to_dict(), completion.status


_CLIENT = openai.OpenAI(api_key="sk-test", base_url="http://127.0.0.1:9/v1", max_retries=0)


def theirs(chunks: list[bytes]) -> dict[str, Any]:
    """The openai SDK's decoder and accumulator over the same chunks, in our JSON shape."""
    response = sdk_http.Response(
        200,
        headers={"content-type": "text/event-stream"},
        content=iter(chunks),
        request=sdk_http.Request("POST", "http://127.0.0.1:9/v1/chat/completions"),
    )
    sdk_stream = openai.Stream(cast_to=ChatCompletionChunk, response=response, client=_CLIENT)
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for chunk in sdk_stream:
        state.handle_chunk(chunk)
    # The accumulated snapshot: `get_final_completion()` adds parsing on top, which refuses
    # `length` finishes; the assembly is the same.
    final = state.current_completion_snapshot.model_dump(mode="json")
    choices = []
    for choice in final["choices"]:
        message = choice["message"]
        shaped = {
            "role": message["role"],
            "content": message["content"],
            "refusal": message["refusal"],
        }
        if message.get("tool_calls"):
            shaped["tool_calls"] = [
                {
                    "id": call["id"],
                    "type": call["type"],
                    "function": {
                        "name": call["function"]["name"],
                        "arguments": call["function"]["arguments"],
                    },
                }
                for call in message["tool_calls"]
            ]
        choices.append(
            {
                "index": choice["index"],
                "message": shaped,
                "finish_reason": choice["finish_reason"],
                "logprobs": choice["logprobs"],
            }
        )
    return {
        "id": final["id"],
        "object": final["object"],
        "created": final["created"],
        "model": final["model"],
        "system_fingerprint": final["system_fingerprint"],
        "choices": choices,
        "usage": final["usage"],
    }


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated=stream(), cuts=st.lists(st.integers(0, 100_000), max_size=12))
def test_assembly_equals_the_openai_sdk_accumulator(
    generated: tuple[list[bytes], bool], cuts: list[int]
) -> None:
    events, with_usage = generated
    chunks = split(b"".join(events), cuts)
    assembled, status = ours(chunks)
    expected = theirs(chunks)
    if expected["usage"] is not None:
        # The SDK's model adds the optional detail fields as null; the wire had none.
        expected["usage"] = {k: v for k, v in expected["usage"].items() if v is not None}
    assert assembled == expected
    assert status == Status.COMPLETE
    assert (assembled["usage"] is not None) == with_usage


def test_the_sdk_side_reads_a_recorded_stream() -> None:
    """Guard for the harness itself: the SDK side sees the same tool calls we do."""
    body = (
        b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":'
        b'[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}\n\n'
        b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":'
        b'[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
        b"data: [DONE]\n\n"
    )
    expected = theirs([body])
    assert expected["choices"][0]["message"]["content"] == "Hi"
    assert ours([body])[0] == expected
