"""The example policies load, and decide what their descriptions promise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from router.policy import load_policy
from router.policy.schema import policy_json_schema

EXAMPLES = Path(__file__).resolve().parents[2] / "policies" / "examples"
JSON_BODY = {"response_format": {"type": "json_object"}, "messages": []}


def test_there_are_at_least_three_examples_and_each_rule_says_why() -> None:
    paths = sorted(p for p in EXAMPLES.glob("*.yaml") if not p.name.endswith(".cases.yaml"))
    assert len(paths) >= 3
    for path in paths:
        policy = load_policy(path)
        assert policy.description
        assert policy.rules
        assert all(rule.description for rule in policy.rules), path.name


def test_the_committed_json_schema_is_the_generated_one() -> None:
    committed = EXAMPLES.parent / "router-policy.schema.json"
    assert json.loads(committed.read_text(encoding="utf-8")) == policy_json_schema()


@pytest.mark.parametrize(
    ("body", "hints", "mode", "rule"),
    [
        (None, {"audience": "user", "model": "gpt-4o"}, "stream", "chat"),
        (JSON_BODY, {"audience": "user"}, "batch", "structured-features"),
        ({"max_tokens": 16}, {"audience": "user"}, "batch", "quick-replies"),
        ({"model": "o4-mini"}, {"audience": "user"}, "stream", "deep-thinking"),
        (None, {"audience": "service"}, "batch", None),
    ],
)
def test_chat_product(
    body: dict[str, Any] | None, hints: dict[str, Any], mode: str, rule: str | None
) -> None:
    decision = load_policy(EXAMPLES / "chat-product.yaml").decide(body, **hints)
    assert (decision.mode, decision.rule) == (mode, rule)


def test_chat_product_options() -> None:
    policy = load_policy(EXAMPLES / "chat-product.yaml")
    structured = policy.decide(JSON_BODY, audience="user").options
    assert (structured.validate.enabled, structured.validate.reask) == (True, 1)
    chat = policy.decide(audience="user", billing="after_delivery").options
    assert chat.stream.include_usage is True
    assert chat.timeouts.first_token == 20.0


@pytest.mark.parametrize(
    ("body", "hints", "mode", "rule"),
    [
        (
            None,
            {"billing": "before_delivery", "labels": {"stage": "extract"}},
            "batch",
            "budgeted-jobs",
        ),
        (JSON_BODY, {}, "batch", "extraction"),
        (None, {"labels": {"stage": "classify"}}, "batch", "extraction"),
        (None, {"labels": {"stage": "summarize"}}, "batch", "free-text-summaries"),
        (None, {"audience": "user"}, "stream", "analyst-preview"),
        (
            None,
            {"audience": "user", "labels": {"stage": "summarize"}},
            "batch",
            "free-text-summaries",
        ),
        (None, {}, "batch", None),
    ],
)
def test_data_pipeline(
    body: dict[str, Any] | None, hints: dict[str, Any], mode: str, rule: str | None
) -> None:
    decision = load_policy(EXAMPLES / "data-pipeline.yaml").decide(body, **hints)
    assert (decision.mode, decision.rule) == (mode, rule)


def test_data_pipeline_validates_by_default() -> None:
    policy = load_policy(EXAMPLES / "data-pipeline.yaml")
    assert policy.decide().options.validate.reask == 2
    assert policy.decide(JSON_BODY).options.validate.reask == 3
    assert not policy.decide(labels={"stage": "summarize"}).options.validate.enabled


@pytest.mark.parametrize(
    ("body", "hints", "mode", "rule"),
    [
        (None, {"audience": "user", "billing": "before_delivery"}, "batch", "prepaid-tenants"),
        (None, {"audience": "user", "labels": {"route": "eval/nightly"}}, "batch", "batch-routes"),
        (JSON_BODY, {"audience": "user"}, "batch", "structured-routes"),
        (
            {"model": "deepseek-r1-distill"},
            {"audience": "user", "provider": "vllm-eu"},
            "stream",
            "self-hosted-reasoners",
        ),
        (
            {"model": "deepseek-r1-distill"},
            {"audience": "user", "provider": "openai"},
            "stream",
            "interactive",
        ),
        ({"model": "o3"}, {"audience": "user"}, "stream", "openai-reasoning"),
        (None, {"audience": "user", "labels": {"tenant": "acme"}}, "stream", "enterprise-chat"),
        ({"max_tokens": 20}, {"audience": "user"}, "batch", None),
        (None, {"audience": "user"}, "stream", "interactive"),
        (None, {"audience": "service", "labels": {"route": "chat/support"}}, "batch", None),
    ],
)
def test_api_gateway(
    body: dict[str, Any] | None, hints: dict[str, Any], mode: str, rule: str | None
) -> None:
    decision = load_policy(EXAMPLES / "api-gateway.yaml").decide(body, **hints)
    assert (decision.mode, decision.rule) == (mode, rule)


def test_api_gateway_options() -> None:
    policy = load_policy(EXAMPLES / "api-gateway.yaml")
    backfill = policy.decide(labels={"route": "backfill/2024"}).options
    assert (backfill.retries.attempts, backfill.retries.backoff_max) == (8, 60.0)
    acme = policy.decide(audience="user", labels={"tenant": "acme"}).options
    assert acme.stream.fallback == "none"
