"""Chat Completions chunk events -> one `Completion`, with progress and status on the way.

`StreamAssembler` consumes the events of a `stream: true` Chat Completions response (as the
SSE decoder yields them) and keeps everything assembled so far: per choice the role, the
content, the refusal, reasoning text, tool calls keyed by (choice index, tool index),
logprobs and the finish reason; per stream the id, model, `created`, `system_fingerprint`
and usage. It is pure (no I/O, no clock) so that the sync and async drivers share it.

For every event `feed` says whether it was *progress* (DESIGN: non-empty content, refusal
text, a tool-call fragment, or reasoning text); comments never reach it, and pings,
role-only or empty deltas, filter chunks and usage-only chunks are not progress. The clocks
of the execution layer reset on progress only.

Quirks of real servers handled here: chunks with empty `choices` (Azure's
`prompt_filter_results`, the usage-only final chunk), null or missing delta fields, Azure's
content-filter chunks with `object: ""` (possibly after the finish reason), tool-call
deltas without `index` (matched by id, then by position), tool indexes starting at 1,
`id`/`name`/`type` repeated in every delta (set, never concatenated), reasoning text as
`reasoning_content` or `reasoning`, ping payloads. An error payload (`{"error": ...}` data or
an `event: error`) or undecodable data ends the stream as failed, keeping what came before.

Fragments are appended to lists and joined once, when a snapshot is asked for, so a long
answer costs one `list.append` per chunk, not a growing string or a model object per chunk;
and the head every chunk of a stream repeats is parsed once (see `_learn_prefix`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from json import JSONDecodeError, JSONDecoder
from json import loads as _json_loads
from typing import Any

from router.completion import (
    Choice,
    Completion,
    FunctionCall,
    Message,
    Status,
    ToolCall,
    Usage,
)
from router.sse import ServerSentEvent

__all__ = ["StreamAssembler", "parse_usage"]

_DONE = "[DONE]"
_PING_TEXTS = frozenset({"", "ping", ":ping", ": ping"})
_PREVIEW = 80
_FUNCTION_CALL_KEY = "function_call"  # the tool key of a legacy `function_call` delta
_NO_KEYS: dict[str, Any] = {}  # the keys after the choices of a chunk that has none
# `scan_once(text, start) -> (value, end)` is the (C) scanner json.loads runs; typeshed
# does not declare it, hence the annotation.
_scan_json: Callable[[str, int], tuple[Any, int]] = JSONDecoder().scan_once  # type: ignore[attr-defined]


class _MalformedChunk(Exception):
    """A chunk that decodes as JSON but not as a chat completion chunk (internal)."""


class _ToolState:
    """One tool call being assembled; `arguments` are fragments joined at the end."""

    __slots__ = ("arguments", "id", "name", "type")

    def __init__(self) -> None:
        self.id: str | None = None
        self.type: str | None = None
        self.name: str | None = None
        self.arguments: list[str] = []


class _ChoiceState:
    """One choice being assembled."""

    __slots__ = (
        "content",
        "content_filter_results",
        "finish_reason",
        "index",
        "logprobs",
        "reasoning",
        "refusal",
        "role",
        "tools",
        "unindexed_keys",
    )

    def __init__(self, index: int) -> None:
        self.index = index
        self.role: str | None = None
        self.content: list[str] = []
        self.refusal: list[str] = []
        self.reasoning: list[str] = []
        # Tool calls by key (the wire `index` when sent, else a synthetic key, see
        # _tool_for), in arrival order: a dict keeps it.
        self.tools: dict[object, _ToolState] = {}
        self.unindexed_keys: list[object] = []
        self.finish_reason: str | None = None
        self.logprobs: dict[str, list[Any] | None] | None = None
        self.content_filter_results: Any = None


def _text(value: object, where: str) -> str:
    if value.__class__ is str:
        return value
    raise _MalformedChunk(f"{where} is {type(value).__name__}, expected a string")


def parse_usage(raw: object) -> Usage | None:
    """A `Usage` from the provider's usage object (None when there is none)."""
    if not isinstance(raw, Mapping):
        return None

    def count(key: str) -> int | None:
        value = raw.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return Usage(
        prompt_tokens=count("prompt_tokens"),
        completion_tokens=count("completion_tokens"),
        total_tokens=count("total_tokens"),
        raw=dict(raw),
    )


