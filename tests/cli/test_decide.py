"""`router decide` over the example requests: reporters, inputs, hints, and every bad input."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from router.policy import load_policy

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "requests"
CHAT = EXAMPLES / "chat.json"
MIXED = EXAMPLES / "mixed.jsonl"


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


# --- what it prints ----------------------------------------------------------------------------


def test_text_output_names_the_mode_the_rule_and_the_options(cli: Any) -> None:
    result = cli("decide", CHAT)
    assert result.code == 0
    assert result.err == ""
    assert result.out.splitlines() == [
        f"{CHAT}: stream, decided by rule user-facing",
        "  validate   off",
        "  stream     include_usage false, fallback batch",
        "  timeouts   connect 5s, first_token 30s, idle 30s, total 10m",
        "  retries    3 attempts, backoff 500ms growing to 8s",
    ]


def test_batch_text_output_shows_only_the_clocks_a_batch_call_has(cli: Any) -> None:
    result = cli("decide", EXAMPLES / "extract.json")
    assert result.out.splitlines()[:3] == [
        f"{EXAMPLES / 'extract.json'}: batch, decided by rule parsed-by-code",
        "  validate   on (reask 0, progressive false)",
        "  timeouts   connect 5s, total 10m",
    ]


def test_explain_shows_the_intent_each_rule_and_why(cli: Any) -> None:
    out = cli("decide", CHAT, "--explain").out
    assert "  intent     audience user, output text, tools none, post_process false," in out
    assert "    1. cost-known-first  no: billing: none is not before_delivery\n" in out
    assert "    3. short-answer      no: expected_tokens: missing\n" in out
    assert "    5. user-facing       matched\n" in out
    assert "  why        A person is waiting" in out


def test_explain_says_when_the_defaults_decide(cli: Any) -> None:
    out = cli("decide", EXAMPLES / "backend.json", "--explain").out
    assert out.startswith(f"{EXAMPLES / 'backend.json'}: batch, decided by the defaults")
    assert "    no rule matched: the defaults decide\n" in out


def test_json_output_is_the_decision_json(cli: Any) -> None:
    result = cli("decide", CHAT, "--format", "json")
    [decision] = _lines(result.out)
    envelope = json.loads(CHAT.read_text())
    expected = load_policy().decide(envelope["request"], **envelope["intent"]).to_dict()
    assert decision == expected
    assert "trace" not in decision


def test_json_output_with_explain_carries_the_trace(cli: Any) -> None:
    [decision] = _lines(cli("decide", CHAT, "--format", "json", "--explain").out)
    assert decision["trace"][0] == {
        "rule": "cost-known-first",
        "matched": False,
        "failed": "billing: none is not before_delivery",
    }
    assert decision["trace"][-1]["matched"] is True


def test_jsonl_gives_one_decision_per_line_then_a_summary(cli: Any) -> None:
    result = cli("decide", MIXED, "--format", "json")
    assert result.code == 0
    *decisions, last = _lines(result.out)
    assert [(d["input"], d["mode"], d["rule"]) for d in decisions] == [
        (f"{MIXED}:1", "stream", "user-facing"),
        (f"{MIXED}:2", "batch", "parsed-by-code"),
        (f"{MIXED}:3", "batch", "short-answer"),
        (f"{MIXED}:4", "stream", "reasoning-models"),
        (f"{MIXED}:5", "batch", None),
    ]
    assert last == {
        "summary": {
            "decided": 5,
            "failed": 0,
            "by_mode": {"batch": 3, "stream": 2},
            "by_rule": {
                "user-facing": 1,
                "parsed-by-code": 1,
                "short-answer": 1,
                "reasoning-models": 1,
                "(defaults)": 1,
            },
        }
    }


def test_jsonl_text_output_is_one_line_per_request_and_a_summary(cli: Any) -> None:
    lines = cli("decide", MIXED).out.splitlines()
    assert lines[0] == f"{MIXED}:1  stream  user-facing"
    assert lines[1] == f"{MIXED}:2  batch   parsed-by-code, validated"
    assert lines[-1] == (
        "5 decided: 3 batch, 2 stream (by rule: user-facing 1, parsed-by-code 1, "
        "short-answer 1, reasoning-models 1, (defaults) 1)"
    )


def test_a_bad_jsonl_line_is_reported_and_the_others_are_decided(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "some.jsonl"
    path.write_text(
        '{"messages": []}\n'
        "{not json\n"
        '{"intent": {"audience": "everyone"}}\n'
        "[]\n"
        '{"intent": {"audience": "user"}}\n'
    )
    result = cli("decide", path, "--format", "json")
    assert result.code == 1
    assert result.err_lines[0].startswith(f"router: error: {path}:2: malformed JSON")
    assert result.err_lines[1].startswith(f"router: error: {path}:3: intent audience: everyone")
    assert result.err_lines[2].startswith(f"router: error: {path}:4: expected a JSON object")
    assert len(result.err_lines) == 3
    *decisions, summary = _lines(result.out)
    assert [d["input"] for d in decisions] == [f"{path}:1", f"{path}:5"]
    assert summary["summary"]["decided"] == 2
    assert summary["summary"]["failed"] == 3


def test_a_jsonl_input_with_no_decidable_line_is_unusable_input(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "none.jsonl"
    path.write_text("{oops\n[]\n")
    result = cli("decide", path, "--format", "json")
    assert result.code == 2
    assert len(result.err_lines) == 2
    assert _lines(result.out) == [
        {"summary": {"decided": 0, "failed": 2, "by_mode": {}, "by_rule": {}}}
    ]


def test_several_files_are_decided_in_order_with_a_summary(cli: Any) -> None:
    result = cli("decide", CHAT, EXAMPLES / "short.json", "--format", "json")
    *decisions, summary = _lines(result.out)
    assert [d["rule"] for d in decisions] == ["user-facing", "short-answer"]
    assert summary["summary"]["by_mode"] == {"batch": 1, "stream": 1}


# --- where requests come from ------------------------------------------------------------------


@pytest.mark.parametrize("argv", [("decide", "-"), ("decide",)], ids=["dash", "nothing"])
def test_standard_input_is_read_for_dash_or_no_argument(cli: Any, argv: tuple[str, ...]) -> None:
    result = cli(*argv, "--format", "json", stdin=CHAT.read_text())
    assert result.code == 0
    [decision] = _lines(result.out)
    assert decision["rule"] == "user-facing"


def test_no_request_and_a_terminal_on_stdin_is_a_usage_error_not_a_wait(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal())
    line = _one_error(cli("decide"))
    assert line == (
        "router: error: no REQUEST given: name a request file, or pipe requests into standard input"
    )


def test_standard_input_may_hold_json_lines(cli: Any) -> None:
    result = cli("decide", "--format", "json", stdin=MIXED.read_text())
    *decisions, _summary = _lines(result.out)
    assert [d["input"] for d in decisions][:2] == ["<stdin>:1", "<stdin>:2"]


def test_every_example_request_is_decided(cli: Any) -> None:
    expected = {
        "backend.json": None,
        "chat-with-tools.json": "user-facing",
        "chat.json": "user-facing",
        "extract.json": "parsed-by-code",
        "forced-tool.json": "parsed-by-code",
        "prepaid.json": "cost-known-first",
        "reasoning.json": "reasoning-models",
        "short.json": "short-answer",
    }
    files = sorted(EXAMPLES.glob("*.json"))
    assert [p.name for p in files] == sorted(expected)
    result = cli("decide", *files, "--format", "json")
    *decisions, _ = _lines(result.out)
    assert {Path(d["input"]).name: d["rule"] for d in decisions} == expected


# --- hints -------------------------------------------------------------------------------------


def test_intent_hints_are_typed_by_field_and_win(cli: Any) -> None:
    result = cli(
        "decide",
        CHAT,
        "--intent",
        "expected_tokens=8",
        "--intent",
        "labels.tenant=acme",
        "--provider",
        "azure",
        "--format",
        "json",
    )
    [decision] = _lines(result.out)
    assert decision["rule"] == "short-answer"
    assert decision["intent"]["expected_tokens"] == 8
    assert decision["intent"]["labels"] == {"tenant": "acme"}
    assert decision["intent"]["provider"] == "azure"


def test_command_line_labels_merge_with_the_envelope_labels(cli: Any) -> None:
    prepaid = EXAMPLES / "prepaid.json"  # its envelope sets labels.tenant=acme
    [decision] = _lines(
        cli("decide", prepaid, "--intent", "labels.route=stories", "--format", "json").out
    )
    assert decision["intent"]["labels"] == {"tenant": "acme", "route": "stories"}


def test_command_line_hints_override_the_envelope(cli: Any) -> None:
    [decision] = _lines(cli("decide", CHAT, "--intent", "audience=service", "--format", "json").out)
    assert decision["intent"]["audience"] == "service"
    assert decision["rule"] is None


def test_a_policy_file_replaces_the_bundled_default(cli: Any, tmp_path: Path) -> None:
    policy = tmp_path / "all-stream.yaml"
    policy.write_text("version: 1\ndefaults: {mode: stream}\nrules: []\n")
    [decision] = _lines(cli("decide", CHAT, "--policy", policy, "--format", "json").out)
    assert decision["mode"] == "stream"
    assert decision["rule"] is None
    assert decision["policy"]["source"] == str(policy)


# --- bad input: one line on stderr, the right exit code, never a traceback ----------------------


def _one_error(result: Any, code: int = 2) -> str:
    assert result.code == code, result.err
    assert result.out == ""
    assert len(result.err_lines) == 1, result.err
    line: str = result.err_lines[0]
    return line


def test_malformed_json(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"messages": [\n')
    line = _one_error(cli("decide", path))
    assert line == f"router: error: {path}: malformed JSON at line 2 column 1: Expecting value"


def test_a_json_array_as_a_request(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "array.json"
    path.write_text('[{"messages": []}]')
    line = _one_error(cli("decide", path))
    assert line.startswith(f"router: error: {path}: expected a JSON object")
    assert line.endswith("got a JSON array")


def test_an_unknown_intent_key(cli: Any) -> None:
    line = _one_error(cli("decide", CHAT, "--intent", "audiance=user"))
    assert line.startswith("router: error: --intent audiance=user: unknown intent field")
    assert 'did you mean "audience"?' in line


def test_an_intent_value_outside_its_domain(cli: Any) -> None:
    line = _one_error(cli("decide", CHAT, "--intent", "expected_tokens=lots"))
    assert line == (
        "router: error: --intent expected_tokens=lots: intent expected_tokens: "
        "expected an integer >= 0, got 'lots'"
    )


def test_an_intent_without_equals(cli: Any) -> None:
    line = _one_error(cli("decide", CHAT, "--intent", "audience"))
    assert line == "router: error: --intent expects KEY=VALUE, got 'audience'"


def test_a_bad_intent_in_an_envelope_file(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "env.json"
    path.write_text('{"request": {"messages": []}, "intent": {"billing": "later"}}')
    line = _one_error(cli("decide", path))
    assert line.startswith(f"router: error: {path}: intent billing: later is not allowed")


def test_a_broken_policy_is_a_usage_error_located_in_the_file(cli: Any, tmp_path: Path) -> None:
    policy = tmp_path / "broken.yaml"
    policy.write_text(
        "version: 1\nrules:\n  - name: x\n    when: {audience: usr}\n    mode: stream\n"
    )
    line = _one_error(cli("decide", CHAT, "--policy", policy))
    assert line.startswith(f"{policy}:4:22: error: ")
    assert 'did you mean "user"' in line


def test_an_empty_policy(cli: Any, tmp_path: Path) -> None:
    policy = tmp_path / "empty.yaml"
    policy.write_text("")
    line = _one_error(cli("decide", CHAT, "--policy", policy))
    assert line.startswith(f"{policy}:1:1: error: ")
    assert "empty" in line


def test_a_policy_that_is_a_yaml_list(cli: Any, tmp_path: Path) -> None:
    policy = tmp_path / "list.yaml"
    policy.write_text("- version: 1\n")
    line = _one_error(cli("decide", CHAT, "--policy", policy))
    assert line.startswith(f"{policy}:1:1: error: ")
    assert "list" in line


@pytest.mark.parametrize("where", ["request", "policy"])
def test_a_directory_given_as_a_file(cli: Any, tmp_path: Path, where: str) -> None:
    argv = ("decide", tmp_path) if where == "request" else ("decide", CHAT, "--policy", tmp_path)
    line = _one_error(cli(*argv))
    assert line == f"router: error: {tmp_path}: is a directory, expected a file"


def test_a_missing_file(cli: Any, tmp_path: Path) -> None:
    line = _one_error(cli("decide", tmp_path / "nope.json"))
    assert line == f"router: error: {tmp_path / 'nope.json'}: no such file"


def test_a_file_that_is_not_text(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "binary.json"
    path.write_bytes(b"\xff\xfe\x00{")
    line = _one_error(cli("decide", path))
    assert line.startswith(f"router: error: {path}: not UTF-8 text")


def test_a_file_that_cannot_be_read(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests may run as root, for whom file modes deny nothing: make the read itself fail.
    path = tmp_path / "secret.json"
    path.write_text("{}")

    real_open = Path.open

    def denied(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", denied)
    line = _one_error(cli("decide", path))
    assert line == f"router: error: {path}: permission denied"


def test_an_endless_policy_cannot_hang_the_command(cli: Any) -> None:
    line = _one_error(cli("decide", CHAT, "--policy", "/dev/zero"))
    assert line == "router: error: /dev/zero: larger than the 1048576-byte limit"


def test_an_endless_request_cannot_hang_the_command(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("router.cli.request_files.MAX_REQUEST_BYTES", 1000)
    line = _one_error(cli("decide", "/dev/zero"))
    assert line == "router: error: /dev/zero: larger than the 1000-byte limit"


# --- the cold-start path -------------------------------------------------------------------------


def test_the_decide_path_imports_neither_httpx_nor_jsonschema_nor_pydantic() -> None:
    # ...nor the modules of other commands: only the command that runs is configured.
    probe = (
        "import sys\n"
        "from router.cli.app import run\n"
        f"code = run(['decide', {str(CHAT)!r}, '--explain', '--format', 'json'])\n"
        "heavy = sorted(m for m in ('httpx', 'jsonschema', 'pydantic', 'router.cli.call')\n"
        "               if m in sys.modules)\n"
        "sys.stderr.write(repr(heavy))\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rule"] == "user-facing"
    assert done.stderr == "[]"
