"""Generate one Python function for a policy's rule chain: an if-chain as fast as hand-written.

Every value that comes from the policy (operands, label keys, glob matchers, the outcomes)
is passed through the function's namespace under a generated name; the source text only
holds generated names, intent field names (a fixed set) and operators, so no text of the
policy is ever interpolated into code. The generated function has no builtins.

The trace evaluator in `evaluate` is the reference; a hypothesis test checks both agree.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence
from typing import Any

from router.intent import FIELDS, Intent
from router.policy.ir import AllOf, Condition, Not, Predicate

__all__ = ["compile_chain"]

_COMPARE = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "ne": "!=", "not_in": "not in"}


class _Generator:
    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {"__builtins__": {}}
        self.temps = 0

    def const(self, value: object) -> str:
        name = f"_k{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def expr(self, condition: Condition) -> str:
        if isinstance(condition, Predicate):
            return self.predicate(condition)
        if isinstance(condition, Not):
            return f"(not {self.expr(condition.item)})"
        if not condition.items:
            return "True" if isinstance(condition, AllOf) else "False"
        joiner = " and " if isinstance(condition, AllOf) else " or "
        parts = [self.expr(item) for item in condition.items]
        return parts[0] if len(parts) == 1 else "(" + joiner.join(parts) + ")"

    def predicate(self, p: Predicate) -> str:
        label = p.label
        if label is None:
            assert p.field in FIELDS  # a fixed identifier, never policy text
            read = f"intent.{p.field}"
            first = again = read
        else:
            read = f"intent.labels.get({self.const(label)})"
            self.temps += 1
            again = f"_v{self.temps}"
            first = f"({again} := {read})"
        op = p.op
        if op == "exists":
            return f"({read} is {'not ' if p.operand else ''}None)"
        if op == "eq":
            return f"({read} == {self.const(p.operand)})"
        if op == "in":
            return f"({read} in {self.const(p.operand)})"
        if op == "glob":
            patterns = p.operand
            assert isinstance(patterns, tuple)
            return f"({first} is not None and {self.globs(again, patterns)})"
        return f"({first} is not None and {again} {_COMPARE[op]} {self.const(p.operand)})"

    def globs(self, value: str, patterns: tuple[str, ...]) -> str:
        """`value` matches one of `patterns` (fnmatchcase), with str methods where exact.

        `abc*` is `startswith`, `*abc` `endswith`, `*abc*` a substring test and `abc` an
        equality, all exactly what fnmatchcase means; other patterns share one regex.
        """
        tests = []
        regex = []
        for pattern in patterns:
            core = pattern.strip("*")
            if any(c in core for c in "*?["):
                regex.append(pattern)
                continue
            lead, trail = pattern.startswith("*"), pattern.endswith("*")
            if not core and pattern:  # only stars; the empty pattern matches only ""
                tests.append("True")
            elif lead and trail:
                tests.append(f"{self.const(core)} in {value}")
            elif lead:
                tests.append(f"{value}.endswith({self.const(core)})")
            elif trail:
                tests.append(f"{value}.startswith({self.const(core)})")
            else:
                tests.append(f"{value} == {self.const(core)}")
        if regex:
            matcher = re.compile("|".join(fnmatch.translate(x) for x in regex)).match
            tests.append(f"{self.const(matcher)}({value}) is not None")
        return tests[0] if len(tests) == 1 else "(" + " or ".join(tests) + ")"


def compile_chain(
    conditions: Sequence[AllOf], outcomes: Sequence[object], default: object
) -> tuple[Callable[[Intent], Any], str]:
    """A function `intent -> outcome of the first rule that holds (else default)`, and its source.

    `outcomes[i]` is returned when `conditions[i]` is the first to hold.
    """
    gen = _Generator()
    lines = ["def _chain(intent):"]
    for condition, outcome in zip(conditions, outcomes, strict=True):
        test = gen.expr(condition)
        if test == "True":
            lines.append(f"    return {gen.const(outcome)}")
            break
        lines.append(f"    if {test}:")
        lines.append(f"        return {gen.const(outcome)}")
    else:
        lines.append(f"    return {gen.const(default)}")
    source = "\n".join(lines) + "\n"
    code = compile(source, "<router policy chain>", "exec")
    exec(code, gen.namespace)  # the source holds only generated names, see the module doc
    chain: Callable[[Intent], Any] = gen.namespace["_chain"]
    return chain, source
