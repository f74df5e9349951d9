"""Policy analysis: reachability, cover, redundancy, warnings, checked against evaluation."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from tests.policy.random_policies import SAMPLES, random_policies

from router.intent import Intent
from router.policy.analyze import analyze_policy
from router.policy.engine import Policy, load_policy
from router.policy.space import INFERRED_DEFAULTS


def policy(rules: str, defaults: str = "") -> Policy:
    return Policy.from_text(f"version: 1\n{defaults}rules:\n{rules}", source="p.yaml")


def reports(p: Policy) -> dict[str, tuple[Any, tuple[str, ...], bool]]:
    return {r.name: (r.reachable, r.covered_by, r.redundant) for r in analyze_policy(p).rules}


def test_inferred_defaults_match_intent_inference() -> None:
    empty = Intent.from_request({}).to_dict()
    for field, value in INFERRED_DEFAULTS.items():
        assert empty[field] == value
    for field in ("audience", "expected_tokens", "model", "provider"):
        assert empty[field] is None


def test_bundled_policy_reaches_every_rule_and_the_defaults() -> None:
    p = load_policy()
    analysis = analyze_policy(p)
    assert analysis.exact
    assert analysis.defaults_reachable is True
    assert [w.code for w in analysis.warnings] == []
    for report in analysis.rules:
        assert report.reachable is True
        assert report.example is not None
        hints = {k: v for k, v in report.example.items() if v is not None}
        assert p.decide(**hints).rule == report.name


def test_a_rule_inside_an_earlier_one_is_shadowed_and_names_it() -> None:
    p = policy(
        "  - {name: people, when: {audience: user}, mode: stream}\n"
        "  - {name: people-on-4o, when: {audience: user, model: gpt-4o}, mode: batch}\n"
    )
    assert reports(p)["people-on-4o"] == (False, ("people",), False)
    analysis = analyze_policy(p)
    shadowed = [w for w in analysis.warnings if w.code == "shadowed"]
    assert len(shadowed) == 1
    assert shadowed[0].line == 4
    assert '"people"' in shadowed[0].message


def test_several_earlier_rules_together_cover_a_rule() -> None:
    p = policy(
        "  - {name: free, when: {billing: none}, mode: batch}\n"
        "  - {name: paid, when: {billing: [after_delivery, before_delivery]}, mode: batch}\n"
        "  - {name: prose, when: {output: text}, mode: stream}\n"
    )
    reachable, covered_by, _ = reports(p)["prose"]
    assert reachable is False
    assert set(covered_by) == {"free", "paid"}
    assert analyze_policy(p).defaults_reachable is False


def test_cover_is_minimal() -> None:
    p = policy(
        "  - {name: any-user, when: {audience: user}, mode: stream}\n"
        "  - {name: user-text, when: {audience: user, output: text}, mode: batch}\n"
        "  - {name: user-json, when: {audience: user, output: json}, mode: batch}\n"
    )
    assert reports(p)["user-json"][1] == ("any-user",)


def test_numeric_intervals_are_exact() -> None:
    p = policy(
        "  - {name: under-100, when: {expected_tokens: {lt: 100}}, mode: batch}\n"
        "  - {name: under-50, when: {expected_tokens: {lt: 50}}, mode: stream}\n"
        "  - {name: from-100, when: {expected_tokens: {gte: 100}}, mode: stream}\n"
        "  - {name: known, when: {expected_tokens: {exists: true}}, mode: batch}\n"
        "  - {name: exactly-99, when: {expected_tokens: 99}, mode: batch}\n"
        "  - {name: unknown, when: {expected_tokens: {exists: false}}, mode: stream}\n"
    )
    found = reports(p)
    assert found["under-50"][0] is False
    assert found["known"][0] is False
    assert set(found["known"][1]) == {"under-100", "from-100"}
    assert found["exactly-99"][0] is False
    assert found["unknown"][0] is True
    assert analyze_policy(p).defaults_reachable is False


def test_gaps_between_numeric_bounds_are_found() -> None:
    p = policy(
        "  - {name: low, when: {expected_tokens: {lte: 10}}, mode: batch}\n"
        "  - {name: high, when: {expected_tokens: {gt: 11}}, mode: stream}\n"
        "  - {name: eleven, when: {expected_tokens: {exists: true}}, mode: stream}\n"
    )
    report = analyze_policy(p).rules[2]
    assert report.reachable is True
    assert report.example is not None
    assert report.example["expected_tokens"] == 11


def test_predicates_on_missing_fields_are_false_and_not_negates_them() -> None:
    p = policy(
        "  - {name: not-user, when: {not: {audience: user}}, mode: batch}\n"
        "  - {name: ne-user, when: {audience: {ne: user}}, mode: stream}\n"
        "  - {name: user, when: {audience: user}, mode: stream}\n"
    )
    analysis = analyze_policy(p)
    found = reports(p)
    # `not` took every non-user intent, missing audience included; `ne` needs a value.
    assert found["ne-user"][0] is False
    assert found["user"][0] is True
    assert analysis.defaults_reachable is False
    example = analysis.rules[0].example
    assert example is not None
    assert example["audience"] is None


def test_labels_and_free_strings_compare_against_constants_and_any_other_value() -> None:
    p = policy(
        "  - {name: acme, when: {labels.tenant: acme}, mode: stream}\n"
        "  - {name: named, when: {labels.tenant: [acme, globex]}, mode: batch}\n"
        "  - {name: other-tenant, when: {labels.tenant: {not_in: [acme, globex]}}, mode: batch}\n"
        "  - {name: any-tenant, when: {labels.tenant: {exists: true}}, mode: stream}\n"
    )
    analysis = analyze_policy(p)
    found = reports(p)
    assert found["named"][0] is True
    assert found["other-tenant"][0] is True
    assert found["any-tenant"][0] is False
    other = analysis.rules[2].example
    assert other is not None
    assert other["labels"]["tenant"] not in ("acme", "globex")


def test_globs_contained_in_earlier_globs_are_shadowed() -> None:
    p = policy(
        '  - {name: gpt-4-family, when: {model: {glob: "gpt-4*"}}, mode: stream}\n'
        '  - {name: gpt-4o, when: {model: {glob: "gpt-4o*"}}, mode: batch}\n'
        '  - {name: minis, when: {model: {glob: "*-mini"}}, mode: batch}\n'
    )
    found = reports(p)
    assert found["gpt-4o"][:2] == (False, ("gpt-4-family",))
    assert found["minis"][0] is True  # o3-mini, say


def test_a_rule_needing_two_overlapping_globs_is_shadowed_by_the_first_glob() -> None:
    # Strings matching both "*a*b*" and "*b*a*" all go to the first rule: the intersection
    # of globs needs no witness of its own to be shown shadowed.
    p = policy(
        '  - {name: ab, when: {model: {glob: "*a*b*"}}, mode: stream}\n'
        '  - {name: ba, when: {model: {glob: "*b*a*"}}, mode: batch}\n'
        '  - {name: both, when: {all: [{model: {glob: "*a*b*"}}, {model: {glob: "*b*a*"}}]},'
        " mode: batch}\n"
    )
    analysis = analyze_policy(p)
    assert analysis.rules[0].reachable is True
    assert analysis.rules[1].reachable is True
    assert analysis.rules[2].reachable is False  # everything in it matched "ab" first


def test_a_rule_left_only_strings_no_example_is_found_for_is_may() -> None:
    # "ab" matches both globs, but no witness the cells try does ("ax", "xb", ...): the rule
    # is reachable, and the analysis must say "may", never "false".
    p = policy(
        '  - {name: both, when: {all: [{model: {glob: "a?"}}, {model: {glob: "?b"}}]},'
        " mode: stream}\n"
    )
    assert p.decide(model="ab").rule == "both"
    analysis = analyze_policy(p)
    assert reports(p)["both"] == ("may", (), False)
    assert analysis.rules[0].example is None
    assert analysis.exact is False
    assert analysis.defaults_reachable is True


def test_a_rule_deciding_like_the_rules_below_it_is_redundant() -> None:
    p = policy(
        "  - {name: json-batch, when: {output: json}, mode: batch}\n"
        "  - {name: service, when: {audience: service}, mode: batch}\n"
        "  - {name: people, when: {audience: user}, mode: stream}\n"
    )
    found = reports(p)
    assert found["json-batch"] == (True, (), False)  # a user's JSON would stream without it
    assert found["service"] == (True, (), True)  # the defaults batch them all the same
    assert found["people"][2] is False
    codes = [w.code for w in analyze_policy(p).warnings]
    assert codes == ["redundant"]


def test_redundancy_depends_on_the_options_not_only_the_mode() -> None:
    p = policy(
        "  - {name: slow-service, when: {audience: service}, mode: batch, timeouts: {total: 20m}}\n"
    )
    assert reports(p)["slow-service"][2] is False


def test_redundancy_sees_billing_resolve_include_usage() -> None:
    # Both rules stream; they differ only in include_usage, which matters only for
    # intents whose billing needs usage.
    never = (
        "  - {name: free, when: {audience: user, billing: none}, mode: stream,"
        " stream: {include_usage: never}}\n"
        "  - {name: people, when: {audience: user}, mode: stream}\n"
    )
    assert reports(policy(never))["free"][2] is True
    paid = never.replace("billing: none", "billing: after_delivery")
    assert reports(policy(paid))["free"][2] is False


def test_risky_combinations_are_warnings() -> None:
    p = policy(
        "  - {name: no-usage, when: {audience: user}, mode: stream,"
        " stream: {include_usage: never}}\n"
        "  - {name: slow-clock, when: {audience: service}, mode: stream,"
        " timeouts: {first_token: 20m, total: 10m}}\n"
        "  - {name: reask-stream, when: {output: json}, mode: stream, validate: {reask: 2}}\n"
    )
    warnings = analyze_policy(p).warnings
    codes = {(w.code, w.line) for w in warnings}
    assert ("usage-never", 3) in codes
    assert ("clock-longer-than-total", 4) in codes
    assert ("reask-on-stream", 5) in codes
    assert all(w.severity == "warning" for w in warnings)


def test_options_that_do_not_apply_raise_no_warning() -> None:
    p = policy(
        "  - {name: batch-clocks, when: {audience: service}, mode: batch,"
        " timeouts: {first_token: 20m, idle: 20m, total: 10m}}\n"
        "  - {name: no-validation, when: {output: json}, mode: stream, validate: false}\n",
        defaults="defaults: {validate: {reask: 2}}\n",
    )
    assert [w.code for w in analyze_policy(p).warnings if w.line > 2] == []


def test_include_usage_never_on_a_rule_that_only_sees_free_calls_is_fine() -> None:
    p = policy(
        "  - {name: free, when: {audience: user, billing: none}, mode: stream,"
        " stream: {include_usage: never}}\n"
    )
    assert [w.code for w in analyze_policy(p).warnings] == []


def test_a_tiny_budget_gives_honest_may_answers() -> None:
    rules = "".join(
        f"  - {{name: r{i}, when: {{any: [{{expected_tokens: {{lt: {i}}}}},"
        f" {{labels.t{i % 7}: v{i}}}]}}, mode: stream}}\n"
        for i in range(40)
    )
    analysis = analyze_policy(policy(rules), budget_seconds=0.0)
    assert not analysis.exact
    assert analysis.defaults_reachable == "may"
    assert {r.reachable for r in analysis.rules} == {"may"}


# --- the analysis agrees with evaluation on random policies ------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_policies())
def test_analysis_agrees_with_evaluation(text_and_policy: tuple[str, Policy]) -> None:
    text, p = text_and_policy
    analysis = analyze_policy(p)
    reached = {p.decide_intent(intent).rule for intent in SAMPLES}
    for report in analysis.rules:
        if report.reachable is False:
            assert report.name not in reached, f"{report.name} was reached"
        if report.reachable is True:
            assert report.example is not None
            hints = {k: v for k, v in report.example.items() if v not in (None, {})}
            assert p.decide(**hints).rule == report.name
    if analysis.defaults_reachable is False:
        assert None not in reached
    for index, report in enumerate(analysis.rules):
        if not report.redundant:
            continue
        without = _without_rule(text, index)
        for intent in SAMPLES:
            a, b = p.decide_intent(intent), without.decide_intent(intent)
            assert (a.mode, a.options) == (b.mode, b.options), report.name


def _without_rule(text: str, index: int) -> Policy:
    lines = text.splitlines(keepends=True)
    rule_lines = [i for i, line in enumerate(lines) if line.startswith("  - {name:")]
    del lines[rule_lines[index]]
    shortened = "".join(lines)
    if len(rule_lines) == 1:
        shortened = shortened.replace("rules:\n", "rules: []\n")
    return Policy.from_text(shortened, source="without.yaml")
