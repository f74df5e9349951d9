"""httpx's exceptions become RouterErrors in exactly one place: every class is mapped."""

from __future__ import annotations

import inspect
import time

import httpx
import pytest

from router.call import CallCore
from router.client import Router, map_httpx_error
from router.errors import (
    ConfigurationError,
    ConnectionFailed,
    ConnectTimeout,
    FirstTokenTimeout,
    RouterError,
    StreamFailed,
    StreamInterrupted,
    UpstreamStatusError,
)
from router.policy import Policy
from router.resilience import AttemptAction

POLICY = Policy.from_text(
    "version: 1\ndefaults:\n  mode: stream\n"
    "  timeouts: {connect: 1s, first_token: 2s, idle: 2s, total: 5s}\nrules: []\n"
)
KEY = "sk-secret-0123456789abcdefghij"
REQUEST = {"model": "m", "messages": []}

# What each httpx exception becomes before the response headers arrive.
BEFORE_HEADERS: dict[str, type[RouterError]] = {
    "CloseError": ConnectionFailed,
    "ConnectError": ConnectionFailed,
    "ConnectTimeout": ConnectTimeout,
    "CookieConflict": ConfigurationError,
    "DecodingError": StreamFailed,
    "HTTPError": ConnectionFailed,
    "HTTPStatusError": UpstreamStatusError,
    "InvalidURL": ConfigurationError,
    "LocalProtocolError": ConnectionFailed,
    "NetworkError": ConnectionFailed,
    "PoolTimeout": ConnectTimeout,
    "ProtocolError": ConnectionFailed,
    "ProxyError": ConnectionFailed,
    "ReadError": ConnectionFailed,
    "ReadTimeout": FirstTokenTimeout,
    "RemoteProtocolError": ConnectionFailed,
    "RequestError": ConnectionFailed,
    "RequestNotRead": StreamFailed,
    "ResponseNotRead": StreamFailed,
    "StreamClosed": StreamFailed,
    "StreamConsumed": StreamFailed,
    "StreamError": StreamFailed,
    "TimeoutException": FirstTokenTimeout,
    "TooManyRedirects": ConnectionFailed,
    "TransportError": ConnectionFailed,
    "UnsupportedProtocol": ConfigurationError,
    "WriteError": ConnectionFailed,
    "WriteTimeout": FirstTokenTimeout,
}

# Network failures once a stream has started interrupt it instead.
MID_STREAM = {
    name: StreamInterrupted
    for name, cls in BEFORE_HEADERS.items()
    if cls is ConnectionFailed and name != "ConnectError"
}


def httpx_exception_classes() -> list[type[Exception]]:
    return [
        getattr(httpx, name)
        for name in httpx.__all__
        if inspect.isclass(getattr(httpx, name)) and issubclass(getattr(httpx, name), Exception)
    ]


def build(cls: type[Exception]) -> Exception:
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    if cls is httpx.HTTPStatusError:
        return cls("boom", request=request, response=httpx.Response(503, request=request))
    try:
        return cls(f"boom with {KEY}")
    except TypeError:
        return cls()


def new_core(*, started: bool) -> CallCore:
    with Router(POLICY, base_url="http://127.0.0.1:9/v1", api_key=KEY) as router:
        core, _ = router._prepare(
            REQUEST, deadline=None, headers=None, api_key=None, response_model=None, hints={}
        )
    core.prepare(AttemptAction("stream", 1), time.monotonic())
    if started:
        core.status_code = 200
    return core


def test_the_table_covers_every_httpx_exception() -> None:
    assert {cls.__name__ for cls in httpx_exception_classes()} == set(BEFORE_HEADERS)


@pytest.mark.parametrize("cls", httpx_exception_classes(), ids=lambda cls: cls.__name__)
def test_each_httpx_exception_is_mapped_before_headers(cls: type[Exception]) -> None:
    error = map_httpx_error(build(cls), new_core(started=False), time.monotonic())
    assert type(error) is BEFORE_HEADERS[cls.__name__]
    assert KEY not in str(error)


@pytest.mark.parametrize("cls", httpx_exception_classes(), ids=lambda cls: cls.__name__)
def test_each_httpx_exception_is_mapped_mid_stream(cls: type[Exception]) -> None:
    error = map_httpx_error(build(cls), new_core(started=True), time.monotonic())
    expected = MID_STREAM.get(cls.__name__, BEFORE_HEADERS[cls.__name__])
    assert type(error) is expected
    assert KEY not in str(error)


def test_a_builtin_timeout_maps_to_the_running_clock() -> None:
    error = map_httpx_error(TimeoutError(), new_core(started=True), time.monotonic())
    assert isinstance(error, FirstTokenTimeout)
    assert error.limit_ms == 2000


def test_a_timeout_after_total_is_a_total_timeout() -> None:
    core = new_core(started=True)
    error = map_httpx_error(httpx.ConnectTimeout("slow"), core, core.clocks.total_deadline + 1)
    assert type(error).__name__ == "TotalTimeout"
