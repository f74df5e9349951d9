"""Keywords whose meaning the fast engine would change, implemented as the reference does.

The JSON Schema specification says `pattern` is an ECMA-262 regular expression; the reference
implementation (`jsonschema`) runs it with Python's `re.search`, and `jsonschema-rs` with a
Rust engine that follows ECMA-262 more closely. They disagree on real inputs: `$` matches
before a final newline in Python only, `\\d` and `\\w` match non-ASCII digits and letters in
Python only, `.` matches `\\r` and `\\u2028` in Python only, and each side rejects patterns
the other accepts (`a{,3}`, `\\Z`, `\\p{L}`, `(?<name>...)`). `multipleOf` on floats differs
too: the reference divides in binary floating point (`0.3` is not a multiple of `0.1`), the
Rust engine does not. These two keywords are therefore given to the fast engine as custom
keywords that run exactly the reference's logic, so verdicts match by construction, while
every other keyword keeps its native speed.
"""

from __future__ import annotations

import re
import warnings
from fractions import Fraction
from typing import Any

__all__ = ["FAITHFUL_KEYWORDS", "compile_pattern"]


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a schema `pattern` as the reference does (Python `re`, no flags)."""
    with warnings.catch_warnings():
        # `[[`, `&&` and `--` inside a class draw a FutureWarning; the meaning is unchanged.
        warnings.simplefilter("ignore", FutureWarning)
        return re.compile(pattern)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class PatternKeyword:
    """`pattern`, judged by Python's `re.search` as in `jsonschema`."""

    __slots__ = ("_regex", "_source")

    def __init__(self, parent_schema: dict[str, Any], value: str, schema_path: list[Any]) -> None:
        self._source = value
        self._regex = compile_pattern(value)

    def validate(self, instance: Any) -> None:
        """Raise when a string does not contain a match; other types pass."""
        if isinstance(instance, str) and self._regex.search(instance) is None:
            raise ValueError(f"{instance!r} does not match {self._source!r}")


class MultipleOfKeyword:
    """`multipleOf`, with the reference's float arithmetic."""

    __slots__ = ("_divisor",)

    def __init__(self, parent_schema: dict[str, Any], value: float, schema_path: list[Any]) -> None:
        self._divisor = value

    def validate(self, instance: Any) -> None:
        """Raise when a number is not a multiple of the divisor; other types pass."""
        if not _is_number(instance):
            return
        divisor = self._divisor
        if isinstance(divisor, float):
            quotient = instance / divisor
            try:
                failed = int(quotient) != quotient
            except OverflowError:
                failed = (Fraction(instance) / Fraction(divisor)).denominator != 1
        else:
            failed = bool(instance % divisor)
        if failed:
            raise ValueError(f"{instance!r} is not a multiple of {divisor}")


#: Custom keywords handed to `jsonschema_rs` so that its verdicts match the reference.
FAITHFUL_KEYWORDS: dict[str, type] = {"pattern": PatternKeyword, "multipleOf": MultipleOfKeyword}
