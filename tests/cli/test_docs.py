"""The output shown in README.md and docs/cli.md is what the commands really print.

Every `$ router ...` line in a fenced block of those files whose inputs are in this
repository is run, and what it prints must match the lines that follow it in the block. A
command that pipes, or whose shown output is cut short with `...`, is left out.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", ROOT / "docs" / "cli.md"]
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
#: A policy's hash changes with every edit of its comments: the pages need not follow it.
_SHA256 = re.compile(r"(?<=\"sha256\":\")[0-9a-f]{64}")


def _sessions(path: Path) -> list[tuple[str, list[str], str]]:
    """(command line, argv, expected output) for each runnable `$ router` line."""
    found = []
    for block in _FENCE.findall(path.read_text(encoding="utf-8")):
        lines = block.splitlines()
        starts = [i for i, line in enumerate(lines) if line.startswith("$ ")]
        for n, start in enumerate(starts):
            end = starts[n + 1] if n + 1 < len(starts) else len(lines)
            command = lines[start][2:]
            shown = lines[start + 1 : end]
            while shown and not shown[-1]:
                shown.pop()
            argv = shlex.split(command)
            if (
                argv[0] != "router"
                or "|" in argv
                or ">" in argv
                or any(s.strip() == "..." for s in shown)
            ):
                continue
            if not all((ROOT / arg).exists() for arg in argv[2:] if _looks_like_a_path(arg)):
                continue  # an input the document describes but the repository does not hold
            found.append((command, argv[1:], "\n".join(shown)))
    return found


def _looks_like_a_path(arg: str) -> bool:
    return not arg.startswith("-") and ("/" in arg or arg.endswith((".json", ".yaml", ".jsonl")))


SESSIONS = [(path, *session) for path in DOCUMENTS for session in _sessions(path)]


def test_the_documents_show_enough_commands_to_be_worth_checking() -> None:
    assert len(SESSIONS) >= 8


@pytest.mark.parametrize(
    ("document", "command", "argv", "expected"),
    SESSIONS,
    ids=[f"{path.name}: {command}" for path, command, _, _ in SESSIONS],
)
def test_shown_output_is_real(
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
    document: Path,
    command: str,
    argv: list[str],
    expected: str,
) -> None:
    monkeypatch.chdir(ROOT)
    result = cli(*argv)
    shown = _SHA256.sub("<sha256>", expected)
    actual = _SHA256.sub("<sha256>", (result.out + result.err).rstrip("\n"))
    assert actual == shown, (
        f"{document.name} shows other output for `{command}`: run it from the repository "
        "root and paste what it prints"
    )


def test_the_readme_shows_what_its_first_command_prints(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = _FENCE.findall(readme)
    first_command = next(i for i, block in enumerate(blocks) if "router decide" in block)
    assert (
        blocks[first_command]
        .rstrip()
        .endswith(".venv/bin/router decide examples/requests/chat.json --explain")
    )
    monkeypatch.chdir(ROOT)
    assert (
        cli("decide", "examples/requests/chat.json", "--explain").out == blocks[first_command + 1]
    )


def _policy_blocks() -> list[tuple[str, str]]:
    pattern = re.compile(r"^```yaml\n(.*?)^```", re.MULTILINE | re.DOTALL)
    return [
        (path.name, block)
        for path in DOCUMENTS
        for block in pattern.findall(path.read_text(encoding="utf-8"))
        if re.search(r"^version:", block, re.MULTILINE)
    ]


@pytest.mark.parametrize(("document", "text"), _policy_blocks())
def test_policies_shown_in_the_documents_load(document: str, text: str) -> None:
    from router.policy import Policy

    assert Policy.from_text(text, source=document).rules is not None


def test_case_files_shown_in_the_documents_load() -> None:
    from router.policy import load_policy
    from router.policy.cases import load_cases

    rules = [rule.name for rule in load_policy().rules]
    pattern = re.compile(r"^```yaml\n(cases:.*?)^```", re.MULTILINE | re.DOTALL)
    blocks = pattern.findall((ROOT / "docs" / "cli.md").read_text(encoding="utf-8"))
    assert blocks
    for block in blocks:
        assert load_cases(block, source="docs/cli.md", rule_names=rules)
