"""The connect clock, end to end: a server that never completes the TCP handshake.

A listener whose accept queue is full makes the kernel drop new connection requests, so a
client's connect hangs exactly as it does against a black-holed host; on loopback, with no
traffic leaving the machine.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest

from router.completion import Status
from router.errors import ConnectTimeout, TotalTimeout
from router.policy import Policy
from router.testing import SimulatedProvider

from .conftest import run_call, within

CONNECT = 0.3


@contextmanager
def unanswered_port() -> Iterator[int]:
    """A loopback port whose handshakes never complete (its accept queue is kept full)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(4):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        _assert_connects_hang(port)
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def _assert_connects_hang(port: int) -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.settimeout(0.2)
    try:
        with pytest.raises(OSError, match="timed out"):
            probe.connect(("127.0.0.1", port))
    finally:
        with suppress(OSError):
            probe.close()


def connect_policy(*, attempts: int, total: float = 3.0) -> Policy:
    return Policy.from_text(
        "version: 1\n"
        "defaults:\n"
        "  mode: stream\n"
        "  stream: {fallback: none}\n"
        f"  timeouts: {{connect: {int(CONNECT * 1000)}ms, first_token: 1s, idle: 1s,"
        f" total: {total}s}}\n"
        f"  retries: {{attempts: {attempts}, backoff: {{initial: 10ms, max: 20ms}}}}\n"
        "rules: []\n",
        source="connect-policy.yaml",
    )


def test_a_hanging_connect_fires_the_connect_clock(kind: str, provider: SimulatedProvider) -> None:
    with unanswered_port() as port:
        out = run_call(
            kind,
            provider,
            connect_policy(attempts=1),
            router_options={"base_url": f"http://127.0.0.1:{port}/v1"},
        )
    assert isinstance(out.error, ConnectTimeout)
    assert out.error.clock == "connect"
    assert out.error.limit_ms == CONNECT * 1000
    assert within(out.elapsed, CONNECT)
    assert out.deltas == []
    assert [a.outcome for a in out.result.attempts] == ["connect_timeout"]
    # Like every clock, a connect timeout interrupts the call (a refused connection fails it).
    assert out.result.status is Status.INTERRUPTED
    assert provider.requests == []  # nothing reached any server


def test_connect_timeouts_are_retried_within_the_total_clock(
    kind: str, provider: SimulatedProvider
) -> None:
    with unanswered_port() as port:
        out = run_call(
            kind,
            provider,
            connect_policy(attempts=10, total=1.0),
            router_options={"base_url": f"http://127.0.0.1:{port}/v1"},
        )
    # About three connect clocks of 0.3 s fit in the 1 s total; the total clock ends the
    # call, never later than its bound plus DESIGN's tolerance (and a loaded machine's slack).
    assert isinstance(out.error, ConnectTimeout | TotalTimeout)
    assert out.error is not None
    outcomes = [a.outcome for a in out.error.attempts]
    assert len(outcomes) >= 2
    assert set(outcomes) <= {"connect_timeout", "total_timeout"}
    assert 2 * CONNECT - 0.02 <= out.elapsed <= 1.0 + 0.1 + 1.0
