"""A WHATWG event-stream decoder: bytes in, events out, no I/O.

`SSEDecoder` implements the HTML standard's "interpreting an event stream" algorithm
(section 9.2.6) over raw bytes, so that whoever owns the connection (a sync or an async
driver, a replay of a recorded body) feeds whatever chunks the transport delivers and gets
back whole events::

    decoder = SSEDecoder()
    for chunk in response.iter_raw():
        for event in decoder.decode(chunk):
            handle(event)
    decoder.flush()  # end of stream: an unterminated event is dropped, as the standard says

The rules, all of them independent of where the transport splits the bytes: one leading
UTF-8 byte-order mark is stripped; CR, LF and CRLF end lines (also when the CR and the LF
arrive in different chunks); multi-byte characters may be split anywhere; `data` lines are
joined with "\\n"; comment lines (starting with ":") are ignored; a line without a colon is a
field with an empty value; one space after the colon is stripped, not more; an event without
data is not dispatched (its `id` still sets the last event id); `retry` counts only when it
is all ASCII digits; an `id` containing NUL is ignored; U+2028 and U+2029 are not line
breaks; unknown fields are ignored; invalid UTF-8 becomes U+FFFD.

Why bytes: a line can only end at a CR or LF byte, and neither byte can occur inside a
multi-byte UTF-8 sequence, so the decoder splits the raw buffer with `bytes.find` and
`bytes.split` (C speed) and decodes each field once, never character by character. Memory is
bounded: a line or an event larger than its limit raises `EventTooLarge`.
"""

from __future__ import annotations

from typing import NamedTuple

from router.errors import EventTooLarge

__all__ = ["DEFAULT_MAX_EVENT_BYTES", "DEFAULT_MAX_LINE_BYTES", "SSEDecoder", "ServerSentEvent"]

DEFAULT_MAX_LINE_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_EVENT_BYTES = 8 * 1024 * 1024

_BOM = b"\xef\xbb\xbf"
_MESSAGE = "message"


class ServerSentEvent(NamedTuple):
    """One dispatched event.

    `event` is the type ("message" unless an `event:` field named another), `data` the
    `data:` lines joined with "\\n", `id` the last event id at dispatch time (None until the
    stream sends one), `retry` the reconnection time in milliseconds when this event carried
    a valid `retry:` field. A named tuple because a stream makes one per chunk and tuple
    construction is the cheapest Python offers.
    """

    event: str = _MESSAGE
    data: str = ""
    id: str | None = None
    retry: int | None = None


def _utf8(raw: bytes | bytearray) -> str:
    return raw.decode("utf-8", "replace")


# Building the tuple directly skips NamedTuple's Python-level __new__ (defaults handling):
# the decoder makes one event per chunk, so this is on the hot path.
_new_event = tuple.__new__


