"""Scenarios: named scripts for `router simulate`, built in or read from YAML files.

A scenario file names a default step, optional queued steps and optional quirks::

    name: flaky
    description: Rate limited once, cut mid-stream once, then well.
    quirks: {ping: comment}
    steps:
      - {fault: http_status, status: 429, retry_after: 1}
      - {fault: close_mid_stream, after: 3}
    default: {reply: text, text: "Hello from the simulated provider.", token_delay: 0.05}

A step is `{reply: KIND, ...}` (KIND: text, json, tool_calls, refusal, many; the keys are the
arguments of the `Reply` constructor of that name) or `{fault: KIND, ...}` (KIND: a `Fault`
constructor, e.g. `close_mid_stream`; the keys are its arguments; `reply:` nests a reply).
Mistakes are `UsageError`s that name the file and the key.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from router.errors import UsageError
from router.testing.scripts import (
    PING_COMMENT,
    PING_DATA,
    PING_EVENT,
    Fault,
    Quirks,
    Reply,
    ToolCallSpec,
)

if TYPE_CHECKING:  # the server is imported when a provider is built
    from router.testing.server import SimulatedProvider

__all__ = ["BUILTIN", "Scenario", "load_scenario", "resolve_scenario"]

_REPLIES: dict[str, Callable[..., Reply]] = {
    "text": Reply.text,
    "json": Reply.json,
    "tool_calls": Reply.tool_calls,
    "refusal": Reply.refusal,
    "many": Reply.many,
}

_FAULTS: dict[str, Callable[..., Fault]] = {
    name: getattr(Fault, name)
    for name in (
        "refuse_connection",
        "reset_connection",
        "stall_before_headers",
        "http_status",
        "wrong_content_type",
        "stall_before_first_event",
        "keepalive_forever",
        "stall_mid_stream",
        "close_mid_stream",
        "end_without_done",
        "malformed_chunk",
        "error_event",
        "huge_line",
        "drip",
        "endless_deltas",
        "short_body",
    )
}

_PINGS = {"comment": PING_COMMENT, "event": PING_EVENT, "data": PING_DATA}


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named script: the default step, queued steps, quirks and the model name."""

    name: str
    description: str
    default: Reply | Fault
    steps: tuple[Reply | Fault, ...] = ()
    quirks: Quirks | None = None
    model: str = "gpt-4o-mini"

    def provider(self, *, port: int = 0, max_stall: float = 60.0) -> SimulatedProvider:
        """A `SimulatedProvider` (not started) playing this scenario."""
        from router.testing.server import SimulatedProvider

        return SimulatedProvider(
            self.default,
            steps=self.steps,
            quirks=self.quirks,
            model=self.model,
            port=port,
            max_stall=max_stall,
        )

    @classmethod
    def from_mapping(cls, data: Any, *, source: str = "<scenario>") -> Scenario:
        """Build a scenario from parsed YAML/JSON; a mistake is a `UsageError` naming it."""
        where = _Where(source)
        if not isinstance(data, Mapping):
            raise where.error("", "a scenario is a mapping with `default` and optional `steps`")
        where.check_keys("", data, ("name", "description", "model", "quirks", "steps", "default"))
        steps_data = data.get("steps", [])
        if not isinstance(steps_data, list):
            raise where.error("steps", "expected a list of steps")
        return cls(
            name=str(data.get("name") or Path(source).stem),
            description=str(data.get("description") or ""),
            default=_step(data.get("default", {"reply": "text"}), where, "default"),
            steps=tuple(_step(step, where, f"steps[{i}]") for i, step in enumerate(steps_data)),
            quirks=_quirks(data["quirks"], where) if "quirks" in data else None,
            model=str(data.get("model") or "gpt-4o-mini"),
        )


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario from a YAML file (a safe loader only)."""
    import yaml

    from router.cli.common import read_text

    text = read_text(str(path))
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise UsageError(f"{path}{at}: not valid YAML", code="scenario") from None
    return Scenario.from_mapping(data, source=str(path))


def resolve_scenario(name_or_path: str) -> Scenario:
    """A built-in scenario by name, else a scenario file."""
    if name_or_path in BUILTIN:
        return BUILTIN[name_or_path]
    if (
        Path(name_or_path).suffix.lower() in (".yaml", ".yml", ".json")
        or Path(name_or_path).exists()
    ):
        return load_scenario(name_or_path)
    hint = _did_you_mean(name_or_path, list(BUILTIN))
    raise UsageError(
        f"unknown scenario {name_or_path!r}{hint}; built in: {', '.join(BUILTIN)}, or a .yaml file",
        code="scenario",
    )


def _did_you_mean(word: str, options: list[str]) -> str:
    """` (did you mean 'x'?)` for the closest option (or one it begins), else nothing."""
    close = difflib.get_close_matches(word, options, n=1)
    if not close:
        close = [option for option in options if option.startswith(word)][:1]
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Where:
    """Locates a mistake in a scenario: the file and the key path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, path: str, message: str) -> UsageError:
        location = f"{self.source}: {path}: " if path else f"{self.source}: "
        return UsageError(location + message, code="scenario")

    def check_keys(self, path: str, data: Mapping[str, Any], allowed: Iterable[str]) -> None:
        allowed = list(allowed)
        for key in data:
            if key not in allowed:
                hint = _did_you_mean(str(key), allowed)
                where = f"{path}.{key}" if path else str(key)
                raise self.error(where, f"unknown key{hint}; allowed: {', '.join(allowed)}")


