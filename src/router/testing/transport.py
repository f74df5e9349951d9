"""`SimulatedTransport`: the simulated provider as an httpx transport, with no sockets.

For fast unit tests: pass it as `httpx.Client(transport=...)` or `httpx.AsyncClient(...)`. It
runs the same scripts as `SimulatedProvider` and yields the same bytes; connection faults
become the exceptions httpx itself would raise (`ConnectError` for a refused connection,
`ReadError` for a reset, `RemoteProtocolError` for a body cut short). Pauses really sleep
(cancellable in async code; bounded by `max_stall`), so timing faults belong to the real
server when a sync client must time out on them.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Iterator

import anyio
import httpx

from router.testing.core import ScriptedProvider
from router.testing.plan import Abort, Action, Pause, ResponsePlan, Write
from router.testing.recording import RecordedRequest
from router.testing.scripts import Quirks, Step

__all__ = ["SimulatedTransport"]

_INCOMPLETE = (
    "peer closed connection without sending complete message body (incomplete chunked read)"
)


class SimulatedTransport(ScriptedProvider, httpx.MockTransport):
    """An httpx transport answering from a script, for sync and async clients alike.

    Scripted exactly like `SimulatedProvider` (`enqueue`, `set_default`, `requests`). Use a
    base URL such as `https://api.openai.com/v1`: the host is never contacted.
    """

    def __init__(
        self,
        default: Step | None = None,
        *,
        steps: Iterable[Step] = (),
        quirks: Quirks | None = None,
        model: str = "gpt-4o-mini",
        max_stall: float = 5.0,
    ) -> None:
        ScriptedProvider.__init__(
            self, default, steps=steps, quirks=quirks, model=model, max_stall=max_stall
        )
        httpx.MockTransport.__init__(self, self._handler_unused)

    @staticmethod
    def _handler_unused(request: httpx.Request) -> httpx.Response:  # pragma: no cover
        raise AssertionError("SimulatedTransport answers through handle_request")

    def _begin(self, request: httpx.Request) -> tuple[RecordedRequest, ResponsePlan]:
        recorded = self.record(
            method=request.method,
            path=request.url.path,
            query=request.url.query.decode("ascii", "replace"),
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw],
            raw_body=request.content,
            connection_id=0,
        )
        return recorded, self.plan_for(recorded)

    def _response(
        self, request: httpx.Request, recorded: RecordedRequest, plan: ResponsePlan
    ) -> httpx.Response:
        if plan.reset:
            recorded.mark_finished()
            if plan.refuse:
                raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
            raise httpx.ReadError("[Errno 104] Connection reset by peer", request=request)
        body = _PlanBody(plan.body, recorded, self.config.max_stall, request)
        return httpx.Response(
            plan.status, headers=plan.framed_headers(), stream=body, request=request
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer a sync client's request from the script."""
        request.read()
        recorded, plan = self._begin(request)
        if plan.head_pause is not None:
            _sleep(plan.head_pause.seconds, self.config.max_stall)
        return self._response(request, recorded, plan)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer an async client's request from the script."""
        await request.aread()
        recorded, plan = self._begin(request)
        if plan.head_pause is not None:
            await _asleep(plan.head_pause.seconds, self.config.max_stall)
        return self._response(request, recorded, plan)


def _bounded(seconds: float | None, max_stall: float) -> float:
    return max_stall if seconds is None else min(seconds, max_stall)


def _sleep(seconds: float | None, max_stall: float) -> None:
    time.sleep(_bounded(seconds, max_stall))


async def _asleep(seconds: float | None, max_stall: float) -> None:
    await anyio.sleep(_bounded(seconds, max_stall))


class _PlanBody(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body that plays a plan's actions as it is read, sync or async."""

    def __init__(
        self,
        actions: Iterable[Action],
        recorded: RecordedRequest,
        max_stall: float,
        request: httpx.Request,
    ) -> None:
        self._actions = actions
        self._recorded = recorded
        self._max_stall = max_stall
        self._request = request
        self._done = False

    def _data(self, action: Action) -> bytes | None:
        """The bytes of a Write; raises for an Abort; None for a Pause."""
        if isinstance(action, Write):
            return action.data
        if isinstance(action, Abort):
            self._finish()
            raise httpx.RemoteProtocolError(_INCOMPLETE, request=self._request)
        return None

    def __iter__(self) -> Iterator[bytes]:
        for action in self._actions:
            if isinstance(action, Pause):
                _sleep(action.seconds, self._max_stall)
            data = self._data(action)
            if data:
                yield data
        self._finish()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for action in self._actions:
            if isinstance(action, Pause):
                await _asleep(action.seconds, self._max_stall)
            data = self._data(action)
            if data:
                yield data
        self._finish()

    def _finish(self) -> None:
        self._done = True
        self._recorded.mark_finished()

    def close(self) -> None:
        if not self._done:
            self._recorded.mark_client_closed()
            self._finish()

    async def aclose(self) -> None:
        self.close()
