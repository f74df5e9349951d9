"""Policy engine speed: the compiled rule chain against a hand-written if/elif chain.

Measured side by side in one run (interleaved rounds, medians):

- rule chain: a 12-rule policy compiled by `router` versus the same 12 rules written by hand
  as an if/elif chain, and versus the trace evaluator (`explain=True` walks the tree);
- `Policy.decide(**hints)` end to end: hint checks, inference, evaluation, the Decision;
- `Policy.decide(request, **hints)`: the same from a Chat Completions body;
- loading (parse, check, merge, generate code) a 50-rule policy.

Peers are not installed here; their published or previously measured medians are printed
for reference: the Rust CEL binding ~5 µs, cedarpy ~46 µs per decision, OPA 35.8 µs.

    python benchmarks/bench_policy.py            # or: python benchmarks/run.py policy

Targets: chain <= 1.5x hand-written; decide(**hints) <= 3 µs; 50-rule load <= 20 ms.
"""

from __future__ import annotations

import fnmatch
import gc
import re
import statistics
import time
from collections.abc import Callable
from typing import Any

from router.intent import Intent
from router.policy import Policy

#: Rounds of every measurement, interleaved. Each run lasts about a millisecond, so that
#: being descheduled on a busy machine spoils few samples and the median stays honest.
ROUNDS = 61
CALLS = 200
HAND = "hand-written if/elif chain, 12 rules"
CHAIN = "compiled rule chain, 12 rules"
DECIDE = "Policy.decide(**hints), 3 hints, 12 rules"
LOAD = "load a 50-rule policy (parse, check, compile)"
#: A fixed piece of pure Python, to tell how busy or fast the machine was during the run.
REFERENCE = "machine reference: sum(range(1000))"
PEERS = (("Rust CEL binding", 5.0), ("OPA (published median)", 35.8), ("cedarpy", 46.0))

POLICY_12 = """\
version: 1
defaults: {mode: batch}
rules:
  - {name: r1, when: {billing: before_delivery}, mode: batch}
  - {name: r2, when: {post_process: true}, mode: batch, validate: true}
  - {name: r3, when: {labels.route: bulk}, mode: batch}
  - {name: r4, when: {audience: user, labels.tenant: [acme, globex]}, mode: stream}
  - {name: r5, when: {expected_tokens: {lt: 64}}, mode: batch}
  - {name: r6, when: {audience: user, model: {glob: "o[0-9]*"}}, mode: stream}
  - {name: r7, when: {model: {glob: "*reasoner*"}}, mode: stream}
  - {name: r8, when: {audience: user, provider: azure}, mode: stream}
  - {name: r9, when: {tools: required, not: {audience: user}}, mode: batch}
  - {name: r10, when: {audience: user, tools: offered}, mode: stream}
  - {name: r11, when: {expected_tokens: {gte: 4000}}, mode: batch}
  - {name: r12, when: {audience: user}, mode: stream}
"""

_O_SERIES = re.compile(fnmatch.translate("o[0-9]*")).match
_TENANTS = frozenset({"acme", "globex"})


def hand_written(outcomes: list[Any], default: Any) -> Callable[[Intent], Any]:
    """The same 12 rules as a person would write them."""
    r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12 = outcomes

    def chain(i: Intent) -> Any:
        if i.billing == "before_delivery":
            return r1
        if i.post_process is True:
            return r2
        if i.labels.get("route") == "bulk":
            return r3
        if i.audience == "user" and i.labels.get("tenant") in _TENANTS:
            return r4
        if i.expected_tokens is not None and i.expected_tokens < 64:
            return r5
        if i.audience == "user" and i.model is not None and _O_SERIES(i.model):
            return r6
        if i.model is not None and "reasoner" in i.model:
            return r7
        if i.audience == "user" and i.provider == "azure":
            return r8
        if i.tools == "required" and i.audience != "user":
            return r9
        if i.audience == "user" and i.tools == "offered":
            return r10
        if i.expected_tokens is not None and i.expected_tokens >= 4000:
            return r11
        if i.audience == "user":
            return r12
        return default

    return chain


INTENTS = [
    Intent.from_request(billing="before_delivery"),
    Intent.from_request(audience="user", model="gpt-4o"),
    Intent.from_request(audience="user", model="o3", expected_tokens=2000),
    Intent.from_request(audience="service", model="gpt-4o-mini", expected_tokens=800),
    Intent.from_request(audience="user", tools="offered", provider="openai"),
    Intent.from_request(audience="service", expected_tokens=8000, labels={"route": "etl"}),
    Intent.from_request(audience="user", labels={"tenant": "acme"}),
    Intent.from_request(model="deepseek-reasoner"),
]


