"""`EventStreamResponse`: one routed call re-served to a browser as `text/event-stream`.

Three tasks share the connection: the call itself (its deltas become `delta` events, then
`done` or `error`), a pinger (a `: ping` comment whenever nothing was sent for
`ping_interval` seconds), and a watcher that cancels everything the moment the browser goes
away, so the upstream request is closed and no more tokens are paid for.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import anyio
from anyio.lowlevel import checkpoint

from router.errors import RouterError
from router.relay._web import Receive, Response, Scope, Send
from router.relay.encoder import encode_retry
from router.relay.events import PING, delta_event, done_event, error_event

__all__ = ["EVENT_STREAM_HEADERS", "EventStreamResponse", "RelayableCall", "stream_preamble"]

logger = logging.getLogger("router.relay")

#: Headers of every relayed stream: no caching, and no buffering by proxies such as nginx.
EVENT_STREAM_HEADERS: Mapping[str, str] = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}

# How long closing the upstream may take once the browser is gone (shielded from the
# cancellation that triggered it, but never unbounded).
_CLOSE_TIMEOUT_S = 5.0


def stream_preamble(*, ping_interval: float, retry_ms: int | None) -> bytes:
    """Check a stream's options where they are set; return the block that opens the stream.

    A value that cannot work fails here, once, rather than in every response after its
    headers are out. The block is the `retry:` announcement, or empty when there is none.
    """
    if ping_interval <= 0:
        raise ValueError(f"ping_interval must be positive, not {ping_interval!r}")
    return b"" if retry_ms is None else encode_retry(retry_ms)


class RelayableCall(Protocol):
    """What the relay needs of a call handle (`router.AsyncRouter.call(...)` provides it)."""

    @property
    def decision(self) -> Any: ...

    def __aiter__(self) -> AsyncIterator[str]: ...

    async def result(self) -> Any: ...

    async def aclose(self) -> None: ...


class EventStreamResponse(Response):
    """Run the call that `open_call` opens and stream it as `delta` / `done` / `error` events."""

    media_type = "text/event-stream"

    def __init__(
        self,
        open_call: Callable[[], AbstractAsyncContextManager[RelayableCall]],
        *,
        ping_interval: float = 15.0,
        include_usage: bool = False,
        retry_ms: int | None = None,
    ) -> None:
        self._preamble = stream_preamble(ping_interval=ping_interval, retry_ms=retry_ms)
        self.status_code = 200
        self.background = None
        self.init_headers(dict(EVENT_STREAM_HEADERS))
        self._open_call = open_call
        self._ping_interval = ping_interval
        self._include_usage = include_usage
        self._call_id = secrets.token_hex(8)
        self._sequence = 0
        self._send: Send | None = None
        # The two writers (the call and the pinger) never interleave: the pinger skips its
        # turn while a block is being written, and the call waits for a ping in flight. (A
        # lock would cost more than the rest of a delta's relay.)
        self._writing = False
        self._ping_in_flight: anyio.Event | None = None
        self._last_sent = 0.0
        self._cancel_scope: anyio.CancelScope | None = None
        self.disconnected = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._send = send
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        self._last_sent = time.monotonic()
        async with anyio.create_task_group() as tasks:
            self._cancel_scope = tasks.cancel_scope
            tasks.start_soon(self._watch_disconnect, receive)
            tasks.start_soon(self._ping)
            if self._preamble:
                await self._emit(self._preamble)
            await self._relay_call()
            tasks.cancel_scope.cancel()
        if not self.disconnected:
            try:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            except OSError:
                self.disconnected = True

    # --- the three tasks --------------------------------------------------------------------

    async def _relay_call(self) -> None:
        delivered: list[str] = []
        try:
            async with self._open_call() as call:
                try:
                    completion = await self._deliver(call, delivered)
                finally:
                    # Close the upstream now, even when cancelled (the browser left), so
                    # the provider sees its connection closed at once.
                    with anyio.move_on_after(_CLOSE_TIMEOUT_S, shield=True):
                        await call.aclose()
                await self._emit(self._done(call.decision, completion))
        except Exception as exc:
            self._log_failure(exc)
            await self._emit(error_event(exc, partial="".join(delivered), id=self._next_id()))

    async def _deliver(self, call: RelayableCall, delivered: list[str]) -> Any:
        """Send the answer's text; return the final completion (validated per the decision)."""
        if call.decision.mode == "batch":
            # Nothing reaches the browser before the whole answer is in and validated.
            completion = await call.result()
            if completion.text:
                delivered.append(completion.text)
                await self._emit(delta_event(completion.text, id=self._next_id()))
            return completion
        async for text in call:
            if text:
                delivered.append(text)
                await self._emit(delta_event(text, id=self._next_id()))
        return await call.result()

    async def _ping(self) -> None:
        while True:
            wait = self._last_sent + self._ping_interval - time.monotonic()
            if wait > 0:
                await anyio.sleep(wait)
            elif self._writing:
                self._last_sent = time.monotonic()  # not idle: a block is on its way
            else:
                self._ping_in_flight = in_flight = anyio.Event()
                try:
                    await self._write(PING)
                finally:
                    self._ping_in_flight = None
                    in_flight.set()

    async def _watch_disconnect(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self._on_disconnect()
                return

    # --- helpers ----------------------------------------------------------------------------

    async def _emit(self, block: bytes) -> None:
        """Write one block of the call's events (after any ping being written)."""
        in_flight = self._ping_in_flight
        if in_flight is not None:
            await in_flight.wait()
        await self._write(block)

    async def _write(self, block: bytes) -> None:
        assert self._send is not None
        self._writing = True
        try:
            await self._send({"type": "http.response.body", "body": block, "more_body": True})
        except OSError:
            # Servers speaking ASGI 2.4 may raise on a send to a closed connection.
            self._on_disconnect()
            await checkpoint()  # the cancellation takes effect here
        finally:
            self._writing = False
            self._last_sent = time.monotonic()

    def _on_disconnect(self) -> None:
        self.disconnected = True
        if self._cancel_scope is not None:
            self._cancel_scope.cancel()

    def _next_id(self) -> str:
        self._sequence += 1
        return f"{self._call_id}-{self._sequence}"

    def _done(self, decision: Any, completion: Any) -> bytes:
        usage = None
        if self._include_usage and completion.usage is not None:
            usage = completion.usage.to_dict()
        return done_event(
            finish_reason=completion.finish_reason,
            status=str(completion.status),
            # What ran, not only what was decided: a stream can fall back to batch, and a
            # `response_model` validates whatever the policy says (it sets `parsed`).
            mode=str(completion.mode or decision.mode),
            validated=bool(decision.options.validate.enabled or completion.parsed is not None),
            usage=usage,
            refusal=completion.choices[0].message.refusal if completion.choices else None,
            id=self._next_id(),
        )

    def _log_failure(self, exc: Exception) -> None:
        if isinstance(exc, RouterError):
            # Router errors carry no secrets (they are redacted where they are built).
            logger.warning("relayed call failed: %s: %s", type(exc).__name__, exc)
        else:
            logger.exception("relayed call failed with an unexpected error")
