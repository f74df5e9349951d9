"""What the simulated provider says: scripted answers (`Reply`), faults (`Fault`), quirks.

These are plain, immutable values with no I/O: the real server (`SimulatedProvider`) and the
socket-free transport (`SimulatedTransport`) both turn them into the same bytes through
`router.testing.plan`. A *step* is a `Reply`, a `Fault`, or a function of the recorded request
that returns one (to answer according to what was asked).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, TypeAlias

from router.testing.recording import RecordedRequest

__all__ = [
    "DEFAULT_FAULT_REPLY",
    "PING_COMMENT",
    "PING_DATA",
    "PING_EVENT",
    "ChoiceSpec",
    "Fault",
    "FaultKind",
    "Quirks",
    "Reply",
    "Responder",
    "Step",
    "ToolCallSpec",
    "split_text",
]

#: An SSE comment line some servers send while they think (ignored by SSE decoders).
PING_COMMENT = ": ping\n\n"
#: A named `ping` event with a JSON payload, as some OpenAI-compatible gateways send.
PING_EVENT = 'event: ping\ndata: {"type":"ping"}\n\n'
#: A bare `ping` as the data of an ordinary event: not JSON, yet not an error either.
PING_DATA = "data: ping\n\n"

_TOKEN = re.compile(r"\s*\S+|\s+")


def split_text(text: str) -> tuple[str, ...]:
    """Split text into word-sized deltas that keep their leading whitespace."""
    return tuple(_TOKEN.findall(text))


def _split_fixed(text: str, size: int) -> tuple[str, ...]:
    return tuple(text[i : i + size] for i in range(0, len(text), size)) or ("",)


@dataclass(frozen=True, slots=True)
class ToolCallSpec:
    """One tool call the model makes: its function name and arguments (a JSON text)."""

    name: str
    arguments: str = "{}"
    id: str | None = None

    @classmethod
    def of(
        cls, name: str, arguments: Mapping[str, Any] | str, *, id: str | None = None
    ) -> ToolCallSpec:
        """A tool call whose arguments are given as a mapping (serialised) or as raw text."""
        text = arguments if isinstance(arguments, str) else json.dumps(arguments)
        return cls(name=name, arguments=text, id=id)


@dataclass(frozen=True, slots=True)
class Quirks:
    """Provider quirks on demand, each one a real server's habit that clients must survive.

    - `azure_filters`: Azure OpenAI's empty-`choices` `prompt_filter_results` chunk first, a
      `content_filter_results` object on every choice, a filter-only chunk at the end, and
      Azure's alphabetical key order.
    - `tool_call_index`: False leaves `index` out of tool-call deltas (some compatible servers).
    - `ping`: an SSE text inserted between deltas (`PING_COMMENT`, `PING_EVENT`, or your own).
    - `reject_stream_options`: answer any request carrying `stream_options` with a 400 and an
      OpenAI-style error body, like servers that do not know the option.
    """

    azure_filters: bool = False
    tool_call_index: bool = True
    ping: str | None = None
    reject_stream_options: bool = False


@dataclass(frozen=True, slots=True)
class Reply:
    """A scripted answer, sent as a stream or as one `chat.completion` as the request asks.

    `choices` holds one entry per choice (`n > 1`); when the request asks for more choices
    than scripted, the last scripted one is repeated. Timing: `first_token_delay` seconds pass
    before the first chunk, `token_delay` between chunks. `usage` None computes plausible
    token counts; `finish_reason` None picks `tool_calls` or `stop`. `quirks` None uses the
    provider's.
    """

    choices: tuple[ChoiceSpec, ...] = ()
    first_token_delay: float = 0.0
    token_delay: float = 0.0
    usage: Mapping[str, Any] | None = None
    model: str | None = None
    quirks: Quirks | None = None

    # --- constructors -------------------------------------------------------------------

    @classmethod
    def text(
        cls,
        text: str = "Hello! How can I help you today?",
        *,
        tokens: Sequence[str] | None = None,
        finish_reason: str | None = None,
        reasoning: str | None = None,
        first_token_delay: float = 0.0,
        token_delay: float = 0.0,
        usage: Mapping[str, Any] | None = None,
        quirks: Quirks | None = None,
    ) -> Reply:
        """A text answer split into word deltas (or the given `tokens`, which join to it)."""
        deltas = tuple(tokens) if tokens is not None else split_text(text)
        choice = ChoiceSpec(
            content=deltas,
            finish_reason=finish_reason,
            reasoning=split_text(reasoning) if reasoning else (),
        )
        return cls(
            choices=(choice,),
            first_token_delay=first_token_delay,
            token_delay=token_delay,
            usage=usage,
            quirks=quirks,
        )

    @classmethod
    def json(cls, value: Any, *, chunk_chars: int = 8, **options: Any) -> Reply:
        """A structured answer: `value` serialised as JSON and streamed in small pieces."""
        text = json.dumps(value)
        return cls.text(text, tokens=_split_fixed(text, chunk_chars), **options)

    @classmethod
    def tool_calls(
        cls,
        *calls: ToolCallSpec,
        finish_reason: str | None = None,
        chunk_chars: int = 8,
        first_token_delay: float = 0.0,
        token_delay: float = 0.0,
        usage: Mapping[str, Any] | None = None,
        quirks: Quirks | None = None,
    ) -> Reply:
        """One or several (parallel) tool calls, their arguments streamed in small pieces."""
        if not calls:
            raise ValueError("Reply.tool_calls() needs at least one ToolCallSpec")
        choice = ChoiceSpec(
            tool_calls=tuple(calls), finish_reason=finish_reason, chunk_chars=chunk_chars
        )
        return cls(
            choices=(choice,),
            first_token_delay=first_token_delay,
            token_delay=token_delay,
            usage=usage,
            quirks=quirks,
        )

    @classmethod
    def refusal(cls, text: str = "I'm sorry, I can't help with that.", **options: Any) -> Reply:
        """A refusal in place of the answer (content null, `refusal` text)."""
        base = cls.text("", **options)
        choice = replace(base.choices[0], content=(), refusal=split_text(text))
        return replace(base, choices=(choice,))

    @classmethod
    def many(cls, *texts: str, **options: Any) -> Reply:
        """One text choice per argument, for requests with `n > 1`; `options` apply to each."""
        choices = tuple(cls.text(text, **options).choices[0] for text in texts)
        return replace(cls.text("", **options), choices=choices)

    # --- derived --------------------------------------------------------------------------

    def choices_for(self, n: int) -> tuple[ChoiceSpec, ...]:
        """The `n` choices to send: the scripted ones, the last repeated as needed."""
        scripted = self.choices or (ChoiceSpec(),)
        if n <= len(scripted):
            return scripted[: max(n, 1)]
        return scripted + (scripted[-1],) * (n - len(scripted))


@dataclass(frozen=True, slots=True)
class ChoiceSpec:
    """One choice of a `Reply`: content deltas, refusal deltas, reasoning, tool calls."""

    content: tuple[str, ...] = ()
    refusal: tuple[str, ...] = ()
    reasoning: tuple[str, ...] = ()
    tool_calls: tuple[ToolCallSpec, ...] = ()
    finish_reason: str | None = None
    chunk_chars: int = 8

    @property
    def resolved_finish_reason(self) -> str:
        """The finish reason sent: the scripted one, else `tool_calls` or `stop`."""
        if self.finish_reason is not None:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"

    @property
    def text(self) -> str:
        """The whole content, joined."""
        return "".join(self.content)

    @property
    def message_content(self) -> str | None:
        """`message.content` of a whole answer: null for a bare tool call or refusal.

        A stream's role chunk carries null in the same cases, else "".
        """
        if not self.content and (self.tool_calls or self.refusal):
            return None
        return self.text


class FaultKind(StrEnum):
    """Every fault the simulated provider can produce (see `Fault` for each one's meaning)."""

    REFUSE_CONNECTION = "refuse_connection"
    RESET_CONNECTION = "reset_connection"
    STALL_BEFORE_HEADERS = "stall_before_headers"
    STATUS = "status"
    STALL_BEFORE_FIRST_EVENT = "stall_before_first_event"
    KEEPALIVE_FOREVER = "keepalive_forever"
    STALL_MID_STREAM = "stall_mid_stream"
    CLOSE_MID_STREAM = "close_mid_stream"
    END_WITHOUT_DONE = "end_without_done"
    MALFORMED_CHUNK = "malformed_chunk"
    ERROR_EVENT = "error_event"
    WRONG_CONTENT_TYPE = "wrong_content_type"
    HUGE_LINE = "huge_line"
    DRIP = "drip"
    ENDLESS_DELTAS = "endless_deltas"
    SHORT_BODY = "short_body"


_DEFAULT_ERRORS: dict[int, tuple[str, str, str | None]] = {
    400: ("Invalid request.", "invalid_request_error", None),
    401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    404: (
        "The model does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
    ),
    408: ("Request timed out.", "timeout", None),
    409: ("Conflict.", "conflict", None),
    429: (
        "Rate limit reached for requests. Please try again later.",
        "requests",
        "rate_limit_exceeded",
    ),
    500: (
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        None,
    ),
    502: ("Bad gateway.", "server_error", None),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
}


def error_fields(status: int) -> tuple[str, str, str | None]:
    """A plausible OpenAI error (message, type, code) for an HTTP status."""
    if status in _DEFAULT_ERRORS:
        return _DEFAULT_ERRORS[status]
    if status >= 500:
        return _DEFAULT_ERRORS[500]
    return ("Request failed.", "invalid_request_error", None)


@dataclass(frozen=True, slots=True)
class Fault:
    """A misbehaviour on demand. Build one with the class methods; each documents itself.

    Faults that corrupt a stream start from `reply` (a short default text when None) and
    break it after `after` deltas. "Forever" faults last until the client disconnects, the
    server stops, or the server's `max_stall` bound passes, whichever comes first.
    """

    kind: FaultKind
    after: int = 2
    seconds: float | None = None
    interval: float = 0.1
    status: int = 500
    retry_after: float | str | None = None
    retry_after_ms: int | None = None
    message: str | None = None
    error_type: str | None = None
    code: str | None = None
    size: int = 20 * 1024 * 1024
    reply: Reply | None = None

    # --- connection and status faults ---------------------------------------------------

    @classmethod
    def refuse_connection(cls, seconds: float = 0.3) -> Fault:
        """Stop listening for `seconds` from when this step reaches the head of the script.

        Connection attempts in that window are refused (`httpx.ConnectError`); kept-alive idle
        connections are closed too, so the client must reconnect. The socket-free transport
        raises `httpx.ConnectError` for one request instead.
        """
        return cls(FaultKind.REFUSE_CONNECTION, seconds=seconds)

    @classmethod
    def reset_connection(cls) -> Fault:
        """Read the request, then reset the connection (TCP RST) without answering."""
        return cls(FaultKind.RESET_CONNECTION)

    @classmethod
    def stall_before_headers(cls, seconds: float | None = None) -> Fault:
        """Read the request, then send nothing for `seconds` (None: forever), then answer."""
        return cls(FaultKind.STALL_BEFORE_HEADERS, seconds=seconds)

    @classmethod
    def http_status(
        cls,
        status: int,
        *,
        retry_after: float | str | None = None,
        retry_after_ms: int | None = None,
        message: str | None = None,
        error_type: str | None = None,
        code: str | None = None,
    ) -> Fault:
        """An error status with an OpenAI-style JSON error body and optional retry headers.

        `retry_after` in seconds, or a string sent as is (an HTTP date); a 429 also carries
        `x-ratelimit-*` headers with no requests remaining.
        """
        return cls(
            FaultKind.STATUS,
            status=status,
            retry_after=retry_after,
            retry_after_ms=retry_after_ms,
            message=message,
            error_type=error_type,
            code=code,
        )

    @classmethod
    def wrong_content_type(cls, status: int = 200) -> Fault:
        """A JSON error body (`application/json`) where an event stream was asked for.

        For a non-streaming request, an HTML page where JSON was expected.
        """
        return cls(FaultKind.WRONG_CONTENT_TYPE, status=status)

    # --- stream faults ------------------------------------------------------------------

    @classmethod
    def stall_before_first_event(
        cls, seconds: float | None = None, *, reply: Reply | None = None
    ) -> Fault:
        """Send the headers, then nothing for `seconds` (None: forever), then the stream."""
        return cls(FaultKind.STALL_BEFORE_FIRST_EVENT, seconds=seconds, reply=reply)

    @classmethod
    def keepalive_forever(cls, interval: float = 0.1) -> Fault:
        """Send the headers, then an SSE comment every `interval` seconds and no content."""
        return cls(FaultKind.KEEPALIVE_FOREVER, interval=interval)

    @classmethod
    def stall_mid_stream(
        cls, after: int = 2, seconds: float | None = None, *, reply: Reply | None = None
    ) -> Fault:
        """Send `after` deltas, then nothing for `seconds` (None: forever), then the rest."""
        return cls(FaultKind.STALL_MID_STREAM, after=after, seconds=seconds, reply=reply)

    @classmethod
    def close_mid_stream(cls, after: int = 2, *, reply: Reply | None = None) -> Fault:
        """Send `after` deltas, then close the connection without ending the chunked body."""
        return cls(FaultKind.CLOSE_MID_STREAM, after=after, reply=reply)

    @classmethod
    def end_without_done(cls, after: int = 2, *, reply: Reply | None = None) -> Fault:
        """Send `after` deltas, then end the body cleanly: no finish reason, no `[DONE]`."""
        return cls(FaultKind.END_WITHOUT_DONE, after=after, reply=reply)

    @classmethod
    def malformed_chunk(cls, after: int = 2, *, reply: Reply | None = None) -> Fault:
        """After `after` deltas, one `data:` line of broken JSON; the stream then goes on."""
        return cls(FaultKind.MALFORMED_CHUNK, after=after, reply=reply)

    @classmethod
    def error_event(
        cls,
        after: int = 2,
        *,
        message: str | None = None,
        error_type: str = "server_error",
        code: str | None = None,
        reply: Reply | None = None,
    ) -> Fault:
        """After `after` deltas, a `data: {"error": {...}}` payload, then the body ends."""
        return cls(
            FaultKind.ERROR_EVENT,
            after=after,
            message=message,
            error_type=error_type,
            code=code,
            reply=reply,
        )

    @classmethod
    def huge_line(cls, size: int = 20 * 1024 * 1024, *, reply: Reply | None = None) -> Fault:
        """One `data:` line of `size` bytes (a chunk with an enormous content delta)."""
        return cls(FaultKind.HUGE_LINE, size=size, reply=reply)

    @classmethod
    def drip(cls, interval: float = 0.1, *, reply: Reply | None = None) -> Fault:
        """The whole answer, one byte every `interval` seconds."""
        return cls(FaultKind.DRIP, interval=interval, reply=reply)

    @classmethod
    def endless_deltas(cls, interval: float = 0.02) -> Fault:
        """Content deltas every `interval` seconds, forever: only a total deadline stops it."""
        return cls(FaultKind.ENDLESS_DELTAS, interval=interval)

    @classmethod
    def short_body(cls, missing: int = 10, *, reply: Reply | None = None) -> Fault:
        """A non-streaming answer that closes `missing` bytes short of its Content-Length.

        A streaming request gets the equivalent: two deltas, then the connection closes
        before the chunked body ends.
        """
        return cls(FaultKind.SHORT_BODY, size=max(missing, 1), reply=reply)

    @property
    def answer(self) -> Reply:
        """The answer this fault corrupts."""
        return self.reply if self.reply is not None else DEFAULT_FAULT_REPLY


#: The answer stream faults corrupt when no `reply` is given: several deltas long.
DEFAULT_FAULT_REPLY = Reply.text("The quick brown fox jumps over the lazy dog.")

#: A function of the recorded request that picks the step answering it.
Responder: TypeAlias = Callable[[RecordedRequest], Reply | Fault]

#: One entry of a script: a reply, a fault, or a responder.
Step: TypeAlias = Reply | Fault | Responder
