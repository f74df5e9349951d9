"""Reading case files: every problem reported at once, each with file:line:col."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from router.errors import Diagnostic, PolicyError
from router.intent import FIELDS
from router.policy.cases import load_cases

RULES = ["user-facing", "parsed"]


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


_YAML_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False)
    | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2)
    ),
    max_leaves=4,
)


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from([*FIELDS, "labels.route", "labels.", "nope"]),
    value=_YAML_VALUES,
)
def test_any_intent_value_gives_a_case_or_a_located_error(name: str, value: object) -> None:
    # Whatever a case file's intent holds, the engine's verdict is a case or a PolicyError.
    text = yaml.safe_dump(
        {"cases": [{"name": "x", "intent": {name: value}, "expect": {"mode": "batch"}}]}
    )
    diagnostics: list[Diagnostic] = []
    try:
        load_cases(text, source="c.yaml")
    except PolicyError as exc:
        diagnostics = list(exc.diagnostics)
    assert all(d.line >= 1 and d.code == "cases" for d in diagnostics)
