"""Policy case files: loading with located errors, running, coverage; the repository's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from router.policy import Policy, load_policy
from router.policy.cases import DEFAULTS, load_cases, run_cases

ROOT = Path(__file__).resolve().parents[2]

POLICY = Policy.from_text(
    """\
version: 1
defaults: {mode: batch}
rules:
  - name: user-facing
    description: A person is waiting for the words.
    when: {audience: user}
    mode: stream
    timeouts: {first_token: 3m}
  - name: parsed
    description: Code reads the answer.
    when: {post_process: true}
    mode: batch
    validate: {reask: 1}
""",
    source="small.yaml",
)
RULES = [rule.name for rule in POLICY.rules]


def test_running_cases_reports_differences_and_coverage() -> None:
    cases = load_cases(
        """\
cases:
  - name: chat streams
    intent: {audience: user}
    expect:
      mode: stream
      rule: user-facing
      options: {timeouts: {first_token: 3m, idle: 30s}, stream: {fallback: batch}}
  - name: wrong on purpose
    intent: {audience: user}
    expect:
      mode: batch
      rule: parsed
      options: {timeouts: {first_token: 10s}, validate: true, retries: {attempts: 5}}
""",
        source="c.yaml",
        rule_names=RULES,
    )
    report = run_cases(POLICY, cases)
    assert [r.passed for r in report.results] == [True, False]
    assert [str(d) for d in report.failed[0].differences] == [
        "mode: expected batch, got stream",
        "rule: expected parsed, got user-facing",
        "options.validate: expected true, got false",
        "options.timeouts.first_token: expected 10s, got 3m",
        "options.retries.attempts: expected 5, got 3",
    ]
    assert report.coverage.targets == ("user-facing", "parsed", DEFAULTS)
    assert report.coverage.missed == ("parsed", DEFAULTS)
    assert report.coverage.percent == pytest.approx(100 / 3)


def test_validate_options_and_the_defaults_are_checked() -> None:
    cases = load_cases(
        """\
cases:
  - name: json is validated and re-asked once
    request: {messages: [], response_format: {type: json_object}}
    expect: {mode: batch, rule: parsed, options: {validate: {reask: 1, progressive: false}}}
  - name: a backend call gets the defaults
    expect: {mode: batch, rule: null, options: {validate: false}}
""",
        source="c.yaml",
        rule_names=RULES,
    )
    report = run_cases(POLICY, cases)
    assert [r.differences for r in report.results] == [(), ()]
    assert report.coverage.missed == ("user-facing",)


def test_a_rule_expected_as_null_fails_when_a_rule_matched() -> None:
    cases = load_cases(
        "cases:\n  - {name: x, intent: {audience: user}, expect: {mode: stream, rule: null}}\n",
        source="c.yaml",
    )
    [result] = run_cases(POLICY, cases).results
    assert [str(d) for d in result.differences] == [
        "rule: expected null (the defaults), got user-facing"
    ]


def _repository_policies() -> list[Path]:
    return [
        ROOT / "policies" / "default.yaml",
        *sorted((ROOT / "policies" / "examples").glob("*.yaml")),
    ]


@pytest.mark.parametrize(
    "policy_path",
    [p for p in _repository_policies() if not p.name.endswith(".cases.yaml")],
    ids=lambda p: p.name,
)
def test_the_repository_policies_pass_their_cases_with_full_coverage(policy_path: Path) -> None:
    cases_path = policy_path.with_name(policy_path.stem + ".cases.yaml")
    assert cases_path.is_file(), f"{policy_path} has no case file"
    policy = load_policy(policy_path)
    cases = load_cases(
        cases_path.read_text(encoding="utf-8"),
        source=str(cases_path),
        rule_names=[rule.name for rule in policy.rules],
    )
    report = run_cases(policy, cases)
    assert [(r.case.location, [str(d) for d in r.differences]) for r in report.failed] == []
    assert report.coverage.missed == ()


def test_the_bundled_default_is_the_repository_default() -> None:
    assert load_policy().sha256 == load_policy(ROOT / "policies" / "default.yaml").sha256
