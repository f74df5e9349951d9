"""WHATWG `text/event-stream` encoder: fields in, bytes out, no I/O.

The mirror of `router.sse.SSEDecoder`. An event's data may hold any text: each line of it
becomes one `data:` line, so the decoder joins them back with LF. The format itself cannot
carry a carriage return inside data (CR, LF and CRLF all end a line), which is why the relay
sends its payloads as JSON, where CR and LF are escaped and every text round-trips exactly.
"""

from __future__ import annotations

import re

from router.errors import ProtocolError

__all__ = ["encode_comment", "encode_event", "encode_retry"]

# CRLF, lone CR and lone LF all end a line in an event stream (and nothing else does:
# str.splitlines would also split on U+2028, form feeds and more).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def encode_event(
    data: str,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
) -> bytes:
    """One event: optional `event`, `id` and `retry` fields, then `data`, then a blank line.

    Every line break in `data` (CR, LF or CRLF) starts a new `data:` line; a decoder hands it
    back as LF. Empty data is one empty `data:` line, so the event is still dispatched.
    """
    lines: list[str] = []
    if event is not None:
        _check_single_line("event name", event)
        lines.append(f"event: {event}")
    if id is not None:
        _check_single_line("event id", id)
        if "\0" in id:
            raise ProtocolError("an event id cannot contain NUL: decoders ignore such ids")
        lines.append(f"id: {id}")
    if retry is not None:
        lines.append(_retry_line(retry))
    lines.extend(f"data: {line}" for line in _LINE_BREAK.split(data))
    return _to_bytes("\n".join(lines) + "\n\n")


def encode_retry(retry: int) -> bytes:
    """A block that only sets the client's reconnection delay (no event is dispatched)."""
    return _to_bytes(_retry_line(retry) + "\n\n")


def encode_comment(text: str = "") -> bytes:
    """A comment block (`: text`), ignored by decoders; keeps idle connections alive."""
    return _to_bytes("".join(f": {line}\n" for line in _LINE_BREAK.split(text)) + "\n")


def _retry_line(retry: int) -> str:
    if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
        raise ProtocolError(f"retry must be a non-negative integer of milliseconds, not {retry!r}")
    return f"retry: {retry}"


def _check_single_line(what: str, value: str) -> None:
    if _LINE_BREAK.search(value):
        raise ProtocolError(f"an {what} cannot contain a line break: {value!r}")


def _to_bytes(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ProtocolError(
            f"event text holds a lone surrogate ({text[exc.start]!r} at index {exc.start}) "
            "that UTF-8 cannot carry; send such text as JSON with ASCII escapes"
        ) from None
