"""What the simulated provider received: one `RecordedRequest` per request, in order.

Tests assert on them: how many retries arrived, whether `stream_options` was sent, whether
the client closed a stream early, whether two requests shared one connection. Secret headers
stay readable for assertions but are redacted whenever a request or its headers are printed.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from router.redact import SECRET_HEADERS, is_secret_header

__all__ = ["SECRET_HEADERS", "RecordedHeaders", "RecordedRequest", "RequestLog"]

REDACTED = "[redacted]"


class RecordedHeaders(Mapping[str, str]):
    """Request headers, looked up case-insensitively; secrets redacted in `repr`/`str`.

    `headers["Authorization"]` returns the real value (tests may assert it was sent);
    `redacted()` is what is safe to print.
    """

    __slots__ = ("_items",)

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = list(items)

    def __getitem__(self, name: str) -> str:
        wanted = name.lower()
        values = [value for key, value in self._items if key.lower() == wanted]
        if not values:
            raise KeyError(name)
        return ", ".join(values)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(key.lower() for key, _ in self._items))

    def __len__(self) -> int:
        return len({key.lower() for key, _ in self._items})

    def raw_items(self) -> list[tuple[str, str]]:
        """Every header as received, in order, secrets included."""
        return list(self._items)

    def redacted(self) -> dict[str, str]:
        """The headers with every secret value replaced: safe to print or log."""
        return {key: REDACTED if is_secret_header(key) else self[key] for key in self}

    def __repr__(self) -> str:
        return f"RecordedHeaders({self.redacted()!r})"

    __str__ = __repr__


@dataclass(eq=False)
class RecordedRequest:
    """One request as the provider received it.

    `body` is the parsed JSON (None when absent or not JSON; `raw_body` keeps the bytes).
    `stream` says whether the body asked for a stream. `connection_id` numbers the TCP
    connection it came on (equal ids: the connection was reused). `client_closed` turns true
    when the client went away before the response was complete. `received_at` is the
    `time.monotonic()` of its arrival (to check the gap a client left between retries).
    """

    index: int
    method: str
    path: str
    query: str
    headers: RecordedHeaders
    raw_body: bytes
    connection_id: int
    body: Any = None
    received_at: float = field(default_factory=time.monotonic)
    _closed: threading.Event = field(default_factory=threading.Event, repr=False)
    _finished: threading.Event = field(default_factory=threading.Event, repr=False)

    def __post_init__(self) -> None:
        if self.raw_body and self.body is None:
            try:
                self.body = json.loads(self.raw_body)
            except (UnicodeDecodeError, json.JSONDecodeError):
                self.body = None

    @property
    def stream(self) -> bool:
        """True when the request body asked for a stream (`"stream": true`)."""
        return isinstance(self.body, dict) and self.body.get("stream") is True

    @property
    def stream_options(self) -> Any:
        """The request's `stream_options`, or None."""
        return self.body.get("stream_options") if isinstance(self.body, dict) else None

    @property
    def client_closed(self) -> bool:
        """True once the client disconnected before the response was complete."""
        return self._closed.is_set()

    @property
    def finished(self) -> bool:
        """True once the server finished with this request (answered, aborted or abandoned)."""
        return self._finished.is_set()

    def wait_client_closed(self, timeout: float = 2.0) -> bool:
        """Wait up to `timeout` seconds for the client to disconnect; True if it did."""
        return self._closed.wait(timeout)

    def wait_finished(self, timeout: float = 2.0) -> bool:
        """Wait up to `timeout` seconds for the server to be done with this request."""
        return self._finished.wait(timeout)

    def mark_client_closed(self) -> None:
        """Called by the server or transport when the client left early."""
        self._closed.set()

    def mark_finished(self) -> None:
        """Called by the server or transport when it is done with this request."""
        self._finished.set()

    def __repr__(self) -> str:
        return (
            f"RecordedRequest(index={self.index}, method={self.method!r}, path={self.path!r}, "
            f"stream={self.stream}, connection_id={self.connection_id}, "
            f"client_closed={self.client_closed}, headers={self.headers!r}, body={self.body!r})"
        )


class RequestLog:
    """The thread-safe, append-only list of requests a provider received."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._requests: list[RecordedRequest] = []

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
        """Append a new request and wake anyone waiting for it."""
        with self._lock:
            request = RecordedRequest(
                index=len(self._requests),
                method=method,
                path=path,
                query=query,
                headers=RecordedHeaders(headers),
                raw_body=raw_body,
                connection_id=connection_id,
            )
            self._requests.append(request)
            self._lock.notify_all()
            return request

    def snapshot(self) -> list[RecordedRequest]:
        """A copy of the list so far."""
        with self._lock:
            return list(self._requests)

    def wait_for(self, count: int, timeout: float = 2.0) -> list[RecordedRequest]:
        """Wait up to `timeout` seconds until `count` requests arrived; returns the list."""
        with self._lock:
            self._lock.wait_for(lambda: len(self._requests) >= count, timeout)
            return list(self._requests)

    def clear(self) -> None:
        """Forget every request recorded so far."""
        with self._lock:
            self._requests.clear()
