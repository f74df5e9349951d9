"""Reading REQUEST arguments: bodies, envelopes, JSONL, standard input, and every bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from router.cli.request_files import RequestFileError, parse_request, read_requests
from router.errors import UsageError

BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def test_a_body_is_a_request_with_no_hints() -> None:
    assert parse_request(BODY) == (BODY, {})


def test_an_envelope_splits_into_body_and_hints() -> None:
    body, hints = parse_request({"request": BODY, "intent": {"audience": "user"}})
    assert body == BODY
    assert hints == {"audience": "user"}


def test_an_envelope_may_hold_only_an_intent() -> None:
    assert parse_request({"intent": {"billing": "none"}}) == (None, {"billing": "none"})


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([BODY], "got a JSON array"),
        ("hello", "got a string"),
        (3, "got a number"),
        (None, "got null"),
        ({"request": BODY, "intnet": {}}, "unknown envelope key 'intnet'"),
        ({"request": [BODY]}, '"request" must be a JSON object, got a JSON array'),
        ({"request": BODY, "intent": "user"}, '"intent" must be a JSON object'),
    ],
)
def test_what_cannot_be_a_request_says_why(document: object, message: str) -> None:
    with pytest.raises(RequestFileError, match=message.replace("[", r"\[")):
        parse_request(document)


def test_a_json_file_holds_one_request(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text('{"request": {"messages": []}, "intent": {"audience": "user"}}')
    [item] = read_requests(str(path))
    assert item.location == str(path)
    assert item.body == {"messages": []}
    assert item.hints == {"audience": "user"}
    assert not item.from_lines


def test_malformed_json_is_a_usage_error_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"messages": [}\n')
    with pytest.raises(UsageError, match=r"bad\.json: malformed JSON at line 1 column 15"):
        read_requests(str(path))


def test_an_array_file_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[{}]")
    with pytest.raises(UsageError, match=r"expected a JSON object .* got a JSON array"):
        read_requests(str(path))


def test_an_empty_file_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text("  \n")
    with pytest.raises(UsageError, match="empty input"):
        read_requests(str(path))


def test_a_directory_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is a directory"):
        read_requests(str(tmp_path))


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        read_requests(str(tmp_path / "nope.json"))


def test_jsonl_lines_are_items_and_bad_lines_keep_their_number(tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    path.write_text('{"messages": []}\n\n{oops\n[1]\n{"intent": {"audience": "user"}}\n')
    items = read_requests(str(path))
    assert [item.location for item in items] == [f"{path}:{n}" for n in (1, 3, 4, 5)]
    assert all(item.from_lines for item in items)
    assert items[0].body == {"messages": []}
    assert items[1].error is not None
    assert items[1].error.startswith("malformed JSON")
    assert items[2].error is not None
    assert "JSON array" in items[2].error
    assert items[3].hints == {"audience": "user"}


def test_jsonl_lines_end_only_at_a_newline(tmp_path: Path) -> None:
    # U+2028, U+0085 and form feed may stand raw inside JSON strings; CRLF ends a line too.
    body = {"messages": [{"role": "user", "content": "a\u2028b\x85c\x0cd"}]}
    line = json.dumps(body, ensure_ascii=False)
    path = tmp_path / "raw.jsonl"
    path.write_bytes(f"{line}\r\n{line}\n".encode())
    items = read_requests(str(path))
    assert [(item.location, item.error, item.body) for item in items] == [
        (f"{path}:1", None, body),
        (f"{path}:2", None, body),
    ]


def test_an_empty_jsonl_file_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "none.jsonl"
    path.write_text("\n\n")
    with pytest.raises(UsageError, match="no requests"):
        read_requests(str(path))


def test_stdin_holds_one_document(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO('{\n  "messages": []\n}\n'))
    [item] = read_requests("-")
    assert item.location == "<stdin>"
    assert item.body == {"messages": []}


def test_stdin_holds_json_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO('{"messages": []}\n{"model": "x"}\n'))
    items = read_requests("-")
    assert [item.location for item in items] == ["<stdin>:1", "<stdin>:2"]
    assert items[1].body == {"model": "x"}


def test_malformed_stdin_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("not json"))
    with pytest.raises(UsageError, match="<stdin>: malformed JSON"):
        read_requests("-")


def test_stdin_that_is_not_utf8_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b"\xff\xfe{}"), encoding="utf-8", errors="strict")
    monkeypatch.setattr("sys.stdin", stdin)
    with pytest.raises(UsageError, match=r"<stdin>: not UTF-8 text \(invalid start byte\)"):
        read_requests("-")


def test_json_nested_too_deeply_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000)
    with pytest.raises(UsageError, match=r"deep\.json: malformed JSON: nested too deeply"):
        read_requests(str(path))


def test_stdin_nested_too_deeply_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("[" * 100_000))
    with pytest.raises(UsageError, match=r"<stdin>: malformed JSON: nested too deeply"):
        read_requests("-")


def test_stdin_with_a_document_then_other_text_is_read_as_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO('{"messages": []}\nnot json\n'))
    first, second = read_requests("-")
    assert first.body == {"messages": []}
    assert second.location == "<stdin>:2"
    assert second.error is not None
    assert second.error.startswith("malformed JSON at line 1 column 1")
