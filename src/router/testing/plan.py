"""Turn a step (a `Reply` or a `Fault`) and the request into a `ResponsePlan`: no I/O.

A plan is the status line, the headers, and the body as a sequence of actions (`Write` some
bytes, `Pause`, `Abort` the connection). The socket server and the httpx transport execute the
same plans, so a script behaves the same through both; only the framing differs (the server
adds chunked encoding or Content-Length, the transport hands bytes to httpx directly).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

from router.testing.recording import RecordedRequest
from router.testing.scripts import (
    ChoiceSpec,
    Fault,
    FaultKind,
    Quirks,
    Reply,
    error_fields,
)
from router.testing.wire import (
    DONE,
    ChunkFactory,
    completion_body,
    default_usage,
    dumps,
    error_body,
    is_progress,
    models_body,
    sse,
)

__all__ = ["Abort", "Action", "Pause", "PlanConfig", "ResponsePlan", "Write", "build_plan"]

KEEPALIVE_COMMENT = b": keep-alive\n\n"


@dataclass(frozen=True, slots=True)
class Write:
    """Send these bytes (as one HTTP chunk when the body is chunked)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Pause:
    """Send nothing for `seconds`; None waits until the client leaves or the server stops."""

    seconds: float | None


@dataclass(frozen=True, slots=True)
class Abort:
    """Close the connection now, leaving the response incomplete."""


Action = Write | Pause | Abort


@dataclass(slots=True)
class ResponsePlan:
    """Everything one response does, in order.

    `reset` answers nothing and resets the connection (`refuse`: as a refused connection, for
    the socket-free transport, which has no listener to close). `head_pause` runs before the status
    line. With `chunked` False, `content_length` is announced (it may disagree with what the
    body sends: the short-body fault) and `body` must be finite.
    """

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: Iterable[Action] = ()
    chunked: bool = False
    content_length: int | None = None
    head_pause: Pause | None = None
    reset: bool = False
    refuse: bool = False
    close: bool = False


@dataclass(frozen=True, slots=True)
class PlanConfig:
    """What every response of one provider shares."""

    model: str = "gpt-4o-mini"
    models: tuple[str, ...] = ("gpt-4o-mini", "gpt-4o", "o3-mini")
    quirks: Quirks = field(default_factory=Quirks)
    max_stall: float = 60.0


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def reason_phrase(status: int) -> str:
    """The reason phrase of a status line."""
    return _REASONS.get(status, "Unknown")


def _common_headers() -> list[tuple[str, str]]:
    return [
        ("date", formatdate(usegmt=True)),
        ("x-request-id", "req_" + secrets.token_hex(16)),
        ("openai-processing-ms", "12"),
    ]


def _json_plan(status: int, payload: Any, *, indent: int | None = 2, **extra: Any) -> ResponsePlan:
    text = json.dumps(payload, indent=indent) if indent else dumps(payload)
    data = text.encode()
    headers = [("content-type", "application/json"), *_common_headers()]
    return ResponsePlan(status=status, headers=headers, body=[Write(data)], **extra)


def _error_plan(
    status: int,
    *,
    message: str | None = None,
    error_type: str | None = None,
    code: str | None = None,
    param: str | None = None,
) -> ResponsePlan:
    default_message, default_type, default_code = error_fields(status)
    payload = error_body(
        message or default_message,
        error_type=error_type or default_type,
        param=param,
        code=code if code is not None else default_code,
    )
    return _json_plan(status, payload)


def build_plan(step: Reply | Fault, request: RecordedRequest, config: PlanConfig) -> ResponsePlan:
    """The response to `request` for a chat-completions step."""
    if isinstance(step, Fault):
        return _fault_plan(step, request, config)
    quirks = step.quirks or config.quirks
    if quirks.reject_stream_options and request.stream_options is not None:
        return _error_plan(
            400,
            message="Unrecognized request argument supplied: stream_options",
            error_type="invalid_request_error",
        )
    if request.stream:
        return _stream_plan(_Stream(step, request, config))
    return _whole_plan(step, request, config)


def other_plan(request: RecordedRequest, config: PlanConfig) -> ResponsePlan:
    """The response to anything but chat completions: the model list, or a 404."""
    if request.method == "GET" and request.path.rstrip("/").endswith("/models"):
        return _json_plan(200, models_body(config.models))
    return _error_plan(
        404,
        message=f"Invalid URL ({request.method} {request.path})",
        error_type="invalid_request_error",
        code=None,
    )


