"""Intent: what a call needs, inferred from a Chat Completions body and the caller's hints.

The policy decides from an `Intent`, never from the raw request, so that a decision can be
explained, tested and replayed with no request at hand. `FIELDS` describes every field
(kind and allowed values) for the policy loader, the CLI, the docs and the analysis.

A missing field is None. Hints win over inference; a hint of None counts as not given.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Literal

from router.errors import IntentError

__all__ = ["FIELDS", "FieldSpec", "Intent", "parse_hint"]

FieldKind = Literal["enum", "bool", "int", "str", "labels"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One intent field: its kind, its allowed values (enums only) and what it means."""

    name: str
    kind: FieldKind
    allowed: tuple[str, ...] = ()
    description: str = ""


#: Every intent field, in the order of DESIGN's table (and of `Intent.to_dict()`).
FIELDS: Final[Mapping[str, FieldSpec]] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            FieldSpec("audience", "enum", ("user", "service"), "who waits for the answer"),
            FieldSpec(
                "output",
                "enum",
                ("text", "json", "schema", "tools"),
                "what the answer is: prose, a JSON object, schema-bound JSON, a tool call",
            ),
            FieldSpec(
                "tools", "enum", ("none", "offered", "required"), "what the request does with tools"
            ),
            FieldSpec("post_process", "bool", (), "code parses or transforms the answer"),
            FieldSpec(
                "billing",
                "enum",
                ("none", "after_delivery", "before_delivery"),
                "when the cost of the call must be known",
            ),
            FieldSpec("expected_tokens", "int", (), "how long the answer may be, in tokens"),
            FieldSpec("model", "str", (), "the model the request names"),
            FieldSpec("provider", "str", (), "the provider the call goes to"),
            FieldSpec("labels", "labels", (), "free-form string labels: route, tenant, feature"),
        )
    }
)

_EMPTY_LABELS: Final[Mapping[str, str]] = MappingProxyType({})
_ENUM_VALUES: Final[dict[str, frozenset[str]]] = {
    name: frozenset(spec.allowed) for name, spec in FIELDS.items() if spec.kind == "enum"
}
_NAMES: Final[tuple[str, ...]] = tuple(FIELDS)
_TRUE_WORDS: Final = frozenset({"true", "yes", "1", "on"})
_FALSE_WORDS: Final = frozenset({"false", "no", "0", "off"})


