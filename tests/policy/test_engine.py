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
        ({"max_tokens": 20}, {"audience": "user"}, "batch", "short-answer"),
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
