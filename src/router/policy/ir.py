"""The compiled form of a policy: conditions as trees, options as partial settings.

This is what the evaluators, the explain trace and the analysis work from, so nothing after
loading rereads YAML. A rule's `when` is an `AllOf` of `Predicate`s, `AnyOf`s and `Not`s;
each predicate names one intent field (`labels.<key>` for a label), one operator and its
operand, already typed and checked against the field:

=========  ==============================================  ===========================
operator   operand                                        holds when the field ...
=========  ==============================================  ===========================
eq         a value (a bare scalar in YAML)                equals it
in         a frozenset of values (a YAML list, or `in:`)  is one of them
not_in     a frozenset of values                          is present and none of them
ne         a value                                        is present and differs
lt lte     an int                                         is present and compares so
gt gte     an int                                         is present and compares so
exists     a bool                                         is present (true) / missing (false)
glob       a tuple of fnmatchcase patterns                is present and matches one
=========  ==============================================  ===========================

A predicate on a missing field is false, except `exists: false` (two-valued logic); `Not`
negates its whole condition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, TypeAlias

from router.decision import Options, Retries, StreamOptions, Timeouts, ValidateOptions

__all__ = [
    "BUILTIN_SETTINGS",
    "NEEDS_USAGE",
    "AllOf",
    "AnyOf",
    "Condition",
    "Not",
    "Operator",
    "Predicate",
    "Settings",
]

Operator: TypeAlias = Literal[
    "eq", "in", "not_in", "ne", "lt", "lte", "gt", "gte", "exists", "glob"
]

#: Billing values for which the caller needs the call's usage reported.
NEEDS_USAGE = frozenset({"after_delivery", "before_delivery"})


@dataclass(frozen=True, slots=True)
class Predicate:
    """One test of one intent field; `line`/`column` locate it in the policy file."""

    field: str
    op: Operator
    operand: object
    line: int = 0
    column: int = 0

    @property
    def label(self) -> str | None:
        """The label key for a `labels.<key>` field, else None."""
        return self.field[7:] if self.field.startswith("labels.") else None


@dataclass(frozen=True, slots=True)
class AllOf:
    """Holds when every item holds (an empty AllOf always holds: a catch-all rule)."""

    items: tuple[Condition, ...]
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True)
class AnyOf:
    """Holds when at least one item holds."""

    items: tuple[Condition, ...]
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True)
class Not:
    """Holds when its condition does not (so it holds when that condition's field is missing)."""

    item: Condition
    line: int = 0
    column: int = 0


Condition: TypeAlias = Predicate | AllOf | AnyOf | Not


class Settings(NamedTuple):
    """Options as written in one place (`defaults` or a rule): None means "not set here".

    Durations are seconds. `validate` is the on/off switch; `validate: {reask: 2}` sets
    both `validate=True` and `reask=2`. `include_usage` stays "auto"/"always"/"never" until
    a decision resolves it. Merging is field by field: `base.merged(over)`.
    """

    mode: Literal["stream", "batch"] | None = None
    validate: bool | None = None
    reask: int | None = None
    progressive: bool | None = None
    include_usage: Literal["auto", "always", "never"] | None = None
    fallback: Literal["batch", "none"] | None = None
    connect: float | None = None
    first_token: float | None = None
    idle: float | None = None
    total: float | None = None
    attempts: int | None = None
    backoff_initial: float | None = None
    backoff_max: float | None = None

    def merged(self, over: Settings) -> Settings:
        """These settings with every field `over` sets replaced."""
        if all(value is None for value in over):
            return self
        merged: list[Any] = [
            new if new is not None else old for old, new in zip(self, over, strict=True)
        ]
        return Settings(*merged)

    def resolve(self, *, needs_usage: bool) -> Options:
        """Typed options from fully merged settings, `include_usage` resolved.

        `auto` asks for usage in the stream when the mode is stream and billing needs usage
        (after or before delivery); `always` whenever the mode is stream; never in batch.
        """
        full = BUILTIN_SETTINGS.merged(self)
        streaming = full.mode == "stream"
        include_usage = streaming and (
            full.include_usage == "always" or (full.include_usage == "auto" and needs_usage)
        )
        return Options(
            validate=ValidateOptions(
                enabled=bool(full.validate),
                reask=_int(full.reask),
                progressive=bool(full.progressive),
            ),
            stream=StreamOptions(
                include_usage=include_usage,
                fallback="none" if full.fallback == "none" else "batch",
            ),
            timeouts=Timeouts(
                connect=_float(full.connect),
                first_token=_float(full.first_token),
                idle=_float(full.idle),
                total=_float(full.total),
            ),
            retries=Retries(
                attempts=_int(full.attempts),
                backoff_initial=_float(full.backoff_initial),
                backoff_max=_float(full.backoff_max),
            ),
        )


def _int(value: int | None) -> int:
    assert value is not None  # BUILTIN_SETTINGS sets every field
    return value


def _float(value: float | None) -> float:
    assert value is not None  # BUILTIN_SETTINGS sets every field
    return float(value)


#: The built-in defaults every policy starts from (DESIGN: Policy language v1).
BUILTIN_SETTINGS = Settings(
    mode="batch",
    validate=False,
    reask=0,
    progressive=False,
    include_usage="auto",
    fallback="batch",
    connect=5.0,
    first_token=30.0,
    idle=30.0,
    total=600.0,
    attempts=3,
    backoff_initial=0.5,
    backoff_max=8.0,
)
