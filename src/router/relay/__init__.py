"""Re-serve routed calls to browsers as Server-Sent Events (the optional `router[web]` extra).

`Relay` (on Starlette) turns `AsyncRouter.call(...)` into a `text/event-stream` response with
`delta`, `done` and `error` events; see docs/relay.md. The encoder and the event protocol are
pure and need no extra: `router.relay.encoder`, `router.relay.events`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from router._lazy import lazy_exports
from router.relay.encoder import encode_comment, encode_event, encode_retry

if TYPE_CHECKING:
    from router.relay.endpoint import BrowserInputError, Relay, browser_messages
    from router.relay.response import EventStreamResponse

# Names that need Starlette: imported on first use, so the pure parts work without it.
_LAZY = {
    "BrowserInputError": "router.relay.endpoint",
    "EventStreamResponse": "router.relay.response",
    "Relay": "router.relay.endpoint",
    "browser_messages": "router.relay.endpoint",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


__all__ = [
    "BrowserInputError",
    "EventStreamResponse",
    "Relay",
    "browser_messages",
    "encode_comment",
    "encode_event",
    "encode_retry",
]
