"""For any scripted reply, the stream and the whole answer say the same thing."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.testing import ChoiceSpec, Fault, Reply, SimulatedTransport, ToolCallSpec
from router.testing.answers import reply_plan
from router.testing.plan import Pause, PlanConfig
from router.testing.recording import RecordedRequest
from router.testing.scripts import split_text

from .conftest import chunks, recorded

texts = st.lists(st.text(min_size=1, max_size=8), max_size=6).map(tuple)
calls = st.lists(
    st.builds(
        ToolCallSpec.of,
        st.sampled_from(["f", "get_weather", "lookup"]),
        st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3),
    ),
    max_size=3,
).map(tuple)
choice_specs = st.builds(
    ChoiceSpec,
    content=texts,
    refusal=texts,
    reasoning=texts,
    tool_calls=calls,
    finish_reason=st.sampled_from([None, "stop", "length", "content_filter"]),
    chunk_chars=st.integers(1, 12),
)
replies = st.builds(Reply, choices=st.lists(choice_specs, min_size=1, max_size=3).map(tuple))


def assemble(raw: bytes) -> list[dict[str, Any]]:
    """A minimal reference assembler: each choice's message and finish reason."""
    out: dict[int, dict[str, Any]] = {}
    for chunk in chunks(raw):
        for choice in chunk["choices"]:
            entry = out.setdefault(
                choice["index"],
                {"content": "", "refusal": "", "reasoning": "", "calls": {}, "finish": None},
            )
            delta = choice["delta"]
            entry["content"] += delta.get("content") or ""
            entry["refusal"] += delta.get("refusal") or ""
            entry["reasoning"] += delta.get("reasoning_content") or ""
            for fragment in delta.get("tool_calls", []):
                call = entry["calls"].setdefault(fragment["index"], {"name": "", "arguments": ""})
                call["name"] += fragment.get("function", {}).get("name", "")
                call["arguments"] += fragment.get("function", {}).get("arguments", "")
            entry["finish"] = choice["finish_reason"] or entry["finish"]
    return [out[index] for index in sorted(out)]


def whole(message_choice: dict[str, Any]) -> dict[str, Any]:
    message = message_choice["message"]
    return {
        "content": message["content"] or "",
        "refusal": message["refusal"] or "",
        "reasoning": message.get("reasoning_content") or "",
        "calls": {
            position: {"name": c["function"]["name"], "arguments": c["function"]["arguments"]}
            for position, c in enumerate(message.get("tool_calls", []))
        },
        "finish": message_choice["finish_reason"],
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reply=replies, include_usage=st.booleans())
def test_stream_and_whole_answer_agree(reply: Reply, include_usage: bool) -> None:
    transport = SimulatedTransport(reply)
    n = len(reply.choices)
    body: dict[str, Any] = {"messages": [], "n": n}
    with httpx.Client(transport=transport, base_url="https://x/v1") as client:
        streamed = client.post(
            "/chat/completions",
            json={**body, "stream": True, "stream_options": {"include_usage": include_usage}},
        )
        answered = client.post("/chat/completions", json=body).json()
    assert streamed.content.endswith(b"data: [DONE]\n\n")
    assert assemble(streamed.content) == [whole(choice) for choice in answered["choices"]]
    if include_usage:
        final = chunks(streamed.content)[-1]
        assert final["choices"] == []
        assert final["usage"] == answered["usage"]
    for choice in answered["choices"]:
        for call in choice["message"].get("tool_calls", []):
            json.loads(call["function"]["arguments"])


words = st.lists(st.from_regex(r"[a-z]{1,6}", fullmatch=True), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None)
@given(
    words=words,
    after=st.integers(0, 9),
    make=st.sampled_from(
        [Fault.close_mid_stream, Fault.end_without_done, Fault.error_event, Fault.malformed_chunk]
    ),
)
def test_stream_faults_break_after_exactly_the_promised_deltas(
    words: list[str], after: int, make: Any
) -> None:
    text = " ".join(words)
    transport = SimulatedTransport(make(after=after, reply=Reply.text(text)))
    received = b""
    with (
        httpx.Client(transport=transport, base_url="https://x/v1") as client,
        client.stream("POST", "/chat/completions", json={"messages": [], "stream": True}) as r,
        contextlib.suppress(httpx.RemoteProtocolError),
    ):
        for data in r.iter_raw():
            received += data
    deltas = [
        c["choices"][0]["delta"]["content"]
        for c in chunks_before_break(received)
        if c.get("choices") and c["choices"][0]["delta"].get("content")
    ]
    assert deltas == list(split_text(text))[:after]


def chunks_before_break(raw: bytes) -> list[dict[str, Any]]:
    """The parsable chunks up to the first payload that is not a chunk."""
    out = []
    for block in raw.decode().split("\n\n"):
        if not block.startswith("data: ") or block == "data: [DONE]":
            continue
        try:
            chunk = json.loads(block[6:])
        except json.JSONDecodeError:
            break
        if "error" in chunk:
            break
        out.append(chunk)
    return out


@settings(max_examples=60, deadline=None)
@given(reply=replies, n=st.integers(1, 4))
def test_a_whole_answer_holds_its_headers_for_as_long_as_its_stream_takes(
    reply: Reply, n: int
) -> None:
    timed = dataclasses.replace(reply, first_token_delay=0.5, token_delay=0.125)
    config = PlanConfig()

    def request(stream: bool) -> RecordedRequest:
        return recorded({"messages": [], "n": n, "stream": stream})

    stream = reply_plan(timed, request(stream=True), config)
    streamed = sum(a.seconds or 0 for a in stream.body if isinstance(a, Pause))
    whole = reply_plan(timed, request(stream=False), config)
    held = whole.head_pause.seconds if whole.head_pause is not None else 0
    assert held == pytest.approx(streamed)
