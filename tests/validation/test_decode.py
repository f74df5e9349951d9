"""Answer decoding: exactly the standard library's result, with failures located."""

from __future__ import annotations

import json

import pytest

from router.errors import ValidationFailed
from router.validation import parse_json


@pytest.mark.parametrize(
    "text",
    [
        '{"a": [1, 2.5, -0, -0.0, 1e2, true, null, "é😀"]}',
        "123456789012345678901234567890",
        "1e400",
        '"\\ud800 lone surrogate"',
        '{"a": 1, "a": 2}',
        "[" * 500 + "]" * 500,
        '"\\u0000"',
    ],
)
def test_matches_the_standard_library(text: str) -> None:
    assert repr(parse_json(text)) == repr(json.loads(text))
    assert repr(parse_json(text.encode())) == repr(json.loads(text))


def test_syntax_error_says_where() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_json('{\n  "a": 1,\n  "b": }')
    (issue,) = caught.value.issues
    assert issue.path == "$"
    assert issue.keyword == "json"
    assert "line 3 column 8 (char 19)" in issue.message
    assert caught.value.raw == '{\n  "a": 1,\n  "b": }'


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_refused(constant: str) -> None:
    with pytest.raises(ValidationFailed, match=f"{constant} is not a JSON value"):
        parse_json(f'{{"x": {constant}}}')


def test_truncated_answer_and_empty_text() -> None:
    with pytest.raises(ValidationFailed, match="char 9"):
        parse_json('{"a": [1,')
    with pytest.raises(ValidationFailed, match="Expecting value"):
        parse_json("")


def test_invalid_utf8_and_hostile_nesting_are_validation_failures() -> None:
    with pytest.raises(ValidationFailed, match="invalid UTF-8 at byte 2"):
        parse_json(b'"a\xff"')
    with pytest.raises(ValidationFailed, match="nested too deeply"):
        parse_json("[" * 100_000 + "]" * 100_000)
