"""Reading policy case files: YAML with every value located, checked key by key.

The file goes through the policy loader's safe composer (no object tags, merge keys,
duplicate keys, alias bombs or oversized files), then each case is read into a `Case` while
every problem is collected as a diagnostic with file:line:col, so one run of `router test`
reports them all. The format itself is described in `router.policy.cases`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, SequenceNode

from router.errors import Diagnostic, IntentError, PolicyError
from router.policy.cases import Case, OptionCheck, format_value
from router.policy.yamlsafe import compose, position

__all__ = ["read_case_file"]

_CASE_KEYS = ("name", "request", "intent", "expect")
_EXPECT_KEYS = ("mode", "rule", "options")
_MODES = ("stream", "batch")


def read_case_file(
    text: str, *, source: str = "<string>", rule_names: Sequence[str] | None = None
) -> list[Case]:
    """The cases of one file; raises `PolicyError` with every problem located."""
    problems = _Problems(source)
    root = _parse_yaml(text, problems)
    if root is None:
        raise PolicyError(problems.items)
    cases = _read_cases(root, problems, rule_names)
    if problems.items:
        raise PolicyError(sorted(problems.items, key=lambda d: (d.line, d.column)))
    return cases


@dataclass(slots=True)
class _Node:
    """A YAML value with where it was written; mappings keep their key positions."""

    value: Any
    line: int
    column: int
    keys: dict[str, tuple[int, int]] = field(default_factory=dict)


class _Problems:
    """Diagnostics gathered while loading one file."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[Diagnostic] = []

    def add(self, line: int, column: int, message: str) -> None:
        self.items.append(Diagnostic(self.source, line, column, message, code="cases"))


def _parse_yaml(text: str, problems: _Problems) -> _Node | None:
    """The file as a `_Node` tree, through the policy loader's safe composer (which
    refuses object tags, merge keys, duplicate keys, alias bombs and oversized files)."""
    composed = compose(text, problems.source)
    for diagnostic in composed.diagnostics:
        problems.add(diagnostic.line, diagnostic.column, diagnostic.message)
    if composed.root is None:
        if not composed.diagnostics:
            problems.add(1, 1, "empty case file; expected a mapping with a `cases:` list")
        return None
    if composed.diagnostics:
        return None
    return _convert(composed.root, SafeConstructor())


def _convert(node: Any, constructor: SafeConstructor) -> _Node:
    """A checked YAML node as plain JSON-like values, keeping each value's position."""
    line, column = position(node)
    if isinstance(node, MappingNode):
        result: dict[str, Any] = {}
        keys: dict[str, tuple[int, int]] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            result[key] = _convert(value_node, constructor)
            keys[key] = position(key_node)
        return _Node(result, line, column, keys)
    if isinstance(node, SequenceNode):
        return _Node([_convert(item, constructor) for item in node.value], line, column)
    return _Node(constructor.construct_object(node), line, column)


def _plain_value(node: _Node) -> Any:
    """A converted node's value with the positions stripped, all the way down."""
    if isinstance(node.value, dict):
        return {key: _plain_value(child) for key, child in node.value.items()}
    if isinstance(node.value, list):
        return [_plain_value(child) for child in node.value]
    return node.value


def _mapping(node: _Node, what: str, problems: _Problems) -> dict[str, _Node] | None:
    if isinstance(node.value, dict):
        return node.value
    problems.add(node.line, node.column, f"{what} must be a mapping, got {_kind(node.value)}")
    return None


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()} (quote it if you meant the word)"
    if isinstance(value, str):
        return f"the string {value!r}"
    return f"the number {value}"


def _unknown_keys(node: _Node, allowed: Sequence[str], where: str, problems: _Problems) -> None:
    import difflib

    for key in node.value:
        if key not in allowed:
            near = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f" (allowed: {', '.join(allowed)})"
            problems.add(*node.keys[key], f"unknown key {key!r} in {where}{hint}")


def _read_cases(root: _Node, problems: _Problems, rule_names: Sequence[str] | None) -> list[Case]:
    top = _mapping(root, "a case file", problems)
    if top is None:
        return []
    _unknown_keys(root, ("cases",), "the case file", problems)
    if "cases" not in top:
        problems.add(root.line, root.column, "missing `cases:` (a list of cases)")
        return []
    listed = top["cases"]
    if not isinstance(listed.value, list):
        problems.add(
            listed.line, listed.column, f"`cases` must be a list, got {_kind(listed.value)}"
        )
        return []
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for node in listed.value:
        case = _read_case(node, problems, rule_names)
        if case is None:
            continue
        if case.name in seen:
            problems.add(
                node.line,
                node.column,
                f"duplicate case name {case.name!r} (first at line {seen[case.name]})",
            )
            continue
        seen[case.name] = node.line
        cases.append(case)
    return cases


