"""Validate an assembled completion against what its request asked for.

What is checked, per choice:

- the content, against the request's `response_format` (`json_schema`: its schema;
  `json_object`: parsed, and must be an object) or against the caller's pydantic model;
- each tool call: its name among the tools offered (and the one `tool_choice` forces), its
  arguments a JSON object that satisfies the tool's `parameters` schema;
- a structured answer cut off (`finish_reason` `length` / `content_filter`, or an interrupted
  stream's unfinished choice) or refused is its own error (`IncompleteAnswer`,
  `AnswerRefused`), never a confusing JSON error.

Every problem of every choice is reported, each with its JSON path; the raw text is kept. On
success each choice's `parsed` (and each tool call's `parsed_arguments`) is set, and the
first choice's parsed answer is returned and stored in `completion.parsed`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from router.completion import Choice, Completion, Status, ToolCall
from router.errors import (
    AnswerRefused,
    IncompleteAnswer,
    InvalidSchema,
    ValidationFailed,
    ValidationIssue,
)
from router.validation.decode import parse_json
from router.validation.schema import SchemaValidator, compile_schema, summarize

__all__ = ["AnswerSpec", "validate_answer", "validate_completion"]

#: Finish reasons that mean a structured answer cannot be whole.
_CUT_OFF = {
    "length": "the answer was cut off by the token limit (finish_reason: length)",
    "content_filter": (
        "the answer was withheld by the content filter (finish_reason: content_filter)"
    ),
}


@dataclass(frozen=True, slots=True)
class AnswerSpec:
    """What a request expects back, read once from its body (and the caller's model).

    `content` is "schema", "json_object", "json" (parse only), "model" or None (free text);
    `validator` is the compiled `schema`; `tools` maps each offered function name to its
    parameters schema (None: any object) and `tool_validators` to the compiled one;
    `forced_tool` is the function `tool_choice` names; `tool_required` is true when some tool
    call must be made. Schemas are compiled here, once per validation.
    """

    content: str | None = None
    schema: Any = None
    model: Any = None
    model_on_tool: bool = False
    tools: Mapping[str, Any] = field(default_factory=dict)
    forced_tool: str | None = None
    tool_required: bool = False
    validator: SchemaValidator | None = None
    tool_validators: Mapping[str, SchemaValidator | None] = field(default_factory=dict)

    @classmethod
    def from_request(cls, request: Mapping[str, Any], *, response_model: Any = None) -> AnswerSpec:
        """Read `response_format`, `tools` and `tool_choice`; raise `InvalidSchema` on nonsense."""
        tools, forced, required = _read_tools(request)
        common: dict[str, Any] = {
            "tools": tools,
            "tool_validators": {
                name: None if parameters is None else compile_schema(parameters)
                for name, parameters in tools.items()
            },
            "forced_tool": forced,
            "tool_required": required,
        }
        response_format = request.get("response_format")
        if response_model is None and isinstance(response_format, type):
            response_model = response_format  # as the OpenAI SDK's `parse()` accepts
        if response_model is not None:
            on_tool = forced is not None and not isinstance(response_format, Mapping)
            return cls("model", model=response_model, model_on_tool=on_tool, **common)
        if isinstance(response_format, Mapping):
            kind = response_format.get("type")
            if kind == "json_schema":
                spec = response_format.get("json_schema")
                schema = spec.get("schema") if isinstance(spec, Mapping) else None
                if schema is None:
                    return cls("json", **common)
                # A broken schema is the caller's error, raised here before any answer is read.
                return cls("schema", schema, validator=compile_schema(schema), **common)
            if kind == "json_object":
                return cls("json_object", **common)
        return cls(None, **common)

    @property
    def structured(self) -> bool:
        """Whether the content feeds code (so a cut-off or refused answer is an error)."""
        return self.content is not None


def _read_tools(request: Mapping[str, Any]) -> tuple[dict[str, Any], str | None, bool]:
    tools: dict[str, Any] = {}
    for tool in request.get("tools") or ():
        if not isinstance(tool, Mapping):
            raise InvalidSchema("each entry of `tools` must be an object")
        kind = tool.get("type", "function")
        spec = tool.get(kind)
        if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
            raise InvalidSchema(f"a tool of type {kind!r} has no `{kind}.name`")
        tools[spec["name"]] = spec.get("parameters") if kind == "function" else None
    choice = request.get("tool_choice")
    forced = None
    if isinstance(choice, Mapping):
        named = choice.get(choice.get("type", "function"))
        if isinstance(named, Mapping) and isinstance(named.get("name"), str):
            forced = named["name"]
    required = bool(tools) and (choice == "required" or forced is not None)
    return tools, forced, required


def validate_completion(
    completion: Completion, request: Mapping[str, Any], *, response_model: Any = None
) -> Any:
    """Check every choice of `completion` against `request`; return the first parsed answer.

    `response_model` (a pydantic model class, a `TypeAdapter` or any type pydantic accepts)
    replaces the request's `response_format` schema and makes the parsed value an instance of
    it; when the request forces a function call and has no `response_format`, the model checks
    that call's arguments. Raises `ValidationFailed` (or `IncompleteAnswer`, `AnswerRefused`
    when every failing choice failed that way) listing every issue of every choice.
    """
    spec = AnswerSpec.from_request(request, response_model=response_model)
    return validate_answer(completion, spec)


def validate_answer(completion: Completion, spec: AnswerSpec) -> Any:
    """`validate_completion` with the request already read (`AnswerSpec.from_request`).

    For callers that judge several answers to one request (a call, its attempts and
    re-asks): the request's schemas are looked up once, not once per answer.
    """
    if not completion.choices:
        if spec.structured or spec.tool_required:
            issue = ValidationIssue("$", "the completion has no choices", "choices")
            raise ValidationFailed(
                "the completion has no answer", issues=[issue], partial=completion
            )
        return None
    tag_choice = len(completion.choices) > 1
    stopped = completion.status == Status.INTERRUPTED
    failures: list[ValidationFailed] = []
    for choice in completion.choices:
        try:
            choice.parsed = _check_choice(choice, spec, stopped=stopped)
        except ValidationFailed as exc:
            failures.append(_tagged(exc, choice.index if tag_choice else None))
    if failures:
        raise _combined(failures, completion)
    completion.parsed = completion.choices[0].parsed
    return completion.parsed


def _check_choice(choice: Choice, spec: AnswerSpec, *, stopped: bool) -> Any:
    message = choice.message
    content = message.content
    expects_answer = spec.structured or spec.tool_required
    if message.refusal and expects_answer:
        issue = ValidationIssue("$", f"the model refused: {message.refusal}", "refusal")
        raise AnswerRefused("the model refused to answer", issues=[issue], raw=message.refusal)
    cut_off = _CUT_OFF.get(choice.finish_reason or "")
    if cut_off is None and stopped and choice.finish_reason is None:
        cut_off = "the stream stopped before the answer finished (no finish_reason)"
    if cut_off is not None and (expects_answer or message.tool_calls):
        raw = content if content else _joined_arguments(message.tool_calls)
        issue = ValidationIssue("$", cut_off, "finish_reason")
        raise IncompleteAnswer(cut_off, issues=[issue], raw=raw)

    issues: list[ValidationIssue] = []
    raw_texts: list[str] = []
    tool_values = _check_tool_calls(message.tool_calls, spec, issues, raw_texts)
    if spec.tool_required and not message.tool_calls:
        wanted = f"a call to {spec.forced_tool!r}" if spec.forced_tool else "a tool call"
        issues.append(
            ValidationIssue("$", f"tool_choice requires {wanted}; none was made", "tool_choice")
        )

    parsed: Any = None
    if spec.model_on_tool:
        parsed = tool_values[0] if tool_values else None
    elif spec.structured and (content or not message.tool_calls):
        try:
            parsed = _check_content(content, spec)
        except ValidationFailed as exc:
            if not issues:
                raise  # the content alone failed: its own message says it best
            issues[:0] = exc.issues
            raw_texts.insert(0, exc.raw or "")
    if issues:
        raise ValidationFailed(
            "the answer is invalid: " + summarize(issues),
            issues=issues,
            raw=raw_texts[0] if raw_texts else content,
        )
    return parsed


def _check_content(content: str | None, spec: AnswerSpec) -> Any:
    if not content:
        issue = ValidationIssue("$", "the answer has no content", "content")
        raise ValidationFailed("the answer has no content", issues=[issue], raw=content)
    if spec.content == "model":
        from router.validation.models import validate_model_json  # pydantic: only when asked

        return validate_model_json(spec.model, content)
    if spec.validator is not None:
        return spec.validator.validate_json(content)
    value = parse_json(content)
    if spec.content == "json_object" and not isinstance(value, dict):
        detail = f"the answer must be a JSON object, not {_json_type(value)}"
        issue = ValidationIssue("$", detail, "type")
        raise ValidationFailed(detail, issues=[issue], raw=content)
    return value


def _check_tool_calls(
    calls: Sequence[ToolCall],
    spec: AnswerSpec,
    issues: list[ValidationIssue],
    raw_texts: list[str],
) -> list[Any]:
    """Check each call; append its issues (tagged with its index); return the parsed arguments."""
    values = []
    for index, call in enumerate(calls):
        found: list[ValidationIssue] = []
        name = call.function.name
        value: Any = None
        if name not in spec.tools:
            offered = ", ".join(sorted(spec.tools)) or "none"
            found.append(
                ValidationIssue("$", f"unknown tool {name!r} (offered: {offered})", "name")
            )
        elif spec.forced_tool is not None and name != spec.forced_tool:
            found.append(
                ValidationIssue(
                    "$", f"tool_choice forces {spec.forced_tool!r}, not {name!r}", "tool_choice"
                )
            )
        if call.type == "function":
            value, more = _check_arguments(call.function.arguments, spec, name)
            found.extend(more)
        if found:
            issues.extend(replace(issue, tool_call=index) for issue in found)
            raw_texts.append(call.function.arguments)
        else:
            call.function.parsed_arguments = value
        values.append(value)
    return values


def _check_arguments(
    arguments: str, spec: AnswerSpec, name: str
) -> tuple[Any, list[ValidationIssue]]:
    try:
        if spec.model_on_tool and name == spec.forced_tool:
            from router.validation.models import validate_model_json

            return validate_model_json(spec.model, arguments or "{}"), []
        value = parse_json(arguments or "{}")  # some servers send "" for a call without arguments
    except ValidationFailed as exc:
        return None, list(exc.issues)
    if not isinstance(value, dict):
        return None, [
            ValidationIssue(
                "$", f"arguments must be a JSON object, not {_json_type(value)}", "type"
            )
        ]
    validator = spec.tool_validators.get(name)
    if validator is None:
        return value, []
    return value, validator.issues(value)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _joined_arguments(calls: Sequence[ToolCall]) -> str | None:
    return "\n".join(call.function.arguments for call in calls) if calls else None


def _tagged(exc: ValidationFailed, choice: int | None) -> ValidationFailed:
    """The same failure with its issues labelled with the choice they belong to."""
    if choice is None:
        return exc
    issues = [replace(issue, choice=choice) for issue in exc.issues]
    return type(exc)(f"choice {choice}: {exc}", issues=issues, raw=exc.raw)


def _combined(failures: list[ValidationFailed], completion: Completion) -> ValidationFailed:
    """One error for all failing choices; its class is the failures' own when they share it."""
    kinds = {type(failure) for failure in failures}
    kind = kinds.pop() if len(kinds) == 1 else ValidationFailed
    issues = [issue for failure in failures for issue in failure.issues]
    if len(failures) == 1:
        message = str(failures[0])
    else:
        message = f"{len(failures)} of {len(completion.choices)} choices are invalid: " + summarize(
            issues
        )
    return kind(message, issues=issues, raw=failures[0].raw, partial=completion)
