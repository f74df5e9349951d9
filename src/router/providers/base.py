"""The provider dialect protocol: what the rest of `router` needs from a wire format.

A dialect shapes the request body for a mode, assembles the streamed answer, parses the
whole answer of a batch call and reads error answers. Everything here is pure (no I/O), so
that adding Anthropic Messages or the OpenAI Responses API later means adding one module
beside `openai.py`, not touching the clients.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from router.assemble import StreamAssembler
    from router.completion import Completion

__all__ = ["Dialect", "UpstreamErrorInfo"]


@dataclass(frozen=True, slots=True)
class UpstreamErrorInfo:
    """What a provider's error answer says, read safely from whatever it sent.

    `message` is one printable line (never the raw body when that is not JSON, only a
    bounded, whitespace-collapsed excerpt of it); `payload` is the parsed JSON body or None;
    `retryable` says whether trying again can succeed (a rate limit or an overloaded server
    can; a context-length or invalid-request error cannot). `status_code` is None for an
    error that arrived inside a stream.
    """

    message: str
    retryable: bool
    status_code: int | None = None
    type: str | None = None
    code: str | None = None
    param: str | None = None
    payload: Any = None

    def to_dict(self) -> dict[str, Any]:
        """The verdict as JSON-ready data: every field but the parsed `payload`."""
        return {
            "type": self.type,
            "message": self.message,
            "code": self.code,
            "param": self.param,
            "status_code": self.status_code,
            "retryable": self.retryable,
        }


class Dialect(Protocol):
    """One provider wire format (see `router.providers.openai` for Chat Completions)."""

    name: str

    def shape_request(
        self, body: Mapping[str, Any], *, stream: bool, include_usage: bool
    ) -> dict[str, Any]:
        """A new request body for the mode; never mutates `body`."""
        ...

    def new_assembler(self) -> StreamAssembler:
        """A fresh assembler for one streamed answer."""
        ...

    def parse_response(self, payload: Mapping[str, Any]) -> Completion:
        """The `Completion` of a whole (batch) answer; `ProtocolError` when it is not one."""
        ...

    def body_error(self, payload: Mapping[str, Any]) -> UpstreamErrorInfo | None:
        """The error a whole answer's body carries instead of an answer, or None.

        Some servers send one behind a 200; `parse_response` and the call core share this test.
        """
        ...

    def parse_error(self, status_code: int, body: bytes) -> UpstreamErrorInfo:
        """Read an error status's body (JSON or not) and say whether a retry can help."""
        ...

    def parse_stream_error(self, error: Mapping[str, Any]) -> UpstreamErrorInfo:
        """Classify an error payload that arrived inside a stream (`StreamAssembler.error`)."""
        ...
