"""Intent: what a call needs, inferred from a Chat Completions body and the caller's hints.

The policy decides from an `Intent`, never from the raw request, so that a decision can be
explained, tested and replayed with no request at hand. `FIELDS` describes every field
(kind and allowed values) for the policy loader, the CLI, the docs and the analysis.

A missing field is None. Hints win over inference; a hint of None counts as not given.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, Literal, NamedTuple

from router.errors import IntentError

__all__ = ["FIELDS", "FieldSpec", "Intent", "parse_hint"]

FieldKind = Literal["enum", "bool", "int", "str", "labels"]


class FieldSpec(NamedTuple):
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
    allowed = _ENUM_VALUES.get(name)
    if allowed is not None and type(value) is str and value in allowed:
        return value  # the common case, first
    spec = FIELDS[name]
    kind = spec.kind
    if kind == "enum":
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
        if type(value) is str:
            return value
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


class _IntentFields(NamedTuple):
    audience: str | None
    output: str | None
    tools: str | None
    post_process: bool | None
    billing: str | None
    expected_tokens: int | None
    model: str | None
    provider: str | None
    labels: Mapping[str, str]


#: Field name -> position in the Intent tuple.
_INDEX: Final[dict[str, int]] = {name: index for index, name in enumerate(_IntentFields._fields)}
_LABELS = _INDEX["labels"]
_tuple_new = tuple.__new__


class Intent(_IntentFields):
    """What a call needs, immutable. A missing field is None; `labels` is a read-only mapping.

    Build one with `Intent.from_request(body, **hints)`, or `Intent(**fields)` to state every
    field yourself (unknown fields and values outside a field's domain raise `IntentError`).
    An Intent is stored as a tuple (the cheapest immutable object to build: a decision is
    made per call), but compares only with other intents.
    """

    __slots__ = ()

    def __new__(
        cls,
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
    ) -> Intent:
        values: list[Any] = [
            audience,
            output,
            tools,
            post_process,
            billing,
            expected_tokens,
            model,
            provider,
        ]
        for index, value in enumerate(values):
            if value is not None:
                values[index] = _check_value(_IntentFields._fields[index], value)
        values.append(_EMPTY_LABELS if not labels else _check_value("labels", labels))
        return _tuple_new(cls, values)

    @classmethod
    def from_request(cls, body: Mapping[str, Any] | None = None, **hints: Any) -> Intent:
        """Infer the intent from a Chat Completions body (DESIGN's table), then apply hints.

        Hints are intent fields by name (`audience="user"`), `labels={...}`, or single labels
        as `**{"labels.route": "search"}`. Hints win over what the body implies.
        """
        return intent_from(cls, body, hints)

    def get(self, field: str) -> object:
        """The value of `field` (`labels.<key>` included); None when missing."""
        if field.startswith("labels."):
            return self.labels.get(field[7:])
        index = _INDEX.get(field)
        if index is None or field == "labels":
            raise _unknown_field(field)
        value: object = self[index]
        return value

    def to_dict(self) -> dict[str, Any]:
        """Every field in table order; missing ones as None, labels as a plain dict."""
        out = dict(zip(_IntentFields._fields, self, strict=True))
        out["labels"] = dict(self.labels)
        return out

    def replace(self, **changes: Any) -> Intent:
        """A copy with some fields changed (checked like hints; None makes a field missing)."""
        values = self.to_dict()
        for name in changes:
            if name not in FIELDS:
                raise _unknown_field(name)
        values.update(changes)
        return Intent(**values)

    # Equal only to another Intent (a plain tuple with the same items is not one).
    def __eq__(self, other: object) -> bool:
        return isinstance(other, Intent) and tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash((*self[:_LABELS], tuple(sorted(self.labels.items()))))

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={value!r}"
            for name, value in self.to_dict().items()
            if value is not None and value != {}
        )
        return f"Intent({shown})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_intent, (self.to_dict(),))


#: For hints that are strings: position in the tuple and allowed values (None: any string).
_TEXT_FIELDS: Final[dict[str, tuple[int, frozenset[str] | None]]] = {
    name: (_INDEX[name], _ENUM_VALUES.get(name))
    for name, spec in FIELDS.items()
    if spec.kind in ("enum", "str")
}


def intent_from(cls: type[Intent], body: Mapping[str, Any] | None, hints: dict[str, Any]) -> Intent:
    """`Intent.from_request`, taking the hints as a dict (so `Policy.decide` passes its own)."""
    # audience, output, tools, post_process, billing, expected_tokens, model, provider, labels
    values: list[Any] = [None, None, "none", None, None, None, None, None, _EMPTY_LABELS]
    if body is not None and not isinstance(body, Mapping):  # an empty list or "" too
        raise IntentError(
            f"request: expected a Chat Completions body (a JSON object), got {type(body).__name__}",
            field="request",
        )
    if body:
        values[1], values[2] = _infer_output_and_tools(body)
        values[5] = _infer_expected_tokens(body)
        model = body.get("model")
        values[6] = model if isinstance(model, str) else None
    if hints:
        extra_labels: dict[str, str] | None = None
        for name, value in hints.items():
            if type(value) is str:  # the common case: an enum value or a model name
                text_field = _TEXT_FIELDS.get(name)
                if text_field is not None:
                    index, allowed = text_field
                    if allowed is None or value in allowed:
                        values[index] = value
                        continue
            if value is None:
                continue
            index_ = _INDEX.get(name)
            if index_ is not None:
                values[index_] = _check_value(name, value)
            elif name.startswith("labels.") and len(name) > 7:
                if not isinstance(value, str):
                    message = f"intent {name}: expected a string, got {value!r}"
                    raise IntentError(message, field=name)
                if extra_labels is None:
                    extra_labels = {}
                extra_labels[name[7:]] = value
            else:
                raise _unknown_field(name)
        if extra_labels:
            values[_LABELS] = MappingProxyType({**values[_LABELS], **extra_labels})
    if values[1] is None:
        values[1] = "text"
    if values[3] is None:
        values[3] = values[1] != "text"
    if values[4] is None:
        values[4] = "none"
    return _tuple_new(cls, values)


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
