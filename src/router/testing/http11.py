"""One server-side HTTP/1.1 connection over a non-blocking socket, with every wait bounded.

Reads requests (Content-Length or chunked bodies), writes responses (chunked or
Content-Length), pauses, and notices promptly when the client goes away or the server stops:
every blocking point is a `select` of at most `TICK` seconds that re-checks both.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from router.testing.plan import Abort, Pause, ResponsePlan, Write, reason_phrase

__all__ = ["BadRequest", "ClientGone", "Connection", "RawRequest", "ServerStopping"]

#: The longest any single wait lasts before re-checking the stop event and the client.
TICK = 0.02
MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024


class ClientGone(Exception):
    """The client closed or reset the connection."""


class ServerStopping(Exception):
    """The server is stopping: abandon the connection."""


class BadRequest(Exception):
    """The client sent something that is not HTTP/1.1: answer 400 and close."""


@dataclass(slots=True)
class RawRequest:
    """A request as read off the wire."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def path(self) -> str:
        """The target without its query string."""
        return self.target.split("?", 1)[0]

    @property
    def query(self) -> str:
        """The query string, without `?`."""
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    def header(self, name: str) -> str | None:
        """The first value of a header, case-insensitively."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    @property
    def wants_close(self) -> bool:
        """True when the client asked to close the connection after this exchange."""
        return (self.header("connection") or "").lower() == "close"


class Connection:
    """A server-side connection: read requests, execute response plans, bounded throughout."""

    def __init__(
        self,
        sock: socket.socket,
        stop: threading.Event,
        *,
        max_stall: float,
        should_drop_idle: Callable[[], bool] = lambda: False,
    ) -> None:
        sock.setblocking(False)
        # Each SSE event leaves at once, as a provider's would, not held back by Nagle.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.stop = stop
        self.max_stall = max_stall
        self.should_drop_idle = should_drop_idle
        self._buffer = b""

    # --- reading ---------------------------------------------------------------------------

    def read_request(self, idle_timeout: float) -> RawRequest | None:
        """The next request; None when the client closes, idles out, or the server stops.

        Raises `BadRequest` for bytes that are not an HTTP/1.1 request.
        """
        deadline = time.monotonic() + idle_timeout
        while b"\r\n\r\n" not in self._buffer:
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise BadRequest(f"request head over {MAX_HEAD_BYTES} bytes")
            if not self._buffer and self.should_drop_idle():
                return None
            if not self._fill(deadline):
                return None
        head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise BadRequest(f"not an HTTP/1.x request line: {lines[0][:80]!r}")
        headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        request = RawRequest(parts[0].upper(), parts[1], headers, b"")
        deadline = time.monotonic() + self.max_stall
        if (request.header("expect") or "").lower() == "100-continue" and not self._buffer:
            # curl waits a second for this before sending a large body.
            try:
                self.send(b"HTTP/1.1 100 Continue\r\n\r\n")
            except (ClientGone, ServerStopping):
                return None
        if (request.header("transfer-encoding") or "").lower() == "chunked":
            body = self._read_chunked(deadline)
            if body is None:
                return None
            request.body = body
        else:
            text = request.header("content-length") or "0"
            if not text.isdigit():
                raise BadRequest(f"bad Content-Length: {text[:40]!r}")
            length = int(text)
            if length > MAX_BODY_BYTES:
                raise BadRequest(f"body over {MAX_BODY_BYTES} bytes")
            while len(self._buffer) < length:
                if not self._fill(deadline):
                    return None
            request.body, self._buffer = self._buffer[:length], self._buffer[length:]
        return request

    def _read_chunked(self, deadline: float) -> bytes | None:
        body = bytearray()
        while True:
            while b"\r\n" not in self._buffer:
                if not self._fill(deadline):
                    return None
            size_line, self._buffer = self._buffer.split(b"\r\n", 1)
            try:
                size = int(size_line.split(b";")[0].strip(), 16)
            except ValueError:
                size = -1
            if size < 0:
                raise BadRequest(f"bad chunk size: {size_line[:40]!r}")
            # Judge the declared size before waiting for it, as Content-Length is judged.
            if len(body) + size > MAX_BODY_BYTES:
                raise BadRequest(f"body over {MAX_BODY_BYTES} bytes")
            while len(self._buffer) < size + 2:
                if not self._fill(deadline):
                    return None
            body += self._buffer[:size]
            self._buffer = self._buffer[size + 2 :]
            if size == 0:
                return bytes(body)

    def _fill(self, deadline: float) -> bool:
        """Read more bytes into the buffer; False on EOF, timeout or stop."""
        while not self.stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            readable, _, _ = select.select([self.sock], [], [], min(TICK, remaining))
            if not readable:
                if not self._buffer and self.should_drop_idle():
                    return False
                continue
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                return False
            if not data:
                return False
            self._buffer += data
            self._ack_now()
            return True
        return False

    def _ack_now(self) -> None:
        """Acknowledge at once (Linux), so a client that sends its request head and body in two
        writes is not held back by Nagle waiting for our delayed ACK (~40 ms per request)."""
        quickack = getattr(socket, "TCP_QUICKACK", None)
        if quickack is not None:
            with contextlib.suppress(OSError):
                self.sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)

    # --- writing ---------------------------------------------------------------------------

    def execute(self, plan: ResponsePlan, *, close_after: bool) -> bool:
        """Send one response; True when the connection may carry another request.

        Raises `ClientGone` when the client leaves first, `ServerStopping` when the server
        stops.
        """
        if plan.head_pause is not None:
            self.pause(plan.head_pause.seconds)
        if plan.reset:
            self.reset()
            return False
        close = close_after or plan.close
        headers = plan.framed_headers()
        headers.append(("connection", "close" if close else "keep-alive"))
        head = f"HTTP/1.1 {plan.status} {reason_phrase(plan.status)}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
        self.send(head.encode("latin-1"))
        for action in plan.body:
            if isinstance(action, Write):
                if not action.data:
                    continue
                if plan.chunked:
                    self.send(b"%x\r\n%s\r\n" % (len(action.data), action.data))
                else:
                    self.send(action.data)
            elif isinstance(action, Pause):
                self.pause(action.seconds)
            elif isinstance(action, Abort):
                return False
        if plan.chunked:
            self.send(b"0\r\n\r\n")
        return not close

    def send(self, data: bytes) -> None:
        """Send every byte, waiting at most `max_stall` for a client that does not read."""
        view = memoryview(data)
        deadline = time.monotonic() + self.max_stall
        while view:
            if self.stop.is_set():
                raise ServerStopping
            try:
                sent = self.sock.send(view)
            except BlockingIOError:
                sent = 0
            except OSError as exc:  # EPIPE, ECONNRESET: the client left
                raise ClientGone from exc
            view = view[sent:]
            if not view:
                return
            # The client is not reading: wait for room, watching the client and the clock.
            if time.monotonic() > deadline:
                raise ClientGone
            _, writable, _ = select.select([], [self.sock], [], TICK)
            if not writable:
                self._check_client()

    def pause(self, seconds: float | None) -> None:
        """Send nothing for `seconds` (None: `max_stall`), watching the client and the stop."""
        limit = self.max_stall if seconds is None else min(seconds, self.max_stall)
        deadline = time.monotonic() + limit
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if self.stop.wait(min(TICK, remaining)):
                raise ServerStopping
            self._check_client()

    def _check_client(self) -> None:
        """Raise `ClientGone` if the peer has closed or reset the connection."""
        readable, _, _ = select.select([self.sock], [], [], 0)
        if not readable:
            return
        try:
            data = self.sock.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            return
        except OSError as exc:
            raise ClientGone from exc
        if not data:
            raise ClientGone

    # --- closing ---------------------------------------------------------------------------

    def reset(self) -> None:
        """Close with a TCP RST (SO_LINGER 0), as a crashed or refusing peer does."""
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close()

    def close(self) -> None:
        """Close the socket (a FIN, or an RST if unread bytes remain)."""
        with contextlib.suppress(OSError):
            self.sock.close()
