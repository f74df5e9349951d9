"""Policy analysis: which rules can fire, which earlier rules hide them, which change nothing.

Rules are tried top to bottom, so rule *i* decides exactly the intents its condition holds
for and no earlier rule's does. With conditions as regions of the intent space
(`router.policy.space`) that is exact set algebra. A rule is

- reachable (true) when some intent reaches it: the report carries one, checked by deciding it;
- shadowed (false) when every intent it matches is taken by earlier rules, which are named
  (`covered_by`: a small set of them that together cover it);
- "may" when what is left for it is made only of strings no example could be found for
  (an unnamed string matching exactly some glob patterns), or the time budget ran out.

A reachable rule is redundant when removing it changes no decision: every intent that
reaches it gets the same mode and options from a later rule or from the defaults. Risky
combinations of options are reported as warnings too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from router.errors import Diagnostic
from router.intent import Intent
from router.policy.engine import Outcome, Policy, Rule
from router.policy.ir import NEEDS_USAGE, Condition
from router.policy.space import (
    Budget,
    IntentSpace,
    OutOfBudget,
    Region,
    find_outside,
    intersect,
    subtract,
    subtract_all,
)

__all__ = [
    "DEFAULT_BUDGET_SECONDS",
    "PolicyAnalysis",
    "Reachability",
    "RuleReport",
    "analyze_policy",
    "outcomes_agree",
]

Reachability: TypeAlias = bool | Literal["may"]

#: How long one analysis may take before unproven answers become "may".
DEFAULT_BUDGET_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class RuleReport:
    """What the analysis found about one rule."""

    name: str
    line: int
    reachable: Reachability
    covered_by: tuple[str, ...] = ()
    redundant: bool = False
    example: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `router check --format json` (keys are never renamed)."""
        return {
            "name": self.name,
            "line": self.line,
            "reachable": self.reachable,
            "covered_by": list(self.covered_by),
            "redundant": self.redundant,
            "example": self.example,
        }


@dataclass(frozen=True, slots=True)
class PolicyAnalysis:
    """Reachability of every rule and of the defaults, and the warnings found."""

    source: str
    rules: tuple[RuleReport, ...]
    defaults_reachable: Reachability
    defaults_example: dict[str, Any] | None = None
    warnings: tuple[Diagnostic, ...] = field(default=())
    exact: bool = True

    def to_dict(self) -> dict[str, Any]:
        """`defaults_reachable`, `rules` and `warnings` as `router check` prints them."""
        return {
            "defaults_reachable": self.defaults_reachable,
            "defaults_example": self.defaults_example,
            "exact": self.exact,
            "warnings": [w.to_dict() for w in self.warnings],
            "rules": [rule.to_dict() for rule in self.rules],
        }


def outcomes_agree(a: Outcome, b: Outcome, billing: str | None) -> bool:
    """Whether two outcomes give an intent with this billing the same mode and options."""
    return a.mode == b.mode and a.options_for(billing) == b.options_for(billing)


def analyze_policy(policy: Policy, *, budget_seconds: float | None = None) -> PolicyAnalysis:
    """Analyse `policy`: reachability, cover, redundancy and risky combinations.

    Exact for this language; answers become "may" (and `exact` false) only where no example
    string can be built for a glob, or when the time budget (default 2 s) runs out.
    """
    seconds = DEFAULT_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    budget = Budget(seconds)
    try:
        space = IntentSpace.for_conditions(rule.condition for rule in policy.rules)
        regions = [space.region(rule.condition, budget) for rule in policy.rules]
        reports, defaults, defaults_example = _reachability(policy, space, regions, budget)
    except OutOfBudget:
        reports = [RuleReport(rule.name, rule.line, "may") for rule in policy.rules]
        defaults, defaults_example = "may", None
        regions = None
    exact = defaults != "may" and all(report.reachable != "may" for report in reports)
    warnings = _warnings(policy, reports, regions)
    return PolicyAnalysis(
        policy.source, tuple(reports), defaults, defaults_example, tuple(warnings), exact
    )


def _reachability(
    policy: Policy, space: IntentSpace, regions: list[Region], budget: Budget
) -> tuple[list[RuleReport], Reachability, dict[str, Any] | None]:
    rules = policy.rules
    reports: list[RuleReport] = []
    for i, rule in enumerate(rules):
        # Only earlier rules that meet this one can take anything from it: in a large
        # policy most rules are disjoint, so this stays close to linear.
        here = subtract_all(regions[i], regions[:i], budget)
        reachable, example = _reach(policy, space, here, rule.name)
        covered_by = () if here else _cover(rules, i, regions, budget)
        redundant = bool(here) and _redundant(policy, space, regions, i, here, budget)
        reports.append(RuleReport(rule.name, rule.line, reachable, covered_by, redundant, example))
    defaults, defaults_example = _reach_defaults(policy, space, regions, budget)
    return reports, defaults, defaults_example


def _reach_defaults(
    policy: Policy, space: IntentSpace, regions: list[Region], budget: Budget
) -> tuple[Reachability, dict[str, Any] | None]:
    """Whether some intent matches no rule, searched point-wise (the complement can be huge)."""
    for box in space.inhabited([space.universe]):
        found = find_outside([box], regions, budget)
        if found is not None:
            example = _checked_example(policy, space, [found], None)
            if example is not None:
                return True, example
    if find_outside([space.universe], regions, budget) is None:
        return False, None
    return "may", None


