"""The plans of scripted replies: whole `chat.completion` answers and timed streams.

`StreamScript` lays out the events of one streamed reply (role, deltas, finish chunks, the
usage-only chunk, `[DONE]`) with the reply's timing and quirks; faults in
`router.testing.faults` cut and corrupt the same events.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from router.testing.plan import (
    Abort,
    Action,
    Pause,
    PlanConfig,
    ResponsePlan,
    Write,
    common_headers,
    error_plan,
    json_plan,
    rate_limit_headers,
)
from router.testing.recording import RecordedRequest
from router.testing.scripts import Reply
from router.testing.wire import (
    DONE,
    ChunkFactory,
    completion_body,
    default_usage,
    is_progress,
    progress_deltas,
)

__all__ = [
    "Event",
    "StreamScript",
    "chain",
    "drip",
    "forever",
    "reply_plan",
    "requested_model",
    "requested_n",
    "split_after",
    "stream_headers",
    "stream_plan",
    "whole_payload",
    "whole_plan",
]


def reply_plan(reply: Reply, request: RecordedRequest, config: PlanConfig) -> ResponsePlan:
    """The response to `request` for a scripted reply: a stream or a whole answer."""
    quirks = reply.quirks or config.quirks
    if quirks.reject_stream_options and request.stream_options is not None:
        return error_plan(
            400,
            message="Unrecognized request argument supplied: stream_options",
            error_type="invalid_request_error",
        )
    if request.stream_options is not None and not request.stream:
        return error_plan(  # as OpenAI answers it
            400,
            message="The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            error_type="invalid_request_error",
            param="stream_options",
        )
    if request.stream:
        plan = stream_plan(StreamScript(reply, request, config))
    else:
        plan = whole_plan(reply, request, config)
    plan.headers.extend(rate_limit_headers())
    return plan


# --- whole (non-streaming) answers ----------------------------------------------------------


def whole_payload(reply: Reply, request: RecordedRequest, config: PlanConfig) -> dict[str, Any]:
    """The `chat.completion` object answering `request` with `reply`."""
    choices = reply.choices_for(requested_n(request))
    usage = reply.usage if reply.usage is not None else default_usage(request.body, choices)
    model = reply.model or requested_model(request, config)
    return completion_body(model=model, choices=choices, usage=usage)


def whole_plan(reply: Reply, request: RecordedRequest, config: PlanConfig) -> ResponsePlan:
    """A whole answer, its headers held back for as long as the reply takes to "think"."""
    quirks = reply.quirks or config.quirks
    payload = whole_payload(reply, request, config)
    choices = reply.choices_for(requested_n(request))
    pieces = sum(progress_deltas(choice) for choice in choices)
    thinking = reply.first_token_delay + reply.token_delay * max(pieces - 1, 0)
    plan = json_plan(200, payload, indent=None if quirks.azure_filters else 2)
    if thinking > 0:
        plan.head_pause = Pause(thinking)
    return plan


def requested_n(request: RecordedRequest) -> int:
    """The number of choices the request asks for (`n`, 1 when absent or absurd)."""
    n = request.body.get("n") if isinstance(request.body, dict) else None
    return n if isinstance(n, int) and 1 <= n <= 128 else 1


def requested_model(request: RecordedRequest, config: PlanConfig) -> str:
    """The model the request names, echoed back as providers do."""
    model = request.body.get("model") if isinstance(request.body, dict) else None
    return model if isinstance(model, str) and model else config.model


# --- streams --------------------------------------------------------------------------------


@dataclass(slots=True)
class Event:
    """One SSE event of a stream, and whether it is progress (what faults count)."""

    data: bytes
    progress: bool  # a delta carrying content, refusal, reasoning or a tool-call fragment


class StreamScript:
    """The events of one streamed reply, in order, with the reply's timing and quirks."""

    def __init__(self, reply: Reply, request: RecordedRequest, config: PlanConfig) -> None:
        self.reply = reply
        self.config = config
        self.quirks = reply.quirks or config.quirks
        options = request.stream_options
        self.include_usage = isinstance(options, dict) and options.get("include_usage") is True
        self.factory = ChunkFactory(
            model=reply.model or requested_model(request, config),
            include_usage=self.include_usage,
            obfuscation=not (
                isinstance(options, dict) and options.get("include_obfuscation") is False
            ),
            azure=self.quirks.azure_filters,
            tool_call_index=self.quirks.tool_call_index,
        )
        self.choices = reply.choices_for(requested_n(request))
        self.usage = (
            reply.usage if reply.usage is not None else default_usage(request.body, self.choices)
        )

    def events(self, *, finish: bool = True) -> list[Event]:
        """The SSE events up to the finish chunks (when `finish`), without usage or [DONE]."""
        factory = self.factory
        out: list[Event] = []
        if self.quirks.azure_filters:
            out.append(Event(factory.encode(factory.prompt_filter_chunk()), progress=False))
        per_choice = [factory.choice_deltas(i, spec) for i, spec in enumerate(self.choices)]
        # Choices interleave, as OpenAI sends them for n > 1; finish chunks come last.
        longest = max(len(chunks) - 1 for chunks in per_choice)
        for position in range(longest):
            for chunks in per_choice:
                if position < len(chunks) - 1:
                    chunk = chunks[position]
                    progress = is_progress(chunk["choices"][0]["delta"])
                    out.append(Event(factory.encode(chunk), progress=progress))
        if finish:
            for chunks in per_choice:
                out.append(Event(factory.encode(chunks[-1]), progress=False))
            if self.quirks.azure_filters:
                for index, spec in enumerate(self.choices):
                    chunk = factory.filter_offsets_chunk(index, len(spec.text))
                    out.append(Event(factory.encode(chunk), progress=False))
        return out

    def tail(self) -> list[bytes]:
        """What follows the finish chunks: the usage-only chunk when asked for, `[DONE]`."""
        tail = []
        if self.include_usage:
            tail.append(self.factory.encode(self.factory.usage_chunk(self.usage)))
        tail.append(DONE)
        return tail

    def timed(self, events: list[Event], *, opening: bool = True) -> Iterator[Action]:
        """The events as actions, paced by the reply's timing, with pings between deltas.

        `first_token_delay` passes before the opening events (the role chunk and the first
        progress delta leave together, as OpenAI sends them), `token_delay` before every later
        progress delta. `opening` False continues a stream a fault interrupted.
        """
        ping = self.quirks.ping.encode() if self.quirks.ping else None
        if opening and self.reply.first_token_delay > 0:
            yield Pause(self.reply.first_token_delay)
        seen_progress = not opening
        for event in events:
            if event.progress:
                if seen_progress and self.reply.token_delay > 0:
                    yield Pause(self.reply.token_delay)
                seen_progress = True
            yield Write(event.data)
            if ping is not None and event.progress:
                yield Write(ping)