def _step(data: Any, where: _Where, path: str) -> Reply | Fault:
    if not isinstance(data, Mapping):
        raise where.error(path, "a step is a mapping with `reply: KIND` or `fault: KIND`")
    if "fault" in data:  # a fault's `reply:` is the nested answer it corrupts
        return _build(_FAULTS, "fault", data, where, path)
    if "reply" in data:
        return _build(_REPLIES, "reply", data, where, path)
    raise where.error(path, "a step needs `reply: KIND` or `fault: KIND`")


#: The steps whose positional arguments a file gives as one list, under this key.
_LISTED = {"tool_calls": ("calls",), "many": ("texts",)}


def _keywords(factory: Callable[..., Reply | Fault]) -> list[str]:
    """The keys a step may give `factory`: its named parameters and, when it passes
    `**options` on to `Reply.text`, that constructor's options (but `tokens`, set for it)."""
    parameters = inspect.signature(factory).parameters.values()
    names = [p.name for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        forwarded = inspect.signature(Reply.text).parameters.values()
        names += [
            p.name
            for p in forwarded
            if p.kind is p.KEYWORD_ONLY and p.name not in names and p.name != "tokens"
        ]
    return names


def _build(
    table: Mapping[str, Callable[..., Reply | Fault]],
    key: str,
    data: Mapping[str, Any],
    where: _Where,
    path: str,
) -> Reply | Fault:
    kind = data[key]
    if kind not in table:
        hint = _did_you_mean(str(kind), list(table))
        raise where.error(
            f"{path}.{key}", f"unknown {key} {kind!r}{hint}; one of: {', '.join(table)}"
        )
    factory = table[kind]
    arguments = {k: v for k, v in data.items() if k != key}
    positional: list[Any] = []
    if kind == "tool_calls":
        calls = arguments.pop("calls", None)
        if not isinstance(calls, list) or not calls:
            raise where.error(f"{path}.calls", "expected a list of {name, arguments, id}")
        positional = [_tool_call(call, where, f"{path}.calls[{i}]") for i, call in enumerate(calls)]
    if kind == "many":
        texts = arguments.pop("texts", None)
        if not isinstance(texts, list) or not texts:
            raise where.error(f"{path}.texts", "expected a list of texts")
        positional = [str(text) for text in texts]
    where.check_keys(path, arguments, [*_keywords(factory), *_LISTED.get(kind, ())])
    for name, value in arguments.items():
        _check_type(name, value, where, f"{path}.{name}")
    if "reply" in arguments:
        nested = arguments["reply"]
        if not isinstance(nested, Mapping):
            raise where.error(
                f"{path}.reply", "expected a reply mapping, e.g. {reply: text, text: ...}"
            )
        arguments["reply"] = _step({"reply": "text", **nested}, where, f"{path}.reply")
    if isinstance(arguments.get("quirks"), Mapping):
        arguments["quirks"] = _quirks(arguments["quirks"], where, f"{path}.quirks")
    try:
        return factory(*positional, **arguments)
    except (TypeError, ValueError) as exc:
        raise where.error(path, str(exc)) from None


_NUMBERS = frozenset({"first_token_delay", "token_delay", "interval", "seconds", "retry_after"})
_INTEGERS = frozenset({"after", "status", "retry_after_ms", "size", "missing", "chunk_chars"})
_TEXTS = frozenset({"text", "message", "error_type", "code", "finish_reason", "reasoning"})


def _check_type(name: str, value: Any, where: _Where, path: str) -> None:
    """Numbers where numbers belong, so a typo fails at load time, not mid-response."""
    if value is None and name in ("seconds", "retry_after", "retry_after_ms", "finish_reason"):
        return
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    http_date = name == "retry_after" and isinstance(value, str)
    if name in _NUMBERS and not (is_number and value >= 0) and not http_date:
        raise where.error(path, f"expected a number of seconds >= 0, got {value!r}")
    if name in _INTEGERS and not (isinstance(value, int) and not isinstance(value, bool)):
        raise where.error(path, f"expected an integer, got {value!r}")
    if name in _TEXTS and not isinstance(value, str):
        raise where.error(path, f"expected a string, got {value!r} (quote it)")


def _tool_call(data: Any, where: _Where, path: str) -> ToolCallSpec:
    if not isinstance(data, Mapping) or "name" not in data:
        raise where.error(path, "a tool call is a mapping with `name` and `arguments`")
    where.check_keys(path, data, ("name", "arguments", "id"))
    return ToolCallSpec.of(str(data["name"]), data.get("arguments", {}), id=data.get("id"))


def _quirks(data: Any, where: _Where, path: str = "quirks") -> Quirks:
    if not isinstance(data, Mapping):
        raise where.error(path, "expected a mapping of quirks")
    where.check_keys(path, data, [f.name for f in fields(Quirks)])
    values = dict(data)
    if isinstance(values.get("ping"), str):
        values["ping"] = _PINGS.get(values["ping"], values["ping"])
    return Quirks(**values)


_GREETING = "Hello! I am a simulated provider: every word you read arrives as its own delta."

#: Scenarios `router simulate --scenario NAME` knows without a file.
BUILTIN: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario(
            "default",
            "Plain text answers, streamed word by word.",
            Reply.text(_GREETING, token_delay=0.05),
        ),
        Scenario(
            "slow",
            "A reasoning model's pace: 2 s before the first token, then 100 ms per token.",
            Reply.text(_GREETING, first_token_delay=2.0, token_delay=0.1),
        ),
        Scenario(
            "flaky",
            "Rate limited (429, Retry-After: 1), then a 503, then cut mid-stream, then well.",
            Reply.text(_GREETING, token_delay=0.05),
            steps=(
                Fault.http_status(429, retry_after=1),
                Fault.http_status(503),
                Fault.close_mid_stream(after=3),
            ),
        ),
        Scenario(
            "tools",
            "Two parallel tool calls.",
            Reply.tool_calls(
                ToolCallSpec.of("get_weather", {"city": "Paris"}),
                ToolCallSpec.of("get_time", {"timezone": "Europe/Paris"}),
                token_delay=0.02,
            ),
        ),
        Scenario(
            "json",
            "A structured JSON answer.",
            Reply.json(
                {"name": "Ada Lovelace", "born": 1815, "fields": ["mathematics"]}, token_delay=0.02
            ),
        ),
        Scenario(
            "azure",
            "Azure OpenAI's stream: filter chunks with empty choices, no usage option.",
            Reply.text(_GREETING, token_delay=0.05),
            quirks=Quirks(azure_filters=True, reject_stream_options=True),
        ),
        Scenario("stall", "Headers, then silence.", Fault.stall_before_first_event()),
        Scenario(
            "keepalive",
            "Keep-alive comments forever, never any content.",
            Fault.keepalive_forever(1.0),
        ),
        Scenario(
            "cut", "Three deltas, then the connection closes.", Fault.close_mid_stream(after=3)
        ),
        Scenario(
            "no-done",
            "Three deltas, then a clean end: no finish reason, no [DONE].",
            Fault.end_without_done(after=3),
        ),
        Scenario("drip", "Every byte 100 ms after the previous one.", Fault.drip()),
        Scenario("endless", "Content deltas forever.", Fault.endless_deltas(interval=0.1)),
    )
}