def _reach(
    policy: Policy, space: IntentSpace, region: Region, rule: str | None
) -> tuple[Reachability, dict[str, Any] | None]:
    if not region:
        return False, None
    example = _checked_example(policy, space, region, rule)
    return (True, example) if example is not None else ("may", None)


def _checked_example(
    policy: Policy, space: IntentSpace, region: Region, expected: str | None
) -> dict[str, Any] | None:
    """An intent of `region`, confirmed by deciding it, so a report never claims falsely."""
    for box in space.inhabited(region):
        intent: Intent = space.example(box)
        if policy.decide_intent(intent).rule == expected:
            return intent.to_dict()
    return None


def _cover(
    rules: tuple[Rule, ...], i: int, regions: list[Region], budget: Budget
) -> tuple[str, ...]:
    """Earlier rules that together take all of rule `i`: a small such set."""
    target = regions[i]
    chosen = [j for j in range(i) if intersect(target, regions[j], budget)]
    for j in list(chosen):  # drop every rule the others can do without
        rest = [k for k in chosen if k != j]
        left = target
        for k in rest:
            left = subtract(left, regions[k], budget)
        if not left:
            chosen = rest
    return tuple(rules[j].name for j in chosen)


def _redundant(
    policy: Policy,
    space: IntentSpace,
    regions: list[Region],
    i: int,
    reaching: Region,
    budget: Budget,
) -> bool:
    """True when, without rule `i`, every intent that reaches it is decided the same."""
    rules = policy.rules
    mine = rules[i].outcome
    left = reaching
    for j in range(i + 1, len(rules)):
        if not left:
            return True
        hit = intersect(left, regions[j], budget)
        if hit and not _agree_on(space, hit, mine, rules[j].outcome, budget):
            return False
        left = subtract(left, regions[j], budget)
    return not left or _agree_on(space, left, mine, policy.defaults, budget)


def _agree_on(space: IntentSpace, region: Region, a: Outcome, b: Outcome, budget: Budget) -> bool:
    """Whether `a` and `b` decide alike for every intent of `region` (billing matters)."""
    for billing in ("none", *sorted(NEEDS_USAGE)):
        if intersect(region, space.only("billing", [billing]), budget) and not outcomes_agree(
            a, b, billing
        ):
            return False
    return True


# --- warnings ----------------------------------------------------------------------------


def _warnings(
    policy: Policy, reports: list[RuleReport], regions: list[Region] | None
) -> list[Diagnostic]:
    source = policy.source
    out: list[Diagnostic] = []
    for rule, report in zip(policy.rules, reports, strict=True):
        where = f'rule "{rule.name}"'
        if report.reachable is False:
            covered = ", ".join(f'"{name}"' for name in report.covered_by) or "earlier rules"
            message = f"{where} can never match: every intent it matches goes to {covered} first"
            out.append(_warning(source, rule.line, rule.column, message, "shadowed"))
        elif report.redundant:
            message = f"{where} is redundant: removing it changes no decision"
            out.append(_warning(source, rule.line, rule.column, message, "redundant"))
        condition = None if regions is None else rule.condition
        out.extend(_risks(source, where, rule.line, rule.column, rule.outcome, condition))
    out.extend(_risks(source, "the defaults", 1, 1, policy.defaults, None))
    return out


def _warning(source: str, line: int, column: int, message: str, code: str) -> Diagnostic:
    return Diagnostic(source, line, column, message, severity="warning", code=code)


def _risks(
    source: str, where: str, line: int, column: int, outcome: Outcome, condition: Condition | None
) -> list[Diagnostic]:
    """Risky option combinations of one outcome; `condition` (None: any intent) is what
    reaches it, looked at only when the usage warning is in question."""
    found: list[Diagnostic] = []
    options = outcome.options_with_usage
    streams = outcome.mode == "stream"
    if (
        streams
        and outcome.settings.include_usage == "never"
        and (condition is None or _admits_usage_billing(condition))
    ):
        message = (
            f"{where} streams with include_usage: never, so a call whose billing needs "
            "usage gets none"
        )
        found.append(_warning(source, line, column, message, "usage-never"))
    timeouts = options.timeouts
    # first_token and idle run on streams only: a batch call has connect and total.
    for clock in ("first_token", "idle") if streams else ():
        value = getattr(timeouts, clock)
        if value > timeouts.total:
            message = (
                f"{where}: timeouts.{clock} ({value:g}s) is longer than timeouts.total "
                f"({timeouts.total:g}s), so it can never fire"
            )
            found.append(_warning(source, line, column, message, "clock-longer-than-total"))
    if streams and options.validate.enabled and options.validate.reask > 0:
        message = (
            f"{where} re-asks on a stream rule: the text has already reached the caller when "
            "validation fails, and a re-ask cannot take it back"
        )
        found.append(_warning(source, line, column, message, "reask-on-stream"))
    return found


def _admits_usage_billing(condition: Condition) -> bool:
    """Whether a rule's condition holds for some intent whose billing needs usage."""
    try:
        space = IntentSpace.for_conditions([condition])
    except OutOfBudget:
        return True  # too many globs to tell: warn rather than stay silent
    budget = Budget(None)
    region = space.region(condition, budget)
    return bool(intersect(region, space.only("billing", sorted(NEEDS_USAGE)), budget))