def stream_headers() -> list[tuple[str, str]]:
    """The headers of an event stream."""
    return [("content-type", "text/event-stream; charset=utf-8"), *common_headers()]


def stream_plan(stream: StreamScript, body: Iterable[Action] | None = None) -> ResponsePlan:
    """A streamed response: the stream's own timed events, or the given body."""
    if body is None:
        body = chain(stream.timed(stream.events()), [Write(data) for data in stream.tail()])
    return ResponsePlan(status=200, headers=stream_headers(), body=body, chunked=True)


def chain(*parts: Iterable[Action]) -> Iterator[Action]:
    """The actions of several parts, one after the other."""
    for part in parts:
        yield from part


def split_after(events: list[Event], after: int) -> tuple[list[Event], list[Event]]:
    """The events up to and including the `after`-th progress event, and the rest.

    With `after` 0, the events before the first progress event, and the rest.
    """
    seen = 0
    for position, event in enumerate(events):
        if after <= 0 and event.progress:
            return events[:position], events[position:]
        if event.progress:
            seen += 1
            if seen >= after:
                return events[: position + 1], events[position + 1 :]
    return events, []


def forever(config: PlanConfig, make: Iterable[Action]) -> Iterator[Action]:
    """Repeat `make`'s actions until `max_stall` passes (the server stops it sooner)."""
    deadline = time.monotonic() + config.max_stall
    while time.monotonic() < deadline:
        yield from make
    yield Abort()


def drip(data: bytes, interval: float) -> Iterator[Action]:
    """The bytes one at a time, `interval` seconds apart."""
    for position in range(len(data)):
        if position:
            yield Pause(interval)
        yield Write(data[position : position + 1])