def policy_50() -> str:
    lines = ["version: 1", "defaults: {mode: batch, timeouts: {total: 5m}}", "rules:"]
    for n in range(50):
        lines += [
            f"  - name: rule-{n}",
            f"    description: Rule number {n} of a large policy.",
            "    when:",
            "      audience: user",
            f"      labels.route: {{in: [route-{n}, alt-{n}]}}",
            f"      expected_tokens: {{gte: {n}, lt: {n + 1000}}}",
            f"      any: [{{model: {{glob: 'gpt-{n}*'}}}}, {{not: {{billing: none}}}}]",
            f"    mode: {'stream' if n % 2 else 'batch'}",
            f"    timeouts: {{first_token: {n + 1}s}}",
        ]
    return "\n".join(lines) + "\n"


def per_call_us(function: Callable[[], object], calls_per_run: int) -> tuple[float, float]:
    """One run's wall-clock and CPU time divided by its calls, in microseconds.

    CPU time (this process only) is shown beside wall-clock time because the machine is
    shared: when other processes keep both cores busy, wall-clock time includes waiting.
    """
    wall, cpu = time.perf_counter_ns(), time.process_time_ns()
    function()
    cpu_ns, wall_ns = time.process_time_ns() - cpu, time.perf_counter_ns() - wall
    return wall_ns / calls_per_run / 1000.0, cpu_ns / calls_per_run / 1000.0


def main() -> None:
    policy = Policy.from_text(POLICY_12)
    outcomes = [rule.outcome for rule in policy.rules]
    hand = hand_written(outcomes, policy.defaults)
    generated = policy._chain
    for intent in INTENTS:  # the two chains must agree before they are compared
        assert generated(intent) is hand(intent), intent
    repeat = 100
    batch = INTENTS * repeat

    def run_hand() -> None:
        for intent in batch:
            hand(intent)

    def run_generated() -> None:
        for intent in batch:
            generated(intent)

    def run_trace() -> None:
        for intent in INTENTS * 2:
            policy.decide_intent(intent, explain=True)

    def run_decide_hints() -> None:
        decide = policy.decide
        for _ in range(CALLS):
            decide(audience="user", model="gpt-4o", billing="after_delivery")

    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 500}

    def run_decide_body() -> None:
        decide = policy.decide
        for _ in range(CALLS):
            decide(body, audience="user")

    text_50 = policy_50()
    assert len(Policy.from_text(text_50).rules) == 50

    def run_load_50() -> None:
        Policy.from_text(text_50)

    def run_intent() -> None:
        build = Intent.from_request
        for _ in range(CALLS):
            build(audience="user", model="gpt-4o", billing="after_delivery")

    def run_reference() -> None:
        for _ in range(20):
            sum(range(1000))

    cases: dict[str, tuple[Callable[[], None], int]] = {
        HAND: (run_hand, len(batch)),
        CHAIN: (run_generated, len(batch)),
        "trace evaluator (explain=True), 12 rules": (run_trace, len(INTENTS) * 2),
        "Intent.from_request(**hints), 3 hints": (run_intent, CALLS),
        DECIDE: (run_decide_hints, CALLS),
        "Policy.decide(body, audience=...)": (run_decide_body, CALLS),
        LOAD: (run_load_50, 1),
        REFERENCE: (run_reference, 20),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    cpu_samples: dict[str, list[float]] = {name: [] for name in cases}
    gc.collect()
    for _ in range(ROUNDS):  # interleaved, so machine noise falls on all alike
        for name, (function, calls) in cases.items():
            wall, cpu = per_call_us(function, calls)
            samples[name].append(wall)
            cpu_samples[name].append(cpu)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    cpu_medians = {name: statistics.median(values) for name, values in cpu_samples.items()}
    hand_us = medians[HAND]
    chain_ratio = medians[CHAIN] / hand_us
    targets = {
        CHAIN: f"<= 1.5x hand-written: {chain_ratio:.2f}x",
        DECIDE: "<= 3 µs",
        LOAD: "<= 20 ms",
    }
    print("| measurement | median | median CPU time | x hand-written chain | target |")
    print("|---|---:|---:|---:|---|")
    for name, value in medians.items():
        print(
            f"| {name} | {_shown(value)} | {_shown(cpu_medians[name])} "
            f"| {f'{value / hand_us:.1f}x' if name not in (LOAD, REFERENCE) else ''} "
            f"| {targets.get(name, '')} |"
        )
    decide_us = medians[DECIDE]
    print()
    print("| peer (not installed here; published or earlier medians) | per decision | vs ours |")
    print("|---|---:|---:|")
    for peer, us in PEERS:
        print(f"| {peer} | {us:.1f} µs | {us / decide_us:.1f}x slower than decide(**hints) |")


def _shown(us: float) -> str:
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.2f} µs"


if __name__ == "__main__":
    main()
