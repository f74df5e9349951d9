"""`Relay`: re-serve routed calls to browsers as Server-Sent Events, from a Starlette app.

The service decides everything that costs money or identifies the call (the model, the
intent hints such as `billing` and `labels`, any `response_format`); the browser only
supplies the conversation. A reconnecting `EventSource` never starts a second paid call: a
request carrying `Last-Event-ID` is answered 204, which tells the browser to stop.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from router.relay._web import JSONResponse, Request, Response
from router.relay.response import (
    EVENT_STREAM_HEADERS,
    EventStreamResponse,
    RelayableCall,
    stream_preamble,
)

__all__ = ["BrowserInputError", "Relay", "RelayableRouter", "browser_messages"]

#: Roles a browser may send; `system` and `tool` messages are the service's to write.
BROWSER_ROLES = frozenset({"user", "assistant"})

#: Options of `call()` that are not intent hints.
CALL_OPTIONS = frozenset({"deadline", "headers", "api_key", "response_model"})


class RelayableRouter(Protocol):
    """What the relay needs of a router (`router.AsyncRouter` provides it)."""

    def call(
        self, request: Mapping[str, Any], /, **options: Any
    ) -> AbstractAsyncContextManager[RelayableCall]: ...


class BrowserInputError(ValueError):
    """What a browser sent cannot be turned into a conversation (answered with 400 or 413)."""

    def __init__(self, message: str, *, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


class Relay:
    """Turns routed calls into `text/event-stream` responses for browsers.

    `ping_interval`: seconds of silence before a `: ping` comment. `include_usage`: put
    token usage in the `done` event (off by default: usage is the service's business).
    `retry_ms`: the reconnection delay announced to `EventSource` clients (not sent when
    None); their reconnects are answered 204 either way.
    """

    def __init__(
        self,
        router: RelayableRouter,
        *,
        ping_interval: float = 15.0,
        include_usage: bool = False,
        retry_ms: int | None = None,
    ) -> None:
        stream_preamble(ping_interval=ping_interval, retry_ms=retry_ms)  # refuse bad values now
        self.router = router
        self.ping_interval = ping_interval
        self.include_usage = include_usage
        self.retry_ms = retry_ms

    def response(
        self,
        http_request: Request,
        body: Mapping[str, Any],
        /,
        **options: Any,
    ) -> Response:
        """Stream the call `body` as events; `options` (hints, `deadline`, ...) go to `call`.

        `body` and `options` come from server code. The call starts only when the response
        is sent, and never for a reconnect (`Last-Event-ID` present): that gets a 204.
        """
        if _is_reconnect(http_request):
            return _no_more_events()

        def open_call() -> AbstractAsyncContextManager[RelayableCall]:
            return self.router.call(body, **options)

        return EventStreamResponse(
            open_call,
            ping_interval=self.ping_interval,
            include_usage=self.include_usage,
            retry_ms=self.retry_ms,
        )

    def endpoint(
        self,
        *,
        model: str,
        system: str | None = None,
        request_fields: Mapping[str, Any] | None = None,
        max_input_chars: int = 32_000,
        **options: Any,
    ) -> Callable[[Request], Awaitable[Response]]:
        """A Starlette endpoint (GET or POST) that relays one call per request.

        The browser sends `{"prompt": "..."}` or `{"messages": [{"role", "content"}, ...]}`
        as a JSON body (POST, read with `fetch`), or `?prompt=...` (GET, for `EventSource`).
        Nothing else it sends is read. The call's body is `model`, an optional `system`
        message, the browser's messages, and `request_fields` (such as `response_format`);
        `options` are the hints and call options, fixed by the service. A bad hint raises
        `IntentError` here, when the app is built, rather than on every request.
        """
        from router.intent import Intent

        hints = {key: value for key, value in options.items() if key not in CALL_OPTIONS}
        Intent.from_request(None, **hints)
        fixed_fields = dict(request_fields or {})

        async def relay_endpoint(http_request: Request) -> Response:
            if _is_reconnect(http_request):
                return _no_more_events()  # before reading a body that would go unused
            try:
                # JSON escapes can make one character 12 bytes: a surrogate pair, two \u escapes.
                max_bytes = 12 * max_input_chars + 4096
                payload = await _browser_payload(http_request, max_bytes=max_bytes)
                messages = browser_messages(payload, max_chars=max_input_chars)
            except BrowserInputError as exc:
                return JSONResponse(
                    {"error": {"type": "BadRequest", "message": str(exc)}},
                    status_code=exc.status_code,
                )
            if system is not None:
                messages.insert(0, {"role": "system", "content": system})
            body = {**fixed_fields, "model": model, "messages": messages}
            return self.response(http_request, body, **options)

        return relay_endpoint


def _is_reconnect(http_request: Request) -> bool:
    """An `EventSource` reconnecting after its stream ended (it sends the last id it saw)."""
    return "last-event-id" in http_request.headers


def _no_more_events() -> Response:
    """204: tells an `EventSource` to stop reconnecting for good."""
    return Response(status_code=204, headers=dict(EVENT_STREAM_HEADERS))


async def _browser_payload(http_request: Request, *, max_bytes: int) -> Mapping[str, Any]:
    if http_request.method == "GET":
        return dict(http_request.query_params)
    too_large = BrowserInputError(
        f"the request body is larger than {max_bytes} bytes", status_code=413
    )
    declared = http_request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    parts: list[bytes] = []
    size = 0
    async for part in http_request.stream():  # read no more than the limit
        size += len(part)
        if size > max_bytes:
            raise too_large
        parts.append(part)
    raw = b"".join(parts)
    try:
        payload = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BrowserInputError(f"the request body is not JSON: {exc}") from None
    if not isinstance(payload, Mapping):
        raise BrowserInputError("the request body must be a JSON object")
    return payload


def browser_messages(
    payload: Mapping[str, Any], *, max_chars: int = 32_000
) -> list[dict[str, str]]:
    """The conversation a browser sent, checked: only user/assistant turns with text.

    Accepts `{"prompt": "..."}` or `{"messages": [...]}`; every other key is ignored, so a
    browser cannot choose the model, the billing, the labels or the answer's format.
    """
    messages: list[dict[str, str]]
    if "messages" in payload:
        raw_messages = payload["messages"]
        if not isinstance(raw_messages, Sequence) or isinstance(raw_messages, str):
            raise BrowserInputError("messages must be a list")
        messages = [_browser_message(index, item) for index, item in enumerate(raw_messages)]
    elif "prompt" in payload:
        prompt = payload["prompt"]
        if not isinstance(prompt, str):
            raise BrowserInputError("prompt must be a string")
        messages = [{"role": "user", "content": prompt}]
    else:
        raise BrowserInputError("send a prompt or a list of messages")
    if not messages or messages[-1]["role"] != "user":
        raise BrowserInputError("the conversation must end with a user message")
    if not messages[-1]["content"].strip():
        raise BrowserInputError("the prompt is empty")
    total = sum(len(message["content"]) for message in messages)
    if total > max_chars:
        raise BrowserInputError(f"the conversation is too long ({total} > {max_chars} characters)")
    return messages


def _browser_message(index: int, item: Any) -> dict[str, str]:
    if not isinstance(item, Mapping):
        raise BrowserInputError(f"messages[{index}] must be an object")
    role, content = item.get("role"), item.get("content")
    if role not in BROWSER_ROLES:
        raise BrowserInputError(f"messages[{index}].role must be 'user' or 'assistant'")
    if not isinstance(content, str):
        raise BrowserInputError(f"messages[{index}].content must be a string")
    return {"role": role, "content": content}
