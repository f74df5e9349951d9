"""Helpers for the test kit's own tests: a plain SSE splitter and request bodies."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import pytest

from router.testing import SimulatedProvider
from router.testing.recording import RecordedRequest, RequestLog


def chat(stream: bool = False, **extra: Any) -> dict[str, Any]:
    """A minimal Chat Completions request body."""
    body: dict[str, Any] = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Say hello"}],
    }
    if stream:
        body["stream"] = True
    body.update(extra)
    return body


def events(raw: bytes) -> list[str]:
    """The `data:` payloads of a well-formed event stream, in order (comments dropped)."""
    out = []
    for block in raw.decode().split("\n\n"):
        data = [line[6:] for line in block.split("\n") if line.startswith("data: ")]
        if data:
            out.append("\n".join(data))
    return out


def recorded(body: dict[str, Any]) -> RecordedRequest:
    """A chat-completion request as a provider records it, to check plans without any I/O."""
    return RequestLog().record(
        method="POST",
        path="/v1/chat/completions",
        query="",
        headers=[],
        raw_body=json.dumps(body).encode(),
        connection_id=1,
    )


def chunks(raw: bytes) -> list[dict[str, Any]]:
    """The JSON chunks of a stream (everything but `[DONE]`)."""
    return [json.loads(item) for item in events(raw) if item != "[DONE]"]


def content(raw: bytes, index: int = 0) -> str:
    """Choice `index`'s content, assembled from a stream's deltas."""
    text = ""
    for chunk in chunks(raw):
        for choice in chunk.get("choices", []):
            if choice.get("index") == index:
                text += choice.get("delta", {}).get("content") or ""
    return text


def post(url: str, **kwargs: Any) -> httpx.Response:
    """A one-shot POST (no TLS context: building one costs ~80 ms, and loopback is plain HTTP)."""
    with httpx.Client(verify=False) as client:
        return client.post(url, **kwargs)


def get(url: str, **kwargs: Any) -> httpx.Response:
    """A one-shot GET, like `post`."""
    with httpx.Client(verify=False) as client:
        return client.get(url, **kwargs)


@pytest.fixture(autouse=True)
def no_thread_outlives_its_test() -> Any:
    """Every test here ends with every simulated-provider thread gone: nothing leaks."""
    yield
    leaked = [t.name for t in threading.enumerate() if t.name.startswith("simulated-provider")]
    assert leaked == []


@pytest.fixture
def provider() -> Any:
    """A running provider whose forever-faults end quickly, stopped after the test."""
    with SimulatedProvider(max_stall=5.0) as running:
        yield running
