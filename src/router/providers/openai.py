"""OpenAI Chat Completions, and the servers that speak it (Azure OpenAI, vLLM, Ollama...).

`ChatCompletionsDialect` implements the `Dialect` protocol: request shaping for stream and
batch calls, the stream assembler, whole-response parsing, and error bodies read safely
(JSON in the shapes servers actually send, or not JSON at all) with a retry verdict.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from http import HTTPStatus
from typing import Any

from router.assemble import StreamAssembler, parse_usage
from router.completion import Choice, Completion, FunctionCall, Message, Status, ToolCall
from router.errors import ProtocolError
from router.providers.base import UpstreamErrorInfo

__all__ = ["NON_RETRYABLE_ERRORS", "RETRYABLE_STATUSES", "ChatCompletionsDialect"]

#: Statuses a retry can cure: timeout, conflict, rate limit, and any 5xx.
RETRYABLE_STATUSES = frozenset({408, 409, 429})

#: Error types / codes that no retry can cure, whatever the status says: the request itself
#: is wrong (too long, invalid, filtered), or the account cannot pay for it.
NON_RETRYABLE_ERRORS = frozenset(
    {
        "context_length_exceeded",
        "invalid_request_error",
        "string_above_max_length",
        "invalid_prompt",
        "content_filter",
        "content_policy_violation",
        "insufficient_quota",
        "billing_hard_limit_reached",
        "invalid_api_key",
        "model_not_found",
        "unsupported_parameter",
        "unsupported_value",
    }
)

_MESSAGE_LIMIT = 500


class ChatCompletionsDialect:
    """The Chat Completions wire format (`/chat/completions`), including Azure's quirks."""

    def __init__(self, name: str = "openai") -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"ChatCompletionsDialect(name={self.name!r})"

    # --- requests ----------------------------------------------------------------------

    def shape_request(
        self, body: Mapping[str, Any], *, stream: bool, include_usage: bool
    ) -> dict[str, Any]:
        """A new body: `stream: true` (+ `stream_options.include_usage`) or neither.

        Streaming with `include_usage` asks for the usage chunk; without it an
        `include_usage` the caller wrote is removed too (the policy said never: some
        compatible servers reject the option). Batch drops `stream` and `stream_options`.
        The caller's body, and its nested `stream_options`, are never modified.
        """
        shaped = dict(body)
        shaped.pop("stream", None)
        options = shaped.pop("stream_options", None)
        if not stream:
            return shaped
        shaped["stream"] = True
        kept = dict(options) if isinstance(options, Mapping) else {}
        if include_usage:
            kept["include_usage"] = True
        else:
            kept.pop("include_usage", None)
        if kept:
            shaped["stream_options"] = kept
        return shaped

    def new_assembler(self) -> StreamAssembler:
        """A fresh assembler for one stream of `chat.completion.chunk` events."""
        return StreamAssembler()

    # --- whole answers -----------------------------------------------------------------

    def parse_response(self, payload: Mapping[str, Any]) -> Completion:
        """The `Completion` of a `chat.completion` object.

        Complete when every choice has a finish reason. A body that is not a chat
        completion (an error payload behind a 200, a list, missing `choices`) raises
        `ProtocolError` saying what was found.
        """
        if not isinstance(payload, Mapping):
            raise ProtocolError(
                f"response body is a JSON {type(payload).__name__}, expected a chat.completion "
                "object"
            )
        info = self.body_error(payload)
        if info is not None:
            raise ProtocolError(f"response body is an error payload: {info.message}")
        raw_choices = payload.get("choices")
        if not isinstance(raw_choices, list):
            found = "missing" if raw_choices is None else type(raw_choices).__name__
            raise ProtocolError(f"response body's choices is {found}, expected a list")
        choices = [_parse_choice(raw, position) for position, raw in enumerate(raw_choices)]
        choices.sort(key=lambda choice: choice.index)
        finished = bool(choices) and all(choice.finish_reason for choice in choices)
        created = payload.get("created")
        return Completion(
            id=_str_or_none(payload.get("id")) or None,
            created=created if isinstance(created, int) and not isinstance(created, bool) else None,
            model=_str_or_none(payload.get("model")) or None,
            system_fingerprint=_str_or_none(payload.get("system_fingerprint")),
            choices=choices,
            usage=parse_usage(payload.get("usage")),
            status=Status.COMPLETE if finished else Status.INTERRUPTED,
            mode="batch",
            prompt_filter_results=_list_or_empty(payload.get("prompt_filter_results")),
        )

    # --- errors ------------------------------------------------------------------------

    def body_error(self, payload: Mapping[str, Any]) -> UpstreamErrorInfo | None:
        """The error a whole response carries in place of an answer, or None.

        An `error` with no `choices` beside it, as some servers send behind a 200. The 200
        says nothing, so whether a retry can help is read from the error itself, as for an
        error inside a stream.
        """
        if payload.get("error") is not None and not payload.get("choices"):
            return self.parse_stream_error(_error_object(payload["error"]))
        return None

    def parse_error(self, status_code: int, body: bytes) -> UpstreamErrorInfo:
        """Read an error answer's body and say whether a retry can help.

        The body may be OpenAI's `{"error": {...}}`, a bare `{"error": "text"}`, a list of
        those (Gemini), FastAPI's `{"detail": ...}`, vLLM's top-level error object, HTML
        from a proxy, or nothing: the message is always one bounded line.
        """
        text = body.decode("utf-8", "replace")
        try:
            payload: Any = json.loads(text)
        except (ValueError, RecursionError):
            payload = None
        error = _find_error(payload) if payload is not None else None
        if error is None:
            message = _one_line(text) or _status_phrase(status_code)
            return UpstreamErrorInfo(
                message=f"HTTP {status_code}: {message}",
                retryable=_status_retryable(status_code),
                status_code=status_code,
                payload=payload,
            )
        # The whole body is the payload here, not just the error object inside it.
        return replace(self._classify(error, status_code), payload=payload)

    def parse_stream_error(self, error: Mapping[str, Any]) -> UpstreamErrorInfo:
        """Classify an error payload sent inside a stream: retryable unless it cannot be."""
        return self._classify(dict(error), None)

    @staticmethod
    def _classify(error: dict[str, Any], status_code: int | None) -> UpstreamErrorInfo:
        kind = _str_or_none(error.get("type"))
        raw_code = error.get("code")
        code = str(raw_code) if raw_code is not None and not isinstance(raw_code, bool) else None
        # vLLM and others put the HTTP status in `code`; inside a stream it is all we have.
        effective_status = status_code
        if effective_status is None and isinstance(raw_code, int) and 100 <= raw_code < 600:
            effective_status = raw_code
        message = _one_line(str(error.get("message") or "")) or kind or code or "unknown error"
        if status_code is not None:
            message = f"HTTP {status_code}: {message}"
        if kind in NON_RETRYABLE_ERRORS or code in NON_RETRYABLE_ERRORS:
            retryable = False
        elif effective_status is not None:
            retryable = _status_retryable(effective_status)
        else:
            retryable = True  # a server error mid-stream: trying again may well succeed
        return UpstreamErrorInfo(
            message=message,
            retryable=retryable,
            status_code=status_code,
            type=kind,
            code=code,
            param=_str_or_none(error.get("param")),
            payload=error,
        )


