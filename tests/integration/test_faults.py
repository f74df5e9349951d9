"""Every fault of the test kit, against Router and AsyncRouter: the exact outcome of each.

For each: which error, that its clock fired within bound, what partial content was kept,
how many attempts were made and how they ended, and what the usage hook saw.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from router.client import AsyncRouter
from router.completion import Status
from router.errors import (
    CallError,
    ConnectionFailed,
    FirstTokenTimeout,
    IdleTimeout,
    StreamFailed,
    StreamInterrupted,
    TotalTimeout,
    UpstreamStatusError,
)
from router.testing import Fault, Reply, SimulatedProvider

from .conftest import FIRST_TOKEN, IDLE, policy, run_call, within

TEXT = "The quick brown fox jumps over the lazy dog"


def outcomes(result: object) -> list[str]:
    return [attempt.outcome for attempt in result.attempts]  # type: ignore[attr-defined]


# --- connection faults -------------------------------------------------------------------


def test_refused_connection_is_retried_then_succeeds(
    kind: str, provider: SimulatedProvider
) -> None:
    retrying = policy(attempts=60)  # compiled first: the refusal window starts when queued
    # A window wide enough that even a slow first attempt on a loaded machine falls inside
    # it, yet well within the 3 s total that 60 fast retries (20-40 ms apart) can outlast.
    provider.enqueue(Fault.refuse_connection(seconds=1.5), Reply.text(TEXT))
    out = run_call(kind, provider, retrying)
    # Every try inside the refusal window fails to connect; the first one after it completes.
    assert out.error is None, out.error
    assert "".join(out.deltas) == TEXT
    assert outcomes(out.result)[-1] == "ok"
    assert len(out.result.attempts) >= 2
    assert set(outcomes(out.result)[:-1]) == {"connection_failed"}


def test_refused_connection_fails_when_retries_are_spent(kind: str) -> None:
    with SimulatedProvider(Fault.refuse_connection(seconds=5.0), max_stall=2.0) as provider:
        out = run_call(kind, provider, policy(attempts=2))
    assert isinstance(out.error, ConnectionFailed)
    assert outcomes(out.result) == ["connection_failed", "connection_failed"]
    assert out.result.status is Status.FAILED
    assert out.reports[0].status is Status.FAILED
    assert out.reports[0].usage is None
    assert out.reports[0].reason


def test_reset_connection_is_retried(kind: str, provider: SimulatedProvider) -> None:
    provider.enqueue(Fault.reset_connection())
    out = run_call(kind, provider, policy(attempts=2))
    assert out.error is None, out.error
    assert outcomes(out.result) == ["connection_failed", "ok"]
    assert len(provider.chat_requests) == 2


def test_stall_before_headers_fires_first_token_in_stream_mode(
    kind: str, provider: SimulatedProvider
) -> None:
    provider.set_default(Fault.stall_before_headers())
    out = run_call(kind, provider, policy())
    assert isinstance(out.error, FirstTokenTimeout)
    assert out.error.limit_ms == FIRST_TOKEN * 1000
    assert within(out.elapsed, FIRST_TOKEN)
    assert outcomes(out.result) == ["first_token_timeout"]
    assert out.result.status is Status.INTERRUPTED


def test_stall_before_headers_fires_total_in_batch_mode(
    kind: str, provider: SimulatedProvider
) -> None:
    provider.set_default(Fault.stall_before_headers())
    out = run_call(kind, provider, policy(mode="batch", attempts=3, total=0.5))
    assert isinstance(out.error, TotalTimeout)
    assert out.error.limit_ms == 500
    assert within(out.elapsed, 0.5)
    assert len(out.result.attempts) == 1  # total covers retries: none is left


# --- status faults -----------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retryable_statuses_are_retried(
    kind: str, provider: SimulatedProvider, status: int
) -> None:
    provider.enqueue(Fault.http_status(status))
    out = run_call(kind, provider, policy(attempts=2))
    assert out.error is None, out.error
    assert outcomes(out.result) == [f"status_{status}", "ok"]
    assert out.result.attempts[0].status_code == status


def test_retry_after_is_honoured(kind: str, provider: SimulatedProvider) -> None:
    provider.enqueue(Fault.http_status(429, retry_after=0.4))
    out = run_call(kind, provider, policy(attempts=2))
    assert out.error is None, out.error
    assert len(provider.chat_requests) == 2
    assert out.elapsed >= 0.4
    assert outcomes(out.result) == ["status_429", "ok"]
    assert "retry-after" in out.result.rate_limits


def test_retry_after_ms_is_honoured(kind: str, provider: SimulatedProvider) -> None:
    provider.enqueue(Fault.http_status(503, retry_after_ms=300))
    out = run_call(kind, provider, policy(attempts=2))
    assert out.error is None, out.error
    assert out.elapsed >= 0.3


def test_retry_after_beyond_total_stops_at_once(kind: str, provider: SimulatedProvider) -> None:
    provider.enqueue(Fault.http_status(429, retry_after=30))
    out = run_call(kind, provider, policy(attempts=3))
    assert isinstance(out.error, UpstreamStatusError)
    assert out.error.status_code == 429
    assert out.elapsed < 2.0
    assert outcomes(out.result) == ["status_429"]


def test_status_errors_exhaust_retries(kind: str, provider: SimulatedProvider) -> None:
    provider.set_default(Fault.http_status(500))
    out = run_call(kind, provider, policy(attempts=3))
    assert isinstance(out.error, UpstreamStatusError)
    assert out.error.status_code == 500
    assert out.error.body is not None
    assert outcomes(out.result) == ["status_500"] * 3


@pytest.mark.parametrize("status", [400, 401, 404])
def test_other_4xx_are_not_retried(kind: str, provider: SimulatedProvider, status: int) -> None:
    provider.set_default(Fault.http_status(status))
    out = run_call(kind, provider, policy(attempts=3, fallback="batch"))
    assert isinstance(out.error, UpstreamStatusError)
    assert out.error.status_code == status
    assert len(provider.chat_requests) == 1


def test_a_hopeless_error_payload_is_not_retried(kind: str, provider: SimulatedProvider) -> None:
    provider.set_default(
        Fault.http_status(500, error_type="invalid_request_error", code="context_length_exceeded")
    )
    out = run_call(kind, provider, policy(attempts=3))
    assert isinstance(out.error, UpstreamStatusError)
    assert len(provider.chat_requests) == 1


def test_wrong_content_type_fails_the_stream(kind: str, provider: SimulatedProvider) -> None:
    provider.set_default(Fault.wrong_content_type())
    out = run_call(kind, provider, policy())
    assert isinstance(out.error, StreamFailed)
    assert out.deltas == []


# --- stream faults -----------------------------------------------------------------------


def test_stall_before_first_event_fires_first_token(kind: str, provider: SimulatedProvider) -> None:
    provider.set_default(Fault.stall_before_first_event())
    out = run_call(kind, provider, policy())
    assert isinstance(out.error, FirstTokenTimeout)
    assert within(out.elapsed, FIRST_TOKEN)
    assert out.deltas == []


def test_keepalives_cannot_hold_a_call(kind: str, provider: SimulatedProvider) -> None:
    provider.set_default(Fault.keepalive_forever(interval=0.05))
    out = run_call(kind, provider, policy())
    assert isinstance(out.error, FirstTokenTimeout)
    assert within(out.elapsed, FIRST_TOKEN)


def test_first_token_failure_is_retried_then_falls_back_to_batch(
    kind: str, provider: SimulatedProvider
) -> None:
    provider.enqueue(Fault.stall_before_first_event(), Fault.stall_before_first_event())
    provider.set_default(Reply.text(TEXT))
    out = run_call(kind, provider, policy(attempts=2, fallback="batch"))
    assert out.error is None, out.error
    assert out.deltas == [TEXT]  # batch: the whole text at once
    assert [(a.mode, a.outcome) for a in out.result.attempts] == [
        ("stream", "first_token_timeout"),
        ("stream", "first_token_timeout"),
        ("batch", "ok"),
    ]
    assert out.result.mode == "batch"
    assert [r.stream for r in provider.chat_requests] == [True, True, False]
    (report,) = out.reports
    assert report.status is Status.COMPLETE
    assert report.mode == "batch"
    assert report.usage is not None  # a batch answer always carries usage
    assert len(report.attempts) == 3


def test_stall_mid_stream_fires_idle_and_keeps_the_partial(
    kind: str, provider: SimulatedProvider
) -> None:
    provider.set_default(Fault.stall_mid_stream(after=3, reply=Reply.text(TEXT)))
    out = run_call(kind, provider, policy(attempts=3, fallback="batch"))
    assert isinstance(out.error, IdleTimeout)
    assert out.error.limit_ms == IDLE * 1000
    assert "".join(out.deltas) == "The quick brown"
    assert out.result.text == "The quick brown"
    assert out.result.status is Status.INTERRUPTED
    assert outcomes(out.result) == ["idle_timeout"]  # never retried after progress
    assert len(provider.chat_requests) == 1
    (report,) = out.reports
    assert report.status is Status.INTERRUPTED
    assert report.usage is None
    assert report.reason == "the call failed before the provider reported usage"
    assert report.error is not None
    assert report.error.startswith("IdleTimeout")
    first = out.result.timings.first_token_ms
    assert first is not None
    assert within(out.elapsed - first / 1000, IDLE)


def test_close_mid_stream_is_interrupted_with_the_partial(
    kind: str, provider: SimulatedProvider
) -> None:
    provider.set_default(Fault.close_mid_stream(after=2, reply=Reply.text(TEXT)))
    out = run_call(kind, provider, policy(attempts=3))
    assert isinstance(out.error, StreamInterrupted)
    assert out.result.text == "The quick"
    assert out.result.status is Status.INTERRUPTED
    assert len(provider.chat_requests) == 1
    assert [r.status for r in out.reports] == [Status.INTERRUPTED]


def test_end_without_done_is_interrupted(kind: str, provider: SimulatedProvider) -> None:
    provider.set_default(Fault.end_without_done(after=2, reply=Reply.text(TEXT)))
    out = run_call(kind, provider, policy(attempts=3))
    assert isinstance(out.error, StreamInterrupted)
    assert "".join(out.deltas) == "The quick"
    assert out.result.status is Status.INTERRUPTED
    assert out.result.finish_reason is None


def test_malformed_chunk_fails_with_the_partial(kind: str, provider: SimulatedProvider) -> None:
    provider.set_default(Fault.malformed_chunk(after=2, reply=Reply.text(TEXT)))
    out = run_call(kind, provider, policy(attempts=3))
    assert isinstance(out.error, StreamFailed)
    assert out.result.text == "The quick"
    assert out.result.status is Status.FAILED
    assert len(provider.chat_requests) == 1


def test_error_payload_mid_stream_fails(kind: str, provider: SimulatedProvider) -> None:
    provider.set_default(Fault.error_event(after=2, message="overloaded", reply=Reply.text(TEXT)))
    out = run_call(kind, provider, policy(attempts=3))
    assert isinstance(out.error, StreamFailed)
    assert "overloaded" in str(out.error)
    assert out.result.text == "The quick"
    assert out.result.status is Status.FAILED
    assert len(provider.chat_requests) == 1


def test_error_payload_before_progress_is_retried(kind: str, provider: SimulatedProvider) -> None:
    # A reply with no progress at all, so the error payload comes before any.
    silent = Reply.text("", tokens=[""])
    provider.enqueue(Fault.error_event(after=0, message="overloaded", reply=silent))
    out = run_call(kind, provider, policy(attempts=2))
    assert out.error is None, out.error
    assert outcomes(out.result) == ["failed", "ok"]


def test_huge_line_fails_without_exhausting_memory(kind: str, provider: SimulatedProvider) -> None:
    provider.set_default(Fault.huge_line())
    out = run_call(kind, provider, policy(first_token=5.0, total=8.0))
    assert isinstance(out.error, StreamFailed)
    assert "limit" in str(out.error)
    assert out.deltas == ["The"]  # the delta before the huge line was kept
    assert out.result.text == "The"


def test_dripped_bytes_cannot_hold_a_call(kind: str, provider: SimulatedProvider) -> None:
    provider.set_default(Fault.drip(interval=0.02))
    out = run_call(kind, provider, policy())
    assert isinstance(out.error, FirstTokenTimeout)
    assert within(out.elapsed, FIRST_TOKEN)


def test_endless_deltas_end_at_the_deadline(kind: str, provider: SimulatedProvider) -> None:
    provider.set_default(Fault.endless_deltas(interval=0.02))
    out = run_call(kind, provider, policy(), deadline=0.6)
    assert isinstance(out.error, TotalTimeout)
    assert out.error.limit_ms == 600
    assert within(out.elapsed, 0.6)
    assert out.deltas
    # The partial keeps everything received: all that was delivered, and possibly the text
    # of the very read on which the deadline was found to have passed.
    assert out.result.text.startswith("".join(out.deltas))


def test_short_body_in_batch_mode_is_retried(kind: str, provider: SimulatedProvider) -> None:
    provider.enqueue(Fault.short_body())
    out = run_call(kind, provider, policy(mode="batch", attempts=2))
    assert out.error is None, out.error
    assert outcomes(out.result) == ["connection_failed", "ok"]


def test_short_body_fails_when_retries_are_spent(kind: str, provider: SimulatedProvider) -> None:
    provider.set_default(Fault.short_body())
    out = run_call(kind, provider, policy(mode="batch", attempts=1))
    assert isinstance(out.error, ConnectionFailed)
    assert out.result.status is Status.FAILED


# --- a caller's own httpx client ---------------------------------------------------------


def test_clocks_hold_with_a_callers_sync_client(provider: SimulatedProvider) -> None:
    provider.set_default(Fault.stall_mid_stream(after=2, reply=Reply.text(TEXT)))
    with httpx.Client() as client:
        out = run_call("sync", provider, policy(), router_options={"http_client": client})
    assert isinstance(out.error, IdleTimeout)
    assert out.result.text == "The quick"
    assert within(out.elapsed, IDLE)


def test_clocks_hold_with_a_callers_async_client(provider: SimulatedProvider) -> None:
    provider.set_default(Fault.keepalive_forever(interval=0.05))

    async def main() -> object:
        async with httpx.AsyncClient() as client:
            router = AsyncRouter(policy(), base_url=provider.base_url, http_client=client)
            async with router.call({"model": "m", "messages": []}) as call:
                try:
                    await call.result()
                except CallError as exc:
                    return exc
        return None

    started = time.monotonic()
    error = asyncio.run(asyncio.wait_for(main(), timeout=10))
    assert isinstance(error, FirstTokenTimeout)
    assert within(time.monotonic() - started, FIRST_TOKEN)


def test_error_behind_a_200_in_a_whole_answer_is_retried_by_its_own_verdict(
    kind: str, provider: SimulatedProvider
) -> None:
    provider.set_default(Reply.text(TEXT))
    provider.enqueue(Fault.error_event(message="overloaded", error_type="server_error"))
    out = run_call(kind, provider, policy(mode="batch", attempts=2))
    assert out.error is None, out.error
    assert outcomes(out.result) == ["failed", "ok"]
    assert out.result.text == TEXT


def test_error_behind_a_200_that_no_retry_can_help_fails_at_once(
    kind: str, provider: SimulatedProvider
) -> None:
    provider.set_default(
        Fault.error_event(message="no credit left", error_type="insufficient_quota")
    )
    out = run_call(kind, provider, policy(mode="batch", attempts=3))
    assert isinstance(out.error, StreamFailed)
    assert "the provider sent an error: no credit left" in str(out.error)
    assert len(provider.chat_requests) == 1