def bad_request_plan(message: str) -> ResponsePlan:
    """A 400 for a request that cannot be answered as it is."""
    return _error_plan(400, message=message, error_type="invalid_request_error")


def server_error_plan(message: str) -> ResponsePlan:
    """A 500 naming what went wrong on the provider's side (e.g. a responder that raised)."""
    return _error_plan(500, message=message, error_type="server_error")


# --- whole (non-streaming) answers ----------------------------------------------------------


def _whole_payload(reply: Reply, request: RecordedRequest, config: PlanConfig) -> dict[str, Any]:
    choices = reply.choices_for(_requested_n(request))
    usage = reply.usage if reply.usage is not None else default_usage(request.body, choices)
    model = reply.model or _requested_model(request, config)
    return completion_body(model=model, choices=choices, usage=usage)


def _whole_plan(reply: Reply, request: RecordedRequest, config: PlanConfig) -> ResponsePlan:
    quirks = reply.quirks or config.quirks
    payload = _whole_payload(reply, request, config)
    pieces = sum(len(c.content) + len(c.refusal) for c in reply.choices) or 1
    thinking = reply.first_token_delay + reply.token_delay * pieces
    plan = _json_plan(200, payload, indent=None if quirks.azure_filters else 2)
    if thinking > 0:
        plan.head_pause = Pause(thinking)
    return plan


def _requested_n(request: RecordedRequest) -> int:
    n = request.body.get("n") if isinstance(request.body, dict) else None
    return n if isinstance(n, int) and 1 <= n <= 128 else 1


def _requested_model(request: RecordedRequest, config: PlanConfig) -> str:
    model = request.body.get("model") if isinstance(request.body, dict) else None
    return model if isinstance(model, str) and model else config.model


# --- streams --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Event:
    data: bytes
    progress: bool  # a delta carrying content, refusal, reasoning or a tool-call fragment


class _Stream:
    """The events of one streamed reply, in order, with the reply's timing and quirks."""

    def __init__(self, reply: Reply, request: RecordedRequest, config: PlanConfig) -> None:
        self.reply = reply
        self.config = config
        self.quirks = reply.quirks or config.quirks
        options = request.stream_options
        self.include_usage = isinstance(options, dict) and options.get("include_usage") is True
        self.factory = ChunkFactory(
            model=reply.model or _requested_model(request, config),
            include_usage=self.include_usage,
            obfuscation=not (
                isinstance(options, dict) and options.get("include_obfuscation") is False
            ),
            azure=self.quirks.azure_filters,
            tool_call_index=self.quirks.tool_call_index,
        )
        self.choices = reply.choices_for(_requested_n(request))
        self.usage = (
            reply.usage if reply.usage is not None else default_usage(request.body, self.choices)
        )

    def events(self, *, finish: bool = True) -> list[_Event]:
        """The SSE events up to the finish chunks (when `finish`), without usage or [DONE]."""
        factory = self.factory
        out: list[_Event] = []
        if self.quirks.azure_filters:
            out.append(_Event(factory.encode(factory.prompt_filter_chunk()), progress=False))
        per_choice = [factory.choice_deltas(i, spec) for i, spec in enumerate(self.choices)]
        # Choices interleave, as OpenAI sends them for n > 1; finish chunks come last.
        longest = max(len(chunks) - 1 for chunks in per_choice)
        for position in range(longest):
            for chunks in per_choice:
                if position < len(chunks) - 1:
                    chunk = chunks[position]
                    progress = is_progress(chunk["choices"][0]["delta"])
                    out.append(_Event(factory.encode(chunk), progress=progress))
        if finish:
            for chunks in per_choice:
                out.append(_Event(factory.encode(chunks[-1]), progress=False))
            if self.quirks.azure_filters:
                for index, spec in enumerate(self.choices):
                    chunk = factory.filter_offsets_chunk(index, len(spec.text))
                    out.append(_Event(factory.encode(chunk), progress=False))
        return out

    def tail(self) -> list[bytes]:
        """What follows the finish chunks: the usage-only chunk when asked for, `[DONE]`."""
        tail = []
        if self.include_usage:
            tail.append(self.factory.encode(self.factory.usage_chunk(self.usage)))
        tail.append(DONE)
        return tail

    def timed(self, events: list[_Event]) -> Iterator[Action]:
        """The events as actions, paced by the reply's timing, with pings between deltas."""
        ping = self.quirks.ping.encode() if self.quirks.ping else None
        if self.reply.first_token_delay > 0:
            yield Pause(self.reply.first_token_delay)
        for number, event in enumerate(events):
            if number and event.progress and self.reply.token_delay > 0:
                yield Pause(self.reply.token_delay)
            yield Write(event.data)
            if ping is not None and event.progress:
                yield Write(ping)


