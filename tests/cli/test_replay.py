"""`router replay`: a recorded event-stream body in, the assembled answer out."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from router.cli.app import run

STREAMS = Path(__file__).resolve().parents[1] / "fixtures" / "streams"


def replay(
    capsys: pytest.CaptureFixture[str], *argv: str, stdin: bytes | None = None
) -> tuple[int, str, str]:
    capsys.readouterr()
    if stdin is not None:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin)))
            code = run(["replay", *argv])
    else:
        code = run(["replay", *argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


@pytest.mark.parametrize("path", sorted(STREAMS.glob("*.sse")), ids=lambda p: p.stem)
def test_json_report_of_every_recording(capsys: pytest.CaptureFixture[str], path: Path) -> None:
    code, out, err = replay(capsys, str(path), "--format", "json")
    expected = json.loads(path.with_suffix(".json").read_text())
    assert json.loads(out) == expected
    assert len(out.splitlines()) == 1
    assert code == (0 if expected["status"] == "complete" else 1)
    assert err == ""


def test_json_report_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = replay(capsys, str(STREAMS / "tool_calls_parallel.sse"), "--format", "json")
    report = json.loads(out)
    assert code == 0
    assert list(report) == ["status", "error", "completion"]
    completion = report["completion"]
    assert list(completion) == [
        "id",
        "object",
        "created",
        "model",
        "system_fingerprint",
        "choices",
        "usage",
    ]
    choice = completion["choices"][0]
    assert list(choice) == ["index", "message", "finish_reason", "logprobs"]
    assert choice["message"]["tool_calls"][1] == {
        "id": "call_Wy2",
        "type": "function",
        "function": {"name": "get_time", "arguments": '{"tz": "Europe/Paris"}'},
    }


def test_text_report_of_a_complete_stream(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = replay(capsys, str(STREAMS / "openai_text_usage.sse"))
    assert code == 0
    assert out.splitlines() == [
        "status: complete",
        "model: gpt-4o-2024-08-06  id: chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
        "usage: 14 prompt + 8 completion = 22 tokens",
        "",
        "--- choice 0 (finish: stop)",
        "The capital of France is Paris.",
    ]


def test_text_report_shows_reasoning_refusal_and_tool_calls(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, out, _ = replay(capsys, str(STREAMS / "reasoning_content.sse"))
    assert "[reasoning] Let me think." in out
    _, out, _ = replay(capsys, str(STREAMS / "refusal_logprobs.sse"))
    assert "[refusal] I'm sorry, I can't help with that." in out
    _, out, _ = replay(capsys, str(STREAMS / "tool_calls_parallel.sse"))
    assert '[tool call call_Vx1] get_weather({"location": "Paris"})' in out


def test_text_report_of_a_failed_stream(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = replay(capsys, str(STREAMS / "error_payload.sse"))
    assert code == 1
    assert out.splitlines()[:2] == [
        "status: failed",
        "error: server_error: The server had an error while processing your request. "
        "Sorry about that!",
    ]
    assert "Partial" in out


def test_interrupted_stream_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = replay(capsys, str(STREAMS / "no_done_cut.sse"), "--format", "json")
    assert code == 1
    assert json.loads(out)["status"] == "interrupted"


def test_standard_input(capsys: pytest.CaptureFixture[str]) -> None:
    body = (STREAMS / "azure_filters.sse").read_bytes()
    code, out, _ = replay(capsys, "-", "--format", "json", stdin=body)
    assert code == 0
    assert json.loads(out)["completion"]["choices"][0]["message"]["content"] == (
        "Hello! How can I help?"
    )


def test_empty_input_is_an_interrupted_stream(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = replay(capsys, "-", "--format", "json", stdin=b"")
    assert code == 1
    assert json.loads(out) == {
        "status": "interrupted",
        "error": None,
        "completion": {
            "id": None,
            "object": "chat.completion",
            "created": None,
            "model": None,
            "system_fingerprint": None,
            "choices": [],
            "usage": None,
        },
    }


def test_oversized_line_fails_the_stream(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "huge.sse"
    path.write_bytes(b'data: {"choices": []}\n\ndata: ' + b"x" * (9 * 1024 * 1024))
    code, out, _ = replay(capsys, str(path), "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["status"] == "failed"
    assert report["error"]["type"] == "event_too_large"
    assert "8388608-byte limit" in report["error"]["message"]


def test_an_endless_input_stops_at_the_decoder_limit(capsys: pytest.CaptureFixture[str]) -> None:
    # Read chunk by chunk, /dev/zero is one endless line: the decoder's bound ends it.
    code, out, _ = replay(capsys, "/dev/zero", "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["status"] == "failed"
    assert report["error"]["type"] == "event_too_large"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "missing.sse", "no such file"),
        (lambda tmp: tmp, "is a directory"),
    ],
)
def test_unreadable_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, make: object, message: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    code, out, err = replay(capsys, str(path))
    assert code == 2
    assert out == ""
    assert err.startswith("router: error: ")
    assert message in err
    assert len(err.splitlines()) == 1


def test_help_names_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = replay(capsys, "--help")
    assert code == 0
    assert "RECORDING" in out
    assert "--format" in out
