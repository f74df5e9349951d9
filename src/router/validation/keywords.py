"""Keywords whose meaning the fast engine would change, implemented as the reference does.

The JSON Schema specification says `pattern` is an ECMA-262 regular expression; the reference
implementation (`jsonschema`) runs it with Python's `re.search`, and `jsonschema-rs` with a
Rust engine that follows ECMA-262 more closely. They disagree on real inputs: `$` matches
before a final newline in Python only, `\\d` and `\\w` match non-ASCII digits and letters in
Python only, `.` matches `\\r` and `\\u2028` in Python only, and each side rejects patterns
the other accepts (`a{,3}`, `\\Z`, `\\p{L}`, `(?<name>...)`). `multipleOf` on floats differs
too: the reference divides in binary floating point (`0.3` is not a multiple of `0.1`), the
Rust engine does not. The fast engine also compares floats in `enum` slowly, and asserts the
content keywords under draft 7, which the reference treats as annotations.

This module holds the custom keywords that run the reference's own logic inside the fast
engine (so verdicts match by construction) and `native_pattern`, which tells the patterns
that mean the same in both dialects (these stay native, at full speed) from the others.
`router.validation.fastschema` decides, per occurrence, which keyword runs where.
"""

from __future__ import annotations

import re
import warnings
from fractions import Fraction
from typing import Any

__all__ = [
    "ENUM",
    "FAITHFUL_KEYWORDS",
    "OVERRIDE_KEYWORDS",
    "PATTERN",
    "compile_pattern",
    "json_equal",
    "native_pattern",
]

#: Names under which the rewritten schema (see `router.validation.fastschema`) asks the fast
#: engine for the reference's `pattern` and `enum`.
PATTERN = "x-router-pattern"
ENUM = "x-router-enum"


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


def _unbool(value: Any) -> Any:
    # JSON Schema equality keeps true apart from 1 (Python's bool is an int).
    return ("bool", value) if isinstance(value, bool) else value


