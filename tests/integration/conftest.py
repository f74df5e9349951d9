"""Shared pieces of the execution tests: a short-clock policy, and one way to run a call.

Every test runs against the test kit's real loopback server. Calls run through `run_call`,
which drives either `Router` or `AsyncRouter` to the end and returns what a caller saw, so
each fault is asserted identically in both modes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from router.client import AsyncRouter, Router
from router.completion import Completion
from router.errors import CallError
from router.policy import Policy
from router.testing import SimulatedProvider

CONNECT, FIRST_TOKEN, IDLE, TOTAL = 1.0, 0.2, 0.2, 3.0
REQUEST: dict[str, Any] = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
API_KEY = "sk-test-abcdefghijklmnopqrstuvwxyz"


def policy(
    *,
    mode: str = "stream",
    attempts: int = 1,
    fallback: str = "none",
    first_token: float = FIRST_TOKEN,
    idle: float = IDLE,
    total: float = TOTAL,
    include_usage: str = "auto",
    validate: bool = False,
) -> Policy:
    """A policy with one outcome for every call, and clocks short enough for tests."""
    stream = f"  stream: {{include_usage: {include_usage}, fallback: {fallback}}}\n"
    text = (
        "version: 1\n"
        "defaults:\n"
        f"  mode: {mode}\n"
        + (stream if mode == "stream" else "")
        + f"  validate: {'true' if validate else 'false'}\n"
        f"  timeouts: {{connect: {CONNECT}s, first_token: {first_token}s, idle: {idle}s, "
        f"total: {total}s}}\n"
        f"  retries: {{attempts: {attempts}, backoff: {{initial: 20ms, max: 40ms}}}}\n"
        "rules: []\n"
    )
    return Policy.from_text(text, source="test-policy.yaml")


def within(elapsed: float, bound: float, *, slack: float = 1.0) -> bool:
    """True when a clock fired no earlier than its bound and within DESIGN's tolerance.

    The upper limit adds max(100 ms, 5%) and a fixed slack for a loaded 2-core machine: this
    checks that a clock cannot be held open, not that anything is fast.
    """
    return bound - 0.02 <= elapsed <= bound + max(0.1, 0.05 * bound) + slack


@dataclass
class Outcome:
    """What a caller saw: the deltas, the completion or the error, and the wall time."""

    deltas: list[str] = field(default_factory=list)
    completion: Completion | None = None
    error: CallError | None = None
    elapsed: float = 0.0
    reports: list[Any] = field(default_factory=list)
    decisions: list[Any] = field(default_factory=list)

    @property
    def result(self) -> Completion:
        """The completion, or the error's partial completion."""
        if self.completion is not None:
            return self.completion
        assert self.error is not None
        assert self.error.partial is not None
        return self.error.partial


def run_call(
    kind: str,
    provider: SimulatedProvider,
    the_policy: Policy,
    request: Mapping[str, Any] = REQUEST,
    *,
    router_options: Mapping[str, Any] | None = None,
    **call_options: Any,
) -> Outcome:
    """Run one call to its end with `Router` (kind "sync") or `AsyncRouter` ("async")."""
    outcome = Outcome()
    options: dict[str, Any] = {
        "base_url": provider.base_url,
        "api_key": API_KEY,
        "usage_hook": outcome.reports.append,
        "decision_hook": outcome.decisions.append,
        **(router_options or {}),
    }
    # The wall time of the call itself: from `router.call` to its result or error.
    if kind == "sync":
        with Router(the_policy, **options) as router:
            started = time.monotonic()
            with router.call(request, **call_options) as call:
                try:
                    for delta in call:
                        outcome.deltas.append(delta)
                    outcome.completion = call.result()
                except CallError as exc:
                    outcome.error = exc
            outcome.elapsed = time.monotonic() - started
    else:

        async def main() -> None:
            async with AsyncRouter(the_policy, **options) as router:
                started = time.monotonic()
                async with router.call(request, **call_options) as call:
                    try:
                        async for delta in call:
                            outcome.deltas.append(delta)
                        outcome.completion = await call.result()
                    except CallError as exc:
                        outcome.error = exc
                outcome.elapsed = time.monotonic() - started

        asyncio.run(asyncio.wait_for(main(), timeout=20))
    return outcome


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    """Each execution test runs once with `Router` and once with `AsyncRouter`."""
    return str(request.param)


@pytest.fixture
def provider() -> Iterator[SimulatedProvider]:
    """A simulated provider whose "forever" faults end within a few seconds."""
    with SimulatedProvider(max_stall=4.0, keep_alive_timeout=5.0) as sim:
        yield sim
