"""Pydantic models of the policy format: the source of its JSON Schema (`router schema`).

The loader (`router.policy.load`) does not use these models: it walks the YAML itself so
that the `router decide` path never imports pydantic and every error keeps its line and
column. A test proves both say the same (keys, enum values, operators, types). Rules the
JSON Schema cannot express (unique rule names, no `stream:` block on a batch rule, backoff
bounds) are checked by the loader alone.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from router.policy.grammar import DURATION_PATTERN

__all__ = [
    "Backoff",
    "BoolOps",
    "IntOps",
    "OptionsModel",
    "PolicyModel",
    "RetriesModel",
    "RuleModel",
    "SetOps",
    "StrOps",
    "StreamModel",
    "TimeoutsModel",
    "ValidateModel",
    "When",
    "policy_json_schema",
]

SCHEMA_ID = "urn:router:policy:1"

Duration = Annotated[
    str,
    Field(
        pattern=DURATION_PATTERN,
        description="A duration with a unit: 250ms, 0.5s, 5s, 10m, 1h.",
        examples=["250ms", "5s", "10m"],
    ),
]
NonNegativeInt = Annotated[int, Field(ge=0)]
Unset = SkipJsonSchema[None]

Mode = Literal["stream", "batch"]
Audience = Literal["user", "service"]
Output = Literal["text", "json", "schema", "tools"]
Tools = Literal["none", "offered", "required"]
Billing = Literal["none", "after_delivery", "before_delivery"]

T = TypeVar("T")


def _refuse_nulls(data: Any, nullable: frozenset[str] = frozenset()) -> Any:
    if isinstance(data, dict):
        for key, value in data.items():
            if value is None and key not in nullable:
                raise ValueError(f"{key}: null is not allowed here; leave the key out")
    return data


class _Strict(BaseModel):
    """No unknown keys, no nulls, no type coercion: what the loader accepts."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)
    _nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        return _refuse_nulls(data, cls._nullable)


# --- options ------------------------------------------------------------------------------
# An optional key is `key: T | Unset = None`: it may be left out, but not written as null
# (the loader refuses nulls too), and the JSON Schema does not offer null.


class ValidateModel(_Strict):
    """`validate: {reask: N, progressive: bool}`: validation on, with these settings."""

    reask: NonNegativeInt | Unset = Field(None, description="How many times to re-ask.")
    progressive: bool | Unset = Field(None, description="Validate while the answer streams.")


class StreamModel(_Strict):
    """Stream-only options."""

    include_usage: Literal["auto", "always", "never"] | Unset = Field(
        None, description="Ask for usage in the stream; auto: when billing needs usage."
    )
    fallback: Literal["batch", "none"] | Unset = Field(
        None, description="After a stream fails with no progress: one batch call, or none."
    )


class TimeoutsModel(_Strict):
    """The call's clocks."""

    connect: Duration | Unset = None
    first_token: Duration | Unset = None
    idle: Duration | Unset = None
    total: Duration | Unset = None


class Backoff(_Strict):
    """Exponential backoff bounds between attempts."""

    initial: Duration | Unset = None
    max: Duration | Unset = None


class RetriesModel(_Strict):
    """`attempts` counts the first try."""

    attempts: Annotated[int, Field(ge=1)] | Unset = None
    backoff: Backoff | Unset = None


class OptionsModel(_Strict):
    """Options of `defaults`, and of a rule on top of them (merged key by key)."""

    mode: Mode | Unset = None
    validate_: bool | ValidateModel | Unset = Field(None, alias="validate")
    stream: StreamModel | Unset = None
    timeouts: TimeoutsModel | Unset = None
    retries: RetriesModel | Unset = None


# --- conditions ---------------------------------------------------------------------------


