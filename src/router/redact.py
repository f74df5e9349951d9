"""Keep secrets out of errors, logs, reprs and CLI output.

Secrets are API keys and the headers that carry them (`Authorization`, `api-key`,
`x-api-key`, `Proxy-Authorization`). Anything `router` prints or raises that may contain
request data goes through these functions first: headers by name, free text by the exact
secret values known to the call and by the shapes keys usually have (`Bearer ...`, `sk-...`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "REDACTED",
    "SECRET_HEADERS",
    "is_secret_header",
    "redact_headers",
    "redact_text",
    "redact_value",
]

REDACTED = "[REDACTED]"

#: Header names (lower case) whose values are credentials.
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "api-key", "x-api-key", "openai-api-key", "cookie"}
)

# Credentials by shape, for text where the exact value is not known: bearer tokens, OpenAI
# style keys (sk-..., sk-proj-...), and `key=value` query or JSON pairs named like a key.
_PATTERNS = (
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}"),
    re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"),
    re.compile(r"(?i)((?:api[-_]?key|x-api-key|authorization)[\"']?\s*[:=]\s*[\"']?)[^\s\"',&}]+"),
)


def is_secret_header(name: str) -> bool:
    """Whether a header with this name carries a credential."""
    return name.lower() in SECRET_HEADERS


def redact_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """A copy of `headers` with every credential value replaced by `[REDACTED]`."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {name: (REDACTED if is_secret_header(name) else value) for name, value in items}


def redact_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every known secret value, and anything shaped like a credential, removed."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _PATTERNS[1].sub(REDACTED, text)
    return _PATTERNS[2].sub(lambda m: m.group(1) + REDACTED, text)


def redact_value(value: Any, secrets: Iterable[str | None] = ()) -> Any:
    """A parsed JSON value (e.g. a provider's error body) with secrets removed from its strings."""
    known = tuple(secrets)
    if isinstance(value, str):
        return redact_text(value, known)
    if isinstance(value, Mapping):
        return {
            key: REDACTED if is_secret_header(str(key)) else redact_value(item, known)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_value(item, known) for item in value]
    return value
