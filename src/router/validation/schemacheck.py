"""Check an assembled answer against a standalone JSON Schema (`router replay --schema`).

The schema stands for the answer: each choice's content is validated against it, and where a
choice answered with tool calls instead, each call's arguments are. The result is a report
(valid or not, every issue with its path) for the CLI's text and JSON outputs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from router.completion import Completion
from router.errors import InvalidSchema, ValidationFailed
from router.validation.answers import validate_completion
from router.validation.schema import compile_schema

__all__ = ["SchemaCheck", "check_against_schema"]


@dataclass(frozen=True, slots=True)
class SchemaCheck:
    """The outcome of checking one completion against one schema file."""

    source: str
    failure: ValidationFailed | None = None

    @property
    def valid(self) -> bool:
        """Whether every choice satisfies the schema."""
        return self.failure is None

    def to_dict(self) -> dict[str, Any]:
        """The `validation` member of `router replay --format json`."""
        failure = self.failure
        return {
            "schema": self.source,
            "valid": failure is None,
            "error": None
            if failure is None
            else {"type": type(failure).__name__, "message": str(failure)},
            "issues": [] if failure is None else [issue.to_dict() for issue in failure.issues],
        }

    def render_text(self) -> str:
        """The lines `router replay` prints after the answer."""
        if self.failure is None:
            return f"\nvalidation: valid against {self.source}\n"
        count = len(self.failure.issues)
        noun = "issue" if count == 1 else "issues"
        lines = [
            "",
            f"validation: invalid against {self.source} "
            f"({type(self.failure).__name__}, {count} {noun})",
        ]
        lines.extend(f"  {issue}" for issue in self.failure.issues)
        return "\n".join(lines) + "\n"


def check_against_schema(completion: Completion, schema_text: str, *, source: str) -> SchemaCheck:
    """Validate `completion` against the schema in `schema_text` (read from `source`).

    Raises `InvalidSchema` when the text is not JSON or not a valid JSON Schema.
    """
    try:
        schema = json.loads(schema_text)
    except json.JSONDecodeError as exc:
        raise InvalidSchema(f"{source}: not JSON: {exc}") from None
    try:
        compile_schema(schema)
    except InvalidSchema as exc:
        raise InvalidSchema(f"{source}: {exc}") from None
    names = {
        call.function.name for choice in completion.choices for call in choice.message.tool_calls
    }
    request = {
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": schema},
        },
        "tools": [
            {"type": "function", "function": {"name": name, "parameters": schema}}
            for name in sorted(names)
        ],
    }
    try:
        validate_completion(completion, request)
    except ValidationFailed as exc:
        return SchemaCheck(source, exc)
    return SchemaCheck(source)
