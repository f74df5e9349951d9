"""A call's clocks are bound to the connection carrying its stream, and to nothing else.

Only real socket reads pay for the clocks (most chunks come from httpcore's buffer), which
is safe because the pool lends that connection to no other request until the response is
closed. These tests pin the two promises that rest on: a call's clocks never reach another
request made between pulls, and every connection is unbound whatever way a call ends.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from router import http
from router.client import AsyncRouter, Router
from router.errors import CallError, IdleTimeout
from router.policy import Policy
from router.testing import Fault, Reply, SimulatedProvider

from .conftest import API_KEY, REQUEST

TEXT = "one two three four five six seven eight"

#: Calls labelled `clock: tight` get a 0.4 s idle clock; every other call generous clocks.
POLICY = Policy.from_text(
    "version: 1\n"
    "defaults:\n"
    "  mode: stream\n"
    "  stream: {fallback: none}\n"
    "  timeouts: {connect: 2s, first_token: 5s, idle: 5s, total: 10s}\n"
    "  retries: {attempts: 1}\n"
    "rules:\n"
    "  - name: tight\n"
    "    when: {labels.clock: tight}\n"
    "    mode: stream\n"
    "    timeouts: {idle: 400ms}\n",
    source="binding-policy.yaml",
)


@pytest.fixture
def streams(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every clocked connection stream the router's clients open during the test."""
    opened: list[object] = []
    for cls in (http._ClockedStream, http._AsyncClockedStream):
        original = cls.__init__

        def recording_init(self: object, inner: object, _original: object = original) -> None:
            _original(self, inner)  # type: ignore[operator]
            opened.append(self)

        monkeypatch.setattr(cls, "__init__", recording_init)
    return opened


def unbound(opened: list[object]) -> bool:
    return bool(opened) and all(getattr(stream, "clocks", None) is None for stream in opened)


def test_a_call_between_pulls_is_not_held_to_the_first_calls_clocks(
    provider: SimulatedProvider, streams: list[object]
) -> None:
    # The second answer takes 1 s to start: past the first call's 0.4 s idle clock.
    provider.enqueue(Reply.text(TEXT, token_delay=0.01), Reply.text("late", first_token_delay=1.0))
    with (
        Router(POLICY, base_url=provider.base_url, api_key=API_KEY) as router,
        router.call(REQUEST, labels={"clock": "tight"}) as first,
    ):
        pulls = iter(first)
        head = next(pulls)
        # The caller's own time between pulls: another call, on the same router.
        second = router.complete(REQUEST)
        rest = "".join(pulls)
        result = first.result()
    assert second.text == "late"
    assert head + rest == TEXT
    assert result.text == TEXT
    assert first.decision.rule == "tight"
    assert unbound(streams)


def test_connections_are_unbound_after_success_timeout_and_cancel(
    provider: SimulatedProvider, streams: list[object]
) -> None:
    provider.enqueue(
        Reply.text(TEXT),
        Fault.stall_mid_stream(after=2),
        Reply.text(TEXT, token_delay=0.05),
    )
    with Router(POLICY, base_url=provider.base_url, api_key=API_KEY) as router:
        assert router.complete(REQUEST).text == TEXT
        assert unbound(streams)
        with pytest.raises(IdleTimeout):
            router.complete(REQUEST, labels={"clock": "tight"})
        assert unbound(streams)
        with router.call(REQUEST) as call:
            next(iter(call))
        assert unbound(streams)
    assert provider.chat_requests[2].wait_client_closed(timeout=2.0)


def test_async_connections_are_unbound_after_success_timeout_and_cancel(
    provider: SimulatedProvider, streams: list[object]
) -> None:
    provider.enqueue(
        Reply.text(TEXT),
        Fault.stall_mid_stream(after=2),
        Reply.text(TEXT, token_delay=0.05),
    )

    async def main() -> None:
        async with AsyncRouter(POLICY, base_url=provider.base_url, api_key=API_KEY) as router:
            assert (await router.complete(REQUEST)).text == TEXT
            assert unbound(streams)
            with pytest.raises(IdleTimeout):
                await router.complete(REQUEST, labels={"clock": "tight"})
            assert unbound(streams)

            async def pull_forever() -> None:
                async with router.call(REQUEST) as call:
                    async for _ in call:
                        await asyncio.sleep(0)

            task = asyncio.create_task(pull_forever())
            await asyncio.sleep(0.15)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert unbound(streams)

    asyncio.run(asyncio.wait_for(main(), timeout=20))
    assert provider.chat_requests[2].wait_client_closed(timeout=2.0)


def test_the_remaining_deltas_can_be_pulled_from_another_thread(
    provider: SimulatedProvider, streams: list[object]
) -> None:
    provider.enqueue(Reply.text(TEXT, token_delay=0.01))
    pulled: list[str] = []
    errors: list[CallError] = []
    with (
        Router(POLICY, base_url=provider.base_url, api_key=API_KEY) as router,
        router.call(REQUEST, labels={"clock": "tight"}) as call,
    ):
        pulls = iter(call)
        pulled.append(next(pulls))

        def finish() -> None:
            try:
                pulled.extend(pulls)
            except CallError as exc:
                errors.append(exc)

        worker = threading.Thread(target=finish)
        worker.start()
        worker.join(timeout=10)
        assert not worker.is_alive()
        result = call.result()
    assert errors == []
    assert "".join(pulled) == TEXT == result.text
    assert unbound(streams)
