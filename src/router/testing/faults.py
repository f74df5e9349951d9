"""The plans of faults: each `Fault` kind as the bytes (or silence) a client meets.

Stream faults start from the reply they corrupt (`Fault.answer`) and cut, stall or poison its
events; on a non-streaming request each has the closest equivalent (see docs/testing.md).
"""

from __future__ import annotations

from router.testing.answers import (
    StreamScript,
    chain,
    drip,
    forever,
    reply_plan,
    split_after,
    stream_plan,
    whole_payload,
)
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
from router.testing.scripts import Fault, FaultKind, Reply
from router.testing.wire import error_body, sse

__all__ = ["fault_plan"]

KEEPALIVE_COMMENT = b": keep-alive\n\n"


def fault_plan(fault: Fault, request: RecordedRequest, config: PlanConfig) -> ResponsePlan:
    """The response a fault gives `request`: connection and status faults alike for both
    kinds of request; the others as a broken stream, or their whole-answer equivalent."""
    kind = fault.kind
    if kind in (FaultKind.REFUSE_CONNECTION, FaultKind.RESET_CONNECTION):
        return ResponsePlan(reset=True, refuse=kind is FaultKind.REFUSE_CONNECTION)
    if kind is FaultKind.STALL_BEFORE_HEADERS:
        plan = reply_plan(fault.answer, request, config)
        plan.head_pause = Pause(fault.seconds)
        return plan
    if kind is FaultKind.STATUS:
        plan = error_plan(
            fault.status, message=fault.message, error_type=fault.error_type, code=fault.code
        )
        if fault.retry_after is not None:
            plan.headers.append(("retry-after", _seconds_text(fault.retry_after)))
        if fault.status == 429:
            reset = _seconds_text(fault.retry_after) if fault.retry_after is not None else "1"
            reset = reset if not reset[:1].isdigit() else f"{reset}s"
            plan.headers.extend(rate_limit_headers(remaining_requests=0, reset_requests=reset))
        if fault.retry_after_ms is not None:
            plan.headers.append(("retry-after-ms", str(fault.retry_after_ms)))
        return plan
    if request.stream:
        return _stream_fault_plan(fault, request, config)
    return _whole_fault_plan(fault, request, config)


def _seconds_text(seconds: float | str) -> str:
    """`Retry-After` as sent: whole seconds without a decimal point; text (an HTTP date) as is."""
    if isinstance(seconds, str):
        return seconds
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


def _stream_fault_plan(fault: Fault, request: RecordedRequest, config: PlanConfig) -> ResponsePlan:
    kind = fault.kind
    stream = StreamScript(fault.answer, request, config)
    if kind is FaultKind.WRONG_CONTENT_TYPE:
        return error_plan(
            fault.status,
            message=fault.message or "The server had an error while processing your request.",
            error_type="server_error",
        )
    if kind is FaultKind.KEEPALIVE_FOREVER:
        beat: list[Action] = [Write(KEEPALIVE_COMMENT), Pause(fault.interval)]
        return stream_plan(stream, forever(config, beat))
    if kind is FaultKind.ENDLESS_DELTAS:
        factory = stream.factory
        role = Write(factory.encode(factory.delta(0, {"role": "assistant", "content": ""})))
        pulse: list[Action] = [
            Write(factory.encode(factory.delta(0, {"content": " la"}))),
            Pause(fault.interval),
        ]
        return stream_plan(stream, chain([role], forever(config, pulse)))
    events = stream.events()
    tail = [Write(data) for data in stream.tail()]
    if kind is FaultKind.STALL_BEFORE_FIRST_EVENT:
        return stream_plan(stream, chain([Pause(fault.seconds)], stream.timed(events), tail))
    if kind is FaultKind.DRIP:
        everything = b"".join(event.data for event in events) + b"".join(stream.tail())
        return stream_plan(stream, drip(everything, fault.interval))
    if kind is FaultKind.HUGE_LINE:
        huge = stream.factory.delta(0, {"content": "\x00"})
        line = stream.factory.encode(huge).replace(b"\\u0000", b"x" * fault.size)
        first, rest = split_after(events, 1)
        return stream_plan(
            stream,
            chain(stream.timed(first), [Write(line)], stream.timed(rest, opening=False), tail),
        )
    head, rest = split_after(events, fault.after)
    if kind is FaultKind.STALL_MID_STREAM:
        return stream_plan(
            stream,
            chain(
                stream.timed(head), [Pause(fault.seconds)], stream.timed(rest, opening=False), tail
            ),
        )
    if kind in (FaultKind.CLOSE_MID_STREAM, FaultKind.SHORT_BODY):
        return stream_plan(stream, chain(stream.timed(head), [Abort()]))
    if kind is FaultKind.END_WITHOUT_DONE:
        unfinished, _ = split_after(stream.events(finish=False), fault.after)
        return stream_plan(stream, stream.timed(unfinished))
    if kind is FaultKind.MALFORMED_CHUNK:
        broken = Write(b'data: {"id":"' + stream.factory.id.encode() + b'","object":"chat.comp\n\n')
        return stream_plan(
            stream, chain(stream.timed(head), [broken], stream.timed(rest, opening=False), tail)
        )
    if kind is FaultKind.ERROR_EVENT:
        payload = error_body(
            fault.message
            or "The server had an error while processing your request. Sorry about that!",
            error_type=fault.error_type or "server_error",
            code=fault.code,
        )
        return stream_plan(stream, chain(stream.timed(head), [Write(sse(payload))]))
    raise AssertionError(f"unhandled fault {kind}")  # pragma: no cover - every kind is above


def _whole_fault_plan(fault: Fault, request: RecordedRequest, config: PlanConfig) -> ResponsePlan:
    kind = fault.kind
    reply = fault.answer
    if kind is FaultKind.WRONG_CONTENT_TYPE:
        page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        headers = [("content-type", "text/html"), *common_headers()]
        return ResponsePlan(status=fault.status, headers=headers, body=[Write(page)])
    if kind is FaultKind.ERROR_EVENT:
        return json_plan(
            200,
            error_body(
                fault.message or "The server had an error while processing your request.",
                error_type=fault.error_type or "server_error",
                code=fault.code,
            ),
        )
    if kind is FaultKind.HUGE_LINE:
        reply = Reply.text("x" * fault.size, tokens=["x" * fault.size])
    payload = whole_payload(reply, request, config)
    if kind is FaultKind.END_WITHOUT_DONE:
        for choice in payload["choices"]:
            choice["finish_reason"] = None
    plan = json_plan(200, payload)
    data = b"".join(action.data for action in plan.body if isinstance(action, Write))
    plan.content_length = len(data)
    half = len(data) // 2
    if kind is FaultKind.STALL_BEFORE_FIRST_EVENT:
        plan.body = [Pause(fault.seconds), Write(data)]
    elif kind in (FaultKind.KEEPALIVE_FOREVER, FaultKind.ENDLESS_DELTAS):
        plan.body = [Pause(None), Abort()]  # headers, then nothing until max_stall
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
        plan.body = list(drip(data, fault.interval))
    return plan