def json_equal(one: Any, two: Any) -> bool:
    """Equality as the reference's `enum` and `const` judge it (1 == 1.0, true != 1)."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(map(json_equal, one, two))
    if isinstance(one, dict) and isinstance(two, dict):
        return len(one) == len(two) and all(
            key in two and json_equal(value, two[key]) for key, value in one.items()
        )
    return bool(_unbool(one) == _unbool(two))


class EnumKeyword:
    """`enum` as the reference judges it; scalar members are found by one hash lookup.

    The fast engine compares numbers slowly (several microseconds per `enum` of floats), so
    enums holding numbers are routed here; enums of strings stay native.
    """

    __slots__ = ("_containers", "_members", "_scalars")

    def __init__(
        self, parent_schema: dict[str, Any], value: list[Any], schema_path: list[Any]
    ) -> None:
        self._members = value
        # A bool is tagged so that true and 1 differ; 1 and 1.0 share a hash and are equal.
        self._scalars = frozenset(_unbool(m) for m in value if not isinstance(m, list | dict))
        self._containers = [m for m in value if isinstance(m, list | dict)]

    def validate(self, instance: Any) -> None:
        """Raise unless the instance equals one of the members."""
        kind = type(instance)
        if kind is list or kind is dict:
            if any(json_equal(member, instance) for member in self._containers):
                return
        elif (("bool", instance) if kind is bool else instance) in self._scalars:
            return  # the common case: one hash lookup, no Python call
        raise ValueError(f"{instance!r} is not one of {self._members!r}")


#: Escapes that mean the same single character to Python's `re` and to the fast engine.
_SAFE_ESCAPES = frozenset(".^$*+?()[]{}|\\/-")
_QUANTIFIER_BRACES = re.compile(r"\{[0-9]+(,[0-9]*)?\}")


def _class_end(pattern: str, start: int) -> int | None:
    """The index after the `]` closing the class opened at `start`, if the class is plain."""
    index = start + 1
    if pattern.startswith("^", index):
        index += 1
    if pattern.startswith("]", index):  # `[]...]`: a literal in Python, empty in ECMA-262
        return None
    while index < len(pattern):
        char = pattern[index]
        if char == "]":
            return index + 1
        if char == "[" or pattern.startswith(("&&", "--", "~~", "||"), index):
            return None  # nested classes and set operations exist in one dialect only
        if char == "\\":
            if pattern[index + 1 : index + 2] not in _SAFE_ESCAPES:
                return None
            index += 2
            continue
        index += 1
    return None


def native_pattern(pattern: str) -> str | None:
    """`pattern` rewritten for the fast engine with Python's meaning, or None if unsure.

    Only a plain subset is translated: literals, escaped punctuation, simple classes and
    ranges, groups `(...)` and `(?:...)`, alternation, greedy and lazy quantifiers, `^`, and
    `$` as the very last character (Python's `$` also matches before a final newline, so it
    becomes `\\n?$`). Everything else (`.`, `\\d`, `\\w`, `\\s`, `\\b`, flags, lookaround,
    possessive quantifiers, Unicode classes) returns None: Python's `re` judges it.
    """
    out: list[str] = []
    index = 0
    after_quantifier = False
    while index < len(pattern):
        char = pattern[index]
        quantifier = False
        if char == "\\":
            escaped = pattern[index + 1 : index + 2]
            if escaped not in _SAFE_ESCAPES:
                return None
            out.append(pattern[index : index + 2])
            index += 2
        elif char == "[":
            end = _class_end(pattern, index)
            if end is None:
                return None
            out.append(pattern[index:end])
            index = end
        elif char == "(":
            if pattern.startswith("(?", index):
                if not pattern.startswith("(?:", index):
                    return None
                out.append("(?:")
                index += 3
            else:
                out.append("(")
                index += 1
        elif char == "{":
            match = _QUANTIFIER_BRACES.match(pattern, index)
            if match is None:
                return None
            out.append(match.group())
            index = match.end()
            quantifier = True
        elif char in "*+?":
            if after_quantifier and char == "+":
                return None  # possessive: Python 3.11 only
            out.append(char)
            index += 1
            quantifier = char != "?" or not after_quantifier
        elif char == "$":
            if index != len(pattern) - 1:
                return None
            out.append("\\n?$")
            index += 1
        elif char in ".]}":
            return None  # `.` differs on "\r" and "\u2028"; lone `]` / `}` differ in syntax
        else:  # a literal, `^`, `|` or `)`
            out.append(char)
            index += 1
        after_quantifier = quantifier
    return "".join(out)


class AnnotationKeyword:
    """A keyword the reference never asserts (`contentEncoding`, `contentMediaType`, ...).

    The fast engine asserts the content keywords under draft 7; the reference treats them as
    annotations under every draft, so they are replaced by this keyword, which accepts all.
    """

    __slots__ = ()

    def __init__(self, parent_schema: dict[str, Any], value: Any, schema_path: list[Any]) -> None:
        pass

    def validate(self, instance: Any) -> None:
        """Accept every instance."""


_ANNOTATIONS: dict[str, type] = {
    "contentEncoding": AnnotationKeyword,
    "contentMediaType": AnnotationKeyword,
    "contentSchema": AnnotationKeyword,
}

#: Custom keywords for a schema rewritten by `router.validation.fastschema`.
FAITHFUL_KEYWORDS: dict[str, type] = {
    PATTERN: PatternKeyword,
    ENUM: EnumKeyword,
    "multipleOf": MultipleOfKeyword,
    **_ANNOTATIONS,
}

#: Custom keywords for a schema used as written: every occurrence runs the reference's logic.
OVERRIDE_KEYWORDS: dict[str, type] = {
    "pattern": PatternKeyword,
    "enum": EnumKeyword,
    "multipleOf": MultipleOfKeyword,
    **_ANNOTATIONS,
}

#: The keyword a custom name stands for, in issues.
KEYWORD_NAMES = {PATTERN: "pattern", ENUM: "enum"}
