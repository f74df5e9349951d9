"""Policy test cases: files of requests with the decision each must get, and rule coverage.

A case file sits beside its policy (`default.yaml` -> `default.cases.yaml`)::

    cases:
      - name: a person chatting gets a stream
        request: {model: gpt-4o, messages: [{role: user, content: hi}]}
        intent: {audience: user}          # hints, as `Policy.decide(**hints)` takes them
        expect:
          mode: stream
          rule: user-facing               # null: no rule matched, the defaults decided
          options: {timeouts: {first_token: 30s}, stream: {fallback: batch}}

`request` and `intent` are optional; `expect.mode` is required, `expect.rule` and
`expect.options` are checked only when written (`options` is a subset: only the keys given).
Loading reports every problem of a file at once, each with file:line:col, as a
`PolicyError` whose diagnostics have code "cases": an unknown key, an expected rule the policy
does not have, an intent the engine rejects. `run_cases` decides every case and measures
which rules (and the defaults) the cases reach.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from router.policy.grammar import format_duration_ms

__all__ = [
    "DEFAULTS",
    "Case",
    "CaseResult",
    "CasesReport",
    "Coverage",
    "Difference",
    "OptionCheck",
    "load_cases",
    "run_cases",
]

#: The coverage target for "no rule matched, the defaults decided".
DEFAULTS = "(defaults)"


# --- the model of a case file ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OptionCheck:
    """One expected option: its dotted name, the value written, how to read the actual one.

    `expected` is typed as the decision holds it (seconds as floats); `shown` is the text
    the case file wrote, for reports.
    """

    name: str
    expected: object
    actual: Callable[[Any], object]
    shown: str


@dataclass(frozen=True, slots=True)
class Case:
    """One case: a request and hints, and what the decision must be."""

    name: str
    source: str
    line: int
    request: Mapping[str, Any] | None
    hints: Mapping[str, Any]
    mode: str
    rule: str | None = None
    checks_rule: bool = False
    option_checks: tuple[OptionCheck, ...] = ()

    @property
    def location(self) -> str:
        """`file:line` of the case, for reports and editors."""
        return f"{self.source}:{self.line}"


@dataclass(frozen=True, slots=True)
class Difference:
    """One way a decision differs from what its case expects."""

    field: str
    expected: str
    actual: str

    def __str__(self) -> str:
        return f"{self.field}: expected {self.expected}, got {self.actual}"

    def to_dict(self) -> dict[str, str]:
        """The JSON shape in `router test --format json`."""
        return {"field": self.field, "expected": self.expected, "actual": self.actual}


@dataclass(frozen=True, slots=True)
class CaseResult:
    """A case, the decision it got, and what differs from its expectation (empty: passed)."""

    case: Case
    decision: Any
    differences: tuple[Difference, ...]

    @property
    def passed(self) -> bool:
        """True when the decision is what the case expects."""
        return not self.differences


@dataclass(frozen=True, slots=True)
class Coverage:
    """Which rules (and the defaults, as `DEFAULTS`) at least one case reached."""

    targets: tuple[str, ...]
    hits: Mapping[str, int]

    @property
    def missed(self) -> tuple[str, ...]:
        """The rules (and maybe `DEFAULTS`) no case reached, in policy order."""
        return tuple(target for target in self.targets if not self.hits.get(target))

    @property
    def percent(self) -> float:
        """The share of targets reached, 0-100; a policy is one target at least."""
        reached = len(self.targets) - len(self.missed)
        return 100.0 * reached / len(self.targets)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape in `router test --format json`."""
        return {
            "percent": round(self.percent, 2),
            "targets": list(self.targets),
            "hits": {target: self.hits.get(target, 0) for target in self.targets},
            "missed": list(self.missed),
        }


@dataclass(frozen=True, slots=True)
class CasesReport:
    """Every case's result and the coverage they reach together."""

    results: tuple[CaseResult, ...]
    coverage: Coverage
    failed: tuple[CaseResult, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "failed", tuple(r for r in self.results if not r.passed))


# --- running -----------------------------------------------------------------------------------


def run_cases(policy: Any, cases: Iterable[Case]) -> CasesReport:
    """Decide every case with `policy` and compare; never raises for a failing case."""
    results: list[CaseResult] = []
    hits: dict[str, int] = {}
    for case in cases:
        decision = policy.decide(case.request, **case.hints)
        reached = decision.rule if decision.rule is not None else DEFAULTS
        hits[reached] = hits.get(reached, 0) + 1
        results.append(CaseResult(case, decision, tuple(_compare(case, decision))))
    targets = (*(rule.name for rule in policy.rules), DEFAULTS)
    return CasesReport(tuple(results), Coverage(targets, hits))


def _compare(case: Case, decision: Any) -> Iterable[Difference]:
    if decision.mode != case.mode:
        yield Difference("mode", case.mode, str(decision.mode))
    if case.checks_rule and decision.rule != case.rule:
        yield Difference("rule", _rule_text(case.rule), _rule_text(decision.rule))
    for check in case.option_checks:
        actual = check.actual(decision.options)
        if not _same(check.expected, actual):
            shown_actual = _seconds_text(actual) if check.name.startswith(_TIMED) else actual
            yield Difference(check.name, check.shown, format_value(shown_actual))


_TIMED = ("options.timeouts.", "options.retries.backoff.")


def _rule_text(rule: str | None) -> str:
    return "null (the defaults)" if rule is None else rule


def _same(expected: object, actual: object) -> bool:
    if isinstance(expected, float) and isinstance(actual, int | float):
        return math.isclose(expected, float(actual), rel_tol=1e-9, abs_tol=1e-9)
    return type(expected) is type(actual) and expected == actual


def format_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def _seconds_text(seconds: object) -> str:
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return format_value(seconds)
    return format_duration_ms(seconds * 1000)


# --- loading -------------------------------------------------------------------------------------


def load_cases(
    text: str, *, source: str = "<string>", rule_names: Sequence[str] | None = None
) -> list[Case]:
    """Parse a case file; raise `PolicyError` listing every problem with file:line:col.

    With `rule_names`, an expected rule that is not among them is an error too.
    """
    from router.policy.case_file import read_case_file

    return read_case_file(text, source=source, rule_names=rule_names)
