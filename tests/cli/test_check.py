"""`router check`: every problem of every file, located; exit codes; the JSON reporter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"

BROKEN = """\
version: 1
rules:
  - name: typo
    when: {audince: user}
    mode: strem
"""
SHADOWED = """\
version: 1
rules:
  - name: people
    description: A person waits.
    when: {audience: user}
    mode: stream
  - name: people-on-4o
    description: Never reached.
    when: {audience: user, model: gpt-4o}
    mode: stream
"""
UNDESCRIBED = "version: 1\nrules:\n  - name: plain\n    when: {audience: user}\n    mode: stream\n"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_repository_policies_load_without_errors(cli: Any) -> None:
    paths = [POLICIES / "default.yaml", *sorted((POLICIES / "examples").glob("*.yaml"))]
    paths = [p for p in paths if not p.name.endswith(".cases.yaml")]
    result = cli("check", *paths)
    assert result.code == 0, result.out
    assert result.out.splitlines()[-1].startswith(f"{len(paths)} files checked, 0 errors")


def test_the_default_policy_is_clean_even_when_strict(cli: Any) -> None:
    result = cli("check", "--strict", POLICIES / "default.yaml")
    assert result.code == 0, result.out
    assert result.out == f"{POLICIES / 'default.yaml'}: ok (5 rules)\n"


def test_analysis_warnings_are_located_and_fail_only_under_strict(cli: Any, tmp_path: Path) -> None:
    path = _write(tmp_path, "shadow.yaml", SHADOWED)
    relaxed = cli("check", path)
    assert relaxed.code == 0
    assert relaxed.out.splitlines()[0] == (
        f'{path}:7:5: warning: rule "people-on-4o" can never match: every intent it matches '
        'goes to "people" first'
    )
    assert cli("check", "--strict", path).code == 1


def test_every_error_of_a_file_is_listed_with_file_line_col(cli: Any, tmp_path: Path) -> None:
    path = _write(tmp_path, "broken.yaml", BROKEN)
    result = cli("check", path)
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0].startswith(f"{path}:4:12: error: ")
    assert "'audince'" in lines[0]
    assert lines[1].startswith(f"{path}:5:11: error: ")
    assert "'strem'" in lines[1]
    assert lines[2] == "1 file checked, 2 errors, 0 warnings"
    assert result.err == ""


@pytest.mark.parametrize(
    ("text", "words"), [("", "empty"), ("- version: 1\n", "list"), ("version: 7\n", "version")]
)
def test_policies_that_are_not_policies(cli: Any, tmp_path: Path, text: str, words: str) -> None:
    path = _write(tmp_path, "p.yaml", text)
    result = cli("check", path)
    assert result.code == 1
    assert result.out.splitlines()[0].startswith(f"{path}:1:")
    assert words in result.out.splitlines()[0]


def test_every_file_is_checked_and_one_bad_file_fails_the_run(cli: Any, tmp_path: Path) -> None:
    good = POLICIES / "default.yaml"
    bad = _write(tmp_path, "broken.yaml", BROKEN)
    result = cli("check", good, bad)
    assert result.code == 1
    assert f"{good}: ok (5 rules)" in result.out
    assert result.out.splitlines()[-1] == "2 files checked, 2 errors, 0 warnings"


def test_warnings_fail_only_under_strict(cli: Any, tmp_path: Path) -> None:
    path = _write(tmp_path, "plain.yaml", UNDESCRIBED)
    relaxed = cli("check", path)
    assert relaxed.code == 0
    assert relaxed.out.splitlines()[0] == (
        f"{path}:3:5: warning: rule 'plain' has no description: say why it decides as it does"
    )
    strict = cli("check", "--strict", path)
    assert strict.code == 1
    assert f"{path}: fails --strict on its warnings" in strict.out


def test_an_unreadable_file_is_a_usage_error_and_the_others_are_still_checked(
    cli: Any, tmp_path: Path
) -> None:
    result = cli("check", tmp_path / "nope.yaml", tmp_path, POLICIES / "default.yaml")
    assert result.code == 2
    assert result.err_lines == [
        f"router: error: {tmp_path / 'nope.yaml'}: no such file",
        f"router: error: {tmp_path}: is a directory, expected a file",
    ]
    assert "ok (5 rules)" in result.out


def test_json_report(cli: Any, tmp_path: Path) -> None:
    bad = _write(tmp_path, "broken.yaml", BROKEN)
    shadow = _write(tmp_path, "shadow.yaml", SHADOWED)
    result = cli("check", "--format", "json", POLICIES / "default.yaml", bad, shadow)
    assert result.code == 1
    report = json.loads(result.out)
    good, broken, shadowed = report["files"]
    assert good["ok"] is True
    assert (good["errors"], good["warnings"]) == ([], [])
    assert len(good["sha256"]) == 64
    assert good["defaults_reachable"] is True
    assert all(rule["reachable"] is True for rule in good["rules"])
    assert good["rules"][0]["name"] == "cost-known-first"
    assert broken["ok"] is False
    assert broken["rules"] == []
    assert broken["defaults_reachable"] is None
    assert broken["path"] == broken["source"]
    assert [(d["line"], d["column"], d["severity"]) for d in broken["errors"]] == [
        (4, 12, "error"),
        (5, 11, "error"),
    ]
    assert shadowed["ok"] is True
    assert [w["code"] for w in shadowed["warnings"]] == ["shadowed"]
    assert shadowed["rules"][1]["reachable"] is False
    assert shadowed["rules"][1]["covered_by"] == ["people"]
    assert report["summary"] == {
        "files": 3,
        "ok": 2,
        "errors": 2,
        "warnings": 1,
        "unreadable": 0,
    }


def test_check_needs_a_file(cli: Any) -> None:
    result = cli("check")
    assert result.code == 2
    assert "the following arguments are required: POLICY" in result.err
