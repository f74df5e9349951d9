"""Policy: loading, deciding, options merging and the bundled default policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from router.errors import PolicyError
from router.policy import Policy, load_policy
from router.policy.engine import default_policy_path

REPO = Path(__file__).resolve().parents[2]


def test_the_repository_default_policy_is_the_bundled_one() -> None:
    assert (REPO / "policies" / "default.yaml").read_bytes() == default_policy_path().read_bytes()


def test_load_policy_without_a_path_is_the_bundled_default() -> None:
    policy = load_policy()
    assert policy.source == "default.yaml"
    assert load_policy() is policy
    assert [rule.name for rule in policy.rules] == [
        "cost-known-first",
        "parsed-by-code",
        "short-answer",
        "reasoning-models",
        "user-facing",
    ]
    assert all(rule.description for rule in policy.rules)


@pytest.mark.parametrize(
    ("request_body", "hints", "mode", "rule"),
    [
        (None, {"audience": "user"}, "stream", "user-facing"),
        (None, {"audience": "service"}, "batch", None),
        (None, {}, "batch", None),
        (None, {"audience": "user", "billing": "before_delivery"}, "batch", "cost-known-first"),
        (
            {"response_format": {"type": "json_object"}},
            {"audience": "user"},
            "batch",
            "parsed-by-code",
        ),
        (
            {"tools": [{"type": "function", "function": {"name": "f"}}]},
            {"audience": "user"},
            "stream",
            "user-facing",
        ),
        (
            {"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "required"},
            {"audience": "user"},
            "batch",
            "parsed-by-code",
        ),
        ({"max_tokens": 12}, {"audience": "user"}, "batch", "short-answer"),
        ({"max_tokens": 20}, {"audience": "user"}, "stream", "user-facing"),
        ({"model": "o3-mini"}, {"audience": "user"}, "stream", "reasoning-models"),
        ({"model": "deepseek-reasoner"}, {"audience": "user"}, "stream", "reasoning-models"),
        ({"model": "gpt-4o"}, {"audience": "user"}, "stream", "user-facing"),
    ],
)
def test_default_policy_encodes_the_rule_of_thumb(
    request_body: dict[str, object] | None, hints: dict[str, object], mode: str, rule: str | None
) -> None:
    decision = load_policy().decide(request_body, **hints)
    assert (decision.mode, decision.rule) == (mode, rule)
    explained = load_policy().decide(request_body, explain=True, **hints)
    assert (explained.mode, explained.rule) == (mode, rule)


def test_reasoning_models_get_a_long_first_token_clock() -> None:
    decision = load_policy().decide({"model": "o1"}, audience="user")
    assert decision.options.timeouts.first_token == 180.0
    assert decision.options.timeouts.idle == 30.0


def test_include_usage_auto_resolves_by_mode_and_billing() -> None:
    policy = load_policy()
    assert policy.decide(audience="user").options.stream.include_usage is False
    assert policy.decide(audience="user", billing="after_delivery").options.stream.include_usage
    batch = policy.decide(audience="service", billing="after_delivery")
    assert batch.options.stream.include_usage is False


def test_broken_policy_raises_policy_error_with_locations() -> None:
    with pytest.raises(PolicyError) as info:
        Policy.from_text("version: 1\nrules:\n  - name: a\n    when: {audiense: user}\n")
    (diagnostic,) = info.value.diagnostics
    assert (diagnostic.source, diagnostic.line, diagnostic.column) == ("<string>", 4, 12)
    assert 'did you mean "audience"' in diagnostic.message


def test_load_policy_reads_files_and_reports_unreadable_ones(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\nrules: []\n", encoding="utf-8")
    policy = load_policy(path)
    assert policy.source == str(path)
    assert policy.rules == ()
    assert policy.decide(audience="user").mode == "batch"
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_bytes(b"version: 1\n\xff\n")
    with pytest.raises(PolicyError, match="UTF-8"):
        load_policy(tmp_path / "bad.yaml")


MERGE_POLICY = """\
version: 1
defaults:
  mode: batch
  validate: {reask: 2}
  timeouts: {connect: 2s, first_token: 20s, idle: 15s, total: 5m}
  retries: {attempts: 4, backoff: {initial: 250ms, max: 4s}}
  stream: {include_usage: never, fallback: none}
rules:
  - name: slow-first-token
    when: {model: o3}
    mode: stream
    timeouts: {first_token: 3m}
  - name: no-validation
    when: {labels.route: raw}
    validate: false
  - name: usage-always
    when: {labels.route: metered}
    mode: stream
    stream: {include_usage: always}
  - name: usage-auto
    when: {labels.route: auto}
    mode: stream
    stream: {include_usage: auto}
  - name: progressive
    when: {audience: user}
    mode: stream
    validate: {progressive: true}
