"""Policy diff: the intents whose decision changes between two policies, and how.

Both policies cut one shared intent space (`router.policy.space`) into the regions each rule
(or the defaults) decides. Every pair of an old region and a new region that overlap and
decide differently — a different mode or different merged options; the rule's name does not
count, so a renamed rule is no change — is one change, with an example intent, the rules
deciding on each side, and the fields that bound it. A change made only of strings no
example could be built for (an unnamed string matching exactly some glob patterns) is
reported with `certain: false`: a deploy gate errs on the side of "different".
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

from router.decision import Options
from router.policy.analyze import DEFAULT_BUDGET_SECONDS
from router.policy.engine import Outcome, Policy
from router.policy.ir import NEEDS_USAGE
from router.policy.space import (
    Box,
    Budget,
    IntentSpace,
    OutOfBudget,
    Region,
    bounds,
    intersect,
    simplify,
    subtract_all,
)

__all__ = ["PolicyChange", "PolicyDiff", "diff_policies", "flatten_options"]

#: Billing values split into those whose options are resolved alike.
_BILLING_CLASSES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("none", ("none",)),
    ("after_delivery", tuple(sorted(NEEDS_USAGE))),
)


@dataclass(frozen=True, slots=True)
class PolicyChange:
    """One region of intents decided differently: from the old outcome to the new one."""

    old_rule: str | None
    new_rule: str | None
    old: dict[str, Any]
    new: dict[str, Any]
    changed: tuple[str, ...]
    example: dict[str, Any] | None
    where: tuple[dict[str, str], ...]
    certain: bool

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `router diff --format json`."""
        return {
            "from": {"rule": self.old_rule, **self.old},
            "to": {"rule": self.new_rule, **self.new},
            "changed": list(self.changed),
            "example": self.example,
            "where": list(self.where),
            "certain": self.certain,
        }


@dataclass(frozen=True, slots=True)
class PolicyDiff:
    """Every change between two policies; `same` is True only when proven."""

    old_source: str
    new_source: str
    changes: tuple[PolicyChange, ...]
    complete: bool = True

    @property
    def same(self) -> bool:
        """True when the two policies decide every intent alike (proven, not sampled)."""
        return self.complete and not self.changes

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `router diff --format json`."""
        return {
            "old": self.old_source,
            "new": self.new_source,
            "same": self.same,
            "complete": self.complete,
            "changes": [change.to_dict() for change in self.changes],
        }


def flatten_options(options: Options, mode: str) -> dict[str, Any]:
    """Mode and options as dotted keys (`timeouts_ms.first_token`), for showing differences."""
    out: dict[str, Any] = {"mode": mode}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else key, inner)
        else:
            out[prefix] = value

    walk("", options.to_dict())
    return out


def _rule_regions(
    policy: Policy, space: IntentSpace, budget: Budget
) -> tuple[list[Region], list[tuple[Outcome, Region]]]:
    """Each rule's condition region, and each rule's outcome with the intents it decides."""
    conditions = [space.region(rule.condition, budget) for rule in policy.rules]
    decided = [
        (rule.outcome, subtract_all(conditions[i], conditions[:i], budget))
        for i, rule in enumerate(policy.rules)
    ]
    return conditions, [(outcome, region) for outcome, region in decided if region]


def _boxes_meet(a: Box | None, b: Box | None) -> bool:
    return a is not None and b is not None and 0 not in map(operator.and_, a, b)


def _always_agree(a: Outcome, b: Outcome) -> bool:
    return (
        a.mode == b.mode
        and a.options == b.options
        and (a.options_with_usage == b.options_with_usage)
    )


def diff_policies(old: Policy, new: Policy, *, budget_seconds: float | None = None) -> PolicyDiff:
    """Compare two policies over every intent.

    When the time budget (default 2 s) runs out, `complete` is false and so is `same`.
    """
    seconds = DEFAULT_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    budget = Budget(seconds)
    changes: list[PolicyChange] = []
    try:
        space = IntentSpace.for_conditions(r.condition for r in (*old.rules, *new.rules))
        old_conditions, old_parts = _rule_regions(old, space, budget)
        new_conditions, new_parts = _rule_regions(new, space, budget)
        pairs: list[tuple[Outcome, Outcome, Region]] = []
        new_bounds = [bounds(region) for _, region in new_parts]
        for before, old_region in old_parts:
            old_bounds = bounds(old_region)
            for (after, new_region), new_box in zip(new_parts, new_bounds, strict=True):
                if _always_agree(before, after) or not _boxes_meet(old_bounds, new_box):
                    continue
                pairs.append((before, after, intersect(old_region, new_region, budget)))
            if not _always_agree(before, new.defaults):
                left = subtract_all(old_region, new_conditions, budget)
                pairs.append((before, new.defaults, left))
        for after, new_region in new_parts:
            if not _always_agree(old.defaults, after):
                left = subtract_all(new_region, old_conditions, budget)
                pairs.append((old.defaults, after, left))
        if not _always_agree(old.defaults, new.defaults):
            both = subtract_all([space.universe], [*old_conditions, *new_conditions], budget)
            pairs.append((old.defaults, new.defaults, both))
        for before, after, overlap in pairs:
            if overlap:
                change = _change(space, overlap, before, after, old, new, budget)
                if change is not None:
                    changes.append(change)
    except OutOfBudget:
        return PolicyDiff(old.source, new.source, tuple(changes), complete=False)
    return PolicyDiff(old.source, new.source, tuple(changes))


def _change(
    space: IntentSpace,
    overlap: Region,
    before: Outcome,
    after: Outcome,
    old: Policy,
    new: Policy,
    budget: Budget,
) -> PolicyChange | None:
    changed: dict[str, None] = {}
    old_values: dict[str, Any] = {}
    new_values: dict[str, Any] = {}
    region: Region = []
    for billing, values in _BILLING_CLASSES:
        here = intersect(overlap, space.only("billing", values), budget)
        if not here:
            continue
        was = flatten_options(before.options_for(billing), before.mode)
        now = flatten_options(after.options_for(billing), after.mode)
        keys = [key for key in was if was[key] != now.get(key)]
        if not keys:
            continue
        for key in keys:
            changed[key] = None
            old_values[key] = was[key]
            new_values[key] = now[key]
        region.extend(here)
    if not changed:
        return None
    region = simplify(region)
    example = _example(space, region, old, new, before.rule, after.rule)
    return PolicyChange(
        old_rule=before.rule,
        new_rule=after.rule,
        old=old_values,
        new=new_values,
        changed=tuple(changed),
        example=example,
        where=tuple(space.describe(box) for box in region),
        certain=example is not None,
    )


def _example(
    space: IntentSpace,
    region: Region,
    old: Policy,
    new: Policy,
    old_rule: str | None,
    new_rule: str | None,
) -> dict[str, Any] | None:
    """An intent of `region` that really goes to `old_rule` before and `new_rule` after."""
    for box in space.inhabited(region):
        intent = space.example(box)
        if (
            old.decide_intent(intent).rule == old_rule
            and new.decide_intent(intent).rule == new_rule
        ):
            return intent.to_dict()
    return None