def did_you_mean(word: str, choices: Any) -> str:
    """` (did you mean "x"?)` for a near miss among `choices`, else an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _unknown_field(name: str) -> IntentError:
    hint = did_you_mean(name, (*_NAMES, "labels.<key>"))
    allowed = ", ".join((*_NAMES, "labels.<key>"))
    return IntentError(
        f"unknown intent field {name!r}{hint}; fields are: {allowed}",
        field=name,
        allowed=(*_NAMES, "labels.<key>"),
    )


def _check_value(name: str, value: object) -> object:
    """Return `value` if it fits field `name`, else raise an IntentError naming the domain."""
    spec = FIELDS[name]
    kind = spec.kind
    if kind == "enum":
        if type(value) is str and value in _ENUM_VALUES[name]:
            return value
        if isinstance(value, str) and value in _ENUM_VALUES[name]:
            return str(value)  # a StrEnum member or other str subclass: keep the plain text
        shown = value if isinstance(value, str) else repr(value)
        hint = did_you_mean(value, spec.allowed) if isinstance(value, str) else ""
        raise IntentError(
            f"intent {name}: {shown!s} is not allowed{hint}; allowed: {', '.join(spec.allowed)}",
            field=name,
            allowed=spec.allowed,
        )
    if kind == "bool":
        if value is True or value is False:
            return value
        raise IntentError(
            f"intent {name}: expected true or false, got {value!r}",
            field=name,
            allowed=("true", "false"),
        )
    if kind == "int":
        if type(value) is int and value >= 0:
            return value
        raise IntentError(
            f"intent {name}: expected an integer >= 0, got {value!r}",
            field=name,
        )
    if kind == "str":
        if isinstance(value, str):
            return str(value)
        raise IntentError(f"intent {name}: expected a string, got {value!r}", field=name)
    # labels
    if not isinstance(value, Mapping):
        raise IntentError(
            f"intent labels: expected a mapping of strings to strings, got {value!r}",
            field="labels",
        )
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise IntentError(
                f"intent labels: expected string keys and values, got {key!r}: {item!r}",
                field="labels",
            )
    return MappingProxyType(dict(value)) if value else _EMPTY_LABELS


class Intent:
    """What a call needs, immutable. A missing field is None; `labels` is a read-only mapping.

    Build one with `Intent.from_request(body, **hints)`, or `Intent(**fields)` to state every
    field yourself (unknown fields and values outside a field's domain raise `IntentError`).
    """

    __slots__ = (
        "audience",
        "billing",
        "expected_tokens",
        "labels",
        "model",
        "output",
        "post_process",
        "provider",
        "tools",
    )

    audience: str | None
    output: str | None
    tools: str | None
    post_process: bool | None
    billing: str | None
    expected_tokens: int | None
    model: str | None
    provider: str | None
    labels: Mapping[str, str]

    def __init__(
        self,
        *,
        audience: str | None = None,
        output: str | None = None,
        tools: str | None = None,
        post_process: bool | None = None,
        billing: str | None = None,
        expected_tokens: int | None = None,
        model: str | None = None,
        provider: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        values = {
            "audience": audience,
            "output": output,
            "tools": tools,
            "post_process": post_process,
            "billing": billing,
            "expected_tokens": expected_tokens,
            "model": model,
            "provider": provider,
        }
        setter = object.__setattr__
        for name, value in values.items():
            setter(self, name, None if value is None else _check_value(name, value))
        setter(self, "labels", _EMPTY_LABELS if not labels else _check_value("labels", labels))

    @classmethod
    def _trusted(
        cls,
        audience: str | None,
        output: str | None,
        tools: str | None,
        post_process: bool | None,
        billing: str | None,
        expected_tokens: int | None,
        model: str | None,
        provider: str | None,
        labels: Mapping[str, str],
    ) -> Intent:
        """Build from values already checked (the fast path of `from_request`)."""
        self = object.__new__(cls)
        setter = object.__setattr__
        setter(self, "audience", audience)
        setter(self, "output", output)
        setter(self, "tools", tools)
        setter(self, "post_process", post_process)
        setter(self, "billing", billing)
        setter(self, "expected_tokens", expected_tokens)
        setter(self, "model", model)
        setter(self, "provider", provider)
        setter(self, "labels", labels)
        return self

    @classmethod
    def from_request(cls, body: Mapping[str, Any] | None = None, /, **hints: Any) -> Intent:
        """Infer the intent from a Chat Completions body (DESIGN's table), then apply hints.

        Hints are intent fields by name (`audience="user"`), `labels={...}`, or single labels
        as `**{"labels.route": "search"}`. Hints win over what the body implies.
        """
        output: str | None = None
        tools = "none"
        expected_tokens: int | None = None
        model: str | None = None
        if body:
            output, tools = _infer_output_and_tools(body)
            expected_tokens = _infer_expected_tokens(body)
            raw_model = body.get("model")
            model = raw_model if isinstance(raw_model, str) else None
        if output is None:
            output = "text"
        audience: Any = None
        billing: Any = None
        provider: Any = None
        post_process: Any = None
        labels: Any = _EMPTY_LABELS
        if hints:
            extra_labels: dict[str, str] | None = None
            for name, value in hints.items():
                if value is None:
                    continue
                if name not in FIELDS:
                    if name.startswith("labels.") and len(name) > 7:
                        if not isinstance(value, str):
                            raise IntentError(
                                f"intent {name}: expected a string, got {value!r}", field=name
                            )
                        if extra_labels is None:
                            extra_labels = {}
                        extra_labels[name[7:]] = value
                        continue
                    raise _unknown_field(name)
                checked: Any = _check_value(name, value)
                if name == "audience":
                    audience = checked
                elif name == "output":
                    output = checked
                elif name == "tools":
                    tools = checked
                elif name == "post_process":
                    post_process = checked
                elif name == "billing":
                    billing = checked
                elif name == "expected_tokens":
                    expected_tokens = checked
                elif name == "model":
                    model = checked
                elif name == "provider":
                    provider = checked
                else:
                    labels = checked
            if extra_labels:
                labels = MappingProxyType({**labels, **extra_labels})
        if post_process is None:
            post_process = output != "text"
        if billing is None:
            billing = "none"
        return cls._trusted(
            audience, output, tools, post_process, billing, expected_tokens, model, provider, labels
        )

    def get(self, field: str) -> object:
        """The value of `field` (`labels.<key>` included); None when missing."""
        if field.startswith("labels."):
            return self.labels.get(field[7:])
        if field not in FIELDS:
            raise _unknown_field(field)
        value: object = getattr(self, field)
        return value

    def to_dict(self) -> dict[str, Any]:
        """Every field in table order; missing ones as None, labels as a plain dict."""
        return {
            "audience": self.audience,
            "output": self.output,
            "tools": self.tools,
            "post_process": self.post_process,
            "billing": self.billing,
            "expected_tokens": self.expected_tokens,
            "model": self.model,
            "provider": self.provider,
            "labels": dict(self.labels),
        }

    def replace(self, **changes: Any) -> Intent:
        """A copy with some fields changed (checked like hints; None makes a field missing)."""
        values = self.to_dict()
        for name in changes:
            if name not in FIELDS:
                raise _unknown_field(name)
        values.update(changes)
        return Intent(**values)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Intent is immutable; use .replace({name}=...)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Intent is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Intent):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        values = self.to_dict()
        values["labels"] = tuple(sorted(self.labels.items()))
        return hash(tuple(values.values()))

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={value!r}"
            for name, value in self.to_dict().items()
            if value is not None and value != {}
        )
        return f"Intent({shown})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_intent, (self.to_dict(),))


def _rebuild_intent(values: dict[str, Any]) -> Intent:
    return Intent(**values)


def _infer_output_and_tools(body: Mapping[str, Any]) -> tuple[str | None, str]:
    """`output` (None: text) and `tools` from response_format, tools and tool_choice."""
    output: str | None = None
    response_format = body.get("response_format")
    if isinstance(response_format, Mapping):
        kind = response_format.get("type")
        if kind == "json_object":
            output = "json"
        elif kind == "json_schema":
            output = "schema"
    offered = bool(body.get("tools")) or bool(body.get("functions"))
    choice = body.get("tool_choice", body.get("function_call"))
    tools = "none"
    if offered:
        tools = _tools_from_choice(choice)
    if tools == "required":
        output = "tools"
    return output, tools


def _tools_from_choice(choice: object) -> str:
    if choice is None or choice == "auto":
        return "offered"
    if choice == "none":
        return "none"
    if choice == "required":
        return "required"
    if isinstance(choice, Mapping):
        # {"type": "allowed_tools", "allowed_tools": {"mode": "auto"|"required", ...}}
        allowed = choice.get("allowed_tools")
        if isinstance(allowed, Mapping):
            return "required" if allowed.get("mode") == "required" else "offered"
        # {"type": "function", "function": {"name": ...}} or legacy {"name": ...}
        return "required"
    return "offered"


def _infer_expected_tokens(body: Mapping[str, Any]) -> int | None:
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if value is None:
            continue
        if type(value) is not int or value < 0:
            raise IntentError(
                f"request {key}: expected an integer >= 0, got {value!r}",
                field="expected_tokens",
            )
        return value
    return None


def parse_hint(key: str, text: str) -> tuple[str, object]:
    """Type one `KEY=VALUE` hint from the command line by its field.

    Returns the hint name and its typed value, ready for `Intent.from_request(**hints)`:
    `("expected_tokens", 50)`, `("post_process", True)`, `("labels.route", "search")`.
    """
    if key.startswith("labels.") and len(key) > 7:
        return key, text
    spec = FIELDS.get(key)
    if spec is None or spec.kind == "labels":
        if key == "labels":
            raise IntentError(
                "intent labels: give one label at a time, as labels.<key>=VALUE",
                field="labels",
            )
        raise _unknown_field(key)
    if spec.kind == "bool":
        word = text.strip().lower()
        if word in _TRUE_WORDS:
            return key, True
        if word in _FALSE_WORDS:
            return key, False
        raise IntentError(
            f"intent {key}: expected true or false, got {text!r}",
            field=key,
            allowed=("true", "false"),
        )
    if spec.kind == "int":
        try:
            number = int(text.strip())
        except ValueError:
            raise IntentError(
                f"intent {key}: expected an integer >= 0, got {text!r}", field=key
            ) from None
        return key, _check_value(key, number)
    return key, _check_value(key, text)
