"""The generated rule chain: it agrees with the trace evaluator, and never embeds policy text."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.intent import FIELDS, Intent
from router.policy import Policy
from router.policy.evaluate import failure

STRINGS = ["a", "b", "gpt-4o", "o3", "search/web", ""]
GLOBS = ["a*", "*o*", "o[0-9]*", "?", "[!a]*", "search/*", "*b", "gpt-4o", "*", "**", ""]
NUMBERS = [0, 10, 63, 64, 100]
LABEL_KEYS = ["route", "tenant"]


def operand_values(kind: str, field: str) -> st.SearchStrategy[Any]:
    if kind == "enum":
        return st.sampled_from(FIELDS[field].allowed)
    if kind == "bool":
        return st.booleans()
    if kind == "int":
        return st.sampled_from(NUMBERS)
    return st.sampled_from(STRINGS)


def field_test(field: str) -> st.SearchStrategy[Any]:
    kind = "str" if field.startswith("labels.") else FIELDS[field].kind
    value = operand_values(kind, field)
    values = st.lists(value, min_size=1, max_size=3)
    options: list[st.SearchStrategy[Any]] = [
        value,
        st.fixed_dictionaries({"exists": st.booleans()}),
        st.fixed_dictionaries({"ne": value}),
    ]
    if kind != "bool":
        options += [
            values,
            st.fixed_dictionaries({"in": values}),
            st.fixed_dictionaries({"not_in": values}),
        ]
    if kind == "int":
        options += [
            st.fixed_dictionaries(
                {}, optional={op: value for op in ("lt", "lte", "gt", "gte")}
            ).filter(bool)
        ]
    if kind == "str":
        globs = st.sampled_from(GLOBS)
        options += [st.fixed_dictionaries({"glob": st.one_of(globs, st.lists(globs, min_size=1))})]
    return st.one_of(options)


CONDITION_FIELDS = [name for name in FIELDS if name != "labels"] + [
    f"labels.{key}" for key in LABEL_KEYS
]


FIELD_TESTS = {name: field_test(name) for name in CONDITION_FIELDS}


def conditions(depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """A `when` mapping of up to three keys (small, so random intents match some)."""
    parts = dict(FIELD_TESTS)
    if depth < 2:
        inner = st.deferred(lambda: conditions(depth + 1))
        parts["any"] = st.lists(inner, min_size=1, max_size=3)
        parts["all"] = st.lists(inner, min_size=1, max_size=2)
        parts["not"] = inner
    keys = st.lists(st.sampled_from(sorted(parts)), max_size=3, unique=True)
    return keys.flatmap(lambda names: st.fixed_dictionaries({n: parts[n] for n in names}))


policies = st.lists(conditions(), min_size=0, max_size=8).map(
    lambda whens: {
        "version": 1,
        "rules": [{"name": f"r{i}", "when": when} for i, when in enumerate(whens)],
    }
)

intents = st.builds(
    Intent,
    audience=st.none() | st.sampled_from(FIELDS["audience"].allowed),
    output=st.none() | st.sampled_from(FIELDS["output"].allowed),
    tools=st.none() | st.sampled_from(FIELDS["tools"].allowed),
    post_process=st.none() | st.booleans(),
    billing=st.none() | st.sampled_from(FIELDS["billing"].allowed),
    expected_tokens=st.none() | st.sampled_from(NUMBERS) | st.integers(0, 200),
    model=st.none() | st.sampled_from(STRINGS),
    provider=st.none() | st.sampled_from(STRINGS),
    labels=st.dictionaries(st.sampled_from(LABEL_KEYS), st.sampled_from(STRINGS)),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=policies, samples=st.lists(intents, min_size=1, max_size=20))
def test_generated_chain_agrees_with_the_trace_evaluator(
    document: dict[str, Any], samples: list[Intent]
) -> None:
    policy = Policy.from_text(yaml.safe_dump(document))
    for intent in samples:
        reference = next(
            (rule.name for rule in policy.rules if failure(rule.condition, intent) is None), None
        )
        assert policy.decide_intent(intent).rule == reference, policy.chain_source
        assert policy.decide_intent(intent, explain=True).rule == reference


HOSTILE = "x\"); __import__('os').system('false'); (\"\n\\"


def test_policy_text_never_reaches_the_generated_source() -> None:
    document = {
        "version": 1,
        "rules": [
            {"name": HOSTILE, "when": {f"labels.{HOSTILE}": HOSTILE}, "mode": "stream"},
            {"name": "model", "when": {"model": {"glob": HOSTILE + "*"}}},
            {"name": "list", "when": {"provider": {"not_in": [HOSTILE]}}},
        ],
    }
    policy = Policy.from_text(yaml.safe_dump(document))
    assert "import" not in policy.chain_source
    assert "os" not in policy.chain_source.replace("_k", "")
    assert policy.decide(labels={HOSTILE: HOSTILE}).rule == HOSTILE
    assert policy.decide(model=HOSTILE + "-x").rule == "model"
    assert policy.decide(provider="p").rule == "list"
    assert policy.decide(provider=HOSTILE).rule is None


def test_an_empty_glob_matches_only_the_empty_string_as_fnmatch_says() -> None:
    policy = Policy.from_text(
        "version: 1\nrules:\n  - {name: empty, when: {model: {glob: ['', 'x**']}}}\n"
    )
    for model, rule in (("", "empty"), ("gpt-4o", None), ("x", "empty"), ("xy", "empty")):
        assert policy.decide(model=model).rule == rule, model
        assert policy.decide(model=model, explain=True).rule == rule, model


def test_generated_source_is_a_plain_if_chain() -> None:
    policy = Policy.from_text(
        "version: 1\nrules:\n  - {name: a, when: {audience: user}}\n  - {name: b}\n"
        "  - {name: unreachable, when: {audience: service}}\n"
    )
    assert policy.chain_source.splitlines() == [
        "def _chain(intent):",
        "    if (intent.audience == _k1):",
        "        return _k2",
        "    return _k3",
    ]