def _stream_headers() -> list[tuple[str, str]]:
    return [("content-type", "text/event-stream; charset=utf-8"), *_common_headers()]


def _stream_plan(stream: _Stream, body: Iterable[Action] | None = None) -> ResponsePlan:
    if body is None:
        body = _chain(stream.timed(stream.events()), [Write(data) for data in stream.tail()])
    return ResponsePlan(status=200, headers=_stream_headers(), body=body, chunked=True)


def _chain(*parts: Iterable[Action]) -> Iterator[Action]:
    for part in parts:
        yield from part


def _split_after(events: list[_Event], after: int) -> tuple[list[_Event], list[_Event]]:
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


def _forever(config: PlanConfig, make: Iterable[Action]) -> Iterator[Action]:
    """Repeat `make`'s actions until `max_stall` passes (the server stops it sooner)."""
    deadline = time.monotonic() + config.max_stall
    while time.monotonic() < deadline:
        yield from make
    yield Abort()


# --- faults ---------------------------------------------------------------------------------


def _fault_plan(fault: Fault, request: RecordedRequest, config: PlanConfig) -> ResponsePlan:
    kind = fault.kind
    if kind in (FaultKind.REFUSE_CONNECTION, FaultKind.RESET_CONNECTION):
        return ResponsePlan(reset=True, refuse=kind is FaultKind.REFUSE_CONNECTION)
    if kind is FaultKind.STALL_BEFORE_HEADERS:
        plan = build_plan(fault.answer, request, config)
        plan.head_pause = Pause(fault.seconds)
        return plan
    if kind is FaultKind.STATUS:
        plan = _error_plan(
            fault.status, message=fault.message, error_type=fault.error_type, code=fault.code
        )
        if fault.retry_after is not None:
            plan.headers.append(("retry-after", _seconds_text(fault.retry_after)))
        if fault.retry_after_ms is not None:
            plan.headers.append(("retry-after-ms", str(fault.retry_after_ms)))
        return plan
    if request.stream:
        return _stream_fault_plan(fault, request, config)
    return _whole_fault_plan(fault, request, config)


