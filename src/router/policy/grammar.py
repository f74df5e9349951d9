"""The policy format's vocabulary, in one place: keys, enum values, operators, durations.

The loader validates against these tables, and a test proves the pydantic models in
`router.policy.schema` (the source of the JSON Schema) say exactly the same.
"""

from __future__ import annotations

import re
from typing import Final

from router.intent import FIELDS

__all__ = [
    "BACKOFF_KEYS",
    "COMBINATORS",
    "DURATION_PATTERN",
    "FALLBACK_VALUES",
    "INCLUDE_USAGE_VALUES",
    "MODES",
    "OPERATORS",
    "OPERATORS_BY_KIND",
    "OPTION_KEYS",
    "RETRY_KEYS",
    "RULE_KEYS",
    "STREAM_KEYS",
    "SUPPORTED_VERSIONS",
    "TIMEOUT_KEYS",
    "TOP_KEYS",
    "VALIDATE_KEYS",
    "format_duration_ms",
    "parse_duration",
]

SUPPORTED_VERSIONS: Final = (1,)
OPTION_KEYS: Final = ("mode", "validate", "stream", "timeouts", "retries")
TOP_KEYS: Final = ("version", "description", "defaults", "rules")
RULE_KEYS: Final = ("name", "description", "when", *OPTION_KEYS)
VALIDATE_KEYS: Final = ("reask", "progressive")
STREAM_KEYS: Final = ("include_usage", "fallback")
TIMEOUT_KEYS: Final = ("connect", "first_token", "idle", "total")
RETRY_KEYS: Final = ("attempts", "backoff")
BACKOFF_KEYS: Final = ("initial", "max")
COMBINATORS: Final = ("any", "all", "not")

MODES: Final = ("stream", "batch")
INCLUDE_USAGE_VALUES: Final = ("auto", "always", "never")
FALLBACK_VALUES: Final = ("batch", "none")

#: Operators written as mapping keys (`{lt: 64}`); a bare scalar is `eq`, a list is `in`.
OPERATORS: Final = ("in", "not_in", "ne", "lt", "lte", "gt", "gte", "exists", "glob")
_SET_OPS: Final = ("in", "not_in", "ne", "exists")
OPERATORS_BY_KIND: Final[dict[str, tuple[str, ...]]] = {
    "enum": _SET_OPS,
    "bool": ("ne", "exists"),
    "int": (*_SET_OPS, "lt", "lte", "gt", "gte"),
    "str": (*_SET_OPS, "glob"),
}
#: Fields a condition may test (labels are tested one key at a time, as `labels.<key>`).
CONDITION_FIELDS: Final = tuple(name for name in FIELDS if name != "labels")

#: A duration more than zero, as the JSON Schema and its models accept it: what the loader
#: accepts too. No lookahead: pydantic's regex engine has none.
DURATION_PATTERN: Final = r"^(\d*[1-9]\d*(\.\d+)?|\d+\.\d*[1-9]\d*|\.\d*[1-9]\d*)(ms|s|m|h)$"
#: Any duration, zero included: the loader reads zero so as to say it must be more than zero.
_DURATION = re.compile(r"(\d+(\.\d+)?|\.\d+)(ms|s|m|h)")
_UNIT_SECONDS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float | None:
    """Seconds for `250ms`, `0.5s`, `5s`, `10m`, `1h`; None when `text` is not a duration."""
    match = _DURATION.fullmatch(text)
    if match is None:
        return None
    return float(match.group(1)) * _UNIT_SECONDS[match.group(3)]


def format_duration_ms(ms: float) -> str:
    """A duration in milliseconds the way a policy writes it: 250ms, 0.5s, 30s, 10m, 2h.

    Whole hours and minutes in those units; `parse_duration` reads every result back.
    """
    if ms >= 3_600_000 and ms % 3_600_000 == 0:
        return f"{int(ms // 3_600_000)}h"
    if ms >= 60_000 and ms % 60_000 == 0:
        return f"{int(ms // 60_000)}m"
    if ms >= 1000:
        return f"{ms / 1000:g}s"
    return f"{ms:g}ms"
