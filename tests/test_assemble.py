"""The stream assembler: recorded streams, progress, status, quirks and failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.assemble import StreamAssembler
from router.completion import Status
from router.sse import ServerSentEvent, SSEDecoder

STREAMS = Path(__file__).parent / "fixtures" / "streams"
RECORDINGS = sorted(path.stem for path in STREAMS.glob("*.sse"))


def assemble(body: bytes, chunk_size: int | None = None) -> StreamAssembler:
    decoder = SSEDecoder()
    assembler = StreamAssembler()
    size = chunk_size or max(1, len(body))
    for start in range(0, len(body), size):
        for event in decoder.decode(body[start : start + size]):
            assembler.feed(event)
    decoder.flush()
    return assembler


def data(obj: Any) -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps(obj))


def chunk(*choices: dict[str, Any], **fields: Any) -> ServerSentEvent:
    body = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    body.update(fields)
    body["choices"] = list(choices)
    return data(body)


def delta(index: int = 0, finish: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"index": index, "delta": fields, "finish_reason": finish}


def feed_all(assembler: StreamAssembler, *events: ServerSentEvent) -> list[bool]:
    return [assembler.feed(event) for event in events]


DONE = ServerSentEvent(data="[DONE]")


# --- recorded streams --------------------------------------------------------------------


@pytest.mark.parametrize("name", RECORDINGS)
@pytest.mark.parametrize("chunk_size", [None, 1, 7, 64])
def test_recorded_stream_assembles_to_its_expected_report(
    name: str, chunk_size: int | None
) -> None:
    body = (STREAMS / f"{name}.sse").read_bytes()
    expected = json.loads((STREAMS / f"{name}.json").read_text())
    assembler = assemble(body, chunk_size)
    completion = assembler.finish(eof=True)
    error = assembler.error
    assert str(completion.status) == expected["status"]
    assert completion.to_dict() == expected["completion"]
    if expected["error"] is None:
        assert error is None
    else:
        assert error is not None
        assert {"type": error["type"], "message": error["message"]} == expected["error"]


def test_recordings_cover_the_quirks() -> None:
    assert {
        "azure_filters",
        "error_payload",
        "event_error",
        "invalid_json",
        "n2_choices",
        "no_done_after_finish",
        "no_done_cut",
        "openai_text_usage",
        "pings_bom",
        "reasoning_content",
        "reasoning_openrouter",
        "refusal_logprobs",
        "tool_calls_no_index",
        "tool_calls_parallel",
        "tool_calls_repeated_fields",
    } <= set(RECORDINGS)


# --- progress ----------------------------------------------------------------------------


def test_progress_is_content_refusal_tool_fragment_or_reasoning() -> None:
    assembler = StreamAssembler()
    flags = feed_all(
        assembler,
        chunk(delta(role="assistant", content="")),  # role-only: no
        chunk(delta(content="Hi")),  # content: yes
        chunk(delta()),  # empty delta: no
        chunk(delta(content=None, refusal=None)),  # null fields: no
        chunk(delta(refusal="No")),  # refusal: yes
        chunk(delta(reasoning_content="hmm")),  # reasoning: yes
        chunk(delta(reasoning="more")),  # reasoning under its other name: yes
        chunk(delta(tool_calls=[{"index": 0, "id": "call_1", "function": {"name": "f"}}])),
        chunk(delta(tool_calls=[{"index": 0, "function": {"arguments": ""}}])),  # no
        chunk(delta(tool_calls=[{"index": 0, "function": {"arguments": "{}"}}])),  # yes
        chunk(prompt_filter_results=[{"prompt_index": 0}]),  # filter chunk: no
        chunk(usage={"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}),  # no
        ServerSentEvent(event="ping", data="{}"),  # ping: no
        chunk(delta(finish="stop")),  # finish only: no
        DONE,
    )
    assert flags == [
        False,
        True,
        False,
        False,
        True,
        True,
        True,
        True,
        False,
        True,
        False,
        False,
        False,
        False,
        False,
    ]


def test_take_text_hands_out_choice_zero_content_once() -> None:
    assembler = StreamAssembler()
    assert assembler.take_text() == ""
    feed_all(assembler, chunk(delta(content="Hel")), chunk(delta(content="lo")))
    assert assembler.take_text() == "Hello"
    assert assembler.take_text() == ""
    feed_all(assembler, chunk(delta(index=1, content="other")), chunk(delta(content="!")))
    assert assembler.take_text() == "!"
    assert assembler.finish().text == "Hello!"


# --- status ------------------------------------------------------------------------------


def test_done_after_every_finish_is_complete() -> None:
    assembler = StreamAssembler()
    feed_all(assembler, chunk(delta(content="x")), chunk(delta(finish="stop")), DONE)
    assert assembler.done
    assert assembler.status == Status.COMPLETE
    assert assembler.finish(eof=False).status == Status.COMPLETE


def test_clean_end_after_the_finish_without_done_is_complete() -> None:
    assembler = StreamAssembler()
    feed_all(assembler, chunk(delta(content="x")), chunk(delta(finish="stop")))
    assert not assembler.done
    assert assembler.status == Status.INTERRUPTED  # the stream has not ended yet
    assert assembler.finish(eof=True).status == Status.COMPLETE
    assert assembler.finish(eof=False).status == Status.INTERRUPTED


def test_length_finish_is_complete_and_says_length() -> None:
    assembler = StreamAssembler()
    feed_all(assembler, chunk(delta(content="x")), chunk(delta(finish="length")), DONE)
    completion = assembler.finish()
    assert completion.status == Status.COMPLETE
    assert completion.finish_reason == "length"


def test_end_before_the_finish_reason_is_interrupted() -> None:
    assembler = StreamAssembler()
    feed_all(assembler, chunk(delta(content="x")))
    assert assembler.finish(eof=True).status == Status.INTERRUPTED
    assembler = StreamAssembler()
    feed_all(assembler, chunk(delta(content="x")), DONE)  # [DONE] without a finish reason
    assert assembler.finish().status == Status.INTERRUPTED


def test_every_choice_needs_its_finish_reason() -> None:
    assembler = StreamAssembler()
    feed_all(
        assembler,
        chunk(delta(0, content="a"), delta(1, content="b")),
        chunk(delta(0, finish="stop")),
        DONE,
    )
    assert assembler.finish().status == Status.INTERRUPTED


def test_a_stream_with_no_choices_is_not_complete() -> None:
    assembler = StreamAssembler()
    feed_all(assembler, DONE)
    assert assembler.finish().status == Status.INTERRUPTED
    assert StreamAssembler().finish().status == Status.INTERRUPTED


def test_nothing_after_done_counts() -> None:
    assembler = StreamAssembler()
    feed_all(assembler, chunk(delta(content="a", finish="stop")), DONE)
    assert assembler.feed(chunk(delta(content="late"))) is False
    assert assembler.finish().text == "a"


# --- failures ----------------------------------------------------------------------------


def test_error_payload_fails_the_stream_and_keeps_the_text() -> None:
    assembler = StreamAssembler()
    feed_all(
        assembler,
        chunk(delta(content="partial")),
        data({"error": {"message": "Rate limited", "type": "rate_limit_error", "code": "429"}}),
    )
    assert assembler.done
    assert assembler.status == Status.FAILED
    assert assembler.error == {"message": "Rate limited", "type": "rate_limit_error", "code": "429"}
    completion = assembler.finish()
    assert completion.status == Status.FAILED
    assert completion.text == "partial"
    assert assembler.feed(chunk(delta(content="more"))) is False


def test_error_payload_without_message_or_type_still_has_both() -> None:
    assembler = StreamAssembler()
    feed_all(assembler, data({"error": {"code": "server_overloaded"}}))
    assert assembler.error is not None
    assert assembler.error["type"] == "server_overloaded"
    assert "server_overloaded" in assembler.error["message"]
    assembler = StreamAssembler()
    feed_all(assembler, data({"error": "upstream closed"}))
    assert assembler.error == {"type": "error", "message": "upstream closed"}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ('{"error": {"message": "Overloaded", "type": "overloaded_error"}}', "Overloaded"),
        ('{"message": "Bad gateway", "type": "api_error"}', "Bad gateway"),
        ("upstream timed out", "upstream timed out"),
        ("", "the stream sent an error event without details"),
    ],
)
def test_error_event_fails_the_stream(payload: str, message: str) -> None:
    assembler = StreamAssembler()
    feed_all(assembler, chunk(delta(content="x")), ServerSentEvent(event="error", data=payload))
    assert assembler.status == Status.FAILED
    assert assembler.error is not None
    assert assembler.error["message"] == message


@pytest.mark.parametrize(
    ("raw", "hint"),
    [
        ('{"choices": [', "not JSON"),
        ("[1, 2]", "JSON list"),
        ('"text"', "JSON str"),
        ('{"choices": [{"index": 0, "delta": {"content": 5}}]}', "delta.content is int"),
        ('{"choices": {"0": {}}}', "not a chat completion chunk"),
        ('{"choices": [{"index": 0, "delta": ["x"]}]}', "not a chat completion chunk"),
        ('{"choices": [{"index": "0", "delta": {"content": "x"}}]}', "index is str"),
        (
            '{"choices": [{"index": 0, "delta": {"tool_calls": [{"index": "a"}]}}]}',
            "tool_calls[].index is str",
        ),
        ('{"choices": [{"index": 0, "logprobs": {"content": 3}}]}', "logprobs.content is int"),
        ('{"choices": [{"index": 0, "finish_reason": 1}]}', "finish_reason is int"),
        ('{"choices": [], "prompt_filter_results": {"a": 1}}', "prompt_filter_results"),
    ],
)
def test_undecodable_data_fails_and_keeps_what_came_before(raw: str, hint: str) -> None:
    assembler = StreamAssembler()
    feed_all(assembler, chunk(delta(content="kept")))
    assert assembler.feed(ServerSentEvent(data=raw)) is False
    assert assembler.done
    assert assembler.status == Status.FAILED
    assert assembler.error is not None
    assert assembler.error["type"] == "invalid_chunk"
    assert hint in assembler.error["message"]
    assert "event 2" in assembler.error["message"]
    assert assembler.finish().text == "kept"


def test_fail_from_the_driver_keeps_the_first_reason() -> None:
    assembler = StreamAssembler()
    feed_all(assembler, chunk(delta(content="x")))
    assembler.fail("event_too_large", "line over the limit")
    assembler.fail("other", "ignored")
    assert assembler.error == {"type": "event_too_large", "message": "line over the limit"}
    assert assembler.finish().status == Status.FAILED


@pytest.mark.parametrize("ping", ["", "   ", "ping", ": ping", '"ping"', '{"type": "ping"}', "{}"])
def test_ping_payloads_are_skipped(ping: str) -> None:
    assembler = StreamAssembler()
    assert assembler.feed(ServerSentEvent(data=ping)) is False
    assert assembler.error is None
    assert not assembler.done


# --- fields --------------------------------------------------------------------------------


def test_metadata_first_non_empty_wins_and_fingerprint_usage_last_non_null() -> None:
    assembler = StreamAssembler()
    feed_all(
        assembler,
        data({"id": "", "model": "", "created": 0, "object": "", "choices": []}),
        chunk(delta(content="a"), system_fingerprint="fp_1", usage=None),
        data(
            {
                "id": "c2",
                "model": "m2",
                "created": 2,
                "choices": [],
                "system_fingerprint": "fp_2",
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        ),
        data({"id": "c1", "choices": [], "usage": None, "system_fingerprint": None}),
    )
    completion = assembler.finish()
    assert (completion.id, completion.model, completion.created) == ("c1", "m", 1)
    assert completion.system_fingerprint == "fp_2"
    assert completion.usage is not None
    assert completion.usage.total_tokens == 2


def test_created_must_be_an_integer_not_a_boolean() -> None:
    assembler = StreamAssembler()
    feed_all(assembler, data({"created": True, "choices": []}), chunk(delta(content="a")))
    created = assembler.finish().created
    assert created is not True  # True == 1: the type is what is checked here
    assert created == 1


def test_null_and_missing_delta_fields_are_harmless() -> None:
    assembler = StreamAssembler()
    feed_all(
        assembler,
        data({"choices": [{"index": 0, "delta": None, "finish_reason": None}]}),
        data({"choices": [{"index": 0}]}),
        data({"choices": [{"delta": {"content": "no index"}}]}),
        chunk(delta(role=None, content=None, tool_calls=None, refusal=None, function_call=None)),
    )
    completion = assembler.finish()
    assert completion.text == "no index"
    assert completion.choices[0].message.role == "assistant"


def test_content_is_none_until_sent_and_empty_string_when_sent_empty() -> None:
    assembler = StreamAssembler()
    feed_all(assembler, chunk(delta(role="assistant", content=None), finish="stop"))
    assert assembler.finish().choices[0].message.content is None
    assembler = StreamAssembler()
    feed_all(assembler, chunk(delta(role="assistant", content="")))
    assert assembler.finish().choices[0].message.content == ""


def test_reasoning_sent_under_both_names_is_not_doubled() -> None:
    assembler = StreamAssembler()
    feed_all(
        assembler,
        chunk(delta(reasoning_content="Think", reasoning="Think")),
        chunk(delta(reasoning=" more")),
    )
    assert assembler.finish().choices[0].message.reasoning == "Think more"


def test_logprobs_token_lists_are_appended() -> None:
    token = {"token": "a", "logprob": -0.1, "bytes": [97], "top_logprobs": []}
    assembler = StreamAssembler()
    feed_all(
        assembler,
        chunk({"index": 0, "delta": {"content": "a"}, "logprobs": {"content": [token]}}),
        chunk({"index": 0, "delta": {"content": "a"}, "logprobs": {"content": [token, token]}}),
        chunk({"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}),
    )
    logprobs = assembler.finish().choices[0].logprobs
    assert logprobs == {"content": [token, token, token], "refusal": None}


def test_choices_are_kept_apart_and_ordered_by_index() -> None:
    assembler = StreamAssembler()
    feed_all(
        assembler,
        chunk(delta(2, content="c")),
        chunk(delta(0, content="a"), delta(1, content="b")),
        chunk(delta(1, content="B", finish="stop")),
    )
    completion = assembler.finish()
    assert [(c.index, c.message.content) for c in completion.choices] == [
        (0, "a"),
        (1, "bB"),
        (2, "c"),
    ]


def test_content_filter_results_are_not_progress_and_not_fatal() -> None:
    assembler = StreamAssembler()
    flags = feed_all(
        assembler,
        chunk(delta(content="x")),
        data(
            {
                "id": "",
                "object": "",
                "model": "",
                "created": 0,
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": None,
                        "content_filter_results": {"hate": {"filtered": False}},
                        "content_filter_offsets": {"start_offset": 0, "end_offset": 1},
                    }
                ],
            }
        ),
    )
    assert flags == [True, False]
    assert assembler.error is None


# --- tool calls ------------------------------------------------------------------------------


def tool(index: int | None = None, **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {} if index is None else {"index": index}
    function = {k: fields.pop(k) for k in ("name", "arguments") if k in fields}
    out.update(fields)
    if function:
        out["function"] = function
    return out


def calls(assembler: StreamAssembler, choice: int = 0) -> list[tuple[str | None, str, str]]:
    completion = assembler.finish()
    message = next(c for c in completion.choices if c.index == choice).message
    return [(t.id, t.function.name, t.function.arguments) for t in message.tool_calls]


def test_parallel_tool_calls_by_index() -> None:
    assembler = StreamAssembler()
    feed_all(
        assembler,
        chunk(delta(tool_calls=[tool(0, id="a", type="function", name="f", arguments="")])),
        chunk(delta(tool_calls=[tool(1, id="b", type="function", name="g", arguments="")])),
        chunk(delta(tool_calls=[tool(0, arguments='{"x":'), tool(1, arguments='{"y":')])),
        chunk(delta(tool_calls=[tool(1, arguments="2}")])),
        chunk(delta(tool_calls=[tool(0, arguments="1}")])),
    )
    assert calls(assembler) == [("a", "f", '{"x":1}'), ("b", "g", '{"y":2}')]


def test_tool_indexes_starting_at_one() -> None:
    assembler = StreamAssembler()
    feed_all(
        assembler,
        chunk(delta(tool_calls=[tool(1, id="a", name="f", arguments="{")])),
        chunk(delta(tool_calls=[tool(1, arguments="}")])),
        chunk(delta(tool_calls=[tool(2, id="b", name="g", arguments="[]")])),
    )
    assert calls(assembler) == [("a", "f", "{}"), ("b", "g", "[]")]


def test_id_name_and_type_repeated_in_every_delta_are_set_not_concatenated() -> None:
    assembler = StreamAssembler()
    feed_all(
        assembler,
        *[
            chunk(delta(tool_calls=[tool(0, id="call_1", type="function", name="f", arguments=a)]))
            for a in ["{", '"k"', ":1", "}"]
        ],
    )
    completion = assembler.finish()
    call = completion.choices[0].message.tool_calls[0]
    assert (call.id, call.type, call.function.name) == ("call_1", "function", "f")
    assert call.function.arguments == '{"k":1}'


def test_tool_calls_without_index_are_matched_by_id_then_position() -> None:
    assembler = StreamAssembler()
    feed_all(
        assembler,
        chunk(delta(tool_calls=[tool(id="a", name="f", arguments='{"x"'), tool(id="b", name="g")])),
        chunk(delta(tool_calls=[tool(arguments=":1}"), tool(arguments="{}")])),  # by position
        chunk(delta(tool_calls=[tool(id="c", name="h", arguments="[")])),  # a new id: new call
        chunk(delta(tool_calls=[tool(arguments="]")])),  # no id: continues the latest
        chunk(delta(tool_calls=[tool(id="a", arguments="")])),  # a known id: same call
    )
    assert calls(assembler) == [("a", "f", '{"x":1}'), ("b", "g", "{}"), ("c", "h", "[]")]


def test_tool_call_fragment_without_index_or_id_first() -> None:
    assembler = StreamAssembler()
    feed_all(
        assembler,
        chunk(delta(tool_calls=[tool(name="f", arguments="{")])),
        chunk(delta(tool_calls=[tool(arguments="}")])),
    )
    assert calls(assembler) == [(None, "f", "{}")]


def test_tool_calls_per_choice() -> None:
    assembler = StreamAssembler()
    feed_all(
        assembler,
        chunk(
            delta(0, tool_calls=[tool(0, id="a", name="f", arguments="1")]),
            delta(1, tool_calls=[tool(0, id="b", name="g", arguments="2")]),
        ),
    )
    assert calls(assembler, 0) == [("a", "f", "1")]
    assert calls(assembler, 1) == [("b", "g", "2")]


def test_snapshot_mid_stream_does_not_disturb_assembly() -> None:
    assembler = StreamAssembler()
    feed_all(assembler, chunk(delta(content="a", tool_calls=[tool(0, id="x", arguments="{")])))
    snapshot = assembler.snapshot()
    assert snapshot.text == "a"
    assert snapshot.status == Status.INTERRUPTED
    assert assembler.take_text() == "a"
    feed_all(
        assembler, chunk(delta(content="b", tool_calls=[tool(0, arguments="}")], finish="stop"))
    )
    final = assembler.finish()
    assert final.text == "ab"
    assert final.choices[0].message.tool_calls[0].function.arguments == "{}"
    assert snapshot.choices[0].message.tool_calls[0].function.arguments == "{"
    assert assembler.events == 2


def test_azure_filter_results_are_kept() -> None:
    body = (STREAMS / "azure_filters.sse").read_bytes()
    completion = assemble(body).finish()
    assert completion.prompt_filter_results[0]["prompt_index"] == 0
    filters = completion.choices[0].content_filter_results
    assert filters["hate"] == {"filtered": False, "severity": "safe"}


def test_null_choice_index_means_its_position() -> None:
    assembler = StreamAssembler()
    feed_all(assembler, data({"choices": [{"index": None, "delta": {"content": "x"}}]}))
    assert assembler.error is None
    assert assembler.finish().text == "x"


def test_legacy_function_call_deltas_become_a_tool_call() -> None:
    assembler = StreamAssembler()
    flags = feed_all(
        assembler,
        chunk(delta(role="assistant", content=None, function_call={"name": "f", "arguments": ""})),
        chunk(delta(function_call={"arguments": '{"a":'})),
        chunk(delta(function_call={"arguments": "1}"})),
        chunk(delta(finish="function_call")),
    )
    assert flags == [True, True, True, False]
    assert calls(assembler) == [(None, "f", '{"a":1}')]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "choices",
                    "index",
                    "delta",
                    "content",
                    "tool_calls",
                    "function",
                    "arguments",
                    "id",
                    "name",
                    "usage",
                    "logprobs",
                    "finish_reason",
                    "error",
                    "role",
                    "refusal",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(payloads=st.lists(_json, max_size=5))
def test_arbitrary_json_never_crashes_the_assembler(payloads: list[Any]) -> None:
    assembler = StreamAssembler()
    for payload in payloads:
        assert isinstance(assembler.feed(data(payload)), bool)
    completion = assembler.finish()
    assert completion.status in (Status.COMPLETE, Status.INTERRUPTED, Status.FAILED)
    json.dumps(completion.to_dict())
    if assembler.error is not None:
        assert isinstance(assembler.error["message"], str)
        assert isinstance(assembler.error["type"], str)


# --- chunks sharing a head (the parse shortcut must give the full parse's result) ------------

HEAD = '{"id":"c9","object":"chat.completion.chunk","created":5,"model":"m","choices":'


def raw(text: str) -> ServerSentEvent:
    return ServerSentEvent(data=text)


def test_shared_head_then_a_different_head() -> None:
    assembler = StreamAssembler()
    feed_all(
        assembler,
        raw(HEAD + '[{"index":0,"delta":{"content":"a"}}]}'),
        raw(HEAD + '[{"index":0,"delta":{"content":"b"}}],"usage":null,"obfuscation":"x"}'),
        raw('{"id":"c9","choices":[{"index":0,"delta":{"content":"c"}}]}'),
        raw(HEAD + '[{"index":0,"delta":{"content":"d"}}] }'),  # whitespace: full parse
        raw(
            HEAD + '[{"index":0,"delta":{},"finish_reason":"stop"}], "usage": {"total_tokens": 3}}'
        ),
        raw(HEAD + '[],"usage":{"total_tokens":4},"system_fingerprint":"fp_z"}'),
    )
    completion = assembler.finish()
    assert completion.text == "abcd"
    assert completion.usage is not None
    assert completion.usage.total_tokens == 4
    assert completion.system_fingerprint == "fp_z"
    assert completion.status == Status.COMPLETE


def test_shared_head_with_bad_data_after_it_fails_like_a_full_parse() -> None:
    assembler = StreamAssembler()
    feed_all(
        assembler,
        raw(HEAD + '[{"index":0,"delta":{"content":"a"}}]}'),
        raw(HEAD + '[{"index":0,"delta":{"content":"b"}}],"usage":nul}'),
    )
    assert assembler.status == Status.FAILED
    assert assembler.error is not None
    assert "not JSON" in assembler.error["message"]
    assert assembler.finish().text == "a"


def test_shared_head_with_data_after_the_object_fails_like_a_full_parse() -> None:
    assembler = StreamAssembler()
    feed_all(
        assembler,
        raw(HEAD + '[{"index":0,"delta":{"content":"a"}}]}'),
        raw(HEAD + '[{"index":0,"delta":{"content":"b"}}]}}'),
    )
    assert assembler.error is not None
    assert "not JSON" in assembler.error["message"]
    assert assembler.finish().text == "a"


def test_shared_head_with_an_error_after_the_choices() -> None:
    assembler = StreamAssembler()
    feed_all(
        assembler,
        raw(HEAD + '[{"index":0,"delta":{"content":"a"}}]}'),
        raw(HEAD + '[],"error":{"message":"boom","type":"server_error"}}'),
    )
    assert assembler.error == {"message": "boom", "type": "server_error"}


def test_shared_head_with_choices_repeated_after_it_keeps_the_last() -> None:
    assembler = StreamAssembler()
    feed_all(
        assembler,
        raw(HEAD + '[{"index":0,"delta":{"content":"a"}}]}'),
        raw(HEAD + '[{"index":0,"delta":{"content":"x"}}],"choices":[{"delta":{"content":"b"}}]}'),
    )
    assert assembler.finish().text == "ab"


def test_nested_choices_key_is_not_taken_for_the_head() -> None:
    decoy = '{"meta":{"choices":1},"id":"c","choices":'
    assembler = StreamAssembler()
    feed_all(
        assembler,
        raw(decoy + '[{"index":0,"delta":{"content":"a"}}]}'),
        raw(decoy + '[{"index":0,"delta":{"content":"b"}}]}'),
    )
    assert assembler.finish().text == "ab"


def test_usage_before_the_choices_is_read_from_every_chunk() -> None:
    assembler = StreamAssembler()
    head = '{"id":"c","usage":{"total_tokens":%d},"choices":'
    feed_all(
        assembler,
        raw(head % 1 + '[{"index":0,"delta":{"content":"a"}}]}'),
        raw(head % 2 + '[{"index":0,"delta":{"content":"b"}}]}'),
        raw(head % 2 + '[{"index":0,"delta":{"content":"c"}}]}'),
    )
    completion = assembler.finish()
    assert completion.usage is not None
    assert completion.usage.total_tokens == 2
    assert completion.text == "abc"


def test_usage_in_a_repeated_head_is_read_again_after_other_usage() -> None:
    # Usage is "last non-null wins": a head seen before must be read again when a chunk in
    # between (here one without choices) reported other usage.
    with_usage = '{"id":"c","usage":{"total_tokens":1},"choices":[{"index":0,"delta":{}}]}'
    assembler = StreamAssembler()
    feed_all(
        assembler,
        raw(with_usage),
        raw('{"id":"c","usage":{"total_tokens":2}}'),
        raw(with_usage),
    )
    usage = assembler.finish().usage
    assert usage is not None
    assert usage.total_tokens == 1


def test_filter_results_before_the_choices_are_kept_from_every_chunk() -> None:
    head = '{"id":"c","prompt_filter_results":[{"prompt_index":%d}],"choices":'
    assembler = StreamAssembler()
    feed_all(
        assembler,
        raw(head % 0 + '[{"index":0,"delta":{"content":"a"}}]}'),
        raw(head % 1 + "[]}"),
        raw(head % 1 + "[]}"),
    )
    completion = assembler.finish()
    assert completion.prompt_filter_results == [{"prompt_index": 1}, {"prompt_index": 1}]
    assert completion.text == "a"


def test_text_so_far_is_choice_zero_content_without_taking_it() -> None:
    assembler = StreamAssembler()
    assert assembler.text_so_far() == ""
    assembler.feed(chunk({"index": 0, "delta": {"role": "assistant", "content": "Hel"}}))
    assembler.feed(chunk({"index": 1, "delta": {"content": "other choice"}}))
    assembler.feed(chunk({"index": 0, "delta": {"content": "lo"}}))
    assert assembler.text_so_far() == "Hello"
    assert assembler.take_text() == "Hello"  # still there to take: nothing was consumed
    assert assembler.text_so_far() == "Hello"


def test_text_so_far_grows_with_the_parts_received_between_calls() -> None:
    assembler = StreamAssembler()
    assembler.feed(chunk({"index": 0, "delta": {"role": "assistant", "content": "ab"}}))
    assert assembler.text_so_far() == "ab"
    for piece in ("c", "de", "", "f"):
        assembler.feed(chunk({"index": 0, "delta": {"content": piece}}))
    assembler.feed(chunk({"index": 1, "delta": {"content": "not choice 0"}}))
    assert assembler.text_so_far() == "abcdef"
    assert assembler.take_text() == "abcdef"
    assembler.feed(chunk({"index": 0, "delta": {"content": "g"}, "finish_reason": "stop"}))
    assert assembler.text_so_far() == "abcdefg"
    assert assembler.finish().text == "abcdefg"
