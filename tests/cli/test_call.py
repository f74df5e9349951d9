"""`router call`: text and JSON output, exit codes, secrets kept out of the output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from router.cli.app import run
from router.testing import Fault, Reply, SimulatedProvider

#: Shaped like no known key (no `sk-` prefix), so only redaction by exact value can hide it.
KEY = "cli-0123456789abcdefghijkl"
POLICY = """version: 1
defaults:
  mode: stream
  timeouts: {connect: 1s, first_token: 300ms, idle: 300ms, total: 3s}
  retries: {attempts: 1}
rules:
  - name: for-code
    when: {labels.consumer: code}
    mode: batch
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"model": "gpt-4o-mini", "messages": []}))
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    return {"request": str(request), "policy": str(policy)}


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> SimulatedProvider:
    monkeypatch.setenv("CLI_TEST_KEY", KEY)
    with SimulatedProvider(Reply.text("Hello there"), max_stall=3.0) as sim:
        yield sim  # type: ignore[misc]


def call(files: dict[str, str], provider: SimulatedProvider, *extra: str) -> int:
    return run(
        [
            "call",
            files["request"],
            "--policy",
            files["policy"],
            "--base-url",
            provider.base_url,
            "--api-key-env",
            "CLI_TEST_KEY",
            *extra,
        ]
    )


def test_text_output_streams_tokens_then_a_summary(
    files: dict[str, str], provider: SimulatedProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    assert call(files, provider) == 0
    out = capsys.readouterr().out
    text, summary = out.splitlines()
    assert text == "Hello there"
    assert summary.startswith("-- complete · stream · rule (defaults) · first token ")
    assert "usage" in summary
    assert provider.chat_requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_json_output_describes_the_call(
    files: dict[str, str], provider: SimulatedProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    assert call(files, provider, "--format", "json", "--intent", "labels.consumer=code") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["decision"]["rule"] == "for-code"
    assert report["status"] == "complete"
    assert report["completion"]["choices"][0]["message"]["content"] == "Hello there"
    assert report["error"] is None
    assert [(a["mode"], a["outcome"]) for a in report["attempts"]] == [("batch", "ok")]
    assert report["timings"]["total_ms"] > 0


def test_a_failed_call_exits_1_with_the_partial_and_the_error(
    files: dict[str, str], provider: SimulatedProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    provider.set_default(Fault.stall_mid_stream(after=1, reply=Reply.text("Hello there")))
    assert call(files, provider, "--format", "json") == 1
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "interrupted"
    assert report["error"]["type"] == "IdleTimeout"
    assert report["error"]["clock"] == "idle"
    assert report["completion"]["choices"][0]["message"]["content"] == "Hello"


def test_a_failed_call_in_text_mode(
    files: dict[str, str], provider: SimulatedProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    provider.set_default(Fault.http_status(401, message=f"Incorrect API key provided: {KEY}"))
    assert call(files, provider) == 1
    captured = capsys.readouterr()
    assert "UpstreamStatusError" in captured.out
    assert KEY not in captured.out + captured.err


def test_json_output_never_holds_the_key(
    files: dict[str, str], provider: SimulatedProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    provider.set_default(Fault.http_status(401, message=f"Incorrect API key provided: {KEY}"))
    assert call(files, provider, "--format", "json") == 1
    captured = capsys.readouterr()
    assert KEY not in captured.out + captured.err
    assert json.loads(captured.out)["error"]["status_code"] == 401


@pytest.mark.parametrize(
    "extra",
    [["--intent", "audience=robots"], ["--base-url", "ftp://nowhere"], ["--intent", "nokey"]],
)
def test_bad_usage_exits_2(
    files: dict[str, str],
    provider: SimulatedProvider,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
) -> None:
    assert call(files, provider, *extra) == 2
    assert capsys.readouterr().err.startswith("router: error:")


def test_a_missing_request_or_broken_policy_exits_2(
    files: dict[str, str], provider: SimulatedProvider, tmp_path: Path
) -> None:
    assert call({**files, "request": str(tmp_path / "missing.json")}, provider) == 2
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nrules: [\n")
    assert call({**files, "policy": str(broken)}, provider) == 2
    assert provider.chat_requests == []


def test_an_envelope_without_a_request_exits_2_saying_so(
    files: dict[str, str],
    provider: SimulatedProvider,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    envelope = tmp_path / "intent-only.json"
    envelope.write_text('{"intent": {"audience": "user"}}')
    assert call({**files, "request": str(envelope)}, provider) == 2
    assert capsys.readouterr().err == (
        f'router: error: {envelope}: the envelope has no "request": '
        "`router call` needs a body to send\n"
    )
    assert provider.chat_requests == []