"""


def test_options_merge_key_by_key_over_defaults_and_builtins() -> None:
    policy = Policy.from_text(MERGE_POLICY)
    options = policy.decide(model="o3").options
    assert options.timeouts.first_token == 180.0
    assert (options.timeouts.connect, options.timeouts.idle, options.timeouts.total) == (
        2.0,
        15.0,
        300.0,
    )
    assert (options.retries.attempts, options.retries.backoff_initial) == (4, 0.25)
    assert options.stream.fallback == "none"
    # `validate: {reask: 2}` in defaults turns validation on everywhere ...
    assert options.validate.enabled
    assert options.validate.reask == 2
    # ... a rule may turn it off, and a rule's mapping merges into the defaults' one.
    assert not policy.decide(labels={"route": "raw"}).options.validate.enabled
    merged = policy.decide(audience="user").options.validate
    assert (merged.enabled, merged.reask, merged.progressive) == (True, 2, True)
    # nothing matched: the defaults decide
    fallback = policy.decide()
    assert (fallback.rule, fallback.mode, fallback.options.timeouts.first_token) == (
        None,
        "batch",
        20.0,
    )


@pytest.mark.parametrize(
    ("route", "billing", "include_usage"),
    [
        ("metered", "none", True),  # always: whenever the mode is stream
        ("auto", "none", False),  # auto: only when billing needs usage
        ("auto", "after_delivery", True),
        ("auto", "before_delivery", True),
        ("other", "after_delivery", False),  # never (the defaults say so)
    ],
)
def test_include_usage_resolution(route: str, billing: str, include_usage: bool) -> None:
    policy = Policy.from_text(MERGE_POLICY)
    hints = {"labels": {"route": route}, "billing": billing}
    if route == "other":
        hints["model"] = "o3"
    assert policy.decide(**hints).options.stream.include_usage is include_usage


@pytest.mark.parametrize("billing", ["none", "after_delivery", "before_delivery"])
@pytest.mark.parametrize("route", ["metered", "auto", "other", None])
def test_the_fast_path_decides_like_explain_and_decide_intent(
    route: str | None, billing: str
) -> None:
    # decide() picks the outcome's options inline (the per-call hot path); explain and
    # decide_intent go through Outcome.options_for: all three must give the same decision.
    policy = Policy.from_text(MERGE_POLICY)
    hints = {"billing": billing, "labels": {} if route is None else {"route": route}}
    fast = policy.decide(**hints)
    explained = policy.decide(explain=True, **hints)
    assert explained.trace is not None
    assert fast.trace is None
    assert fast == explained._replace(trace=None)
    assert fast == policy.decide_intent(fast.intent)


def test_batch_never_asks_for_usage_in_a_stream() -> None:
    policy = Policy.from_text("version: 1\ndefaults: {stream: {include_usage: always}}\n")
    assert policy.decide(billing="after_delivery").options.stream.include_usage is False


def test_rules_expose_their_own_and_merged_settings_for_analysis() -> None:
    policy = Policy.from_text(MERGE_POLICY)
    rule = policy.rule("slow-first-token")
    assert (rule.line, rule.column, rule.index, rule.mode) == (9, 5, 0, "stream")
    assert rule.settings.first_token == 180.0
    assert rule.settings.idle is None  # not written in the rule
    assert rule.outcome.settings.idle == 15.0  # merged
    (predicate,) = rule.condition.items
    assert (predicate.field, predicate.op, predicate.operand) == ("model", "eq", "o3")  # type: ignore[union-attr]
    with pytest.raises(KeyError):
        policy.rule("nope")


def test_policy_identity() -> None:
    policy = Policy.from_text("version: 1\n", source="inline")
    assert policy.source == "inline"
    assert len(policy.sha256) == 64
    assert policy.decide().policy.to_dict() == {"source": "inline", "sha256": policy.sha256}
    assert "inline" in repr(policy)


def test_decide_takes_the_request_by_position_or_by_name() -> None:
    body = {"model": "o3", "messages": []}
    policy = load_policy()
    assert policy.decide(request=body, audience="user") == policy.decide(body, audience="user")
    assert policy.decide(request=body, audience="user").rule == "reasoning-models"


def test_a_policy_pickles_by_its_text() -> None:
    import pickle

    policy = load_policy()
    copy = pickle.loads(pickle.dumps(policy))
    assert (copy.source, copy.sha256, copy.text) == (policy.source, policy.sha256, policy.text)
    assert copy.decide(audience="user") == policy.decide(audience="user")
