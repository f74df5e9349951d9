"""The `router` entry point: console script, `python -m router`, errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from router.cli import app

ROOT = Path(__file__).resolve().parents[2]
CHAT = ROOT / "examples" / "requests" / "chat.json"


def _run(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), capture_output=True, text=True, timeout=60, check=False, input=stdin, cwd=ROOT
    )


def test_the_console_script_decides_an_example_request() -> None:
    script = Path(sys.executable).with_name("router")
    assert script.exists(), "the project is installed with its `router` console script"
    done = _run(str(script), "decide", str(CHAT), "--explain")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{CHAT}: stream, decided by rule user-facing\n")
    assert "    5. user-facing       matched\n" in done.stdout
    assert done.stderr == ""


def test_python_dash_m_router_reads_standard_input_and_exits_with_the_code() -> None:
    done = _run(
        sys.executable, "-m", "router", "decide", "--format", "json", stdin=CHAT.read_text()
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["mode"] == "stream"
    bad = _run(sys.executable, "-m", "router", "decide", "-", stdin="[1, 2]")
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.splitlines() == [
        "router: error: <stdin>: expected a JSON object (a Chat Completions request or an "
        'envelope {"request": ..., "intent": ...}), got a JSON array'
    ]


def test_help_lists_the_commands(cli: Any) -> None:
    result = cli("--help")
    assert result.code == 0
    for command in app.COMMANDS:
        assert f"    {command} " in result.out


def test_no_command_is_a_usage_error(cli: Any) -> None:
    result = cli()
    assert result.code == 2
    assert "required: COMMAND" in result.err


def test_an_unknown_option_is_a_usage_error(cli: Any) -> None:
    result = cli("decide", "--explian")
    assert result.code == 2
    assert "unrecognized arguments: --explian" in result.err


def test_an_unexpected_exception_is_one_line_not_a_traceback(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object, **kwargs: object) -> object:
        raise RuntimeError("boom")

    monkeypatch.setattr("router.cli.request_files.read_requests", explode)
    result = cli("decide", CHAT)
    assert result.code == 2
    assert result.err_lines == [
        "router: error: internal error: RuntimeError: boom (set ROUTER_DEBUG=1)"
    ]


def test_policy_errors_print_one_located_line_per_problem(cli: Any, tmp_path: Path) -> None:
    policy = tmp_path / "two.yaml"
    policy.write_text(
        "version: 1\nrules:\n  - name: x\n    when: {audince: user}\n    mode: strem\n"
    )
    result = cli("decide", CHAT, "--policy", policy)
    assert result.code == 2
    assert [line.split(": error: ")[0] for line in result.err_lines] == [
        f"{policy}:4:12",
        f"{policy}:5:11",
    ]


def test_every_listed_command_module_follows_the_contract() -> None:
    import importlib

    for name in app.COMMANDS.values():
        module = importlib.import_module(f"router.cli.{name}")
        assert isinstance(module.HELP, str)
        assert module.HELP
        assert callable(module.configure)
        assert callable(module.run)
    assert app.COMMANDS["test"] == "test_cmd"


def test_configuring_every_command_imports_nothing_heavy() -> None:
    # Command modules import only the standard library at their top: `router --help` (which
    # configures them all) stays as cheap as `router decide`.
    probe = (
        "import sys\n"
        "from router.cli.app import build_parser\n"
        "build_parser()\n"
        "heavy = ('httpx', 'jsonschema', 'jsonschema_rs', 'pydantic', 'starlette', 'yaml')\n"
        "print(sorted(m for m in sys.modules if m.partition('.')[0] in heavy))\n"
    )
    done = _run(sys.executable, "-c", probe)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[]\n"
