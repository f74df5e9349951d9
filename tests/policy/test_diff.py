"""Policy diff: every intent decided differently is reported, renames are no change."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from tests.policy.random_policies import SAMPLES, random_policies

from router.policy.diff import diff_policies, flatten_options
from router.policy.engine import Policy, default_policy_path, load_policy


def policy(rules: str, defaults: str = "", source: str = "p.yaml") -> Policy:
    return Policy.from_text(f"version: 1\n{defaults}rules:\n{rules}", source=source)


DEFAULT_TEXT = default_policy_path().read_text(encoding="utf-8")


def test_a_policy_is_the_same_as_itself() -> None:
    diff = diff_policies(load_policy(), load_policy())
    assert diff.same
    assert diff.to_dict()["changes"] == []


def test_renaming_rules_and_rewording_descriptions_is_no_change() -> None:
    renamed = DEFAULT_TEXT.replace("user-facing", "people-waiting").replace(
        "A person is waiting", "Someone waits"
    )
    assert diff_policies(load_policy(), Policy.from_text(renamed, source="new.yaml")).same


def test_reordering_disjoint_rules_is_no_change() -> None:
    a = policy(
        "  - {name: people, when: {audience: user}, mode: stream}\n"
        "  - {name: jobs, when: {audience: service}, mode: batch, timeouts: {total: 1h}}\n"
    )
    b = policy(
        "  - {name: jobs, when: {audience: service}, mode: batch, timeouts: {total: 1h}}\n"
        "  - {name: people, when: {audience: user}, mode: stream}\n"
    )
    assert diff_policies(a, b).same


def test_a_moved_threshold_is_reported_with_its_region_and_example() -> None:
    new = Policy.from_text(DEFAULT_TEXT.replace("lt: 16", "lt: 128"), source="new.yaml")
    diff = diff_policies(load_policy(), new)
    assert not diff.same
    to_short = [c for c in diff.changes if c.new_rule == "short-answer"]
    assert {c.old_rule for c in to_short} == {"reasoning-models", "user-facing"}
    for change in to_short:
        assert change.certain
        assert "mode" in change.changed
        assert change.old["mode"] == "stream"
        assert change.new["mode"] == "batch"
        assert all(where["expected_tokens"] == "16..127" for where in change.where)
        assert change.example is not None
        assert 16 <= change.example["expected_tokens"] <= 127


def test_a_diff_cut_short_by_its_budget_is_never_same() -> None:
    # A deploy gate must not pass a change it did not finish looking at.
    rules = "".join(
        f"  - {{name: r{i}, when: {{any: [{{expected_tokens: {{lt: {i}}}}},"
        f" {{labels.t{i % 7}: v{i}}}]}}, mode: stream}}\n"
        for i in range(40)
    )
    old = policy(rules)
    assert diff_policies(old, policy(rules)).same
    diff = diff_policies(old, policy(rules), budget_seconds=0.0)
    assert diff.complete is False
    assert diff.same is False
    assert diff.to_dict()["same"] is False


def test_a_change_made_only_of_strings_without_an_example_is_uncertain_not_missing() -> None:
    # Only "ab"-like strings (matching both globs) change, and no witness is found for them:
    # the change is still reported, with `certain` false, so a deploy gate never passes it.
    new = policy(
        '  - {name: both, when: {all: [{model: {glob: "a?"}}, {model: {glob: "?b"}}]},'
        " mode: stream}\n"
    )
    old = policy("  []\n")
    assert (old.decide(model="ab").mode, new.decide(model="ab").mode) == ("batch", "stream")
    diff = diff_policies(old, new)
    assert diff.complete
    assert not diff.same
    (change,) = diff.changes
    assert (change.old_rule, change.new_rule, change.certain) == (None, "both", False)
    assert change.example is None
    assert change.to_dict()["certain"] is False


def test_an_option_change_is_a_change_even_when_the_mode_stays() -> None:
    new = Policy.from_text(DEFAULT_TEXT.replace("first_token: 3m", "first_token: 5m"))
    diff = diff_policies(load_policy(), new)
    assert len(diff.changes) == 1
    change = diff.changes[0]
    assert change.changed == ("timeouts_ms.first_token",)
    assert change.old == {"timeouts_ms.first_token": 180000}
    assert change.new == {"timeouts_ms.first_token": 300000}
    assert change.to_dict()["from"]["rule"] == "reasoning-models"


def test_include_usage_changes_only_where_billing_needs_usage() -> None:
    a = policy("  - {name: people, when: {audience: user}, mode: stream}\n")
    b = policy(
        "  - {name: people, when: {audience: user}, mode: stream, stream: {include_usage: never}}\n"
    )
    diff = diff_policies(a, b)
    assert len(diff.changes) == 1
    (change,) = diff.changes
    assert change.changed == ("stream.include_usage",)
    assert change.example is not None
    assert change.example["billing"] in ("after_delivery", "before_delivery")


def test_flatten_options_uses_the_decision_json_keys() -> None:
    decision = load_policy().decide(audience="user")
    flat = flatten_options(decision.options, decision.mode)
    assert flat["mode"] == "stream"
    assert flat["timeouts_ms.total"] == 600000
    assert flat["retries.backoff_ms.initial"] == 500


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_policies(), random_policies())
def test_diff_agrees_with_evaluation(
    old_pair: tuple[str, Policy], new_pair: tuple[str, Policy]
) -> None:
    old, new = old_pair[1], new_pair[1]
    diff = diff_policies(old, new)
    for intent in SAMPLES:
        a, b = old.decide_intent(intent), new.decide_intent(intent)
        if (a.mode, a.options) != (b.mode, b.options):
            assert not diff.same
            pairs = {(c.old_rule, c.new_rule) for c in diff.changes}
            assert (a.rule, b.rule) in pairs
    for change in diff.changes:
        if change.certain:
            assert change.example is not None
            hints = {k: v for k, v in change.example.items() if v not in (None, {})}
            a, b = old.decide(**hints), new.decide(**hints)
            assert (a.rule, b.rule) == (change.old_rule, change.new_rule)
            assert (a.mode, a.options) != (b.mode, b.options)