# --- helpers ---------------------------------------------------------------------------


def _status_retryable(status_code: int) -> bool:
    return status_code in RETRYABLE_STATUSES or status_code >= 500


def _status_phrase(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "no details"


def _one_line(text: str) -> str:
    """Collapse whitespace and bound the length, so a 5 MB HTML page stays one short line."""
    line = " ".join(text[: _MESSAGE_LIMIT * 4].split())
    if len(line) > _MESSAGE_LIMIT:
        line = line[: _MESSAGE_LIMIT - 1] + "…"
    return line


def _list_or_empty(value: object) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _error_object(value: object) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    return {"message": str(value)}


def _find_error(payload: Any) -> dict[str, Any] | None:
    """The error object inside the JSON shapes servers send, or None when there is none."""
    if isinstance(payload, list) and payload:
        payload = payload[0]
    if not isinstance(payload, Mapping):
        return None
    if payload.get("error") is not None:
        return _error_object(payload["error"])
    if payload.get("object") == "error" or (
        isinstance(payload.get("message"), str) and "choices" not in payload
    ):
        return dict(payload)
    detail = payload.get("detail")
    if detail is not None:
        return {"message": detail if isinstance(detail, str) else json.dumps(detail)}
    return None


def _parse_choice(raw: object, position: int) -> Choice:
    where = f"choices[{position}]"
    if not isinstance(raw, Mapping):
        raise ProtocolError(f"response body's {where} is {type(raw).__name__}, expected an object")
    index = raw.get("index", position)
    if not isinstance(index, int) or isinstance(index, bool):
        raise ProtocolError(f"response body's {where}.index is not an integer")
    message = raw.get("message") or {}
    if not isinstance(message, Mapping):
        raise ProtocolError(f"response body's {where}.message is not an object")
    finish = raw.get("finish_reason")
    return Choice(
        index=index,
        message=_parse_message(message, where),
        finish_reason=finish if isinstance(finish, str) and finish else None,
        logprobs=raw.get("logprobs"),
        content_filter_results=raw.get("content_filter_results"),
    )


def _parse_message(raw: Mapping[str, Any], where: str) -> Message:
    content = _text_field(raw, "content", where)
    refusal = _text_field(raw, "refusal", where)
    reasoning = _text_field(raw, "reasoning_content", where)
    if reasoning is None:
        reasoning = _text_field(raw, "reasoning", where)
    calls = raw.get("tool_calls")
    if calls is None:
        calls = []
    elif not isinstance(calls, list):
        raise ProtocolError(f"response body's {where}.message.tool_calls is not a list")
    tool_calls = [
        _parse_tool_call(call, f"{where}.message.tool_calls[{i}]") for i, call in enumerate(calls)
    ]
    function_call = raw.get("function_call")
    if function_call is not None:
        # The deprecated `functions` API answers with one call this way: kept as a tool call.
        legacy = {"type": "function", "function": function_call}
        tool_calls.append(_parse_tool_call(legacy, f"{where}.message.function_call"))
    role = raw.get("role")
    return Message(
        role=role if isinstance(role, str) and role else "assistant",
        content=content,
        refusal=refusal,
        tool_calls=tool_calls,
        reasoning=reasoning,
    )


def _text_field(raw: Mapping[str, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ProtocolError(
        f"response body's {where}.message.{key} is {type(value).__name__}, expected a string"
    )


def _parse_tool_call(raw: object, where: str) -> ToolCall:
    if not isinstance(raw, Mapping):
        raise ProtocolError(f"response body's {where} is not an object")
    function = raw.get("function") or {}
    if not isinstance(function, Mapping):
        raise ProtocolError(f"response body's {where}.function is not an object")
    name = function.get("name") or ""
    arguments = function.get("arguments")
    if arguments is None:
        arguments = ""
    elif not isinstance(arguments, str):
        # Some compatible servers send the arguments as an object: keep them, as JSON text.
        arguments = json.dumps(arguments, ensure_ascii=False)
    call_id = raw.get("id")
    call_type = raw.get("type")
    return ToolCall(
        id=call_id if isinstance(call_id, str) and call_id else None,
        type=call_type if isinstance(call_type, str) and call_type else "function",
        function=FunctionCall(name=str(name), arguments=arguments),
    )