def _read_case(node: _Node, problems: _Problems, rule_names: Sequence[str] | None) -> Case | None:
    fields = _mapping(node, "a case", problems)
    if fields is None:
        return None
    before = len(problems.items)
    _unknown_keys(node, _CASE_KEYS, "a case", problems)
    # A misspelt key is already reported; "missing name/expect" on top would say it twice.
    misspelt = len(problems.items) > before
    name_node = fields.get("name")
    if name_node is None:
        if not misspelt:
            problems.add(node.line, node.column, "a case needs a `name`")
    elif not isinstance(name_node.value, str) or not name_node.value.strip():
        problems.add(name_node.line, name_node.column, "`name` must be a non-empty string")
    request: dict[str, Any] | None = None
    if "request" in fields:
        request_node = fields["request"]
        if request_node.value is not None and _mapping(request_node, "`request`", problems):
            request = _plain_value(request_node)
    hints: dict[str, Any] = {}
    if "intent" in fields:
        intent_node = fields["intent"]
        if intent_node.value is not None and _mapping(intent_node, "`intent`", problems):
            hints = _plain_value(intent_node)
            _check_intent(request, hints, intent_node, problems)
    expect = fields.get("expect")
    if expect is None:
        if not misspelt:
            problems.add(node.line, node.column, "a case needs `expect:` with at least `mode`")
        return None
    parsed = _read_expect(expect, problems, rule_names)
    if parsed is None or len(problems.items) > before:
        return None
    mode, checks_rule, rule, checks = parsed
    assert name_node is not None
    return Case(
        name=name_node.value,
        source=problems.source,
        line=node.line,
        request=request,
        hints=hints,
        mode=mode,
        rule=rule,
        checks_rule=checks_rule,
        option_checks=checks,
    )


def _check_intent(
    request: Mapping[str, Any] | None, hints: dict[str, Any], node: _Node, problems: _Problems
) -> None:
    """The engine's own judgement of the hints, reported where the field was written."""
    from router.intent import Intent

    try:
        Intent.from_request(request, **hints)
    except IntentError as exc:
        field_name = exc.field.split(".", 1)[0]
        line, column = node.keys.get(field_name, (node.line, node.column))
        problems.add(line, column, f"invalid intent: {exc}")


def _read_expect(
    node: _Node, problems: _Problems, rule_names: Sequence[str] | None
) -> tuple[str, bool, str | None, tuple[OptionCheck, ...]] | None:
    fields = _mapping(node, "`expect`", problems)
    if fields is None:
        return None
    _unknown_keys(node, _EXPECT_KEYS, "`expect`", problems)
    mode_node = fields.get("mode")
    mode = ""
    if mode_node is None:
        problems.add(node.line, node.column, "`expect` needs `mode: stream` or `mode: batch`")
    elif mode_node.value not in _MODES:
        problems.add(
            mode_node.line,
            mode_node.column,
            f"`mode` must be stream or batch, got {_kind(mode_node.value)}",
        )
    else:
        mode = mode_node.value
    rule: str | None = None
    rule_node = fields.get("rule")
    if rule_node is not None:
        if rule_node.value is not None and not isinstance(rule_node.value, str):
            problems.add(rule_node.line, rule_node.column, "`rule` must be a rule name or null")
        elif (
            rule_node.value is not None
            and rule_names is not None
            and rule_node.value not in rule_names
        ):
            problems.add(
                rule_node.line, rule_node.column, _no_such_rule(rule_node.value, rule_names)
            )
        else:
            rule = rule_node.value
    checks: tuple[OptionCheck, ...] = ()
    if "options" in fields:
        checks = tuple(_read_options(fields["options"], problems))
    return mode, rule_node is not None, rule, checks


def _no_such_rule(name: str, rule_names: Sequence[str]) -> str:
    import difflib

    near = difflib.get_close_matches(name, list(rule_names), n=1)
    if near:
        return f"the policy has no rule {name!r}; did you mean {near[0]!r}?"
    listed = ", ".join(rule_names) or "none"
    return f"the policy has no rule {name!r} (its rules: {listed}); null expects the defaults"


# --- expected options ---------------------------------------------------------------------------

_TIMEOUTS = ("connect", "first_token", "idle", "total")


def _read_options(node: _Node, problems: _Problems) -> Iterable[OptionCheck]:
    fields = _mapping(node, "`options`", problems)
    if fields is None:
        return
    _unknown_keys(node, ("validate", "stream", "timeouts", "retries"), "`options`", problems)
    if "validate" in fields:
        yield from _validate_checks(fields["validate"], problems)
    if "stream" in fields:
        yield from _stream_checks(fields["stream"], problems)
    if "timeouts" in fields:
        yield from _timeout_checks(fields["timeouts"], problems)
    if "retries" in fields:
        yield from _retry_checks(fields["retries"], problems)


