"""JSON paths name exactly one location, in the short form where the key allows it."""

from __future__ import annotations

import pytest

from router.validation import json_path


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ((), "$"),
        (("items", 2, "price"), "$.items[2].price"),
        (("first name",), "$['first name']"),
        (("it's",), "$['it\\'s']"),
        (("back\\slash",), "$['back\\\\slash']"),
        (("line\nbreak", 0), "$['line\\nbreak'][0]"),
        (("\x01",), "$['\\u0001']"),
        (("2fa",), "$['2fa']"),
        (("_id", "é"), "$._id['é']"),
        (("",), "$['']"),
    ],
)
def test_json_path(parts: tuple[str | int, ...], expected: str) -> None:
    assert json_path(parts) == expected
