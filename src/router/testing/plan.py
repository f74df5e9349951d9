"""A response as data: the status, the headers, and the body as actions. No I/O.

A plan's body is a sequence of actions (`Write` some bytes, `Pause`, `Abort` the connection).
The socket server and the httpx transport execute the same plans, so a script behaves the same
through both; only the framing differs (the server adds chunked encoding or Content-Length,
the transport hands bytes to httpx directly). `router.testing.answers` makes the plans of
replies, `router.testing.faults` those of faults; this module holds the plain ones.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from typing import Any

from router.testing.recording import RecordedRequest
from router.testing.scripts import Quirks, error_fields
from router.testing.wire import dumps, error_body, models_body

__all__ = [
    "Abort",
    "Action",
    "Pause",
    "PlanConfig",
    "ResponsePlan",
    "Write",
    "bad_request_plan",
    "common_headers",
    "error_plan",
    "json_plan",
    "other_plan",
    "rate_limit_headers",
    "reason_phrase",
    "server_error_plan",
]


@dataclass(frozen=True, slots=True)
class Write:
    """Send these bytes (as one HTTP chunk when the body is chunked)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Pause:
    """Send nothing for `seconds`; None waits until the client leaves or the server stops."""

    seconds: float | None


@dataclass(frozen=True, slots=True)
class Abort:
    """Close the connection now, leaving the response incomplete."""


Action = Write | Pause | Abort


@dataclass(slots=True)
class ResponsePlan:
    """Everything one response does, in order.

    `reset` answers nothing and resets the connection (`refuse`: as a refused connection, for
    the socket-free transport, which has no listener to close). `head_pause` runs before the status
    line. With `chunked` False, `content_length` is announced (it may disagree with what the
    body sends: the short-body fault) and `body` must be finite.
    """

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: Iterable[Action] = ()
    chunked: bool = False
    content_length: int | None = None
    head_pause: Pause | None = None
    reset: bool = False
    refuse: bool = False
    close: bool = False

    def framed_headers(self) -> list[tuple[str, str]]:
        """The headers plus the body's framing: chunked, or the Content-Length announced."""
        if self.chunked:
            return [*self.headers, ("transfer-encoding", "chunked")]
        length = self.content_length
        if length is None:
            length = sum(len(action.data) for action in self.body if isinstance(action, Write))
        return [*self.headers, ("content-length", str(length))]


@dataclass(frozen=True, slots=True)
class PlanConfig:
    """What every response of one provider shares."""

    model: str = "gpt-4o-mini"
    models: tuple[str, ...] = ("gpt-4o-mini", "gpt-4o", "o3-mini")
    quirks: Quirks = field(default_factory=Quirks)
    max_stall: float = 60.0


def reason_phrase(status: int) -> str:
    """The reason phrase of a status line ("Unknown" for a status the standard lacks)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def common_headers() -> list[tuple[str, str]]:
    """The headers every OpenAI response carries (date, request id, processing time)."""
    return [
        ("date", formatdate(usegmt=True)),
        ("x-request-id", "req_" + secrets.token_hex(16)),
        ("openai-processing-ms", "12"),
    ]


def rate_limit_headers(
    *, remaining_requests: int = 9999, reset_requests: str = "6ms"
) -> list[tuple[str, str]]:
    """The `x-ratelimit-*` headers OpenAI sends with every chat completion."""
    return [
        ("x-ratelimit-limit-requests", "10000"),
        ("x-ratelimit-limit-tokens", "30000000"),
        ("x-ratelimit-remaining-requests", str(remaining_requests)),
        ("x-ratelimit-remaining-tokens", "29999980"),
        ("x-ratelimit-reset-requests", reset_requests),
        ("x-ratelimit-reset-tokens", "0s"),
    ]


def json_plan(status: int, payload: Any, *, indent: int | None = 2, **extra: Any) -> ResponsePlan:
    """A JSON response; pretty-printed as OpenAI's are unless `indent` is None."""
    text = json.dumps(payload, indent=indent) if indent else dumps(payload)
    data = text.encode()
    headers = [("content-type", "application/json"), *common_headers()]
    return ResponsePlan(status=status, headers=headers, body=[Write(data)], **extra)


def error_plan(
    status: int,
    *,
    message: str | None = None,
    error_type: str | None = None,
    code: str | None = None,
    param: str | None = None,
) -> ResponsePlan:
    """An OpenAI-style error response, with defaults that fit the status."""
    default_message, default_type, default_code = error_fields(status)
    payload = error_body(
        message or default_message,
        error_type=error_type or default_type,
        param=param,
        code=code if code is not None else default_code,
    )
    return json_plan(status, payload)


def other_plan(request: RecordedRequest, config: PlanConfig) -> ResponsePlan:
    """The response to anything but chat completions: the model list, or a 404."""
    if request.method == "GET" and request.path.rstrip("/").endswith("/models"):
        return json_plan(200, models_body(config.models))
    return error_plan(
        404,
        message=f"Invalid URL ({request.method} {request.path})",
        error_type="invalid_request_error",
        code=None,
    )


def bad_request_plan(message: str) -> ResponsePlan:
    """A 400 for a request that cannot be answered as it is."""
    return error_plan(400, message=message, error_type="invalid_request_error")


def server_error_plan(message: str) -> ResponsePlan:
    """A 500 naming what went wrong on the provider's side (e.g. a responder that raised)."""
    return error_plan(500, message=message, error_type="server_error")
