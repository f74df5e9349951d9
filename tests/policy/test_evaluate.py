"""Condition semantics: every operator on present and missing fields, any/all/not, the trace."""

from __future__ import annotations

from typing import Any

import pytest

from router.policy import Policy


def matches(when: str, **hints: Any) -> bool:
    """Whether a one-rule policy with this `when` matches; both evaluators must agree."""
    policy = Policy.from_text(f"version: 1\nrules:\n  - name: r\n    when: {when}\n")
    fast = policy.decide(**hints).rule == "r"
    explained = policy.decide(explain=True, **hints)
    assert (explained.rule == "r") is fast
    return fast


CASES: list[tuple[str, dict[str, Any], bool]] = [
    # equals (a bare scalar)
    ("{audience: user}", {"audience": "user"}, True),
    ("{audience: user}", {"audience": "service"}, False),
    ("{audience: user}", {}, False),
    ("{post_process: false}", {"output": "text"}, True),
    ("{expected_tokens: 10}", {"expected_tokens": 10}, True),
    ("{model: gpt-4o}", {"model": "gpt-4o"}, True),
    ("{model: gpt-4o}", {}, False),
    ("{labels.route: search}", {"labels": {"route": "search"}}, True),
    ("{labels.route: search}", {"labels": {"route": "chat"}}, False),
    ("{labels.route: search}", {}, False),
    # one of (a list, or in:)
    ("{audience: [user, service]}", {"audience": "service"}, True),
    ("{audience: [user]}", {}, False),
    ("{tools: {in: [offered, required]}}", {"tools": "offered"}, True),
    ("{tools: {in: [offered, required]}}", {"tools": "none"}, False),
    ("{expected_tokens: {in: [1, 2]}}", {}, False),
    # not_in and ne: false on a missing field (two-valued logic)
    ("{billing: {not_in: [none]}}", {"billing": "after_delivery"}, True),
    ("{billing: {not_in: [none]}}", {"billing": "none"}, False),
    ("{model: {not_in: [a]}}", {}, False),
    ("{model: {not_in: [a]}}", {"model": "b"}, True),
    ("{audience: {ne: user}}", {"audience": "service"}, True),
    ("{audience: {ne: user}}", {"audience": "user"}, False),
    ("{audience: {ne: user}}", {}, False),
    ("{labels.tenant: {ne: acme}}", {}, False),
    ("{labels.tenant: {ne: acme}}", {"labels": {"tenant": "other"}}, True),
    ("{post_process: {ne: true}}", {"output": "text"}, True),
    # comparisons
    ("{expected_tokens: {lt: 64}}", {"expected_tokens": 63}, True),
    ("{expected_tokens: {lt: 64}}", {"expected_tokens": 64}, False),
    ("{expected_tokens: {lte: 64}}", {"expected_tokens": 64}, True),
    ("{expected_tokens: {gt: 64}}", {"expected_tokens": 64}, False),
    ("{expected_tokens: {gte: 64}}", {"expected_tokens": 64}, True),
    ("{expected_tokens: {lt: 64}}", {}, False),
    ("{expected_tokens: {gte: 0}}", {}, False),
    ("{expected_tokens: {gte: 10, lt: 20}}", {"expected_tokens": 15}, True),
    ("{expected_tokens: {gte: 10, lt: 20}}", {"expected_tokens": 20}, False),
    # exists
    ("{model: {exists: true}}", {"model": "m"}, True),
    ("{model: {exists: true}}", {}, False),
    ("{model: {exists: false}}", {}, True),
    ("{model: {exists: false}}", {"model": "m"}, False),
    ("{labels.route: {exists: false}}", {}, True),
    ("{audience: {exists: false}}", {}, True),
    # glob (fnmatchcase: case-sensitive, whole string)
    ("{model: {glob: 'gpt-4*'}}", {"model": "gpt-4o-mini"}, True),
    ("{model: {glob: 'gpt-4*'}}", {"model": "GPT-4o"}, False),
    ("{model: {glob: 'o[0-9]*'}}", {"model": "o3"}, True),
    ("{model: {glob: 'o[0-9]*'}}", {"model": "omni"}, False),
    ("{model: {glob: 'o?'}}", {"model": "o1x"}, False),
    ("{model: {glob: ['a*', '*b']}}", {"model": "xb"}, True),
    ("{model: {glob: 'a*'}}", {}, False),
    ("{labels.route: {glob: 'search/*'}}", {"labels": {"route": "search/web"}}, True),
    ("{provider: {glob: 'azure*'}}", {"provider": "azure-eu"}, True),
    # AND over fields; empty when
    ("{audience: user, billing: none}", {"audience": "user"}, True),
    ("{audience: user, billing: after_delivery}", {"audience": "user"}, False),
    ("{}", {}, True),
    # any / all / not
    ("{any: [{audience: user}, {model: m}]}", {"model": "m"}, True),
    ("{any: [{audience: user}, {model: m}]}", {}, False),
    ("{all: [{audience: user}, {model: m}]}", {"audience": "user", "model": "m"}, True),
    ("{all: [{audience: user}, {model: m}]}", {"audience": "user"}, False),
    ("{not: {billing: none}}", {"billing": "after_delivery"}, True),
    ("{not: {billing: none}}", {"billing": "none"}, False),
    ("{not: {audience: user}}", {}, True),  # not negates the whole condition
    ("{not: {model: {ne: a}}}", {}, True),
    ("{not: {any: [{audience: user}, {model: m}]}}", {"audience": "service"}, True),
    ("{not: {not: {audience: user}}}", {"audience": "user"}, True),
    ("{audience: user, not: {labels.route: batch}}", {"audience": "user"}, True),
]


