"""`router test`: case files against a policy, differences, coverage, bad case files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "policies" / "default.yaml"
DEFAULT_CASES = ROOT / "policies" / "default.cases.yaml"

ONE_PASSING = """\
cases:
  - name: a person gets a stream
    intent: {audience: user}
    expect: {mode: stream, rule: user-facing}
"""
ONE_FAILING = """\
cases:
  - name: a person gets a stream
    intent: {audience: user}
    expect: {mode: stream, rule: user-facing}
  - name: wrong on purpose
    intent: {audience: user}
    expect:
      mode: batch
      rule: short-answer
      options: {timeouts: {first_token: 10s}}
"""


def _write(tmp_path: Path, text: str, name: str = "c.cases.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_default_policy_passes_its_cases_with_full_coverage(cli: Any) -> None:
    result = cli("test", DEFAULT, DEFAULT_CASES, "--min-coverage", "100")
    assert result.code == 0, result.out
    lines = result.out.splitlines()
    assert lines[0].startswith(f"{DEFAULT}: ")
    assert "  pass  a person chatting gets a stream" in lines
    assert lines[-1] == "coverage: 100% (6 of 6: the rules and the defaults)"


def test_without_cases_the_sibling_case_file_is_used(cli: Any) -> None:
    result = cli("test", DEFAULT)
    assert result.code == 0
    assert f"cases from {DEFAULT_CASES}" in result.out.splitlines()[0]


def test_a_failing_case_shows_each_difference_and_fails_the_run(cli: Any, tmp_path: Path) -> None:
    cases = _write(tmp_path, ONE_FAILING)
    result = cli("test", DEFAULT, cases)
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[1:7] == [
        "  pass  a person gets a stream",
        f"  FAIL  wrong on purpose  ({cases}:5)",
        "          mode: expected batch, got stream",
        "          rule: expected short-answer, got user-facing",
        "          options.timeouts.first_token: expected 10s, got 30s",
        "1 passed, 1 failed",
    ]


def test_coverage_lists_what_no_case_reached(cli: Any, tmp_path: Path) -> None:
    result = cli("test", DEFAULT, _write(tmp_path, ONE_PASSING))
    assert result.code == 0
    assert result.out.splitlines()[-1] == (
        "coverage: 17% (1 of 6: the rules and the defaults); never reached: cost-known-first, "
        "parsed-by-code, short-answer, reasoning-models, (defaults)"
    )


def test_min_coverage_fails_a_run_under_it(cli: Any, tmp_path: Path) -> None:
    result = cli("test", DEFAULT, _write(tmp_path, ONE_PASSING), "--min-coverage", "50")
    assert result.code == 1
    assert result.out.splitlines()[-1] == "coverage 17% is under --min-coverage 50%"


def test_cases_from_several_files_add_up(cli: Any, tmp_path: Path) -> None:
    more = _write(
        tmp_path,
        "cases:\n  - {name: backend, expect: {mode: batch, rule: null}}\n",
        name="more.cases.yaml",
    )
    result = cli("test", DEFAULT, _write(tmp_path, ONE_PASSING), more, "--format", "json")
    report = json.loads(result.out)
    assert report["summary"] == {"total": 2, "passed": 2, "failed": 0}
    assert report["coverage"]["missed"] == [
        "cost-known-first",
        "parsed-by-code",
        "short-answer",
        "reasoning-models",
    ]


def test_json_report(cli: Any, tmp_path: Path) -> None:
    cases = _write(tmp_path, ONE_FAILING)
    result = cli("test", DEFAULT, cases, "--format", "json", "--min-coverage", "10")
    assert result.code == 1
    report = json.loads(result.out)
    assert report["policy"]["source"] == str(DEFAULT)
    assert report["ok"] is False
    assert report["min_coverage"] == 10
    failing = report["cases"][1]
    assert failing["location"] == f"{cases}:5"
    assert failing["passed"] is False
    assert failing["differences"][0] == {"field": "mode", "expected": "batch", "actual": "stream"}
    assert report["coverage"]["hits"]["user-facing"] == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "cases:\n  - {name: x, expect: {mode: batch, rule: no-such-rule}}\n",
            ":2:43: error: the policy has no rule 'no-such-rule'",
        ),
        (
            "cases:\n  - {name: x, expext: {mode: batch}}\n",
            ":2:15: error: unknown key 'expext' in a case; did you mean 'expect'?",
        ),
        (
            "cases:\n  - {name: x, intent: {tools: some}, expect: {mode: batch}}\n",
            ":2:24: error: invalid intent: intent tools: some is not allowed",
        ),
    ],
    ids=["unknown-rule", "unknown-key", "invalid-intent"],
)
def test_bad_case_files_are_usage_errors_with_file_and_line(
    cli: Any, tmp_path: Path, text: str, expected: str
) -> None:
    cases = _write(tmp_path, text)
    result = cli("test", DEFAULT, cases)
    assert result.code == 2
    assert result.out == ""
    [line] = result.err_lines
    assert line.startswith(f"{cases}{expected}")


def test_a_broken_policy_is_a_usage_error(cli: Any, tmp_path: Path) -> None:
    policy = _write(tmp_path, "version: 1\nrules: {}\n", name="p.yaml")
    result = cli("test", policy, DEFAULT_CASES)
    assert result.code == 2
    assert result.err_lines[0].startswith(f"{policy}:2:")


def test_a_missing_default_case_file_is_a_usage_error(cli: Any, tmp_path: Path) -> None:
    policy = _write(tmp_path, "version: 1\nrules: []\n", name="p.yaml")
    result = cli("test", policy)
    assert result.code == 2
    assert result.err_lines == [
        f"router: error: no CASES given, and {tmp_path / 'p.cases.yaml'} "
        "(the default beside the policy) does not exist"
    ]


def test_min_coverage_must_be_a_percentage(cli: Any) -> None:
    result = cli("test", DEFAULT, "--min-coverage", "120")
    assert result.code == 2
    assert "expected a percentage 0-100, got '120'" in result.err


def test_the_cli_names_the_defaults_as_coverage_does() -> None:
    # decide's summary, diff and call print the name the coverage report uses: one vocabulary.
    from router.cli.common import DEFAULTS_NAME
    from router.policy.cases import DEFAULTS

    assert DEFAULTS_NAME == DEFAULTS