class SSEDecoder:
    """Turn `text/event-stream` bytes into `ServerSentEvent`s, chunk by chunk.

    `max_line_bytes` bounds one line (also a line still waiting for its end) and
    `max_event_bytes` the data of one event; going past either raises `EventTooLarge`
    instead of buffering without end. One decoder serves one stream.
    """

    __slots__ = (
        "_bom_checked",
        "_clean",
        "_data",
        "_data_size",
        "_deferred",
        "_event_type",
        "_fast_limit",
        "_id_buffer",
        "_last_event_id",
        "_max_event",
        "_max_line",
        "_more",
        "_pending",
        "_reconnection_time",
        "_retry",
        "_skip_lf",
    )

    def __init__(
        self,
        *,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        if max_line_bytes < 1 or max_event_bytes < 1:
            raise ValueError("max_line_bytes and max_event_bytes must be positive")
        self._max_line = max_line_bytes
        self._max_event = max_event_bytes
        # The longest `data: ...` line the fast path may take without checking either limit.
        self._fast_limit = min(max_line_bytes, max_event_bytes + 5)
        self._bom_checked = False
        # Bytes of a line whose end has not arrived yet (or of a possible BOM at the start).
        self._pending = bytearray()
        # The previous chunk ended with CR: an LF starting the next one belongs to it.
        self._skip_lf = False
        # The event being built: its first data line, then (from the second line on) all of
        # its data joined in one bytearray, so that memory stays close to the data's size
        # however many lines it has; the size counted against the limit; type and retry.
        self._data: bytes | None = None
        self._more: bytearray | None = None
        self._data_size = 0
        self._event_type: str | None = None
        self._retry: int | None = None
        self._id_buffer: str | None = None
        self._last_event_id: str | None = None
        self._reconnection_time: int | None = None
        # True when nothing is pending: no partial line, no event fields (an uncommitted id
        # included), no CR to pair, no deferred error. The fast path in `decode` relies on it.
        self._clean = False
        # A limit error found after some events of the same chunk, raised by the next call.
        self._deferred: EventTooLarge | None = None

    @property
    def last_event_id(self) -> str | None:
        """The last event id the stream committed (what a reconnection sends back)."""
        return self._last_event_id

    @property
    def reconnection_time(self) -> int | None:
        """The last valid `retry:` value in milliseconds, dispatched with data or not."""
        return self._reconnection_time

    def decode(self, chunk: bytes) -> list[ServerSentEvent]:
        """Feed the next bytes of the stream; return the events they complete, in order.

        Raises `EventTooLarge` when a line or an event goes past its limit; events that
        completed before the offending line in the same chunk are returned first, and the
        error is raised by the next call.
        """
        if self._clean and chunk.startswith(b"data: "):
            # The common shape, one `data: <json>\n\n` event per chunk, in one step: the first
            # line end is the next-to-last byte and the last byte is LF too.
            end = len(chunk) - 2
            if (
                chunk.find(b"\n") == end
                and chunk[-1] == 0x0A
                and b"\r" not in chunk
                and end <= self._fast_limit
            ):
                text = chunk[6:end].decode("utf-8", "replace")
                return [_new_event(ServerSentEvent, (_MESSAGE, text, self._id_buffer, None))]
        if self._deferred is not None:
            self._raise_deferred()
        if not chunk:
            return []
        if not self._bom_checked:
            head = self._start(chunk)
            if head is None:
                return []
            chunk = head
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
                if not chunk:
                    return []
        pending = self._pending
        if pending:
            if chunk.find(b"\n") == -1 and chunk.find(b"\r") == -1:
                # Still no line end: keep collecting (amortised, never quadratic).
                pending += chunk
                if len(pending) > self._max_line:
                    self._line_too_long(len(pending))
                return []
            buffer = bytes(pending) + chunk
            pending.clear()
        else:
            buffer = chunk
        if buffer.find(b"\r") == -1:
            lines = buffer.split(b"\n")
            tail = lines.pop()
        else:
            lines = buffer.splitlines()
            last = buffer[-1]
            if last == 0x0D:  # CR
                tail = b""
                self._skip_lf = True
            elif last == 0x0A:  # LF
                tail = b""
            else:
                tail = lines.pop()
        events: list[ServerSentEvent] = []
        try:
            self._interpret(lines, events, check_lines=len(buffer) > self._max_line)
            if tail:
                if len(tail) > self._max_line:
                    self._line_too_long(len(tail))
                pending += tail
        except EventTooLarge as exc:
            if not events:
                raise
            # Hand out the events that came before the offending line; raise on the next call.
            self._deferred = exc
            self._clean = False
            return events
        self._clean = not (
            pending
            or self._skip_lf
            or self._data is not None
            or self._event_type is not None
            or self._retry is not None
            or self._id_buffer != self._last_event_id
        )
        return events

    def flush(self) -> list[ServerSentEvent]:
        """End of stream: drop the unterminated event, as the standard says, and reset.

        Always returns an empty list (kept as a list so that drivers treat `decode` and
        `flush` alike). The last event id survives, for a reconnection.
        """
        if self._deferred is not None:
            self._raise_deferred()
        self._pending.clear()
        self._skip_lf = False
        self._bom_checked = False
        self._reset_event()
        self._id_buffer = self._last_event_id
        self._clean = False
        return []

    # --- internals ---------------------------------------------------------------------

    def _start(self, chunk: bytes) -> bytes | None:
        """Strip one BOM at the very start; None while the first bytes may still be one."""
        head = bytes(self._pending) + chunk if self._pending else chunk
        if len(head) < len(_BOM) and _BOM.startswith(head):
            self._pending[:] = head
            return None
        self._pending.clear()
        self._bom_checked = True
        if head.startswith(_BOM):
            head = head[len(_BOM) :]
        return head

    def _reset_event(self) -> None:
        self._data = None
        self._more = None
        self._data_size = 0
        self._event_type = None
        self._retry = None

    def _interpret(
        self, lines: list[bytes], events: list[ServerSentEvent], *, check_lines: bool
    ) -> None:
        """Apply complete lines to the event being built, appending dispatched events."""
        for line in lines:
            if check_lines and len(line) > self._max_line:
                self._line_too_long(len(line))
            if not line:
                # A blank line dispatches the event (if it has data) and starts the next.
                self._last_event_id = self._id_buffer
                first = self._data
                if first is not None:
                    more = self._more
                    text = _utf8(first if more is None else more)
                    events.append(
                        _new_event(
                            ServerSentEvent,
                            (self._event_type or _MESSAGE, text, self._id_buffer, self._retry),
                        )
                    )
                    self._data = self._more = None
                    self._data_size = 0
                self._event_type = None
                self._retry = None
                continue
            if line.startswith(b"data:"):
                value = line[6:] if line[5:6] == b" " else line[5:]
            elif line[0] == 0x3A:  # ":" starts a comment
                continue
            else:
                colon = line.find(b":")
                if colon == -1:
                    name, value = line, b""
                else:
                    name = line[:colon]
                    value = (
                        line[colon + 2 :]
                        if line[colon + 1 : colon + 2] == b" "
                        else line[colon + 1 :]
                    )
                if name == b"event":
                    self._event_type = _utf8(value)
                    continue
                if name == b"id":
                    if b"\x00" not in value:
                        self._id_buffer = _utf8(value)
                    continue
                if name == b"retry":
                    if value.isdigit():  # bytes.isdigit: ASCII digits only, non-empty
                        self._retry = self._reconnection_time = int(value)
                    continue
                if name != b"data":
                    continue  # unknown field: ignored
            if self._data is None:
                self._data = value
            elif self._more is None:
                self._more = bytearray(self._data)
                self._more += b"\n"
                self._more += value
            else:
                self._more += b"\n"
                self._more += value
            self._data_size += len(value) + 1
            if self._data_size > self._max_event:
                self._event_too_large(self._data_size)

    def _raise_deferred(self) -> None:
        error = self._deferred
        self._deferred = None
        assert error is not None
        raise error

    def _event_too_large(self, size: int) -> None:
        self._reset_event()
        self._clean = False
        raise EventTooLarge(
            f"server-sent event data is over the {self._max_event}-byte limit "
            f"(at least {size} bytes buffered); raise max_event_bytes if this is expected",
            limit=self._max_event,
        )

    def _line_too_long(self, size: int) -> None:
        self._pending.clear()
        self._clean = False
        raise EventTooLarge(
            f"server-sent event line is over the {self._max_line}-byte limit "
            f"(at least {size} bytes without a line end); raise max_line_bytes if this is expected",
            limit=self._max_line,
        )
