"""Provider wire dialects behind one protocol (`Dialect`), and the lookup by provider name.

Every provider `router` talks to today speaks OpenAI Chat Completions (OpenAI itself, Azure
OpenAI, and the compatible servers: vLLM, Ollama, OpenRouter, Groq...), so a provider name
without a dialect of its own gets that one.
"""

from __future__ import annotations

from router.providers.base import Dialect, UpstreamErrorInfo
from router.providers.openai import ChatCompletionsDialect

__all__ = ["ChatCompletionsDialect", "Dialect", "UpstreamErrorInfo", "get_dialect"]


def get_dialect(provider: str | None = None) -> Dialect:
    """The dialect for a provider name ("openai", "azure", "vllm"...; None means "openai")."""
    return ChatCompletionsDialect(name=provider or "openai")