class StreamAssembler:
    """Assemble one Chat Completions stream; see the module docstring for the rules.

    Drive it with `feed(event)` for every decoded event, hand the caller `take_text()`
    after progress, and end with `finish(eof=...)`. `snapshot()`, `status`, `error` and
    `done` are available at any time.
    """

    __slots__ = (
        "_choices",
        "_created",
        "_done",
        "_error",
        "_events",
        "_first",
        "_id",
        "_joined",
        "_joined_parts",
        "_model",
        "_need_meta",
        "_prefix",
        "_prefix_tries",
        "_prompt_filter_results",
        "_system_fingerprint",
        "_taken",
        "_usage",
    )

    def __init__(self) -> None:
        self._choices: dict[int, _ChoiceState] = {}
        self._first: _ChoiceState | None = None  # choice 0, whose text `take_text` hands out
        self._taken = 0
        # Choice 0's text as of the last `text_so_far`, and how many parts it holds.
        self._joined = ""
        self._joined_parts = 0
        self._id: str | None = None
        self._model: str | None = None
        self._created: int | None = None
        self._need_meta = True
        self._system_fingerprint: str | None = None
        self._usage: Any = None
        self._prompt_filter_results: list[Any] = []
        self._done = False
        self._error: dict[str, Any] | None = None
        self._events = 0
        # The head shared by this stream's chunks (see _learn_prefix), and how many more
        # times to try learning one: a server whose heads differ costs a bounded effort.
        self._prefix: str | None = None
        self._prefix_tries = 8

    # --- the contract ------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """True once the stream said it is over: `[DONE]`, an error payload or bad data."""
        return self._done

    @property
    def error(self) -> dict[str, Any] | None:
        """Why the stream failed, or None.

        The provider's error object as sent (with `message` and `type` always present), or
        for undecodable data `{"type": "invalid_chunk", "message": ...}`.
        """
        return self._error

    @property
    def status(self) -> Status:
        """The status if the stream stopped right now without a clean end of stream."""
        return self._status(eof=False)

    @property
    def events(self) -> int:
        """How many events were fed (pings and the `[DONE]` marker included)."""
        return self._events

    def feed(self, event: ServerSentEvent) -> bool:
        """Take one decoded event; True when it carried progress for the caller."""
        if self._done:
            return False  # nothing after [DONE] or an error counts
        self._events += 1
        data = event.data
        kind = event.event
        if kind != "message":
            if kind == "error":
                self._fail_with_payload(data)
                return False
            if kind == "ping":
                return False
        prefix = self._prefix
        if prefix is not None and data.startswith(prefix):
            # Inline (this is the hot path): the choices after the known head, then the
            # keys after them as an object; anything unexpected takes the full parse below.
            try:
                choices, end = _scan_json(data, len(prefix))
                if end == len(data) - 1 and data[end] == "}":
                    rest: dict[str, Any] | None = _NO_KEYS
                elif data[end : end + 1] == ",":
                    rest, rest_end = _scan_json("{" + data[end + 1 :], 0)
                    if rest_end != len(data) - end or "choices" in rest:
                        rest = None
                else:
                    rest = None
            except (StopIteration, JSONDecodeError, RecursionError):
                rest = None
            if rest is not None:
                try:
                    return self._apply(rest, choices)
                except (_MalformedChunk, AttributeError, TypeError, ValueError) as exc:
                    self._fail_malformed(exc, data)
                    return False
        try:
            # The C scanner behind json.loads, without the wrapper's two whitespace regex
            # passes. Anything unusual ([DONE], surrounding whitespace, pings, bad data)
            # takes the slow path.
            chunk, end = _scan_json(data, 0)
        except (StopIteration, JSONDecodeError, RecursionError):
            return self._feed_unusual(data)
        if end != len(data) or chunk.__class__ is not dict:
            return self._feed_unusual(data)
        if self._prefix_tries:
            self._learn_prefix(data)
        try:
            return self._apply(chunk, chunk.get("choices"))
        except (_MalformedChunk, AttributeError, TypeError, ValueError) as exc:
            self._fail_malformed(exc, data)
            return False

    # --- the repeated head of chunks -------------------------------------------------------
    #
    # Within one stream, every chunk starts with the same text up to its choices:
    # `{"id":"chatcmpl-…","object":"chat.completion.chunk","created":…,"model":"…",
    # "service_tier":"default","system_fingerprint":"fp_…","choices":`. Once that head has
    # been parsed and checked, a chunk that starts with exactly the same text only needs its
    # choices and the few keys after them parsed: the same result as a full parse (the
    # bytes are the same), for about a third less JSON work.

    def _learn_prefix(self, data: str) -> None:
        """Remember `data`'s head up to its top-level `"choices":` if it is safe to reuse."""
        self._prefix_tries -= 1
        start = data.find('"choices":')
        if start < 0:
            return
        end = start + len('"choices":')
        while end < len(data) and data[end] in " \t\r\n":
            end += 1
        prefix = data[:end]
        if prefix == self._prefix:
            return
        try:
            head, head_end = _scan_json(prefix + "0}", 0)
        except (StopIteration, JSONDecodeError, RecursionError):
            return  # `"choices":` was not a top-level key
        if (
            head_end != end + 2
            or head.__class__ is not dict
            or head.get("choices") != 0
            or "error" in head
            or head.get("usage") is not None
            or "prompt_filter_results" in head
        ):
            # A head carrying an error, usage or filter results must be read from every
            # chunk: each chunk's filter results are kept, not just the first's.
            return
        self._prefix = prefix

    def _feed_unusual(self, data: str) -> bool:
        """`[DONE]`, pings, JSON with surrounding whitespace, and data that is not a chunk."""
        stripped = data.strip()
        if stripped == _DONE:
            self._done = True
            return False
        try:
            chunk = _json_loads(data)
        except (JSONDecodeError, RecursionError) as exc:
            if stripped in _PING_TEXTS:
                return False
            self._fail(
                "invalid_chunk",
                f"event {self._events}: data is not JSON ({exc}); it starts with "
                f"{data[:_PREVIEW]!r}",
            )
            return False
        if chunk.__class__ is not dict:
            if chunk == "ping":
                return False
            self._fail(
                "invalid_chunk",
                f"event {self._events}: data is a JSON {type(chunk).__name__}, "
                f"expected an object; it starts with {data[:_PREVIEW]!r}",
            )
            return False
        try:
            return self._apply(chunk, chunk.get("choices"))
        except (_MalformedChunk, AttributeError, TypeError, ValueError) as exc:
            self._fail_malformed(exc, data)
            return False

    def _fail_malformed(self, exc: Exception, data: str) -> None:
        self._fail(
            "invalid_chunk",
            f"event {self._events}: not a chat completion chunk ({exc}); it starts with "
            f"{data[:_PREVIEW]!r}",
        )

    def fail(self, kind: str, message: str) -> None:
        """End the stream as failed for a reason found outside the events.

        For the driver: the decoder raised `EventTooLarge`, the bytes broke the transfer
        encoding... What was assembled before stays available.
        """
        if self._error is None:
            self._fail(kind, message)

    def take_text(self) -> str:
        """Choice 0's content received since the last call (the delta to hand the caller)."""
        first = self._first
        if first is None:
            return ""
        content = first.content
        end = len(content)
        if self._taken == end:
            return ""
        start = self._taken
        self._taken = end
        if end - start == 1:
            return content[start]
        return "".join(content[start:end])

    def text_so_far(self) -> str:
        """Choice 0's content received so far (for occasional use, not per chunk).

        Only the parts added since the last call are joined (onto the text it returned):
        a progressive check calls this as the text grows, and joining thousands of small
        parts again each time cost a sixth of its checks on a 20 KB answer.
        """
        first = self._first
        if first is None:
            return ""
        content = first.content
        end = len(content)
        if end > self._joined_parts:
            self._joined += "".join(content[self._joined_parts : end])
            self._joined_parts = end
        return self._joined

    def snapshot(self) -> Completion:
        """Everything assembled so far, as a new `Completion` (status as of now)."""
        return self._build(self._status(eof=False))

    def finish(self, *, eof: bool = True) -> Completion:
        """The final `Completion`.

        `eof=True` when the stream ended cleanly (the server closed it); `eof=False` when it
        stopped for another reason (a clock, a dropped connection). Complete when every
        choice has a finish reason and the stream ended with `[DONE]` or cleanly after the
        last finish reason; failed after an error payload or bad data; else interrupted.
        """
        return self._build(self._status(eof=eof))

    # --- chunk handling ----------------------------------------------------------------

    def _apply(self, chunk: dict[str, Any], choices: Any) -> bool:
        """Apply a chunk's top-level keys (`chunk`, choices aside) and its `choices`."""
        if chunk:
            if "error" in chunk and chunk["error"] is not None:
                self._fail_with_object(chunk["error"])
                return False
            if self._need_meta:
                self._take_meta(chunk)
            fingerprint = chunk.get("system_fingerprint")
            if fingerprint is not None:
                self._system_fingerprint = fingerprint
            usage = chunk.get("usage")
            if usage is not None:
                self._usage = usage
        if not choices:
            filters = chunk.get("prompt_filter_results")
            if filters:
                if filters.__class__ is not list:
                    raise _MalformedChunk("prompt_filter_results is not a list")
                self._prompt_filter_results.extend(filters)
            return False
        progress = False
        position = -1
        for choice in choices:
            position += 1
            index = choice.get("index")
            if index is None:
                index = position
            state = self._choices.get(index)
            if state is None:
                state = self._new_choice(index)
            delta = choice.get("delta")
            if delta:
                content = delta.get("content")
                if content is not None:
                    if content.__class__ is not str:
                        _text(content, "delta.content")
                    state.content.append(content)
                    if content:
                        progress = True
                if len(delta) > 1 or content is None:
                    progress = self._apply_rest(state, delta) or progress
            finish = choice.get("finish_reason")
            if finish:
                state.finish_reason = _text(finish, "finish_reason")
            logprobs = choice.get("logprobs")
            if logprobs:
                self._add_logprobs(state, logprobs)
            filters = choice.get("content_filter_results")
            if filters:
                state.content_filter_results = filters
        return progress

    def _apply_rest(self, state: _ChoiceState, delta: dict[str, Any]) -> bool:
        """Everything in a delta except `content` (rarer, so kept off the hot path)."""
        progress = False
        role = delta.get("role")
        if role:
            state.role = _text(role, "delta.role")
        refusal = delta.get("refusal")
        if refusal is not None:
            state.refusal.append(_text(refusal, "delta.refusal"))
            progress = progress or bool(refusal)
        # Servers name reasoning text `reasoning_content` (DeepSeek, older vLLM) or
        # `reasoning` (OpenRouter, newer vLLM, Ollama); some send both with the same text.
        reasoning = delta.get("reasoning_content")
        if not reasoning:
            reasoning = delta.get("reasoning")
        if reasoning is not None and reasoning.__class__ is str:
            state.reasoning.append(reasoning)
            progress = progress or bool(reasoning)
        tool_calls = delta.get("tool_calls")
        if tool_calls:
            progress = self._add_tool_calls(state, tool_calls) or progress
        function_call = delta.get("function_call")
        if function_call:
            # The deprecated `functions` API streams one call this way: kept as a tool call.
            fragment = {"index": _FUNCTION_CALL_KEY, "type": "function", "function": function_call}
            progress = self._add_tool_calls(state, [fragment]) or progress
        return progress

    def _add_tool_calls(self, state: _ChoiceState, fragments: list[Any]) -> bool:
        progress = False
        for position, fragment in enumerate(fragments):
            tool = self._tool_for(state, fragment, position)
            call_id = fragment.get("id")
            if call_id:
                tool.id = _text(call_id, "tool_calls[].id")
                progress = True
            call_type = fragment.get("type")
            if call_type:
                tool.type = _text(call_type, "tool_calls[].type")
            function = fragment.get("function")
            if function:
                name = function.get("name")
                if name:
                    tool.name = _text(name, "tool_calls[].function.name")
                    progress = True
                arguments = function.get("arguments")
                if arguments:
                    tool.arguments.append(_text(arguments, "tool_calls[].function.arguments"))
                    progress = True
        return progress

    def _tool_for(self, state: _ChoiceState, fragment: dict[str, Any], position: int) -> _ToolState:
        """The tool call a fragment belongs to: by `index`; without one by id, then position."""
        index = fragment.get("index")
        if index is not None:
            if index.__class__ is not int and index != _FUNCTION_CALL_KEY:
                raise _MalformedChunk(
                    f"tool_calls[].index is {type(index).__name__}, expected an integer"
                )
            key: object = index
        else:
            key = self._unindexed_key(state, fragment.get("id"), position)
        tool = state.tools.get(key)
        if tool is None:
            tool = state.tools[key] = _ToolState()
        return tool

    def _unindexed_key(self, state: _ChoiceState, call_id: object, position: int) -> object:
        # A fragment without `index`: its id names its call (a new id starts a new call);
        # without an id it continues the call at the same position in the previous
        # unindexed delta, or the latest call.
        if call_id:
            for key, tool in state.tools.items():
                if tool.id == call_id:
                    self._remember_unindexed(state, key, position)
                    return key
            key = ("unindexed", len(state.tools))
            self._remember_unindexed(state, key, position)
            return key
        if position < len(state.unindexed_keys):
            return state.unindexed_keys[position]
        if state.tools:
            return next(reversed(state.tools))
        key = ("unindexed", 0)
        self._remember_unindexed(state, key, position)
        return key

    @staticmethod
    def _remember_unindexed(state: _ChoiceState, key: object, position: int) -> None:
        keys = state.unindexed_keys
        if position < len(keys):
            keys[position] = key
        else:
            keys.append(key)

    @staticmethod
    def _add_logprobs(state: _ChoiceState, logprobs: dict[str, Any]) -> None:
        if state.logprobs is None:
            state.logprobs = {"content": None, "refusal": None}
        for key in ("content", "refusal"):
            tokens = logprobs.get(key)
            if tokens is None:
                continue
            if tokens.__class__ is not list:
                raise _MalformedChunk(f"logprobs.{key} is {type(tokens).__name__}, expected a list")
            held = state.logprobs[key]
            if held is None:
                state.logprobs[key] = list(tokens)
            else:
                held.extend(tokens)

    def _new_choice(self, index: object) -> _ChoiceState:
        if index.__class__ is not int:
            raise _MalformedChunk(f"choices[].index is {type(index).__name__}, expected an integer")
        assert isinstance(index, int)
        state = self._choices[index] = _ChoiceState(index)
        if index == 0:
            self._first = state
        return state

    def _take_meta(self, chunk: dict[str, Any]) -> None:
        # The first non-empty id, model and created win: Azure's filter chunks carry "" / 0.
        if self._id is None:
            value = chunk.get("id")
            if value:
                self._id = _text(value, "id")
        if self._model is None:
            value = chunk.get("model")
            if value:
                self._model = _text(value, "model")
        if self._created is None:
            value = chunk.get("created")
            if value and value.__class__ is int:  # not a bool, as in whole answers
                self._created = value
        self._need_meta = self._id is None or self._model is None or self._created is None

    # --- failure -----------------------------------------------------------------------

    def _fail(self, kind: str, message: str) -> None:
        self._error = {"type": kind, "message": message}
        self._done = True

    def _fail_with_payload(self, data: str) -> None:
        """An `event: error`: its data is an error object, `{"error": {...}}`, or text."""
        try:
            payload = _json_loads(data)
        except (JSONDecodeError, RecursionError):
            self._fail("error", data.strip() or "the stream sent an error event without details")
            return
        if isinstance(payload, dict) and "error" in payload:
            payload = payload["error"]
        self._fail_with_object(payload)

    def _fail_with_object(self, payload: object) -> None:
        if isinstance(payload, dict):
            error = dict(payload)
            message = error.get("message")
            error["message"] = message if isinstance(message, str) and message else str(payload)
            if not error.get("type"):
                code = error.get("code")
                error["type"] = code if isinstance(code, str) and code else "error"
        else:
            error = {"type": "error", "message": str(payload)}
        self._error = error
        self._done = True

    # --- results -----------------------------------------------------------------------

    def _status(self, *, eof: bool) -> Status:
        if self._error is not None:
            return Status.FAILED
        choices = self._choices
        if (
            choices
            and (self._done or eof)
            and all(state.finish_reason for state in choices.values())
        ):
            return Status.COMPLETE
        return Status.INTERRUPTED

    def _build(self, status: Status) -> Completion:
        choices = [self._build_choice(self._choices[i]) for i in sorted(self._choices)]
        return Completion(
            id=self._id,
            created=self._created,
            model=self._model,
            system_fingerprint=self._system_fingerprint,
            choices=choices,
            usage=parse_usage(self._usage),
            status=status,
            mode="stream",
            prompt_filter_results=list(self._prompt_filter_results),
        )

    @staticmethod
    def _build_choice(state: _ChoiceState) -> Choice:
        tool_calls = []
        for key in sorted(state.tools, key=_tool_sort_key):
            tool = state.tools[key]
            tool_calls.append(
                ToolCall(
                    id=tool.id,
                    type=tool.type or "function",
                    function=FunctionCall(name=tool.name or "", arguments="".join(tool.arguments)),
                )
            )
        message = Message(
            role=state.role or "assistant",
            content="".join(state.content) if state.content else None,
            refusal="".join(state.refusal) if state.refusal else None,
            tool_calls=tool_calls,
            reasoning="".join(state.reasoning) if state.reasoning else None,
        )
        logprobs = None
        if state.logprobs is not None:
            logprobs = {
                key: (list(v) if v is not None else None) for key, v in state.logprobs.items()
            }
        return Choice(
            index=state.index,
            message=message,
            finish_reason=state.finish_reason,
            logprobs=logprobs,
            content_filter_results=state.content_filter_results,
        )


def _tool_sort_key(key: object) -> tuple[int, int]:
    # Wire indexes sort numerically; unindexed calls keep their arrival order after them.
    if isinstance(key, int):
        return (0, key)
    if key == _FUNCTION_CALL_KEY:
        return (2, 0)
    assert isinstance(key, tuple)
    return (1, int(key[1]))
