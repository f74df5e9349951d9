"""The httpx clients `router` builds, with per-read timeouts that follow the call's clocks.

httpx takes one read timeout per request, fixed when the response body starts; a call's
clocks change on every read (`first_token`, then `idle`, always `total`). So the clients
built here wrap httpcore's network streams so that each raw socket read waits at most until
the end of the tightest running clock: a stalled socket wakes up in time and a keep-alive
trickle cannot hold a call.

Two ways tell a stream that deadline. While a call reads a response body, the driver binds
the call's `Clocks` to the connection carrying it (`bind_clocks`): each socket read then
asks the clocks for its deadline and reports how long it waited, so reads served from
httpcore's buffer cost nothing extra. Binding is safe because the connection belongs to that
response alone until the driver unbinds it, which it does before closing the response (the
moment the pool may hand the connection to another request). Elsewhere (sending a request,
waiting for its headers) `READ_DEADLINE` holds the deadline, set by the driver around that
one call and reset right after, so no other request ever sees it. Unbound and with the
context variable unset, the streams behave exactly like httpcore's.
"""

from __future__ import annotations

import time
import typing
from contextvars import ContextVar

import httpcore
import httpx

if typing.TYPE_CHECKING:
    from router.resilience import Clocks

__all__ = ["READ_DEADLINE", "bind_clocks", "new_async_client", "new_sync_client"]

#: The monotonic time by which the current raw read must return (None: no call clock).
READ_DEADLINE: ContextVar[float | None] = ContextVar("router_read_deadline", default=None)

# Never ask a socket for a zero timeout: that means "non-blocking" to it, not "expired".
_MIN_TIMEOUT = 0.001

_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=200, keepalive_expiry=30)


def _clamp(timeout: float | None) -> float | None:
    deadline = READ_DEADLINE.get()
    if deadline is None:
        return timeout
    left = max(deadline - time.monotonic(), _MIN_TIMEOUT)
    return left if timeout is None else min(timeout, left)


class _ClockedStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner
        #: The clocks of the call whose response body this connection carries, if any.
        self.clocks: Clocks | None = None

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        clocks = self.clocks
        if clocks is not None:
            now = time.monotonic()
            left = clocks.begin_wait(now) - now
            left = left if left > _MIN_TIMEOUT else _MIN_TIMEOUT
            data = self._inner.read(
                max_bytes, left if timeout is None or left < timeout else timeout
            )
            clocks.end_wait(time.monotonic())
            return data
        return self._inner.read(max_bytes, _clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, *args: typing.Any, **kwargs: typing.Any) -> httpcore.NetworkStream:
        return _ClockedStream(self._inner.start_tls(*args, **kwargs))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _ClockedBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(self, *args: typing.Any, **kwargs: typing.Any) -> httpcore.NetworkStream:
        return _ClockedStream(self._inner.connect_tcp(*args, **kwargs))

    def connect_unix_socket(
        self, *args: typing.Any, **kwargs: typing.Any
    ) -> httpcore.NetworkStream:
        return _ClockedStream(self._inner.connect_unix_socket(*args, **kwargs))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _AsyncClockedStream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        #: The clocks of the call whose response body this connection carries, if any.
        self.clocks: Clocks | None = None

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        clocks = self.clocks
        if clocks is not None:
            now = time.monotonic()
            left = clocks.begin_wait(now) - now
            left = left if left > _MIN_TIMEOUT else _MIN_TIMEOUT
            data = await self._inner.read(
                max_bytes, left if timeout is None or left < timeout else timeout
            )
            clocks.end_wait(time.monotonic())
            return data
        return await self._inner.read(max_bytes, _clamp(timeout))

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self, *args: typing.Any, **kwargs: typing.Any
    ) -> httpcore.AsyncNetworkStream:
        return _AsyncClockedStream(await self._inner.start_tls(*args, **kwargs))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _AsyncClockedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self, *args: typing.Any, **kwargs: typing.Any
    ) -> httpcore.AsyncNetworkStream:
        return _AsyncClockedStream(await self._inner.connect_tcp(*args, **kwargs))

    async def connect_unix_socket(
        self, *args: typing.Any, **kwargs: typing.Any
    ) -> httpcore.AsyncNetworkStream:
        return _AsyncClockedStream(await self._inner.connect_unix_socket(*args, **kwargs))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def bind_clocks(
    response: httpx.Response, clocks: Clocks | None
) -> _ClockedStream | _AsyncClockedStream | None:
    """Make every socket read of `response`'s connection follow `clocks` (None: unbind).

    Returns the connection's stream, or None when it is not one built here (a client the
    caller supplied): its reads cannot follow the clocks. Unbind before closing the response.
    """
    stream = response.extensions.get("network_stream")
    if isinstance(stream, _ClockedStream | _AsyncClockedStream):
        stream.clocks = clocks
        return stream
    return None


def _install(transport: object, wrap: typing.Callable[[typing.Any], typing.Any]) -> None:
    """Wrap the network backend of httpx's default transport.

    Should httpx's layout change, the client stays plain: `bind_clocks` then finds no
    clocked stream and the drivers time each read themselves, as for a caller's client.
    """
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if pool is not None and backend is not None:
        pool._network_backend = wrap(backend)


def new_sync_client() -> httpx.Client:
    """A pooled sync client whose socket reads follow the call's clocks."""
    transport = httpx.HTTPTransport(limits=_LIMITS)
    _install(transport, _ClockedBackend)
    return httpx.Client(transport=transport, timeout=None)


def new_async_client() -> httpx.AsyncClient:
    """A pooled async client whose socket reads follow the call's clocks."""
    transport = httpx.AsyncHTTPTransport(limits=_LIMITS)
    _install(transport, _AsyncClockedBackend)
    return httpx.AsyncClient(transport=transport, timeout=None)
