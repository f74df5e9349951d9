"""Decision: the mode a policy chose for one call, the rule that chose it, and the options.

Every type here is an immutable NamedTuple: they are cheap to define (the CLI starts fast)
and to build (a decision is made per call).

Options are merged once when a policy is compiled (built-in defaults, then the policy's
`defaults`, then the rule), so a decision only references a prebuilt `Options`.
`Decision.to_dict()` is DESIGN's "Decision JSON": keys may be added, never renamed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:
    from router.intent import Intent

__all__ = [
    "FORMAT_VERSION",
    "Decision",
    "Options",
    "PolicyRef",
    "Retries",
    "StreamOptions",
    "Timeouts",
    "TraceStep",
    "ValidateOptions",
]

#: The version of `Decision.to_dict()`'s shape.
FORMAT_VERSION = 1

Mode = Literal["stream", "batch"]


def _ms(seconds: float) -> int | float:
    """Seconds as milliseconds, an int when whole (5.0 s -> 5000)."""
    value = seconds * 1000.0
    rounded = round(value)
    return rounded if abs(value - rounded) < 1e-6 else value


class ValidateOptions(NamedTuple):
    """Whether the whole answer is validated, how many times to re-ask, and progressively."""

    enabled: bool = False
    reask: int = 0
    progressive: bool = False

    def to_dict(self) -> bool | dict[str, Any]:
        """`false` when disabled, else `{"reask": n, "progressive": b}`."""
        if not self.enabled:
            return False
        return {"reask": self.reask, "progressive": self.progressive}


class StreamOptions(NamedTuple):
    """Stream-only options; `include_usage` is resolved to a boolean for this decision."""

    include_usage: bool = False
    fallback: Literal["batch", "none"] = "batch"

    def to_dict(self) -> dict[str, Any]:
        return {"include_usage": self.include_usage, "fallback": self.fallback}


class Timeouts(NamedTuple):
    """The call's clocks, in seconds (DESIGN: Execution semantics)."""

    connect: float = 5.0
    first_token: float = 30.0
    idle: float = 30.0
    total: float = 600.0

    def to_dict(self) -> dict[str, Any]:
        """Milliseconds, as the Decision JSON's `timeouts_ms`."""
        return {
            "connect": _ms(self.connect),
            "first_token": _ms(self.first_token),
            "idle": _ms(self.idle),
            "total": _ms(self.total),
        }


class Retries(NamedTuple):
    """`attempts` counts the first try; backoff grows from `backoff_initial` to `backoff_max`."""

    attempts: int = 3
    backoff_initial: float = 0.5
    backoff_max: float = 8.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "attempts": self.attempts,
            "backoff_ms": {"initial": _ms(self.backoff_initial), "max": _ms(self.backoff_max)},
        }


class Options(NamedTuple):
    """Everything execution needs besides the mode, merged and typed."""

    validate: ValidateOptions = ValidateOptions()
    stream: StreamOptions = StreamOptions()
    timeouts: Timeouts = Timeouts()
    retries: Retries = Retries()

    def to_dict(self) -> dict[str, Any]:
        """The Decision JSON's `options` object."""
        return {
            "validate": self.validate.to_dict(),
            "stream": self.stream.to_dict(),
            "timeouts_ms": self.timeouts.to_dict(),
            "retries": self.retries.to_dict(),
        }


class PolicyRef(NamedTuple):
    """Which policy decided: its source (file name or `<string>`) and the sha256 of its text."""

    source: str
    sha256: str

    def to_dict(self) -> dict[str, str]:
        return {"source": self.source, "sha256": self.sha256}


class TraceStep(NamedTuple):
    """One rule the policy considered: whether it matched, and if not the first failing test.

    `failed` reads like `billing: none is not before_delivery` or `expected_tokens: missing`;
    `line` is where the rule starts in the policy file.
    """

    rule: str
    matched: bool
    failed: str | None = None
    line: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "matched": self.matched, "failed": self.failed}


class _DecisionFields(NamedTuple):
    mode: Mode
    rule: str | None
    options: Options
    intent: Intent
    policy: PolicyRef
    trace: tuple[TraceStep, ...] | None = None


class Decision(_DecisionFields):
    """The outcome of `Policy.decide`: `mode`, `rule` (None: the defaults decided), `options`.

    `intent` is what was decided on, `policy` which policy decided, and `trace` one
    `TraceStep` per rule considered when the decision was explained, else None. Immutable;
    stored as a tuple because one is built per call, but compares only with decisions.
    """

    __slots__ = ()

    @property
    def stream(self) -> bool:
        """True when the answer is streamed."""
        return self.mode == "stream"

    def to_dict(self) -> dict[str, Any]:
        """DESIGN's Decision JSON; `trace` only when the decision was explained."""
        out: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "mode": self.mode,
            "rule": self.rule,
            "options": self.options.to_dict(),
            "intent": self.intent.to_dict(),
            "policy": self.policy.to_dict(),
        }
        if self.trace is not None:
            out["trace"] = [step.to_dict() for step in self.trace]
        return out

    # Equal only to another Decision (a plain tuple with the same items is not one).
    def __eq__(self, other: object) -> bool:
        return isinstance(other, Decision) and tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Decision(mode={self.mode!r}, rule={self.rule!r}, policy={self.policy.source!r})"
