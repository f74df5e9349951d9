"""Policy YAML -> checked, typed specification, with every problem located at file:line:col.

The loader walks the YAML node tree itself (rather than handing a dict to pydantic) so that
each error points at the exact key or value, all errors of a file are reported at once, and
the `router decide` path never imports pydantic. The vocabulary lives in
`router.policy.grammar`; a test keeps it equal to the pydantic models in `schema`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from router.errors import Diagnostic
from router.intent import FIELDS, did_you_mean
from router.policy import grammar as g
from router.policy.ir import (
    BUILTIN_SETTINGS,
    AllOf,
    AnyOf,
    Condition,
    Not,
    Operator,
    Predicate,
    Settings,
)
from router.policy.yamlsafe import compose, position

__all__ = ["PolicySpec", "RuleSpec", "parse_policy"]

_TAG = "tag:yaml.org,2002:"
_CONSTRUCTOR = SafeConstructor()
_YAML_WORDS = {
    _TAG + "bool": "a boolean",
    _TAG + "int": "a number",
    _TAG + "float": "a number",
    _TAG + "null": "null",
}
#: Conditions nest at most this deep (any/all/not); deeper is a mistake, not a policy.
MAX_DEPTH = 32


class RuleSpec(NamedTuple):
    """One rule as written: its condition tree and the settings it sets itself."""

    name: str
    description: str
    line: int
    column: int
    condition: AllOf
    settings: Settings


class PolicySpec:
    """A whole policy as written, checked; `diagnostics` is empty when it is usable."""

    __slots__ = ("defaults", "description", "diagnostics", "rules", "version")

    def __init__(self) -> None:
        self.version = 1
        self.description = ""
        self.defaults = Settings()
        self.rules: list[RuleSpec] = []
        self.diagnostics: list[Diagnostic] = []


class _Walker:
    """Reports problems for one source; every check appends and carries on."""

    def __init__(
        self, source: str, diagnostics: list[Diagnostic], refused: frozenset[int] = frozenset()
    ) -> None:
        self.source = source
        self.diagnostics = diagnostics
        self.refused = refused  # ids of nodes under a refused tag: reported once already

    def error(self, node: Node, message: str, code: str = "policy") -> None:
        if id(node) in self.refused:
            return
        line, column = position(node)
        self.diagnostics.append(Diagnostic(self.source, line, column, message, code=code))

    # --- shapes -------------------------------------------------------------------------

    def mapping(self, node: Node, where: str) -> Iterator[tuple[str, ScalarNode, Node]]:
        """(key, key node, value node) of a mapping; reports a node of another shape."""
        if not isinstance(node, MappingNode):
            self.error(node, f"{where}: expected a mapping, got {self.describe(node)}", "type")
            return
        for key_node, value in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag != _TAG + "merge":
                yield str(key_node.value), key_node, value

    def keys(
        self, node: Node, where: str, allowed: Sequence[str]
    ) -> Iterator[tuple[str, ScalarNode, Node]]:
        """Like `mapping`, reporting (with "did you mean") keys not in `allowed`."""
        for key, key_node, value in self.mapping(node, where):
            if key in allowed:
                yield key, key_node, value
            else:
                self.error(
                    key_node,
                    f"{where}: unknown key {key!r}{did_you_mean(key, allowed)}; "
                    f"allowed: {', '.join(allowed)}",
                    "unknown-key",
                )

    def describe(self, node: Node) -> str:
        if isinstance(node, MappingNode):
            return "a mapping"
        if isinstance(node, SequenceNode):
            return "a list"
        if node.tag == _TAG + "str":
            return f"the string {node.value!r}"
        word = _YAML_WORDS.get(node.tag, "a value")
        return f"{word} ({node.value or 'empty'})"

    def scalar(self, node: Node) -> object:
        """The Python value of a scalar node of a plain-data tag (the tree pass checked tags)."""
        tag = node.tag
        if tag == _TAG + "str":
            return str(node.value)
        if tag == _TAG + "bool":
            return _CONSTRUCTOR.construct_yaml_bool(node)  # type: ignore[arg-type]
        if tag == _TAG + "int":
            return _CONSTRUCTOR.construct_yaml_int(node)  # type: ignore[arg-type]
        if tag == _TAG + "float":
            return _CONSTRUCTOR.construct_yaml_float(node)  # type: ignore[arg-type]
        return None

    def string(self, node: Node, where: str) -> str | None:
        """A string; a plain scalar YAML read as something else gets "quote it"."""
        if isinstance(node, ScalarNode) and node.tag == _TAG + "str":
            return str(node.value)
        if isinstance(node, ScalarNode) and node.tag in _YAML_WORDS and node.value:
            self.error(
                node,
                f"{where}: expected a string, but YAML reads {node.value} as "
                f'{_YAML_WORDS[node.tag]}: quote it ("{node.value}")',
                "type",
            )
        else:
            self.error(node, f"{where}: expected a string, got {self.describe(node)}", "type")
        return None

    def choice(self, node: Node, where: str, allowed: Sequence[str], what: str) -> str | None:
        """One of `allowed` (an enum value), with "did you mean" and "quote it"."""
        if (
            isinstance(node, ScalarNode)
            and node.tag in _YAML_WORDS
            and node.value
            and node.value not in allowed
        ):
            text: str | None = str(node.value)  # `mode: on`: quoting would not help either
        else:
            text = self.string(node, where)
        if text is None:
            return None
        if text not in allowed:
            self.error(
                node,
                f"{where}: {text!r} is not {what}{did_you_mean(text, allowed)}; "
                f"allowed: {', '.join(allowed)}",
                "enum",
            )
            return None
        return text

    def boolean(self, node: Node, where: str) -> bool | None:
        if isinstance(node, ScalarNode) and node.tag == _TAG + "bool":
            return bool(self.scalar(node))
        hint = " (without quotes)" if node.tag == _TAG + "str" else ""
        self.error(
            node, f"{where}: expected true or false{hint}, got {self.describe(node)}", "type"
        )
        return None

    def integer(self, node: Node, where: str, minimum: int = 0) -> int | None:
        if isinstance(node, ScalarNode) and node.tag == _TAG + "int":
            value = self.scalar(node)
            assert isinstance(value, int)
            if value >= minimum:
                return value
            self.error(node, f"{where}: expected an integer >= {minimum}, got {value}", "range")
            return None
        hint = " (without quotes)" if node.tag == _TAG + "str" else ""
        self.error(node, f"{where}: expected an integer{hint}, got {self.describe(node)}", "type")
        return None

    def duration(self, node: Node, where: str) -> float | None:
        example = "write it with a unit: 250ms, 0.5s, 5s, 10m, 1h"
        if isinstance(node, ScalarNode) and node.tag in (_TAG + "int", _TAG + "float"):
            self.error(node, f"{where}: {node.value} has no unit; {example}", "duration")
            return None
        text = self.string(node, where)
        if text is None:
            return None
        seconds = g.parse_duration(text)
        if seconds is None:
            self.error(node, f"{where}: {text!r} is not a duration; {example}", "duration")
            return None
        if seconds <= 0:
            self.error(node, f"{where}: a duration must be more than zero", "duration")
            return None
        return seconds


# --- options ------------------------------------------------------------------------------


def _settings(w: _Walker, node: Node, where: str, base: Settings) -> Settings:
    """The option keys of `defaults` or a rule, as Settings (unset fields None).

    `base` is what these settings merge over, for checks that need both (backoff bounds).
    """
    out: dict[str, Any] = {}
    backoff_node: Node | None = None
    for key, _key_node, value in w.mapping(node, where):
        if key not in g.OPTION_KEYS:
            continue
        here = f"{where}.{key}"
        if key == "mode":
            out["mode"] = w.choice(value, here, g.MODES, "a mode")
        elif key == "validate":
            if isinstance(value, MappingNode):
                out["validate"] = True
                for sub, _k, item in w.keys(value, here, g.VALIDATE_KEYS):
                    if sub == "reask":
                        out["reask"] = w.integer(item, f"{here}.reask")
                    else:
                        out["progressive"] = w.boolean(item, f"{here}.progressive")
            elif isinstance(value, ScalarNode) and value.tag == _TAG + "bool":
                out["validate"] = w.boolean(value, here)
            else:
                w.error(
                    value,
                    f"{here}: expected true, false or a mapping {{reask: N, progressive: "
                    f"true|false}}, got {w.describe(value)}",
                    "type",
                )
        elif key == "stream":
            for sub, _k, item in w.keys(value, here, g.STREAM_KEYS):
                if sub == "include_usage":
                    out["include_usage"] = w.choice(
                        item, f"{here}.include_usage", g.INCLUDE_USAGE_VALUES, "an include_usage"
                    )
                else:
                    out["fallback"] = w.choice(
                        item, f"{here}.fallback", g.FALLBACK_VALUES, "a fallback"
                    )
        elif key == "timeouts":
            for sub, _k, item in w.keys(value, here, g.TIMEOUT_KEYS):
                out[sub] = w.duration(item, f"{here}.{sub}")
        elif key == "retries":
            for sub, _k, item in w.keys(value, here, g.RETRY_KEYS):
                if sub == "attempts":
                    out["attempts"] = w.integer(item, f"{here}.attempts", minimum=1)
                else:
                    backoff_node = item
                    for part, _kk, dur in w.keys(item, f"{here}.backoff", g.BACKOFF_KEYS):
                        name = "backoff_initial" if part == "initial" else "backoff_max"
                        out[name] = w.duration(dur, f"{here}.backoff.{part}")
    settings = Settings(**{key: value for key, value in out.items() if value is not None})
    if backoff_node is not None:
        full = BUILTIN_SETTINGS.merged(base).merged(settings)
        low, high = full.backoff_initial, full.backoff_max
        if low is not None and high is not None and low > high:
            w.error(
                backoff_node,
                f"{where}.retries.backoff: initial ({low:g}s) is more than max ({high:g}s): "
                "raise max or lower initial",
                "range",
            )
    return settings


# --- conditions ---------------------------------------------------------------------------


def _condition(w: _Walker, node: Node, where: str, depth: int = 0) -> AllOf:
    """A `when` mapping: an AND over its fields and combinators."""
    line, column = position(node)
    items: list[Condition] = []
    if depth > MAX_DEPTH:
        w.error(node, f"{where}: conditions nest deeper than {MAX_DEPTH} levels", "too-large")
        return AllOf((), line, column)
    allowed = (*g.CONDITION_FIELDS, *g.COMBINATORS, "labels.<key>")
    for key, key_node, value in w.mapping(node, where):
        here = f"{where}.{key}"
        if key in ("any", "all"):
            if not isinstance(value, SequenceNode) or not value.value:
                got = "an empty list" if isinstance(value, SequenceNode) else w.describe(value)
                w.error(value, f"{here}: expected a non-empty list of conditions, got {got}")
                continue
            parts = tuple(
                _condition(w, item, f"{here}[{i}]", depth + 1) for i, item in enumerate(value.value)
            )
            kl, kc = position(key_node)
            items.append(AnyOf(parts, kl, kc) if key == "any" else AllOf(parts, kl, kc))
        elif key == "not":
            kl, kc = position(key_node)
            items.append(Not(_condition(w, value, here, depth + 1), kl, kc))
        elif (key in FIELDS and key != "labels") or (key.startswith("labels.") and len(key) > 7):
            items.extend(_field_tests(w, key, key_node, value, here))
        elif key == "labels":
            w.error(key_node, f"{here}: test one label at a time, as labels.<key>", "unknown-key")
        else:
            w.error(
                key_node,
                f"{where}: unknown field {key!r}{did_you_mean(key, allowed)}; "
                f"allowed: {', '.join(allowed)}",
                "unknown-key",
            )
    return AllOf(tuple(items), line, column)


def _field_tests(
    w: _Walker, field_name: str, key_node: Node, node: Node, where: str
) -> list[Predicate]:
    kind = "str" if field_name.startswith("labels.") else FIELDS[field_name].kind
    line, column = position(key_node)
    read = _operand_reader(w, field_name, kind)
    if isinstance(node, ScalarNode):
        value = read(node, where)
        return [] if value is None else [Predicate(field_name, "eq", value, line, column)]
    if isinstance(node, SequenceNode):
        if kind == "bool":
            w.error(node, f"{where}: expected true or false, got a list", "type")
            return []
        values = _values(w, node, where, read)
        return [] if values is None else [Predicate(field_name, "in", values, line, column)]
    out: list[Predicate] = []
    allowed_ops = g.OPERATORS_BY_KIND[kind]
    any_key = False
    for op, op_node, operand in w.mapping(node, where):
        any_key = True
        here = f"{where}.{op}"
        ol, oc = position(op_node)
        if op not in g.OPERATORS:
            w.error(
                op_node,
                f"{where}: unknown operator {op!r}{did_you_mean(op, g.OPERATORS)}; "
                f"{field_name} takes: {', '.join(allowed_ops)}",
                "operator",
            )
            continue
        if op not in allowed_ops:
            w.error(
                op_node,
                f"{where}: the operator {op!r} does not fit {field_name} ({_kind_words(kind)}); "
                f"it takes: {', '.join(allowed_ops)}",
                "operator",
            )
            continue
        parsed: object
        if op == "exists":
            parsed = w.boolean(operand, here)
        elif op in ("in", "not_in"):
            if not isinstance(operand, SequenceNode):
                w.error(operand, f"{here}: expected a list, got {w.describe(operand)}", "type")
                continue
            parsed = _values(w, operand, here, read)
        elif op == "glob":
            parsed = _globs(w, operand, here)
        else:
            parsed = read(operand, here)
        if parsed is not None:
            out.append(Predicate(field_name, _op(op), parsed, ol, oc))
    if isinstance(node, MappingNode) and not any_key:
        w.error(node, f"{where}: an empty test; write a value, a list or {{operator: value}}")
    return out


def _op(name: str) -> Operator:
    assert name in g.OPERATORS
    return name  # type: ignore[return-value]


def _kind_words(kind: str) -> str:
    return {
        "enum": "a set of names",
        "bool": "true or false",
        "int": "an integer",
        "str": "a string",
    }[kind]


def _operand_reader(w: _Walker, field_name: str, kind: str) -> Callable[[Node, str], object]:
    if kind == "enum":
        allowed = FIELDS[field_name].allowed
        return lambda node, where: w.choice(node, where, allowed, f"a value of {field_name}")
    if kind == "bool":
        return w.boolean
    if kind == "int":
        return w.integer
    return w.string


def _values(
    w: _Walker, node: SequenceNode, where: str, read: Callable[[Node, str], object]
) -> frozenset[object] | None:
    if not node.value:
        w.error(node, f"{where}: an empty list matches nothing; list at least one value")
        return None
    values = [read(item, f"{where}[{i}]") for i, item in enumerate(node.value)]
    if any(value is None for value in values):
        return None
    return frozenset(values)


def _globs(w: _Walker, node: Node, where: str) -> tuple[str, ...] | None:
    items = node.value if isinstance(node, SequenceNode) else [node]
    if not items:
        w.error(node, f"{where}: an empty list matches nothing; list at least one pattern")
        return None
    patterns = [w.string(item, where) for item in items]
    if any(pattern is None for pattern in patterns):
        return None
    return tuple(str(pattern) for pattern in patterns)


# --- the document -------------------------------------------------------------------------


def parse_policy(text: str, source: str) -> PolicySpec:
    """Check a whole policy document; problems are collected in `spec.diagnostics`."""
    spec = PolicySpec()
    composed = compose(text, source)
    spec.diagnostics.extend(composed.diagnostics)
    root = composed.root
    if root is None:
        if not spec.diagnostics:
            spec.diagnostics.append(
                Diagnostic(source, 1, 1, "the policy is empty: start it with `version: 1`")
            )
        return spec
    if any(d.code == "alias-bomb" for d in spec.diagnostics):
        return spec
    w = _Walker(source, spec.diagnostics, composed.refused)
    if not isinstance(root, MappingNode):
        w.error(root, f"a policy is a mapping with `version: 1`, got {w.describe(root)}", "type")
        return spec
    version_seen = False
    rules_node: Node | None = None
    for key, _key_node, value in w.keys(root, "policy", g.TOP_KEYS):
        if key == "version":
            version_seen = True
            version = w.integer(value, "version")
            if version is not None and version not in g.SUPPORTED_VERSIONS:
                supported = ", ".join(str(v) for v in g.SUPPORTED_VERSIONS)
                w.error(
                    value,
                    f"version: unknown policy version {version}; this router reads: {supported}",
                    "version",
                )
            elif version is not None:
                spec.version = version
        elif key == "description":
            spec.description = w.string(value, "description") or ""
        elif key == "defaults":
            list(w.keys(value, "defaults", g.OPTION_KEYS))  # reports unknown keys
            if isinstance(value, MappingNode):
                spec.defaults = _settings(w, value, "defaults", Settings())
        else:
            rules_node = value
    if not version_seen:
        w.error(root, "missing `version: 1` at the top of the policy", "version")
    if rules_node is not None:
        _rules(w, rules_node, spec)
    return spec


def _rules(w: _Walker, node: Node, spec: PolicySpec) -> None:
    if not isinstance(node, SequenceNode):
        if isinstance(node, ScalarNode) and node.tag == _TAG + "null":
            return  # `rules:` with nothing after it: no rules
        w.error(node, f"rules: expected a list of rules, got {w.describe(node)}", "type")
        return
    seen: dict[str, int] = {}
    for index, rule_node in enumerate(node.value):
        where = f"rules[{index}]"
        if not isinstance(rule_node, MappingNode):
            w.error(rule_node, f"{where}: expected a rule (a mapping), got {w.describe(rule_node)}")
            continue
        name: str | None = None
        description = ""
        condition: AllOf | None = None
        stream_key: Node | None = None
        for key, key_node, value in w.keys(rule_node, where, g.RULE_KEYS):
            if key == "name":
                name = w.string(value, f"{where}.name")
                if name is not None and not name.strip():
                    w.error(value, f"{where}.name: a rule name cannot be empty")
                    name = None
                if name is not None:
                    where = f"rules[{index}] ({name})"
                    line, _ = position(value)
                    if name in seen:
                        w.error(
                            value,
                            f"{where}: duplicate rule name {name!r} (first at line "
                            f"{seen[name]}): rule names must be unique",
                            "duplicate-rule",
                        )
                    else:
                        seen[name] = line
            elif key == "description":
                description = w.string(value, f"{where}.description") or ""
            elif key == "when":
                if isinstance(value, ScalarNode) and value.tag == _TAG + "null":
                    condition = AllOf((), *position(value))
                else:
                    condition = _condition(w, value, f"{where}.when")
            elif key == "stream":
                stream_key = key_node
        settings = _settings(w, rule_node, where, spec.defaults)
        line, column = position(rule_node)
        if name is None:
            if not any(k == "name" for k, _, _ in w.mapping(rule_node, where)):
                w.error(rule_node, f"{where}: a rule needs a `name:` (unique in the policy)")
            continue
        mode = settings.mode or spec.defaults.mode or "batch"
        if stream_key is not None and mode == "batch":
            w.error(
                stream_key,
                f"{where}: a `stream:` block on a rule whose mode is batch has no effect: "
                "remove it, or set `mode: stream`",
                "stream-on-batch",
            )
        if condition is None:
            condition = AllOf((), line, column)
        spec.rules.append(RuleSpec(name, description, line, column, condition, settings))
