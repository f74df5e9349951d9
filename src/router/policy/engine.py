"""Policy: a loaded, compiled policy that turns intents into decisions.

Loading parses and checks the YAML (`load`), merges every rule's options over the policy's
defaults and the built-in ones (`ir.Settings`), and generates the rule chain (`codegen`),
once. `decide` then only builds the intent, runs the chain and picks a prebuilt `Options`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

from router.decision import Decision, Options, PolicyRef, TraceStep
from router.errors import Diagnostic, PolicyError
from router.intent import Intent, intent_from
from router.policy.codegen import compile_chain
from router.policy.evaluate import failure
from router.policy.ir import BUILTIN_SETTINGS, NEEDS_USAGE, AllOf, Settings
from router.policy.load import parse_policy

__all__ = ["DEFAULT_POLICY_NAME", "Outcome", "Policy", "Rule", "default_policy_path", "load_policy"]

DEFAULT_POLICY_NAME = "default.yaml"
_tuple_new = tuple.__new__


class Outcome(NamedTuple):
    """What a decision gets when a rule (or, with `rule=None`, the defaults) decides.

    `options` is resolved for billing that needs no usage, `options_with_usage` for
    `after_delivery` / `before_delivery` (they differ only in `stream.include_usage`).
    """

    rule: str | None
    mode: Literal["stream", "batch"]
    settings: Settings
    options: Options
    options_with_usage: Options

    def options_for(self, billing: str | None) -> Options:
        """The options for an intent with this `billing`."""
        return self.options_with_usage if billing in NEEDS_USAGE else self.options


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled rule, for the trace, the CLI and the analysis.

    `condition` is the `when` tree (see `router.policy.ir`); `settings` is what the rule
    itself writes; `outcome.settings` is the full merge (built-in, defaults, rule).
    """

    name: str
    description: str
    line: int
    column: int
    index: int
    condition: AllOf
    settings: Settings
    outcome: Outcome

    @property
    def mode(self) -> Literal["stream", "batch"]:
        return self.outcome.mode


def _outcome(rule: str | None, merged: Settings) -> Outcome:
    mode: Literal["stream", "batch"] = "stream" if merged.mode == "stream" else "batch"
    return Outcome(
        rule=rule,
        mode=mode,
        settings=merged,
        options=merged.resolve(needs_usage=False),
        options_with_usage=merged.resolve(needs_usage=True),
    )


