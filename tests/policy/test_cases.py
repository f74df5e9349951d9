"""Policy case files: loading with located errors, running, coverage; the repository's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from router.errors import PolicyError
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


def _errors(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        load_cases(text, source="c.yaml", rule_names=RULES)
    assert all(d.code == "cases" for d in caught.value.diagnostics)
    return [str(d) for d in caught.value.diagnostics]


def test_a_case_file_loads_with_each_case_located() -> None:
    cases = load_cases(
        """\
cases:
  - name: chat
    intent: {audience: user}
    expect: {mode: stream, rule: user-facing}
  - name: nothing known
    expect: {mode: batch, rule: null}
""",
        source="c.yaml",
        rule_names=RULES,
    )
    assert [(c.name, c.location, c.mode, c.rule, c.checks_rule) for c in cases] == [
        ("chat", "c.yaml:2", "stream", "user-facing", True),
        ("nothing known", "c.yaml:5", "batch", None, True),
    ]
    assert cases[0].hints == {"audience": "user"}


def test_every_problem_of_a_file_is_reported_with_its_line_and_column() -> None:
    errors = _errors(
        """\
cases:
  - name: typo in a key
    intnet: {audience: user}
    expect: {mode: stream}
  - name: no such rule
    expect: {mode: stream, rule: user-facin}
  - name: bad intent
    intent: {audience: usr}
    expect: {mode: strem}
"""
    )
    assert errors == [
        "c.yaml:3:5: error: unknown key 'intnet' in a case; did you mean 'intent'?",
        "c.yaml:6:34: error: the policy has no rule 'user-facin'; did you mean 'user-facing'?",
        "c.yaml:8:14: error: invalid intent: intent audience: usr is not allowed (did you mean "
        '"user"?); allowed: user, service',
        "c.yaml:9:20: error: `mode` must be stream or batch, got the string 'strem'",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "c.yaml:1:1: error: empty case file"),
        ("- name: x\n", "c.yaml:1:1: error: a case file must be a mapping, got a list"),
        ("cases: {}\n", "c.yaml:1:8: error: `cases` must be a list"),
        ("cases: [\n", "c.yaml:2:1: error: YAML syntax"),
        ("case: []\n", "c.yaml:1:1: error: unknown key 'case' in the case file"),
        ("cases:\n  - expect: {mode: batch}\n", "c.yaml:2:5: error: a case needs a `name`"),
        ("cases:\n  - name: x\n", "c.yaml:2:5: error: a case needs `expect:`"),
        (
            "cases:\n  - {name: x, expect: {mode: batch}}\n  - {name: x, expect: {mode: batch}}\n",
            "c.yaml:3:5: error: duplicate case name 'x' (first at line 2)",
        ),
        (
            "cases:\n  - {name: x, name: y, expect: {mode: batch}}\n",
            "c.yaml:2:15: error: duplicate key 'name'",
        ),
        (
            "cases:\n  - {name: x, request: !!python/object:os.system {}, expect: {mode: batch}}\n",
            "c.yaml:2:24: error: the tag !!python/object:os.system is not allowed",
        ),
        (
            "cases:\n  - {name: x, expect: {mode: batch, rule: [a]}}\n",
            "c.yaml:2:43: error: `rule` must be a rule name or null",
        ),
        (
            "cases:\n  - {name: x, expect: {mode: batch, options: {timeouts: {idle: 5}}}}\n",
            "c.yaml:2:64: error: bad duration 5 for idle",
        ),
        (
            "cases:\n  - name: x\n    expect:\n      mode: batch\n"
            "      options: {stream: {include_usage: auto}}\n",
            "include_usage` must be true or false (decisions resolve `auto`",
        ),
    ],
)
def test_bad_case_files_get_located_errors(text: str, expected: str) -> None:
    errors = _errors(text)
    assert any(expected in error for error in errors), errors


def test_an_intent_the_engine_rejects_points_at_the_field() -> None:
    [error] = _errors(
        "cases:\n  - name: x\n    intent: {audience: user, expected_tokens: many}\n"
        "    expect: {mode: batch}\n"
    )
    assert error.startswith("c.yaml:3:30: error: invalid intent: intent expected_tokens")


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