@pytest.mark.parametrize(("when", "hints", "expected"), CASES)
def test_condition_semantics(when: str, hints: dict[str, Any], expected: bool) -> None:
    assert matches(when, **hints) is expected


def failed(when: str, **hints: Any) -> str | None:
    policy = Policy.from_text(f"version: 1\nrules:\n  - name: r\n    when: {when}\n")
    trace = policy.decide(explain=True, **hints).trace
    assert trace is not None
    (step,) = trace
    return step.failed


@pytest.mark.parametrize(
    ("when", "hints", "message"),
    [
        ("{billing: before_delivery}", {}, "billing: none is not before_delivery"),
        ("{expected_tokens: {lt: 64}}", {}, "expected_tokens: missing"),
        (
            "{expected_tokens: {lt: 64}}",
            {"expected_tokens": 100},
            "expected_tokens: 100 is not < 64",
        ),
        ("{expected_tokens: {gte: 64}}", {"expected_tokens": 1}, "expected_tokens: 1 is not >= 64"),
        ("{audience: [user]}", {"audience": "service"}, "audience: service is not in [user]"),
        ("{billing: {not_in: [none]}}", {}, "billing: none is in [none]"),
        ("{audience: {ne: user}}", {"audience": "user"}, "audience: user is user"),
        ("{model: {exists: false}}", {"model": "m"}, "model: m is set"),
        ("{model: {exists: true}}", {}, "model: missing"),
        ("{model: {glob: 'o*'}}", {"model": "gpt"}, "model: gpt does not match [o*]"),
        ("{post_process: true}", {}, "post_process: false is not true"),
        ("{labels.route: a}", {}, "labels.route: missing"),
        ("{not: {audience: user}}", {"audience": "user"}, "not: audience: user"),
        (
            "{any: [{audience: user}, {model: m}]}",
            {},
            "none of any: audience: missing; model: missing",
        ),
        ("{audience: user, model: m}", {"audience": "user"}, "model: missing"),
    ],
)
def test_trace_names_the_first_failing_test_with_the_actual_value(
    when: str, hints: dict[str, Any], message: str
) -> None:
    assert failed(when, **hints) == message


def test_trace_lists_rules_until_the_match() -> None:
    policy = Policy.from_text(
        "version: 1\nrules:\n"
        "  - {name: a, when: {audience: service}}\n"
        "  - {name: b, when: {audience: user}, mode: stream}\n"
        "  - {name: c}\n"
    )
    decision = policy.decide(audience="user", explain=True)
    assert decision.trace is not None
    assert [(s.rule, s.matched, s.failed) for s in decision.trace] == [
        ("a", False, "audience: user is not service"),
        ("b", True, None),
    ]
    assert [s.line for s in decision.trace] == [3, 4]
    nothing = Policy.from_text("version: 1\nrules:\n  - {name: a, when: {audience: user}}\n")
    explained = nothing.decide(explain=True)
    assert explained.rule is None
    assert explained.trace is not None
    assert len(explained.trace) == 1
    assert nothing.decide().trace is None


def test_first_match_wins() -> None:
    policy = Policy.from_text(
        "version: 1\nrules:\n"
        "  - {name: first, when: {audience: user}, mode: stream}\n"
        "  - {name: second, when: {audience: user}, mode: batch}\n"
    )
    decision = policy.decide(audience="user")
    assert (decision.rule, decision.mode) == ("first", "stream")