class _Ops(_Strict):
    """A mapping of operators: at least one."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    @model_validator(mode="after")
    def _not_empty(self) -> _Ops:
        if not self.model_fields_set:
            raise ValueError("an empty test; write a value, a list or {operator: value}")
        return self


class SetOps(_Ops, Generic[T]):
    """Operators every field but booleans takes."""

    in_: Annotated[list[T], Field(min_length=1)] | Unset = Field(None, alias="in")
    not_in: Annotated[list[T], Field(min_length=1)] | Unset = None
    ne: T | Unset = None
    exists: bool | Unset = None


class AudienceOps(SetOps[Audience]):
    """Operators of `audience`."""


class OutputOps(SetOps[Output]):
    """Operators of `output`."""


class ToolsOps(SetOps[Tools]):
    """Operators of `tools`."""


class BillingOps(SetOps[Billing]):
    """Operators of `billing`."""


class IntOps(SetOps[NonNegativeInt]):
    """Operators of an integer field."""

    lt: NonNegativeInt | Unset = None
    lte: NonNegativeInt | Unset = None
    gt: NonNegativeInt | Unset = None
    gte: NonNegativeInt | Unset = None


class StrOps(SetOps[str]):
    """Operators of a string field (model, provider, labels.<key>)."""

    glob: str | Annotated[list[str], Field(min_length=1)] | Unset = Field(
        None, description="fnmatchcase pattern(s): *, ?, [seq], [!seq]."
    )


class BoolOps(_Ops):
    """Operators of a boolean field."""

    ne: bool | Unset = None
    exists: bool | Unset = None


# A field test: a bare value (equals), a non-empty list (one of), or a mapping of operators.
AudienceTest = Audience | Annotated[list[Audience], Field(min_length=1)] | AudienceOps
OutputTest = Output | Annotated[list[Output], Field(min_length=1)] | OutputOps
ToolsTest = Tools | Annotated[list[Tools], Field(min_length=1)] | ToolsOps
BillingTest = Billing | Annotated[list[Billing], Field(min_length=1)] | BillingOps
BoolTest = bool | BoolOps
IntTest = NonNegativeInt | Annotated[list[NonNegativeInt], Field(min_length=1)] | IntOps
StrTest = str | Annotated[list[str], Field(min_length=1)] | StrOps
_STR_TEST: TypeAdapter[StrTest] = TypeAdapter(StrTest)


class When(BaseModel):
    """A condition: an AND over field tests; `any`/`all`/`not` nest; labels as labels.<key>."""

    model_config = ConfigDict(extra="allow", strict=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        return _refuse_nulls(data)

    audience: AudienceTest | Unset = None
    output: OutputTest | Unset = None
    tools: ToolsTest | Unset = None
    post_process: BoolTest | Unset = None
    billing: BillingTest | Unset = None
    expected_tokens: IntTest | Unset = None
    model: StrTest | Unset = None
    provider: StrTest | Unset = None
    any_: Annotated[list[When], Field(min_length=1)] | Unset = Field(None, alias="any")
    all_: Annotated[list[When], Field(min_length=1)] | Unset = Field(None, alias="all")
    not_: When | Unset = Field(None, alias="not")

    @model_validator(mode="after")
    def _labels_only(self) -> When:
        for key, value in (self.model_extra or {}).items():
            if not key.startswith("labels.") or len(key) <= 7:
                raise ValueError(f"unknown field {key!r}")
            _STR_TEST.validate_python(value, strict=True)
        return self


# --- the document -------------------------------------------------------------------------


class RuleModel(OptionsModel):
    """One rule: first match wins, top to bottom."""

    _nullable = frozenset({"when"})

    name: Annotated[str, Field(min_length=1)]
    description: str | Unset = None
    when: When | None = None


class PolicyModel(_Strict):
    """A routing policy, format version 1."""

    _nullable = frozenset({"rules"})

    version: Literal[1]
    description: str | Unset = None
    defaults: OptionsModel | Unset = None
    rules: list[RuleModel] | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _an_integer(cls, value: Any) -> Any:
        # A Literal compares by value, so `true` and `1.0` would pass; the loader reads an
        # integer. (The JSON Schema's `const: 1` refuses `true`; 1.0 is an integer to it.)
        if type(value) is not int:
            raise ValueError(f"version is the integer 1, not {value!r}")
        return value


def policy_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the policy format, for `router schema` and editors."""
    schema = PolicyModel.model_json_schema(by_alias=True)
    when = schema["$defs"]["When"]
    # Labels are tested one key at a time as `labels.<key>`; pydantic cannot say that itself.
    when["patternProperties"] = {
        r"^labels\.\S+$": {
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}, "minItems": 1},
                {"$ref": "#/$defs/StrOps"},
            ],
            "description": "A test of one label, as labels.<key>.",
        }
    }
    when["additionalProperties"] = False
    _drop_null_defaults(schema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "title": "router policy",
    }


def _drop_null_defaults(node: Any) -> None:
    """Remove `"default": null`: a key left out means "inherit", not null."""
    if isinstance(node, dict):
        if node.get("default", 0) is None:
            del node["default"]
        for value in node.values():
            _drop_null_defaults(value)
    elif isinstance(node, list):
        for value in node:
            _drop_null_defaults(value)
