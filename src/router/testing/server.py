"""`SimulatedProvider`: a real HTTP/1.1 server on 127.0.0.1 that speaks Chat Completions.

It runs in its own threads (one accepting, one per connection), so sync and async tests use
it alike and a stalled response never blocks another connection. Keep-alive connections
carry several requests, as a real provider's do. Stopping it (or leaving its `with` block)
ends every response in progress within a few tens of milliseconds and joins every thread.
"""

from __future__ import annotations

import contextlib
import select
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterable
from types import TracebackType

from router.testing.core import ScriptedProvider
from router.testing.http11 import TICK, BadRequest, ClientGone, Connection, ServerStopping
from router.testing.plan import ResponsePlan, bad_request_plan, server_error_plan
from router.testing.recording import RecordedRequest
from router.testing.scripts import Quirks, Step

__all__ = ["SimulatedProvider"]


class SimulatedProvider(ScriptedProvider):
    """A simulated OpenAI-compatible provider on loopback, with scripted answers and faults.

    >>> with SimulatedProvider(Reply.text("Hi there")) as provider:
    ...     httpx.post(provider.base_url + "/chat/completions", json={...})

    `default` answers every chat-completion request unless steps are queued with `enqueue()`
    (each answers one request, in order). `requests` lists what was received. Every "forever"
    wait ends after `max_stall` seconds at most; idle keep-alive connections close after
    `keep_alive_timeout` seconds, as real servers do.
    """

    def __init__(
        self,
        default: Step | None = None,
        *,
        steps: Iterable[Step] = (),
        quirks: Quirks | None = None,
        model: str = "gpt-4o-mini",
        port: int = 0,
        max_stall: float = 60.0,
        keep_alive_timeout: float = 30.0,
    ) -> None:
        super().__init__(default, steps=steps, quirks=quirks, model=model, max_stall=max_stall)
        self.host = "127.0.0.1"
        self.port = port
        self.keep_alive_timeout = keep_alive_timeout
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._threads: set[threading.Thread] = set()
        self._connections = 0
        self._refused_until: float | None = None
        self._changed = threading.Condition(self._lock)
        self._sockets: dict[int, socket.socket] = {}
        self._busy: set[int] = set()

    # --- lifecycle --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, e.g. `http://127.0.0.1:PORT/v1`."""
        return f"http://{self.host}:{self.port}/v1"

    @property
    def running(self) -> bool:
        """True between `start()` and `stop()`."""
        return self._accept_thread is not None and not self._stop.is_set()

    @property
    def connections_opened(self) -> int:
        """How many TCP connections have been accepted so far."""
        return self._connections

    def start(self) -> SimulatedProvider:
        """Bind a free port (or the given one) on 127.0.0.1 and start serving."""
        if self._accept_thread is not None:
            raise RuntimeError("SimulatedProvider already started")
        self._listener = self._listen(self.port)
        self.port = self._listener.getsockname()[1]
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"simulated-provider:{self.port}", daemon=True
        )
        self._accept_thread.start()
        self._begin_refusal_if_due()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving: end responses in progress, close every socket, join every thread."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        if self._accept_thread is not None:
            self._accept_thread.join(max(deadline - time.monotonic(), 0))
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(deadline - time.monotonic(), 0))
        self._close_listener()

    def enqueue(self, *steps: Step) -> None:
        """Queue steps: each answers one future chat-completion request, in order."""
        super().enqueue(*steps)
        self._begin_refusal_if_due()

    def set_default(self, step: Step) -> None:
        """The step that answers whenever the queue is empty."""
        super().set_default(step)
        self._begin_refusal_if_due()

    def threads(self) -> list[threading.Thread]:
        """The server's live threads (empty once stopped: tests check nothing leaks)."""
        with self._lock:
            live = [t for t in self._threads if t.is_alive()]
        if self._accept_thread is not None and self._accept_thread.is_alive():
            live.append(self._accept_thread)
        return live

    def __enter__(self) -> SimulatedProvider:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<SimulatedProvider {self.base_url} {state}, {len(self.requests)} requests>"

    # --- accepting --------------------------------------------------------------------------

    def _listen(self, port: int) -> socket.socket:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, port))
            listener.listen(64)
        except OSError:
            listener.close()
            raise
        listener.setblocking(False)
        return listener

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown() stops listening at once, even while the accept thread's select()
            # still holds the socket; close() alone would leave it accepting until then.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                refused_until = self._refused_until
            if refused_until is not None:
                self._continue_refusal(refused_until)
                continue
            listener = self._listener
            if listener is None:
                self._stop.wait(TICK)
                continue
            try:
                sock, _ = listener.accept()
            except BlockingIOError:
                with contextlib.suppress(OSError, ValueError):
                    select.select([listener], [], [], TICK)
                continue
            except OSError:
                continue
            self._serve_in_thread(sock)

    def _begin_refusal_if_due(self, own: int | None = None) -> bool:
        """If the script's next step refuses connections, stop listening now; True if refusing.

        Idle kept-alive connections are shut down too (after letting responses that are just
        ending finish, briefly), so the client's next attempt needs a new connection and is
        refused. Runs in the caller's thread, so a test that queues a refusal sees it take
        effect before its next request. `own` is the calling connection, if any.
        """
        if not self.running:
            return False
        with self._lock:
            if self._refused_until is not None:
                return True
            seconds = self.script.take_refusal()
            if seconds is None:
                return False
            self._refused_until = time.monotonic() + seconds
            self._close_listener()
            self._changed.wait_for(lambda: not (self._busy - {own}), timeout=0.2)
            idle = [sock for cid, sock in self._sockets.items() if cid not in self._busy]
        for sock in idle:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        return True

    def _continue_refusal(self, refused_until: float) -> None:
        """Wait out the refusal window, then extend it or listen again on the same port."""
        remaining = refused_until - time.monotonic()
        if remaining > 0:
            self._stop.wait(min(TICK, remaining))
            return
        with self._lock:
            seconds = self.script.take_refusal()
            if seconds is not None:
                self._refused_until = time.monotonic() + seconds
                return
        deadline = time.monotonic() + 5.0
        while not self._stop.is_set():
            try:
                listener = self._listen(self.port)
                break
            except OSError:
                if time.monotonic() > deadline:
                    self._stop.set()  # the port was taken meanwhile: nothing left to serve
                    return
                self._stop.wait(TICK)
        else:
            return
        with self._lock:
            self._listener = listener
            self._refused_until = None

    # --- serving ----------------------------------------------------------------------------

    def _serve_in_thread(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections += 1
            connection_id = self._connections
            thread = threading.Thread(
                target=self._serve,
                args=(sock, connection_id),
                name=f"simulated-provider:{self.port}:conn{connection_id}",
                daemon=True,
            )
            self._threads.add(thread)
        thread.start()

    def _plan_or_error(self, request: RecordedRequest) -> ResponsePlan:
        """The plan for a request; a failing responder becomes a 500 naming its error."""
        try:
            return self.plan_for(request)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            return server_error_plan(
                f"router.testing: the script raised {type(exc).__name__}: {exc}"
            )

    def _serve(self, sock: socket.socket, connection_id: int) -> None:
        connection = Connection(
            sock,
            self._stop,
            max_stall=self.config.max_stall,
            should_drop_idle=lambda: self._refused_until is not None,
        )
        with self._lock:
            self._sockets[connection_id] = sock
        try:
            while not self._stop.is_set():
                try:
                    raw = connection.read_request(self.keep_alive_timeout)
                except BadRequest as exc:
                    with contextlib.suppress(ClientGone, ServerStopping):
                        connection.execute(bad_request_plan(str(exc)), close_after=True)
                    break
                if raw is None:
                    break
                with self._lock:
                    self._busy.add(connection_id)
                request = self.record(
                    method=raw.method,
                    path=raw.path,
                    query=raw.query,
                    headers=raw.headers,
                    raw_body=raw.body,
                    connection_id=connection_id,
                )
                try:
                    plan = self._plan_or_error(request)
                    # A refusal that starts now must not let the client reuse this connection.
                    refusing = self._begin_refusal_if_due(own=connection_id)
                    reusable = connection.execute(plan, close_after=raw.wants_close or refusing)
                except ClientGone:
                    request.mark_client_closed()
                    break
                except ServerStopping:
                    break
                except Exception:  # a bug in a plan: say so, drop the connection, keep serving
                    traceback.print_exc(file=sys.stderr)
                    break
                finally:
                    request.mark_finished()
                    with self._lock:
                        self._busy.discard(connection_id)
                        self._changed.notify_all()
                if not reusable:
                    break
        finally:
            connection.close()
            with self._lock:
                self._sockets.pop(connection_id, None)
                self._threads.discard(threading.current_thread())