def _validate_checks(node: _Node, problems: _Problems) -> Iterable[OptionCheck]:
    if isinstance(node.value, bool):
        yield OptionCheck(
            "options.validate", node.value, lambda o: o.validate.enabled, format_value(node.value)
        )
        return
    fields = _mapping(node, "`validate` (true, false, or {reask, progressive})", problems)
    if fields is None:
        return
    _unknown_keys(node, ("reask", "progressive"), "`validate`", problems)
    yield OptionCheck("options.validate", True, lambda o: o.validate.enabled, "true")
    if "reask" in fields:
        reask = fields["reask"]
        if _is_int(reask.value) and reask.value >= 0:
            yield OptionCheck(
                "options.validate.reask", reask.value, lambda o: o.validate.reask, str(reask.value)
            )
        else:
            problems.add(reask.line, reask.column, "`reask` must be a whole number >= 0")
    if "progressive" in fields:
        yield from _bool_check(
            fields["progressive"],
            "options.validate.progressive",
            lambda o: o.validate.progressive,
            problems,
        )


def _stream_checks(node: _Node, problems: _Problems) -> Iterable[OptionCheck]:
    fields = _mapping(node, "`stream`", problems)
    if fields is None:
        return
    _unknown_keys(node, ("include_usage", "fallback"), "`stream`", problems)
    if "include_usage" in fields:
        yield from _bool_check(
            fields["include_usage"],
            "options.stream.include_usage",
            lambda o: o.stream.include_usage,
            problems,
            note=" (decisions resolve `auto` to true or false)",
        )
    if "fallback" in fields:
        fallback = fields["fallback"]
        if fallback.value in ("batch", "none"):
            yield OptionCheck(
                "options.stream.fallback",
                fallback.value,
                lambda o: o.stream.fallback,
                fallback.value,
            )
        else:
            problems.add(
                fallback.line,
                fallback.column,
                f"`fallback` must be batch or none, got {_kind(fallback.value)}",
            )


def _timeout_checks(node: _Node, problems: _Problems) -> Iterable[OptionCheck]:
    fields = _mapping(node, "`timeouts`", problems)
    if fields is None:
        return
    _unknown_keys(node, _TIMEOUTS, "`timeouts`", problems)
    for name in _TIMEOUTS:
        if name in fields:
            yield from _duration_check(
                fields[name], f"options.timeouts.{name}", _attr("timeouts", name), problems
            )


def _retry_checks(node: _Node, problems: _Problems) -> Iterable[OptionCheck]:
    fields = _mapping(node, "`retries`", problems)
    if fields is None:
        return
    _unknown_keys(node, ("attempts", "backoff"), "`retries`", problems)
    if "attempts" in fields:
        attempts = fields["attempts"]
        if _is_int(attempts.value) and attempts.value >= 1:
            yield OptionCheck(
                "options.retries.attempts",
                attempts.value,
                lambda o: o.retries.attempts,
                str(attempts.value),
            )
        else:
            problems.add(
                attempts.line,
                attempts.column,
                "`attempts` must be a whole number >= 1 (it counts the first try)",
            )
    if "backoff" in fields:
        backoff = fields["backoff"]
        backoff_fields = _mapping(backoff, "`backoff`", problems)
        if backoff_fields is not None:
            _unknown_keys(backoff, ("initial", "max"), "`backoff`", problems)
            for name in ("initial", "max"):
                if name in backoff_fields:
                    yield from _duration_check(
                        backoff_fields[name],
                        f"options.retries.backoff.{name}",
                        _attr("retries", f"backoff_{name}"),
                        problems,
                    )


def _attr(group: str, name: str) -> Callable[[Any], object]:
    return lambda options: getattr(getattr(options, group), name)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _bool_check(
    node: _Node, name: str, actual: Callable[[Any], object], problems: _Problems, note: str = ""
) -> Iterable[OptionCheck]:
    if isinstance(node.value, bool):
        yield OptionCheck(name, node.value, actual, format_value(node.value))
    else:
        problems.add(
            node.line, node.column, f"`{name.rsplit('.', 1)[-1]}` must be true or false{note}"
        )


def _duration_check(
    node: _Node, name: str, actual: Callable[[Any], object], problems: _Problems
) -> Iterable[OptionCheck]:
    from router.policy.grammar import parse_duration

    seconds = parse_duration(node.value) if isinstance(node.value, str) else None
    if seconds is None:
        problems.add(
            node.line,
            node.column,
            f"bad duration {node.value!r} for {name.rsplit('.', 1)[-1]}: "
            "write 250ms, 0.5s, 30s or 10m",
        )
        return
    yield OptionCheck(name, seconds, actual, str(node.value))
