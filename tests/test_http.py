"""The clients the router builds bound every socket read by the call's tightest clock."""

from __future__ import annotations

import time

import httpx
import pytest

from router import http
from router.http import READ_DEADLINE, _clamp, new_async_client, new_sync_client


def test_reads_outside_a_call_keep_httpx_timeouts() -> None:
    assert _clamp(None) is None
    assert _clamp(5.0) == 5.0


def test_reads_inside_a_call_end_by_its_deadline() -> None:
    token = READ_DEADLINE.set(time.monotonic() + 0.5)
    try:
        bounded = _clamp(None)
        assert bounded is not None
        assert 0.0 < bounded <= 0.5
        assert _clamp(0.1) == 0.1  # a tighter httpx timeout still wins
    finally:
        READ_DEADLINE.reset(token)


def test_an_expired_deadline_is_never_a_non_blocking_zero() -> None:
    token = READ_DEADLINE.set(time.monotonic() - 10)
    try:
        assert _clamp(None) == pytest.approx(0.001)
    finally:
        READ_DEADLINE.reset(token)


def test_both_clients_are_clocked() -> None:
    with new_sync_client() as client:
        assert isinstance(client, httpx.Client)
        # The pool really opens its connections through the wrapper.
        backend = client._transport._pool._network_backend  # type: ignore[attr-defined]
        assert isinstance(backend, http._ClockedBackend)


@pytest.mark.anyio
async def test_the_async_client_is_clocked() -> None:
    async with new_async_client() as client:
        backend = client._transport._pool._network_backend  # type: ignore[attr-defined]
        assert isinstance(backend, http._AsyncClockedBackend)
