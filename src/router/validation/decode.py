"""Strict JSON decoding of an answer: standard JSON only, failures located.

The fast path is pydantic-core's Rust parser (pydantic is a dependency anyway), about twice
as fast as the standard library's; wherever it declines (lone surrogates, nesting deeper than
200, any syntax error) the standard library decides, so the result is always exactly what
`json.loads` gives, minus the non-JSON constants: Python's `json` module accepts `NaN`,
`Infinity` and `-Infinity`, which are not JSON and which no schema engine judges alike, so
they are refused. A decode failure becomes a `ValidationFailed` whose issue gives the line,
column and character offset, with the raw text kept, so that a caller (or a re-ask) can show
the model exactly what went wrong.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from pydantic_core import from_json

from router.errors import ValidationFailed, ValidationIssue

__all__ = ["parse_json"]


class _NotJSON(ValueError):
    """A constant that Python's decoder accepts but JSON does not."""


def _refuse_constant(name: str) -> NoReturn:
    raise _NotJSON(name)


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def _fail(detail: str, raw: str | bytes) -> ValidationFailed:
    text = raw if isinstance(raw, str) else raw.decode("utf-8", errors="replace")
    issue = ValidationIssue("$", detail, "json")
    return ValidationFailed(f"the answer is not valid JSON: {detail}", issues=[issue], raw=text)


def parse_json(raw: str | bytes) -> Any:
    """Decode one JSON document, or raise `ValidationFailed` saying where it breaks."""
    try:
        return from_json(raw, allow_inf_nan=False, cache_strings="keys")
    except ValueError:
        pass  # the standard library decides, and says where the text breaks
    try:
        text = raw if isinstance(raw, str) else raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(f"invalid UTF-8 at byte {exc.start}", raw) from None
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        detail = f"{exc.msg} at line {exc.lineno} column {exc.colno} (char {exc.pos})"
        raise _fail(detail, raw) from None
    except _NotJSON as exc:
        where = text.find(str(exc))
        raise _fail(f"{exc} is not a JSON value (char {where})", raw) from None
    except RecursionError:
        raise _fail("nested too deeply to decode", raw) from None
