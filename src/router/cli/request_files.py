"""REQUEST arguments of `router decide` and `router call`: files, stdin, JSONL, envelopes.

A request is a Chat Completions body, or an envelope `{"request": {...}, "intent": {...}}`
that carries hints beside the body. `-` reads standard input; a `.jsonl` (or `.ndjson`) file
holds one request per line, and so may standard input. Problems with a whole input are usage
errors (exit 2); problems with one line of a JSONL input are kept on that line's item, so that
the other lines are still decided.

Only the standard library is imported here: this module sits on the cold-start path.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from router.cli.common import read_text

__all__ = ["ENVELOPE_KEYS", "RequestItem", "parse_request", "read_requests"]

#: The keys an envelope may hold; anything else in an envelope is a mistake worth reporting.
ENVELOPE_KEYS = ("request", "intent")

_JSONL_SUFFIXES = (".jsonl", ".ndjson")

#: The most one REQUEST argument may hold; far above any real request or day of JSONL, and
#: a bound, so that an endless input cannot hang the command.
MAX_REQUEST_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RequestItem:
    """One request to decide, where it came from, or why it could not be read."""

    location: str
    """`file`, or `file:line` for a line of a JSONL input; `<stdin>` for `-`."""
    body: Mapping[str, Any] | None = None
    hints: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    """Set when this line could not be read; `body` and `hints` are then empty."""
    from_lines: bool = False
    """True when the item is one line of a JSONL input."""


class RequestFileError(Exception):
    """A request document is not usable; the message says why, without the location."""


def _describe(value: object) -> str:
    if isinstance(value, list):
        return "a JSON array"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__


def parse_request(document: object) -> tuple[Mapping[str, Any] | None, dict[str, Any]]:
    """Split a decoded JSON document into (request body, intent hints).

    A body holds `messages`; an object without `messages` whose keys are among
    `request`/`intent` is an envelope. Raises `RequestFileError` for anything else that
    cannot be a request (an array, a string, an envelope with a stray key).
    """
    if not isinstance(document, dict):
        raise RequestFileError(
            f"expected a JSON object (a Chat Completions request or an envelope "
            f'{{"request": ..., "intent": ...}}), got {_describe(document)}'
        )
    is_envelope = "messages" not in document and any(key in document for key in ENVELOPE_KEYS)
    if not is_envelope:
        return document, {}
    stray = sorted(key for key in document if key not in ENVELOPE_KEYS)
    if stray:
        raise RequestFileError(
            f"unknown envelope key {stray[0]!r}; an envelope holds only "
            f'"request" (the Chat Completions body) and "intent" (hints)'
        )
    body = document.get("request")
    if body is not None and not isinstance(body, dict):
        raise RequestFileError(f'"request" must be a JSON object, got {_describe(body)}')
    hints = document.get("intent")
    if hints is None:
        hints = {}
    if not isinstance(hints, dict):
        raise RequestFileError(f'"intent" must be a JSON object, got {_describe(hints)}')
    return body, dict(hints)


def _decode(text: str) -> object:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise _malformed(exc) from None


def _malformed(exc: json.JSONDecodeError | RecursionError) -> RequestFileError:
    if isinstance(exc, RecursionError):
        return RequestFileError("malformed JSON: nested too deeply")
    return RequestFileError(f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")


def _lines(location: str, text: str) -> Iterator[RequestItem]:
    # JSON Lines ends lines with "\n" (a "\r" before it is JSON whitespace); not
    # `splitlines()`, which also breaks at U+2028, U+0085 and the like, all legal raw
    # inside a JSON string.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue  # blank lines separate nothing; skipping them is what readers expect
        where = f"{location}:{number}"
        try:
            body, hints = parse_request(_decode(line))
        except RequestFileError as exc:
            yield RequestItem(where, error=str(exc), from_lines=True)
        else:
            yield RequestItem(where, body=body, hints=hints, from_lines=True)


def read_requests(path: str) -> list[RequestItem]:
    """Every request in one REQUEST argument, in order.

    Raises `UsageError` when the input cannot be read or (outside JSONL) is not a request;
    errors on single JSONL lines are returned on their items instead.
    """
    from router.errors import UsageError

    location = "<stdin>" if path == "-" else path
    text = read_text(path, limit=MAX_REQUEST_BYTES)
    if path.lower().endswith(_JSONL_SUFFIXES):
        return _line_items(location, text)
    if not text.strip():
        raise UsageError(f"{location}: empty input, expected a JSON request", code="request")
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        # Standard input may hold one document or one per line: JSON Lines is the case
        # where the whole text is not one document but starts with one.
        if path == "-" and isinstance(exc, json.JSONDecodeError) and exc.msg == "Extra data":
            return _line_items(location, text)
        raise UsageError(f"{location}: {_malformed(exc)}", code="request") from None
    try:
        body, hints = parse_request(document)
    except RequestFileError as exc:
        raise UsageError(f"{location}: {exc}", code="request") from None
    return [RequestItem(location, body=body, hints=hints)]


def _line_items(location: str, text: str) -> list[RequestItem]:
    from router.errors import UsageError

    items = list(_lines(location, text))
    if not items:
        raise UsageError(f"{location}: no requests (the file is empty)", code="request")
    return items
