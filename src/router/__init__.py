"""router: decide, per LLM API call, whether to stream the answer or fetch it whole, then run it.

The public surface is listed in `__all__` (a test keeps it complete and sorted).
"""

from __future__ import annotations

from router.completion import (
    Attempt,
    Choice,
    Completion,
    FunctionCall,
    Message,
    Status,
    Timings,
    ToolCall,
    Usage,
)
from router.errors import (
    AnswerRefused,
    CallCancelled,
    CallError,
    CallTimeout,
    ConfigurationError,
    ConnectionFailed,
    ConnectTimeout,
    Diagnostic,
    EventTooLarge,
    FirstTokenTimeout,
    HookFailed,
    IdleTimeout,
    IncompleteAnswer,
    IntentError,
    InvalidSchema,
    MissingDependencyError,
    PolicyError,
    ProtocolError,
    RouterError,
    StreamFailed,
    StreamInterrupted,
    TotalTimeout,
    UpstreamStatusError,
    UsageError,
    ValidationFailed,
    ValidationIssue,
)
from router.sse import ServerSentEvent, SSEDecoder

__version__ = "0.1.0"

#: Public names whose modules are heavy (httpx, jsonschema, policy compilation): imported on
#: first use, so that `import router` and the `router decide` path stay fast.
_LAZY: dict[str, str] = {
    "AsyncRouter": "router.client",
    "Router": "router.client",
    "Decision": "router.decision",
    "Intent": "router.intent",
    "Options": "router.decision",
    "Policy": "router.policy",
    "Retries": "router.decision",
    "StreamOptions": "router.decision",
    "Timeouts": "router.decision",
    "ValidateOptions": "router.decision",
    "load_policy": "router.policy",
    "PolicyAnalysis": "router.policy.analyze",
    "analyze_policy": "router.policy.analyze",
    "PolicyDiff": "router.policy.diff",
    "diff_policies": "router.policy.diff",
    "Relay": "router.relay",
    "SchemaValidator": "router.validation",
    "compile_schema": "router.validation",
    "validate_completion": "router.validation",
    "ProgressiveChecker": "router.validation.progressive",
    "progressive_checker": "router.validation.progressive",
    "ChatCompletionsDialect": "router.providers.openai",
    "Dialect": "router.providers.base",
    "StreamAssembler": "router.assemble",
    "UpstreamErrorInfo": "router.providers.base",
}


def __getattr__(name: str) -> object:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'router' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "AnswerRefused",
    "AsyncRouter",
    "Attempt",
    "CallCancelled",
    "CallError",
    "CallTimeout",
    "ChatCompletionsDialect",
    "Choice",
    "Completion",
    "ConfigurationError",
    "ConnectTimeout",
    "ConnectionFailed",
    "Decision",
    "Diagnostic",
    "Dialect",
    "EventTooLarge",
    "FirstTokenTimeout",
    "FunctionCall",
    "HookFailed",
    "IdleTimeout",
    "IncompleteAnswer",
    "Intent",
    "IntentError",
    "InvalidSchema",
    "Message",
    "MissingDependencyError",
    "Options",
    "Policy",
    "PolicyAnalysis",
    "PolicyDiff",
    "PolicyError",
    "ProgressiveChecker",
    "ProtocolError",
    "Relay",
    "Retries",
    "Router",
    "RouterError",
    "SSEDecoder",
    "SchemaValidator",
    "ServerSentEvent",
    "Status",
    "StreamAssembler",
    "StreamFailed",
    "StreamInterrupted",
    "StreamOptions",
    "Timeouts",
    "Timings",
    "ToolCall",
    "TotalTimeout",
    "UpstreamErrorInfo",
    "UpstreamStatusError",
    "Usage",
    "UsageError",
    "ValidateOptions",
    "ValidationFailed",
    "ValidationIssue",
    "__version__",
    "analyze_policy",
    "compile_schema",
    "diff_policies",
    "load_policy",
    "progressive_checker",
    "validate_completion",
]
