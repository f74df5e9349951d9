"""The result of a call: an assembled chat completion plus what it took to get it.

Streaming and batch calls end in the same `Completion`, so callers, validators and hooks
never need to know which mode ran. The wire content (choices, usage) follows the
`chat.completion` object; `status`, `attempts`, `timings` and `rate_limits` describe the
call itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from router.errors import ValidationIssue

__all__ = [
    "Attempt",
    "Choice",
    "Completion",
    "FunctionCall",
    "Message",
    "Status",
    "Timings",
    "ToolCall",
    "Usage",
]


class Status(StrEnum):
    """How a call ended (DESIGN: Execution semantics)."""

    COMPLETE = "complete"
    INTERRUPTED = "interrupted"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(slots=True)
class FunctionCall:
    """The function a tool call names, with its arguments as the JSON text the model wrote."""

    name: str = ""
    arguments: str = ""
    #: The decoded, validated arguments, set by validation (`router.validation`).
    parsed_arguments: Any = None


@dataclass(slots=True)
class ToolCall:
    """One tool call of a message, assembled from its fragments."""

    id: str | None = None
    type: str = "function"
    function: FunctionCall = field(default_factory=FunctionCall)

    def to_dict(self) -> dict[str, Any]:
        """The `chat.completion` shape of this tool call."""
        return {
            "id": self.id,
            "type": self.type,
            "function": {"name": self.function.name, "arguments": self.function.arguments},
        }


@dataclass(slots=True)
class Message:
    """The assistant message of one choice; `reasoning` holds reasoning text where sent."""

    role: str = "assistant"
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    reasoning: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The `chat.completion` shape; `tool_calls` and `reasoning_content` only when present."""
        out: dict[str, Any] = {
            "role": self.role,
            "content": self.content,
            "refusal": self.refusal,
        }
        if self.tool_calls:
            out["tool_calls"] = [call.to_dict() for call in self.tool_calls]
        if self.reasoning is not None:
            out["reasoning_content"] = self.reasoning
        return out


@dataclass(slots=True)
class Choice:
    """One of the `n` answers; `finish_reason` is None until the provider sends one."""

    index: int = 0
    message: Message = field(default_factory=Message)
    finish_reason: str | None = None
    logprobs: Any = None
    #: The decoded, validated answer of this choice, set by validation.
    parsed: Any = None
    #: Azure OpenAI's content-filter verdicts on this choice's output, as last sent.
    content_filter_results: Any = None

    def to_dict(self) -> dict[str, Any]:
        """The `chat.completion` shape of this choice."""
        return {
            "index": self.index,
            "message": self.message.to_dict(),
            "finish_reason": self.finish_reason,
            "logprobs": self.logprobs,
        }


@dataclass(slots=True)
class Usage:
    """Token counts as the provider reported them; `raw` keeps every detail field."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The provider's usage object, as received."""
        if self.raw:
            return dict(self.raw)
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try at the call: its mode, how it ended, and how long it took."""

    mode: str
    outcome: str
    elapsed_ms: float
    status_code: int | None = None
    error: str | None = None
    #: The usage the provider reported for this attempt's answer (each re-ask is paid for).
    usage: Usage | None = None
    #: Why this attempt's answer was invalid (outcome "invalid"), each issue with its path.
    issues: tuple[ValidationIssue, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape used by `router call` and the usage hook."""
        return {
            "mode": self.mode,
            "outcome": self.outcome,
            "elapsed_ms": round(self.elapsed_ms, 3),
            "status_code": self.status_code,
            "error": self.error,
            "usage": self.usage.to_dict() if self.usage is not None else None,
            "issues": [issue.to_dict() for issue in self.issues],
        }


@dataclass(slots=True)
class Timings:
    """Milliseconds from the start of the call to its first progress and to its end."""

    first_token_ms: float | None = None
    total_ms: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape used by `router call`."""
        return {"first_token_ms": self.first_token_ms, "total_ms": self.total_ms}


@dataclass(slots=True)
class Completion:
    """An assembled chat completion and the record of the call that produced it."""

    id: str | None = None
    object: str = "chat.completion"
    created: int | None = None
    model: str | None = None
    system_fingerprint: str | None = None
    choices: list[Choice] = field(default_factory=list)
    usage: Usage | None = None
    status: Status = Status.INTERRUPTED
    mode: str | None = None
    parsed: Any = None
    attempts: list[Attempt] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)
    rate_limits: dict[str, str] = field(default_factory=dict)
    #: Azure OpenAI's content-filter verdicts on the prompt (one per prompt), when sent.
    prompt_filter_results: list[Any] = field(default_factory=list)
    #: Why the call ran in another mode than decided (e.g. usage needed, no stream_options).
    mode_reason: str | None = None

    @property
    def text(self) -> str:
        """The first choice's content, or "" when there is none."""
        if not self.choices:
            return ""
        return self.choices[0].message.content or ""

    @property
    def finish_reason(self) -> str | None:
        """The first choice's finish reason."""
        return self.choices[0].finish_reason if self.choices else None

    def to_dict(self) -> dict[str, Any]:
        """The `chat.completion` JSON object (wire content only)."""
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": self.system_fingerprint,
            "choices": [choice.to_dict() for choice in self.choices],
            "usage": self.usage.to_dict() if self.usage is not None else None,
        }
