"""`router replay RECORDING --schema FILE`: the assembled answer checked against a schema."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from router.cli.app import run

ROOT = Path(__file__).resolve().parents[1]
STREAMS = ROOT / "fixtures" / "streams"
DATA = ROOT / "validation" / "data"
INVOICE = json.loads((DATA / "invoice.json").read_text())


def replay(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
        code = run(["replay", *argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def recording(tmp_path: Path, content: str, *, finish: str = "stop") -> Path:
    """A streamed Chat Completions answer, as the wire carries it, in pieces of 97 chars."""
    base: dict[str, Any] = {
        "id": "chatcmpl-Inv1",
        "object": "chat.completion.chunk",
        "created": 1764000000,
        "model": "gpt-4o-2024-08-06",
    }
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    deltas += [{"content": content[i : i + 97]} for i in range(0, len(content), 97)]
    events = [
        {**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas
    ]
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    path = tmp_path / "answer.sse"
    path.write_bytes(body.encode())
    return path


@pytest.fixture
def schema_file() -> str:
    return str(DATA / "invoice.schema.json")


def test_valid_answer(capsys: pytest.CaptureFixture[str], tmp_path: Path, schema_file: str) -> None:
    stream = recording(tmp_path, json.dumps(INVOICE, ensure_ascii=False))
    code, out, err = replay(capsys, str(stream), "--schema", schema_file)
    assert (code, err) == (0, "")
    assert out.endswith(f"\nvalidation: valid against {schema_file}\n")


def test_invalid_answer_lists_every_error_with_its_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, schema_file: str
) -> None:
    document = json.loads(json.dumps(INVOICE))
    document["items"][4]["sku"] = "srv-3002"
    document["totals"]["tax"]["amount"] = -1
    document["payment"].pop("iban")
    stream = recording(tmp_path, json.dumps(document))
    code, out, err = replay(capsys, str(stream), "--schema", schema_file)
    assert (code, err) == (1, "")
    tail = out[out.index("\nvalidation:") :].splitlines()
    assert tail[1] == f"validation: invalid against {schema_file} (ValidationFailed, 3 issues)"
    assert tail[2:] == [
        '  $.items[4].sku: "srv-3002" does not match "^[A-Z]{3}-[0-9]{4}$"',
        "  $.totals.tax.amount: -1 is less than the minimum of 0",
        '  $.payment: "iban" is a required property',
    ]


def test_json_report_carries_the_issues(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, schema_file: str
) -> None:
    document = {**INVOICE, "status": "lost"}
    stream = recording(tmp_path, json.dumps(document))
    code, out, _ = replay(capsys, str(stream), "--schema", schema_file, "--format", "json")
    report = json.loads(out)
    assert code == 1
    assert list(report) == ["status", "error", "completion", "validation"]
    assert report["status"] == "complete"
    assert report["validation"]["valid"] is False
    assert report["validation"]["error"]["type"] == "ValidationFailed"
    assert report["validation"]["issues"] == [
        {
            "path": "$.status",
            "message": report["validation"]["issues"][0]["message"],
            "keyword": "enum",
            "choice": None,
            "tool_call": None,
        }
    ]


def test_cut_off_answer_is_incomplete(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, schema_file: str
) -> None:
    stream = recording(tmp_path, json.dumps(INVOICE)[:500], finish="length")
    code, out, _ = replay(capsys, str(stream), "--schema", schema_file, "--format", "json")
    assert code == 1
    validation = json.loads(out)["validation"]
    assert validation["error"]["type"] == "IncompleteAnswer"
    assert validation["issues"][0]["keyword"] == "finish_reason"


def test_refusal_recording(capsys: pytest.CaptureFixture[str], schema_file: str) -> None:
    code, out, _ = replay(capsys, str(STREAMS / "refusal_logprobs.sse"), "--schema", schema_file)
    assert code == 1
    assert "(AnswerRefused, 1 issue)" in out
    assert "$: the model refused: I'm sorry, I can't help with that." in out


def test_tool_call_arguments_are_the_answer_when_there_is_no_content(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    schema = tmp_path / "location.json"
    schema.write_text(
        json.dumps(
            {
                "type": "object",
                "properties": {"location": {"type": "string"}},
                "required": ["location"],
                "additionalProperties": False,
            }
        )
    )
    stream = STREAMS / "tool_calls_parallel.sse"
    code, out, _ = replay(capsys, str(stream), "--schema", str(schema))
    assert code == 1
    assert '[tool call 1] $: "location" is a required property' in out
    assert "[tool call 1] $: Additional properties are not allowed ('tz' was unexpected)" in out
    assert "[tool call 0]" not in out


def test_interrupted_stream_fails_validation_too(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    schema = tmp_path / "s.json"
    schema.write_text('{"type": "object"}')
    code, out, _ = replay(capsys, str(STREAMS / "no_done_cut.sse"), "--schema", str(schema))
    assert code == 1
    assert "(IncompleteAnswer, 1 issue)" in out
    assert "$: the stream stopped before the answer finished (no finish_reason)" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ('{"type": "objekt"}', "invalid JSON Schema at $.type"),
        (None, "s.json"),
    ],
)
def test_unusable_schema_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | None, message: str
) -> None:
    schema = tmp_path / "s.json"
    if content is not None:
        schema.write_text(content)
    stream = recording(tmp_path, "{}")
    code, out, err = replay(capsys, str(stream), "--schema", str(schema))
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert message in err
