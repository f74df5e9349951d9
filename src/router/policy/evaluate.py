"""The trace evaluator: walks a condition tree and says which test failed, and why.

It is the reference semantics (DESIGN: two-valued logic). The generated evaluator in
`codegen` must agree with it on every intent; a hypothesis test checks that.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

from router.intent import Intent
from router.policy.ir import AllOf, AnyOf, Condition, Not, Predicate

__all__ = ["failure", "format_value", "holds", "predicate_holds"]


def predicate_holds(predicate: Predicate, value: object) -> bool:
    """Whether one predicate holds for a field value (None: the field is missing)."""
    op = predicate.op
    operand = predicate.operand
    if op == "exists":
        return (value is not None) is operand
    if value is None:
        return False
    if op == "eq":
        return bool(value == operand)
    if op == "in" or op == "not_in":
        assert isinstance(operand, frozenset)
        return (value in operand) is (op == "in")
    if op == "ne":
        return bool(value != operand)
    if op == "glob":
        assert isinstance(operand, tuple)
        return any(fnmatch.fnmatchcase(str(value), pattern) for pattern in operand)
    assert isinstance(value, int)
    assert isinstance(operand, int)
    number, bound = value, operand
    if op == "lt":
        return number < bound
    if op == "lte":
        return number <= bound
    if op == "gt":
        return number > bound
    return number >= bound  # gte


def holds(condition: Condition, intent: Intent) -> bool:
    """Whether `condition` holds for `intent`."""
    return failure(condition, intent) is None


def format_value(value: object) -> str:
    """A value as the trace and the docs write it: `true`, `none`, `64`, `[a, b]`."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, frozenset | set):  # no order of its own: sort for stable output
        return "[" + ", ".join(sorted(format_value(v) for v in value)) + "]"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


_WORDS = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


def _predicate_failure(predicate: Predicate, value: object) -> str:
    field = predicate.field
    op = predicate.op
    operand = format_value(predicate.operand)
    if op == "exists":
        return (
            f"{field}: missing" if predicate.operand else f"{field}: {format_value(value)} is set"
        )
    if value is None:
        return f"{field}: missing"
    shown = format_value(value)
    if op == "eq":
        return f"{field}: {shown} is not {operand}"
    if op == "in":
        return f"{field}: {shown} is not in {operand}"
    if op == "not_in":
        return f"{field}: {shown} is in {operand}"
    if op == "ne":
        return f"{field}: {shown} is {operand}"
    if op == "glob":
        return f"{field}: {shown} does not match {operand}"
    return f"{field}: {shown} is not {_WORDS[op]} {operand}"


def failure(condition: Condition, intent: Intent) -> str | None:
    """None when `condition` holds, else the first test that failed, with the actual value."""
    if isinstance(condition, Predicate):
        value = intent.get(condition.field)
        if predicate_holds(condition, value):
            return None
        return _predicate_failure(condition, value)
    if isinstance(condition, AllOf):
        for item in condition.items:
            reason = failure(item, intent)
            if reason is not None:
                return reason
        return None
    if isinstance(condition, AnyOf):
        reasons = []
        for item in condition.items:
            reason = failure(item, intent)
            if reason is None:
                return None
            reasons.append(reason)
        return "none of any: " + "; ".join(reasons)
    inner = condition.item
    if failure(inner, intent) is None:
        return f"not: {_describe(inner, intent)}"
    return None


def _describe(condition: Condition, intent: Intent) -> str:
    """What held, for a `not` that failed: `audience: user`."""
    if isinstance(condition, Predicate):
        return f"{condition.field}: {format_value(intent.get(condition.field))}"
    if isinstance(condition, Not):
        return "not: (…)"
    parts: Iterable[Condition] = condition.items
    if isinstance(condition, AnyOf):
        parts = [item for item in condition.items if holds(item, intent)][:1]
    described = [_describe(item, intent) for item in parts]
    return ", ".join(described) if described else "(always true)"