def _seconds_text(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


def _stream_fault_plan(fault: Fault, request: RecordedRequest, config: PlanConfig) -> ResponsePlan:
    kind = fault.kind
    stream = _Stream(fault.answer, request, config)
    if kind is FaultKind.WRONG_CONTENT_TYPE:
        return _error_plan(
            fault.status,
            message=fault.message or "The server had an error while processing your request.",
            error_type="server_error",
        )
    if kind is FaultKind.KEEPALIVE_FOREVER:
        beat: list[Action] = [Write(KEEPALIVE_COMMENT), Pause(fault.interval)]
        return _stream_plan(stream, _forever(config, beat))
    if kind is FaultKind.ENDLESS_DELTAS:
        factory = stream.factory
        role = Write(factory.encode(factory.delta(0, {"role": "assistant", "content": ""})))
        pulse: list[Action] = [
            Write(factory.encode(factory.delta(0, {"content": " la"}))),
            Pause(fault.interval),
        ]
        return _stream_plan(stream, _chain([role], _forever(config, pulse)))
    events = stream.events()
    tail = [Write(data) for data in stream.tail()]
    if kind is FaultKind.STALL_BEFORE_FIRST_EVENT:
        return _stream_plan(stream, _chain([Pause(fault.seconds)], stream.timed(events), tail))
    if kind is FaultKind.DRIP:
        everything = b"".join(event.data for event in events) + b"".join(stream.tail())
        return _stream_plan(stream, _drip(everything, fault.interval))
    if kind is FaultKind.HUGE_LINE:
        huge = stream.factory.delta(0, {"content": "\x00"})
        line = stream.factory.encode(huge).replace(b"\\u0000", b"x" * fault.size)
        first, rest = _split_after(events, 1)
        return _stream_plan(
            stream, _chain(stream.timed(first), [Write(line)], stream.timed(rest), tail)
        )
    head, rest = _split_after(stream.events(finish=True), fault.after)
    if kind is FaultKind.STALL_MID_STREAM:
        return _stream_plan(
            stream, _chain(stream.timed(head), [Pause(fault.seconds)], stream.timed(rest), tail)
        )
    if kind in (FaultKind.CLOSE_MID_STREAM, FaultKind.SHORT_BODY):
        return _stream_plan(stream, _chain(stream.timed(head), [Abort()]))
    if kind is FaultKind.END_WITHOUT_DONE:
        unfinished, _ = _split_after(stream.events(finish=False), fault.after)
        return _stream_plan(stream, stream.timed(unfinished))
    if kind is FaultKind.MALFORMED_CHUNK:
        broken = Write(b'data: {"id":"' + stream.factory.id.encode() + b'","object":"chat.comp\n\n')
        return _stream_plan(stream, _chain(stream.timed(head), [broken], stream.timed(rest), tail))
    if kind is FaultKind.ERROR_EVENT:
        payload = error_body(
            fault.message
            or "The server had an error while processing your request. Sorry about that!",
            error_type=fault.error_type or "server_error",
            code=fault.code,
        )
        return _stream_plan(stream, _chain(stream.timed(head), [Write(sse(payload))]))
    raise AssertionError(f"unhandled fault {kind}")  # pragma: no cover - every kind is above


def _drip(data: bytes, interval: float) -> Iterator[Action]:
    for position in range(len(data)):
        if position:
            yield Pause(interval)
        yield Write(data[position : position + 1])


def _whole_fault_plan(fault: Fault, request: RecordedRequest, config: PlanConfig) -> ResponsePlan:
    kind = fault.kind
    reply = fault.answer
    if kind is FaultKind.WRONG_CONTENT_TYPE:
        page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        headers = [("content-type", "text/html"), *_common_headers()]
        return ResponsePlan(status=fault.status, headers=headers, body=[Write(page)])
    if kind is FaultKind.ERROR_EVENT:
        return _json_plan(
            200,
            error_body(
                fault.message or "The server had an error while processing your request.",
                error_type=fault.error_type or "server_error",
                code=fault.code,
            ),
        )
    if kind is FaultKind.HUGE_LINE:
        reply = Reply.text("x" * fault.size, tokens=["x" * fault.size])
    if kind is FaultKind.END_WITHOUT_DONE:
        choices = tuple(
            ChoiceSpec(
                content=c.content, refusal=c.refusal, tool_calls=c.tool_calls, finish_reason=""
            )
            for c in reply.choices
        )
        reply = Reply(choices=choices)
    payload = _whole_payload(reply, request, config)
    if kind is FaultKind.END_WITHOUT_DONE:
        for choice in payload["choices"]:
            choice["finish_reason"] = None
    plan = _json_plan(200, payload)
    data = b"".join(action.data for action in plan.body if isinstance(action, Write))
    plan.content_length = len(data)
    half = len(data) // 2
    if kind in (
        FaultKind.STALL_BEFORE_FIRST_EVENT,
        FaultKind.KEEPALIVE_FOREVER,
        FaultKind.ENDLESS_DELTAS,
    ):
        forever = kind is not FaultKind.STALL_BEFORE_FIRST_EVENT
        seconds = None if forever else fault.seconds
        plan.body = [Pause(seconds), Write(data)] if not forever else [Pause(None), Abort()]
    elif kind is FaultKind.STALL_MID_STREAM:
        plan.body = [Write(data[:half]), Pause(fault.seconds), Write(data[half:])]
    elif kind is FaultKind.CLOSE_MID_STREAM:
        plan.body = [Write(data[:half]), Abort()]
    elif kind is FaultKind.SHORT_BODY:
        plan.body = [Write(data[: max(len(data) - fault.size, 0)]), Abort()]
    elif kind is FaultKind.MALFORMED_CHUNK:
        plan.body = [Write(data[:half])]
        plan.content_length = half
    elif kind is FaultKind.DRIP:
        plan.body = list(_drip(data, fault.interval))
    return plan
