"""Every error `router` raises, in one tree.

Usage errors (something the caller or the operator wrote is wrong: fix the input) stand
apart from call failures (a call to the provider did not complete: every one carries what
had been received and the attempts made)::

    RouterError
    ├── UsageError                    code: a stable machine-readable string
    │   ├── PolicyError               diagnostics: every problem, each with file:line:col
    │   ├── IntentError               field, allowed: a bad hint or intent value
    │   ├── ConfigurationError        a bad Router / provider configuration
    │   ├── MissingDependencyError    an optional extra is not installed
    │   └── InvalidSchema             a JSON Schema (response format, tool parameters) is broken
    ├── ProtocolError                 bytes that break the wire format (pure parsers)
    │   └── EventTooLarge             a line or event over the decoder's limit
    └── CallError                     partial, attempts
        ├── CallTimeout               clock, limit_ms
        │   ├── ConnectTimeout
        │   ├── FirstTokenTimeout
        │   ├── IdleTimeout
        │   └── TotalTimeout
        ├── ConnectionFailed          the network failed (refused, reset, TLS)
        ├── UpstreamStatusError       status_code, body: the provider answered with an error
        ├── StreamInterrupted         the stream ended or stopped before it was complete
        ├── StreamFailed              an error payload or undecodable data in the stream
        ├── ValidationFailed          issues (each with a JSON path), raw
        │   ├── IncompleteAnswer      finish_reason length / content_filter on a structured answer
        │   └── AnswerRefused         a refusal in place of the answer
        ├── HookFailed                the caller's usage hook raised (text withheld)
        └── CallCancelled             the caller closed the call early

Messages never contain secrets: API keys and auth headers are redacted before an error is
built (see `router.redact`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from router.completion import Attempt, Completion

__all__ = [
    "AnswerRefused",
    "CallCancelled",
    "CallError",
    "CallTimeout",
    "ConfigurationError",
    "ConnectTimeout",
    "ConnectionFailed",
    "Diagnostic",
    "EventTooLarge",
    "FirstTokenTimeout",
    "HookFailed",
    "IdleTimeout",
    "IncompleteAnswer",
    "IntentError",
    "InvalidSchema",
    "MissingDependencyError",
    "PolicyError",
    "ProtocolError",
    "RouterError",
    "StreamFailed",
    "StreamInterrupted",
    "TotalTimeout",
    "UpstreamStatusError",
    "UsageError",
    "ValidationFailed",
    "ValidationIssue",
]


class RouterError(Exception):
    """The root of every error `router` raises on purpose."""


# --- usage errors -------------------------------------------------------------------------


class UsageError(RouterError):
    """Something the caller or operator wrote is wrong; `code` is stable for programs."""

    code: str = "usage"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a file, located for editors and terminals."""

    source: str
    line: int
    column: int
    message: str
    severity: str = "error"
    code: str = "policy"

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}: {self.severity}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape used by `router check --format json`."""
        return {
            "source": self.source,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
        }


class PolicyError(UsageError):
    """A policy could not be loaded; `diagnostics` lists every problem, not just the first."""

    code = "policy"

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        first = str(self.diagnostics[0]) if self.diagnostics else "invalid policy"
        more = len(self.diagnostics) - 1
        suffix = f" (and {more} more)" if more > 0 else ""
        super().__init__(first + suffix)


class IntentError(UsageError):
    """A hint or intent value is unknown or outside its field's domain."""

    code = "intent"

    def __init__(self, message: str, *, field: str, allowed: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.field = field
        self.allowed: tuple[str, ...] = tuple(allowed)


class ConfigurationError(UsageError):
    """A Router or provider was configured with values that cannot work."""

    code = "configuration"


class MissingDependencyError(UsageError, ImportError):
    """An optional extra is needed; the message says what to install."""

    code = "missing-dependency"


class InvalidSchema(UsageError):
    """A JSON Schema given to validate answers is itself broken, or needs a network fetch."""

    code = "schema"


# --- wire-format errors from the pure parsers ----------------------------------------------


class ProtocolError(RouterError):
    """Bytes that break the wire format; raised by the pure decoders, wrapped by calls."""


class EventTooLarge(ProtocolError):
    """A line or an event grew past the decoder's limit (a hostile or broken server)."""

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


# --- call failures -------------------------------------------------------------------------


class CallError(RouterError):
    """A call did not complete. `partial` is what had been received, `attempts` what was tried."""

    def __init__(
        self,
        message: str,
        *,
        partial: Completion | None = None,
        attempts: Sequence[Attempt] = (),
    ) -> None:
        super().__init__(message)
        self.partial = partial
        self.attempts: tuple[Attempt, ...] = tuple(attempts)


class CallTimeout(CallError):
    """A clock ran out; `clock` names it and `limit_ms` is its bound."""

    clock: str = "total"

    def __init__(
        self,
        message: str,
        *,
        limit_ms: float,
        partial: Completion | None = None,
        attempts: Sequence[Attempt] = (),
    ) -> None:
        super().__init__(message, partial=partial, attempts=attempts)
        self.limit_ms = limit_ms


class ConnectTimeout(CallTimeout):
    """No connection to the provider within the `connect` clock."""

    clock = "connect"


class FirstTokenTimeout(CallTimeout):
    """No progress (content, refusal, tool call, reasoning) within the `first_token` clock."""

    clock = "first_token"


class IdleTimeout(CallTimeout):
    """The upstream sent no progress for longer than the `idle` clock."""

    clock = "idle"


class TotalTimeout(CallTimeout):
    """The whole call (retries and fallback included) outlived the `total` clock or deadline."""

    clock = "total"


class ConnectionFailed(CallError):
    """The network failed: refused, reset, closed before a response, TLS."""


class UpstreamStatusError(CallError):
    """The provider answered with an error status; `body` is its parsed error payload."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: Any = None,
        partial: Completion | None = None,
        attempts: Sequence[Attempt] = (),
    ) -> None:
        super().__init__(message, partial=partial, attempts=attempts)
        self.status_code = status_code
        self.body = body


class StreamInterrupted(CallError):
    """The stream ended or stopped before every choice finished."""


class StreamFailed(CallError):
    """The stream carried an error payload or data that could not be decoded."""


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One reason an answer is invalid, at a JSON path such as `$.items[2].price`."""

    path: str
    message: str
    keyword: str | None = None
    #: Which choice (of `n`) the issue is in, and which of its tool calls; None: the content.
    choice: int | None = None
    tool_call: int | None = None

    def __str__(self) -> str:
        if self.choice is None and self.tool_call is None:
            return f"{self.path}: {self.message}"
        where = [f"choice {self.choice}"] if self.choice is not None else []
        if self.tool_call is not None:
            where.append(f"tool call {self.tool_call}")
        return f"[{', '.join(where)}] {self.path}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape used in CLI output and hooks."""
        return {
            "path": self.path,
            "message": self.message,
            "keyword": self.keyword,
            "choice": self.choice,
            "tool_call": self.tool_call,
        }


class ValidationFailed(CallError):
    """The answer does not satisfy its schema or model; `issues` lists every problem."""

    def __init__(
        self,
        message: str,
        *,
        issues: Sequence[ValidationIssue] = (),
        raw: str | None = None,
        partial: Completion | None = None,
        attempts: Sequence[Attempt] = (),
    ) -> None:
        super().__init__(message, partial=partial, attempts=attempts)
        self.issues: tuple[ValidationIssue, ...] = tuple(issues)
        self.raw = raw


class IncompleteAnswer(ValidationFailed):
    """A structured answer was cut off (`length`) or filtered (`content_filter`)."""


class AnswerRefused(ValidationFailed):
    """The model refused instead of answering; `raw` holds the refusal text."""


class HookFailed(CallError):
    """The caller's usage hook raised; with billing before delivery the text was withheld."""


class CallCancelled(CallError):
    """The caller closed the call before it finished; the upstream connection was closed."""
