"""The relay's event protocol: what a browser receives, as bytes. Pure; no I/O.

- `delta`: `{"text": "..."}`, the next piece of the answer (in batch mode, all of it at once).
- `done`: `{"finish_reason", "status", "mode", "validated"}`, plus `"usage"` only when the
  service opted in (token counts are the service's business, not every visitor's), and
  `"refusal"` (the model's text) when the model declined instead of answering.
- `error`: `{"type", "message", "partial"}`: the error's class name, a fixed message safe to
  show anyone (never the exception text, which may quote the provider's raw body), and the
  text already delivered before the failure.
- `: ping`, a comment sent while nothing else arrives, so proxies keep the connection open.

Payloads are JSON, so any text (CR, CRLF, NUL, unicode) round-trips exactly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from router import errors
from router.relay.encoder import encode_comment, encode_event

__all__ = ["PING", "delta_event", "done_event", "error_event", "safe_error", "to_json"]

# Compact JSON, with non-ASCII text kept readable (and ASCII escapes for the rare text that
# UTF-8 cannot carry: lone surrogates). The C encoder escapes every control character, so
# a payload is always one line.
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_dumps_ascii = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode
_json_string = json.encoder.encode_basestring
_json_string_ascii = json.encoder.encode_basestring_ascii

# What an id cannot hold: line breaks and NUL break the format, lone surrogates UTF-8.
_UNSAFE_ID = re.compile("[\r\n\0\ud800-\udfff]")

#: The keep-alive comment block.
PING = encode_comment("ping")

#: The type reported for an exception that is not one of router's own.
INTERNAL_ERROR = "InternalError"

# Most specific first: the first class the exception is an instance of gives the message.
_SAFE_MESSAGES: tuple[tuple[type[BaseException], str], ...] = (
    (errors.ConnectTimeout, "The model service could not be reached in time."),
    (errors.FirstTokenTimeout, "The model did not start answering in time."),
    (errors.IdleTimeout, "The model stopped sending in the middle of its answer."),
    (errors.TotalTimeout, "The answer took longer than allowed."),
    (errors.CallTimeout, "The model took too long to answer."),
    (errors.ConnectionFailed, "The model service could not be reached."),
    (errors.StreamInterrupted, "The answer was cut off before it was complete."),
    (errors.StreamFailed, "The model service reported an error while answering."),
    (errors.IncompleteAnswer, "The answer was cut off before it was complete."),
    (errors.AnswerRefused, "The model declined to answer."),
    (errors.ValidationFailed, "The answer did not have the expected form."),
    (errors.HookFailed, "The answer was withheld."),
    (errors.CallCancelled, "The answer was cancelled."),
    (errors.UsageError, "The service is not configured correctly."),
    (errors.RouterError, "The answer could not be produced."),
)


def to_json(obj: Any) -> str:
    """Compact JSON that UTF-8 can carry (ASCII escapes only if a lone surrogate needs them)."""
    text = _dumps(obj)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _dumps_ascii(obj)
    return text


def _head(name: str, id: str | None) -> str:
    """The `event:` and `id:` lines of an event; an id the format cannot carry is refused."""
    if id is None:
        return f"event: {name}\n"
    # Per delta: a printable id (every id the relay makes) cannot hold what the pattern
    # looks for, and telling so is several times cheaper than the search.
    if not id.isprintable() and _UNSAFE_ID.search(id):
        encode_event("", event=name, id=id)  # raises the encoder's ProtocolError
    return f"event: {name}\nid: {id}\n"


def _json_event(name: str, payload: Any, id: str | None) -> bytes:
    """`event:`, `id:` and one `data:` line of JSON (JSON escapes every CR and LF)."""
    return f"{_head(name, id)}data: {to_json(payload)}\n\n".encode()


def delta_event(text: str, *, id: str | None = None) -> bytes:
    """The next piece of the answer."""
    head = _head("delta", id)
    # The hot path: one JSON string literal, made by the C encoder, instead of a dict dump.
    try:
        return f'{head}data: {{"text":{_json_string(text)}}}\n\n'.encode()
    except UnicodeEncodeError:
        return f'{head}data: {{"text":{_json_string_ascii(text)}}}\n\n'.encode()


def done_event(
    *,
    finish_reason: str | None,
    status: str,
    mode: str,
    validated: bool,
    usage: Mapping[str, Any] | None = None,
    refusal: str | None = None,
    id: str | None = None,
) -> bytes:
    """The end of a complete answer; `usage` and `refusal` are included only when given."""
    payload: dict[str, Any] = {
        "finish_reason": finish_reason,
        "status": status,
        "mode": mode,
        "validated": validated,
    }
    if usage is not None:
        payload["usage"] = dict(usage)
    if refusal is not None:
        payload["refusal"] = refusal
    return _json_event("done", payload, id)


def safe_error(exc: BaseException) -> tuple[str, str]:
    """The error's public type and a message that reveals nothing about the upstream."""
    if isinstance(exc, errors.UpstreamStatusError):
        return type(exc).__name__, f"The model service answered with an error ({exc.status_code})."
    for cls, message in _SAFE_MESSAGES:
        if isinstance(exc, cls):
            return type(exc).__name__, message
    return INTERNAL_ERROR, "The service failed while answering."


def error_event(exc: BaseException, *, partial: str, id: str | None = None) -> bytes:
    """A failed answer: its type, a safe message, and the text delivered before it failed."""
    error_type, message = safe_error(exc)
    return _json_event("error", {"type": error_type, "message": message, "partial": partial}, id)
