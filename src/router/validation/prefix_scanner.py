"""Close off a prefix of a JSON text, or say where it can no longer be JSON.

A streamed answer is a prefix of its final text. `close_prefix` keeps the members that are
complete, drops the trailing one that is not (a half-written key, string, number or
literal), and closes every open object and array, so that the result is a JSON document
made only of what is already certain. When the prefix cannot begin any JSON document (a
stray character, a bad escape, `NaN`, a second top-level value) it raises `BrokenPrefix`
with the offset of the first character that cannot be part of one.

It follows the standard library's `json` decoder in strict mode (as the validation core
decodes answers), so that its verdicts and the final decoding never disagree: a lone
surrogate escape (`"\\ud800"`) is accepted, control characters inside strings are not, and
neither are `NaN` and `Infinity`. It is a plain Python scanner, used where exactness matters
more than speed: when the fast Rust parser refuses a prefix, and as the reference in tests.
"""

from __future__ import annotations

import re

__all__ = ["BrokenPrefix", "close_prefix"]

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_STRING_BODY = r'[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*'
_STRING = re.compile('"' + _STRING_BODY + '"')
#: A string cut short, possibly in the middle of an escape: it may still end well.
_STRING_CUT = re.compile('"' + _STRING_BODY + r"(?:\\(?:u[0-9a-fA-F]{0,3})?)?\Z")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
#: A number that reaches the end of the text: more digits may follow.
_NUMBER_CUT = re.compile(r"-?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?(?:[eE][+-]?[0-9]*)?)?\Z")
_LITERALS = {"t": "true", "f": "false", "n": "null"}
_CLOSERS = {"{": "}", "[": "]"}

# What the scanner expects next.
_VALUE = 0  # a value (top level, after a colon, after a comma in an array)
_FIRST_KEY = 1  # just after `{`: a key or `}`
_KEY = 2  # after a comma in an object: a key
_COLON = 3  # after a key
_AFTER = 4  # after a value: a comma or the closing bracket (or the end at top level)
_FIRST_ITEM = 5  # just after `[`: a value or `]`


class BrokenPrefix(ValueError):
    """The text cannot begin any JSON document; `position` is the first offending offset."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (char {position})")
        self.reason = message
        self.position = position


def close_prefix(text: str, *, final: bool = False) -> str | None:
    """The JSON document made of the complete parts of `text`, closed; None if there are none.

    `final` says that no more text will come: a number at the very end is then complete
    (a token cut short, such as `1.` or `"ab`, is still left out rather than refused).
    Raises `BrokenPrefix` when no continuation of `text` can be JSON.
    """
    stack: list[str] = []
    state = _VALUE
    pos = _WHITESPACE.match(text).end()  # type: ignore[union-attr]
    end = len(text)
    safe_pos = -1  # where the last complete member ends (or the last container opens)
    safe_depth = 0
    while pos < end:
        char = text[pos]
        if state == _AFTER:
            if not stack:
                raise BrokenPrefix("extra data after the JSON document", pos)
            if char == ",":
                state = _KEY if stack[-1] == "{" else _VALUE
                pos += 1
            elif char == _CLOSERS[stack[-1]]:
                stack.pop()
                pos += 1
                safe_pos, safe_depth = pos, len(stack)
            else:
                expected = "',' or '}'" if stack[-1] == "{" else "',' or ']'"
                raise BrokenPrefix(f"expected {expected}", pos)
        elif state == _COLON:
            if char != ":":
                raise BrokenPrefix("expected ':' after a key", pos)
            state = _VALUE
            pos += 1
        elif state in (_FIRST_KEY, _KEY):
            if char == "}" and state == _FIRST_KEY:
                stack.pop()
                pos += 1
                state = _AFTER
                safe_pos, safe_depth = pos, len(stack)
            elif char == '"':
                found = _STRING.match(text, pos)
                if found is None:
                    if _STRING_CUT.match(text, pos):
                        break
                    raise BrokenPrefix("invalid string", pos)
                pos = found.end()
                state = _COLON
            else:
                raise BrokenPrefix("expected a key in double quotes", pos)
        else:  # _VALUE or _FIRST_ITEM
            if char == "]" and state == _FIRST_ITEM:
                stack.pop()
                pos += 1
                state = _AFTER
                safe_pos, safe_depth = pos, len(stack)
            elif char in "{[":
                stack.append(char)
                pos += 1
                state = _FIRST_KEY if char == "{" else _FIRST_ITEM
                safe_pos, safe_depth = pos, len(stack)
            else:
                value_end = _scalar_end(text, pos, final)
                if value_end is None:
                    break  # a scalar still being written
                pos = value_end
                state = _AFTER
                safe_pos, safe_depth = pos, len(stack)
        pos = _WHITESPACE.match(text, pos).end()  # type: ignore[union-attr]
    if safe_pos < 0:
        return None
    return text[:safe_pos] + "".join(_CLOSERS[opener] for opener in reversed(stack[:safe_depth]))


def _scalar_end(text: str, pos: int, final: bool) -> int | None:
    """Where the scalar starting at `pos` ends; None when it may still be growing."""
    char = text[pos]
    if char == '"':
        found = _STRING.match(text, pos)
        if found is not None:
            return found.end()
        if _STRING_CUT.match(text, pos):
            return None
        raise BrokenPrefix("invalid string", pos)
    if char in "-0123456789":
        number = _NUMBER.match(text, pos)
        if _NUMBER_CUT.match(text, pos):  # the number runs to the end of the text
            if final and number is not None and number.end() == len(text):
                return number.end()
            return None
        if number is None:
            raise BrokenPrefix("invalid number", pos)
        return number.end()
    literal = _LITERALS.get(char)
    if literal is not None:
        if text.startswith(literal, pos):
            return pos + len(literal)
        if literal.startswith(text[pos:]):
            return None
    raise BrokenPrefix("expected a JSON value", pos)
