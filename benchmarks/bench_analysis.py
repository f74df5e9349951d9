"""Policy analysis and diff speed on a 50-rule gateway policy.

    python benchmarks/bench_analysis.py          # or: python benchmarks/run.py analysis

The policy routes by `labels.route` and `labels.tenant`, matches 50 model globs, cuts
`expected_tokens` at several thresholds and mixes `any`/`not`: the shapes that make cells
multiply. Targets: full analysis (reachability, cover, redundancy, warnings, examples) at
most 200 ms; diff of two 50-rule policies at most 500 ms. No peer offers this for
stream/batch routing; OPA's tests and coverage and Cedar's SMT analysis are the nearest.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from router.policy import Policy
from router.policy.analyze import analyze_policy
from router.policy.diff import diff_policies

RUNS = 15


def gateway_policy(threshold: int = 64, first_token: str = "3m") -> str:
    """A realistic 50-rule policy (the second argument varies it for the diff)."""
    lines = [
        "version: 1",
        "defaults: {mode: batch, timeouts: {total: 5m}}",
        "rules:",
        "  - {name: cost-first, when: {billing: before_delivery}, mode: batch}",
        "  - {name: parsed, when: {post_process: true}, mode: batch, validate: true}",
        f"  - {{name: short, when: {{expected_tokens: {{lt: {threshold}}}}}, mode: batch}}",
    ]
    for n in range(44):
        route = f"route-{n % 11}"
        tenant = f"tenant-{n % 7}"
        when = (
            f"{{labels.route: {route}, any: [{{model: {{glob: 'gpt-{n}*'}}}},"
            f" {{labels.tenant: {tenant}}}], not: {{expected_tokens: {{gte: {1000 + n * 100}}}}}}}"
        )
        mode = "stream" if n % 3 else "batch"
        lines.append(f"  - {{name: r{n}, when: {when}, mode: {mode}}}")
    lines += [
        "  - {name: reasoning, when: {audience: user, model: {glob: 'o[0-9]*'}}, mode: stream,"
        f" timeouts: {{first_token: {first_token}}}}}",
        "  - {name: azure-people, when: {audience: user, provider: azure}, mode: stream}",
        "  - {name: people, when: {audience: user}, mode: stream}",
    ]
    return "\n".join(lines) + "\n"


def median_ms(function: Callable[[], object]) -> tuple[float, float]:
    """Median wall and CPU milliseconds (CPU time is steadier on a busy machine)."""
    wall, cpu = [], []
    for _ in range(RUNS):
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    old = Policy.from_text(gateway_policy(), source="old.yaml")
    new = Policy.from_text(gateway_policy(threshold=128, first_token="5m"), source="new.yaml")
    assert len(old.rules) == 50
    analysis = analyze_policy(old)
    diff = diff_policies(old, new)
    assert analysis.exact, "the benchmark policy should be analysed exactly"
    analyze_ms = median_ms(lambda: analyze_policy(old))
    diff_ms = median_ms(lambda: diff_policies(old, new))
    same_ms = median_ms(lambda: diff_policies(old, old))
    print(f"{'measure':<44}{'wall':>10}{'cpu':>10}{'target':>10}{'wall/target':>12}")
    for label, (wall, cpu), target in (
        ("analyze 50 rules (exact)", analyze_ms, 200.0),
        (f"diff 50 vs 50 rules ({len(diff.changes)} changes)", diff_ms, 500.0),
        ("diff a 50-rule policy with itself", same_ms, 500.0),
    ):
        print(f"{label:<44}{wall:>8.1f}ms{cpu:>8.1f}ms{target:>8.0f}ms{wall / target:>12.2f}")
    reachable = sum(1 for r in analysis.rules if r.reachable is True)
    print(f"\nrules reachable: {reachable}/50; defaults reachable: {analysis.defaults_reachable}")


if __name__ == "__main__":
    main()
