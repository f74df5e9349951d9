"""Random policies and a grid of intents, to check the analysis against evaluation."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import strategies as st

from router.intent import Intent
from router.policy.engine import Policy

_PREDICATES = [
    "audience: user",
    "audience: service",
    "audience: {exists: false}",
    "audience: {ne: user}",
    "output: [json, schema]",
    "output: text",
    "post_process: true",
    "billing: none",
    "billing: {ne: none}",
    "expected_tokens: {lt: 64}",
    "expected_tokens: {gte: 64}",
    "expected_tokens: {lte: 10}",
    "expected_tokens: {exists: true}",
    'model: {glob: "gpt-4*"}',
    'model: {glob: "gpt-4o*"}',
    "model: gpt-4o-mini",
    "model: {not_in: [gpt-4o-mini, o3]}",
    "labels.tenant: acme",
    "labels.tenant: {exists: true}",
]

_CONDITIONS = st.one_of(
    st.just("{}"),
    st.sampled_from(_PREDICATES).map(lambda p: "{" + p + "}"),
    st.lists(st.sampled_from(_PREDICATES), min_size=2, max_size=3).map(
        lambda ps: "{all: [" + ", ".join("{" + p + "}" for p in ps) + "]}"
    ),
    st.sampled_from(_PREDICATES).map(lambda p: "{not: {" + p + "}}"),
    st.lists(st.sampled_from(_PREDICATES), min_size=1, max_size=3).map(
        lambda ps: "{any: [" + ", ".join("{" + p + "}" for p in ps) + "]}"
    ),
)

_OPTIONS = st.sampled_from(
    [
        "mode: stream",
        "mode: batch",
        "mode: stream, stream: {include_usage: never}",
        "mode: batch, timeouts: {total: 20m}",
    ]
)


@st.composite
def random_policies(draw: st.DrawFn) -> tuple[str, Policy]:
    count = draw(st.integers(min_value=0, max_value=6))
    lines = []
    for i in range(count):
        when = draw(_CONDITIONS)
        lines.append(f"  - {{name: r{i}, when: {when}, {draw(_OPTIONS)}}}\n")
    defaults = draw(st.sampled_from(["", "defaults: {mode: stream}\n"]))
    text = "version: 1\n" + defaults + "rules:\n" + "".join(lines)
    if not lines:
        text = text.replace("rules:\n", "rules: []\n")
    return text, Policy.from_text(text, source="r.yaml")


def _sample_intents() -> list[Intent]:
    values: dict[str, list[Any]] = {
        "audience": [None, "user", "service"],
        "output": ["text", "json"],
        "post_process": [False, True],
        "billing": ["none", "after_delivery"],
        "expected_tokens": [None, 0, 10, 11, 63, 64, 500],
        "model": [None, "gpt-4o-mini", "gpt-4o", "gpt-4-turbo", "o3", "llama", "gpt-4o-x"],
        "tenant": [None, "acme", "globex"],
    }
    out = []
    for combo in itertools.product(*values.values()):
        hints = dict(zip(values, combo, strict=True))
        tenant = hints.pop("tenant")
        hints = {k: v for k, v in hints.items() if v is not None}
        if tenant is not None:
            hints["labels"] = {"tenant": tenant}
        out.append(Intent.from_request(None, **hints))
    return out


SAMPLES = _sample_intents()
