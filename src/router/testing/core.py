"""The part of a simulated provider that is not I/O: its script, its request log, its routing.

`SimulatedProvider` (sockets) and `SimulatedTransport` (httpx, no sockets) both derive from
`ScriptedProvider`, so they are scripted, inspected and answered the same way.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import replace

from router.testing.answers import reply_plan
from router.testing.faults import fault_plan
from router.testing.plan import PlanConfig, ResponsePlan, bad_request_plan, other_plan
from router.testing.recording import RecordedRequest, RequestLog
from router.testing.scripts import Fault, FaultKind, Quirks, Reply, Step

__all__ = ["Script", "ScriptedProvider", "is_chat_completions"]


def is_chat_completions(method: str, path: str) -> bool:
    """True for `POST .../chat/completions` (OpenAI's and Azure's deployment paths)."""
    return method == "POST" and path.rstrip("/").endswith("/chat/completions")


class Script:
    """The steps answering chat-completion requests: a queue first, then a default.

    Each queued step answers one request, in order ("the first call fails, the second
    succeeds"); when the queue is empty, the default answers every request. Thread-safe.
    """

    def __init__(self, default: Step | None = None, steps: Iterable[Step] = ()) -> None:
        self._lock = threading.Lock()
        self._default: Step = default if default is not None else Reply.text()
        self._queue: deque[Step] = deque(steps)

    @property
    def default(self) -> Step:
        """The step answering when the queue is empty."""
        return self._default

    @default.setter
    def default(self, step: Step) -> None:
        with self._lock:
            self._default = step

    def enqueue(self, *steps: Step) -> None:
        """Append steps; each answers one future request, in order."""
        with self._lock:
            self._queue.extend(steps)

    def clear(self) -> None:
        """Drop every queued step (the default stays)."""
        with self._lock:
            self._queue.clear()

    @property
    def pending(self) -> int:
        """How many queued steps have not answered a request yet."""
        with self._lock:
            return len(self._queue)

    def take(self, request: RecordedRequest) -> Reply | Fault:
        """The step answering `request`: the queue's head (consumed) or the default."""
        with self._lock:
            step = self._queue.popleft() if self._queue else self._default
        return step(request) if callable(step) else step

    def take_refusal(self) -> float | None:
        """If the next step refuses connections, consume it and return its window in seconds.

        A refusing default is not consumed: the provider keeps refusing until it changes.
        """
        with self._lock:
            if not self._queue:
                return _refusal_seconds(self._default)
            seconds = _refusal_seconds(self._queue[0])
            if seconds is not None:
                self._queue.popleft()
            return seconds


def _refusal_seconds(step: Step) -> float | None:
    """How long a refusing step refuses connections; None for any other step."""
    if isinstance(step, Fault) and step.kind is FaultKind.REFUSE_CONNECTION:
        return step.seconds if step.seconds is not None else 0.3
    return None


class ScriptedProvider:
    """Scripting, recording and routing shared by the server and the transport."""

    def __init__(
        self,
        default: Step | None = None,
        *,
        steps: Iterable[Step] = (),
        quirks: Quirks | None = None,
        model: str = "gpt-4o-mini",
        max_stall: float = 60.0,
    ) -> None:
        self.script = Script(default, steps)
        self.log = RequestLog()
        self.config = PlanConfig(model=model, quirks=quirks or Quirks(), max_stall=max_stall)
        #: Called with each request as it arrives (e.g. to log it), from the serving thread.
        self.on_request: Callable[[RecordedRequest], None] | None = None

    # --- scripting ------------------------------------------------------------------------

    def enqueue(self, *steps: Step) -> None:
        """Queue steps: each answers one future chat-completion request, in order."""
        self.script.enqueue(*steps)

    def set_default(self, step: Step) -> None:
        """The step that answers whenever the queue is empty."""
        self.script.default = step

    def set_quirks(self, quirks: Quirks) -> None:
        """The quirks of every reply that does not carry its own."""
        self.config = replace(self.config, quirks=quirks)

    def reset(self) -> None:
        """Forget queued steps and recorded requests (the default answer stays)."""
        self.script.clear()
        self.log.clear()

    # --- inspection -----------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in order (a copy)."""
        return self.log.snapshot()

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The chat-completion requests received so far, in order."""
        return [r for r in self.log.snapshot() if is_chat_completions(r.method, r.path)]

    def wait_for_requests(self, count: int, timeout: float = 2.0) -> list[RecordedRequest]:
        """Wait up to `timeout` seconds until `count` requests arrived; returns them all."""
        return self.log.wait_for(count, timeout)

    # --- answering ------------------------------------------------------------------------

    def record(
        self,
        *,
        method: str,
        path: str,
        query: str,
        headers: list[tuple[str, str]],
        raw_body: bytes,
        connection_id: int,
    ) -> RecordedRequest:
        """Record a request that just arrived and tell `on_request` about it."""
        request = self.log.record(
            method=method,
            path=path,
            query=query,
            headers=headers,
            raw_body=raw_body,
            connection_id=connection_id,
        )
        if self.on_request is not None:
            try:
                self.on_request(request)
            except Exception as exc:  # a broken listener must not take the connection down
                sys.stderr.write(f"router.testing: on_request raised {type(exc).__name__}: {exc}\n")
        return request

    def plan_for(self, request: RecordedRequest) -> ResponsePlan:
        """The response to a recorded request, consuming one script step when it applies."""
        if not is_chat_completions(request.method, request.path):
            return other_plan(request, self.config)
        if not isinstance(request.body, dict):
            return bad_request_plan(
                "We could not parse the JSON body of your request. (HINT: This likely means "
                "you aren't using your HTTP library correctly.)"
            )
        step = self.script.take(request)
        if isinstance(step, Fault):
            return fault_plan(step, request, self.config)
        return reply_plan(step, request, self.config)