class Policy:
    """A compiled policy. Build with `load_policy(path)` or `Policy.from_text(text)`."""

    __slots__ = (
        "_chain",
        "_ref",
        "_text",
        "chain_source",
        "defaults",
        "description",
        "rules",
        "version",
    )

    def __init__(self, text: str, *, source: str = "<string>") -> None:
        spec = parse_policy(text, source)
        diagnostics = list(spec.diagnostics)
        base = BUILTIN_SETTINGS.merged(spec.defaults)
        self.version: int = spec.version
        self.description: str = spec.description
        self.defaults: Outcome = _outcome(None, base)
        rules = []
        for index, rule_spec in enumerate(spec.rules):
            merged = base.merged(rule_spec.settings)
            rules.append(
                Rule(
                    name=rule_spec.name,
                    description=rule_spec.description,
                    line=rule_spec.line,
                    column=rule_spec.column,
                    index=index,
                    condition=rule_spec.condition,
                    settings=rule_spec.settings,
                    outcome=_outcome(rule_spec.name, merged),
                )
            )
        if diagnostics:
            diagnostics.sort(key=lambda d: (d.line, d.column))
            raise PolicyError(diagnostics)
        self.rules: tuple[Rule, ...] = tuple(rules)
        self._text = text
        self._ref = PolicyRef(source, hashlib.sha256(text.encode("utf-8")).hexdigest())
        self._chain, self.chain_source = compile_chain(
            [rule.condition for rule in self.rules],
            [rule.outcome for rule in self.rules],
            self.defaults,
        )

    @classmethod
    def from_text(cls, text: str, *, source: str = "<string>") -> Policy:
        """Load and compile a policy held in memory; raises PolicyError listing every problem."""
        return cls(text, source=source)

    @property
    def source(self) -> str:
        """Where the policy came from: a path as given, `default.yaml`, or `<string>`."""
        return self._ref.source

    @property
    def sha256(self) -> str:
        """The sha256 of the policy's text, to tell versions apart in logs."""
        return self._ref.sha256

    def rule(self, name: str) -> Rule:
        """The rule named `name` (KeyError when there is none)."""
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(name)

    def decide(
        self, request: Mapping[str, Any] | None = None, *, explain: bool = False, **hints: Any
    ) -> Decision:
        """Decide for a Chat Completions body and/or intent hints (see `Intent.from_request`).

        With `explain=True` the decision carries a trace: one step per rule considered.
        """
        intent = intent_from(Intent, request, hints)
        if explain:
            return self.explain(intent)
        # The per-call hot path (see benchmarks/bench_policy.py): unpack the outcome tuple
        # at once, and build the Decision with tuple.__new__, skipping the namedtuple
        # constructor's argument handling.
        rule, mode, _settings, options, options_with_usage = self._chain(intent)
        if intent.billing in NEEDS_USAGE:
            options = options_with_usage
        return _tuple_new(Decision, (mode, rule, options, intent, self._ref, None))

    def decide_intent(self, intent: Intent, *, explain: bool = False) -> Decision:
        """Decide for an intent already built."""
        if explain:
            return self.explain(intent)
        outcome: Outcome = self._chain(intent)
        return Decision(
            outcome.mode, outcome.rule, outcome.options_for(intent.billing), intent, self._ref
        )

    def explain(self, intent: Intent) -> Decision:
        """Decide with the trace evaluator, recording why each rule considered did not match."""
        steps = []
        outcome = self.defaults
        for rule in self.rules:
            reason = failure(rule.condition, intent)
            steps.append(TraceStep(rule.name, reason is None, reason, rule.line))
            if reason is None:
                outcome = rule.outcome
                break
        return Decision(
            outcome.mode,
            outcome.rule,
            outcome.options_for(intent.billing),
            intent,
            self._ref,
            tuple(steps),
        )

    @property
    def text(self) -> str:
        """The policy's YAML text, as loaded."""
        return self._text

    def __reduce__(self) -> tuple[Any, ...]:
        # The generated chain cannot be pickled: rebuild from the text (for multiprocessing).
        return (_rebuild_policy, (self._text, self.source))

    def __repr__(self) -> str:
        return f"<Policy {self.source!r} rules={len(self.rules)} sha256={self.sha256[:12]}>"


def _rebuild_policy(text: str, source: str) -> Policy:
    return Policy.from_text(text, source=source)


def default_policy_path() -> Path:
    """The bundled default policy file, inside the installed package."""
    return Path(__file__).resolve().parent.parent / "policies" / DEFAULT_POLICY_NAME


_default_policy: Policy | None = None


def load_policy(path: str | os.PathLike[str] | None = None) -> Policy:
    """Load and compile a policy file; None loads the bundled default policy (cached).

    Raises PolicyError listing every problem, each with file:line:col.
    """
    global _default_policy
    if path is None:
        if _default_policy is None:
            text = default_policy_path().read_text(encoding="utf-8")
            _default_policy = Policy.from_text(text, source=DEFAULT_POLICY_NAME)
        return _default_policy
    source = os.fspath(path)
    try:
        data = Path(source).read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise PolicyError(
            [Diagnostic(source, 0, 0, f"cannot read the policy: {reason}", code="unreadable")]
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(
            [
                Diagnostic(
                    source, 1, 1, f"the policy is not UTF-8 text ({exc.reason})", code="unreadable"
                )
            ]
        ) from None
    return Policy.from_text(text, source=source)
