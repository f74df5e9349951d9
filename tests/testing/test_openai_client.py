"""The official `openai` client reads everything the simulated provider sends."""

from __future__ import annotations

import httpx
import openai
import pytest

from router.testing import Fault, Quirks, Reply, SimulatedProvider, ToolCallSpec


def client(provider: SimulatedProvider) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=provider.base_url,
        api_key="sk-test",
        max_retries=0,
        http_client=httpx.Client(verify=False),
    )


MESSAGES = [{"role": "user", "content": "hi"}]


def test_whole_answer_parses(provider: SimulatedProvider) -> None:
    provider.set_default(Reply.text("Hello there"))
    completion = client(provider).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    assert completion.choices[0].message.content == "Hello there"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 2


def test_stream_with_usage_parses(provider: SimulatedProvider) -> None:
    provider.set_default(Reply.text("Hello there"))
    stream = client(provider).chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage = "", None
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
        usage = chunk.usage or usage
    assert text == "Hello there"
    assert usage is not None
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_parallel_tool_calls_accumulate_with_the_stream_helper(provider: SimulatedProvider) -> None:
    provider.set_default(
        Reply.tool_calls(
            ToolCallSpec.of("get_weather", {"city": "Paris"}),
            ToolCallSpec.of("get_time", {"tz": "CET"}),
        )
    )
    tools = [
        {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}
        for name in ("get_weather", "get_time")
    ]
    with client(provider).beta.chat.completions.stream(
        model="gpt-4o-mini",
        messages=MESSAGES,  # type: ignore[arg-type]
        tools=tools,  # type: ignore[arg-type]
    ) as stream:
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls or []
    assert [(c.function.name, c.function.arguments) for c in calls] == [
        ("get_weather", '{"city": "Paris"}'),
        ("get_time", '{"tz": "CET"}'),
    ]
    assert final.choices[0].finish_reason == "tool_calls"


def test_azure_filter_chunks_are_accepted(provider: SimulatedProvider) -> None:
    provider.set_quirks(Quirks(azure_filters=True))
    stream = client(provider).chat.completions.create(
        model="gpt-4o",
        messages=MESSAGES,  # type: ignore[arg-type]
        stream=True,
    )
    text = "".join(
        c.choices[0].delta.content or "" for c in stream if c.choices and c.choices[0].delta
    )
    assert text == "Hello! How can I help you today?"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
        (503, openai.InternalServerError),
    ],
)
def test_error_statuses_map_to_the_clients_errors(
    provider: SimulatedProvider, status: int, error: type[Exception]
) -> None:
    provider.enqueue(Fault.http_status(status))
    with pytest.raises(error) as caught:
        client(provider).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    assert isinstance(caught.value, openai.APIStatusError)
    assert caught.value.status_code == status


def test_error_payload_mid_stream_is_an_api_error(provider: SimulatedProvider) -> None:
    provider.enqueue(Fault.error_event(after=2, message="boom"))
    stream = client(provider).chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,  # type: ignore[arg-type]
        stream=True,
    )
    with pytest.raises(openai.APIError, match="boom"):
        for _ in stream:
            pass
