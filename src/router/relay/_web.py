"""Starlette, imported in one place so that its absence gives one clear error."""

from __future__ import annotations

from router.errors import MissingDependencyError

try:
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.types import Message, Receive, Scope, Send
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise MissingDependencyError(
        "router.relay needs Starlette, which is not installed: pip install 'router[web]'"
    ) from exc

__all__ = ["JSONResponse", "Message", "Receive", "Request", "Response", "Scope", "Send"]
