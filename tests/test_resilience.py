"""The clocks and the retry plan, driven by a fake clock: no sleeping, no sockets."""

from __future__ import annotations

import pytest

from router.decision import Timeouts
from router.resilience import (
    AttemptAction,
    Clocks,
    Failure,
    RetryPlan,
    SleepAction,
    StopAction,
    parse_retry_after,
    status_is_retryable,
)

LIMITS = Timeouts(connect=1.0, first_token=2.0, idle=3.0, total=10.0)


def make_clocks(*, deadline: float | None = None, stream: bool = True) -> Clocks:
    clocks = Clocks(LIMITS, started=100.0, deadline=deadline)
    clocks.begin_attempt(100.0, stream=stream)
    return clocks


# --- clocks --------------------------------------------------------------------------------


def test_first_token_runs_from_the_attempt_start_until_progress() -> None:
    clocks = make_clocks()
    assert clocks.tightest(100.5) == ("first_token", 1.5)
    assert clocks.expired(101.99) is None
    assert clocks.expired(102.0) == "first_token"


def test_progress_stops_first_token_and_starts_idle() -> None:
    clocks = make_clocks()
    clocks.begin_wait(100.0)
    clocks.end_wait(101.0)
    clocks.progress(101.0)
    assert clocks.progressed
    clocks.begin_wait(101.0)
    assert clocks.tightest(101.0) == ("idle", 3.0)
    assert clocks.expired(103.99) is None
    assert clocks.expired(104.0) == "idle"


def test_idle_counts_only_time_waiting_on_the_upstream() -> None:
    clocks = Clocks(Timeouts(1.0, 2.0, 3.0, 1000.0), started=100.0)
    clocks.begin_attempt(100.0, stream=True)
    clocks.progress(100.0)
    # The upstream took 1 s, then the caller held the delta for 50 s, then 1.5 s more wait.
    clocks.begin_wait(100.0)
    clocks.end_wait(101.0)
    clocks.begin_wait(151.0)
    clocks.end_wait(152.5)
    assert clocks.expired(152.5) is None
    clocks.begin_wait(160.0)
    assert clocks.read_timeout(160.0) == pytest.approx(0.5)
    assert clocks.expired(160.49) is None
    assert clocks.expired(160.5) == "idle"


def test_non_progress_reads_do_not_reset_idle() -> None:
    clocks = make_clocks()
    clocks.progress(100.0)
    for start in (100.0, 101.0, 102.0):  # keep-alive comments every second
        clocks.begin_wait(start)
        clocks.end_wait(start + 1.0)
    assert clocks.expired(103.0) == "idle"


def test_progress_resets_idle() -> None:
    clocks = make_clocks()
    clocks.progress(100.0)
    clocks.begin_wait(100.0)
    clocks.end_wait(102.5)
    clocks.progress(102.5)
    clocks.begin_wait(102.5)
    assert clocks.expired(105.0) is None
    assert clocks.tightest(105.0) == ("idle", pytest.approx(0.5))


def test_total_covers_the_whole_call_and_wins_ties() -> None:
    clocks = make_clocks()
    clocks.progress(100.0)
    clocks.begin_attempt(108.5, stream=True)
    assert clocks.tightest(109.0) == ("total", 1.0)
    assert clocks.expired(110.0) == "total"


def test_a_deadline_only_shortens_total() -> None:
    assert make_clocks(deadline=4.0).total_limit == 4.0
    assert make_clocks(deadline=400.0).total_limit == 10.0
    assert make_clocks(deadline=4.0).limit_ms("total") == 4000.0
    assert make_clocks(deadline=-1.0).expired(100.0) == "total"


def test_batch_attempts_run_only_total() -> None:
    clocks = make_clocks(stream=False)
    assert clocks.deadlines(100.0) == {"total": 110.0}
    assert clocks.expired(105.0) is None


def test_read_timeout_never_negative() -> None:
    clocks = make_clocks()
    assert clocks.read_timeout(500.0) == 0.0
    assert clocks.total_left(500.0) == 0.0


def test_connect_timeout_is_cut_by_total() -> None:
    clocks = make_clocks()
    assert clocks.connect_timeout(100.0) == 1.0
    assert clocks.connect_timeout(109.5) == pytest.approx(0.5)


def test_limit_ms_names_each_clock() -> None:
    clocks = make_clocks()
    assert [clocks.limit_ms(c) for c in ("connect", "first_token", "idle", "total")] == [
        1000.0,
        2000.0,
        3000.0,
        10000.0,
    ]


def test_a_new_attempt_restarts_first_token() -> None:
    clocks = make_clocks()
    clocks.progress(100.5)
    clocks.begin_attempt(101.0, stream=True)
    assert not clocks.progressed
    assert clocks.tightest(101.0) == ("first_token", 2.0)


def test_limits_are_read_from_the_decisions_timeouts() -> None:
    clocks = Clocks(Timeouts(connect=1, first_token=2, idle=3, total=4), started=0.0)
    assert [clocks.limit_ms(name) for name in ("connect", "first_token", "idle", "total")] == [
        1000.0,
        2000.0,
        3000.0,
        4000.0,
    ]
    assert clocks.connect_timeout(0.0) == 1.0


# --- Retry-After ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"Retry-After": "2"}, 2.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"retry-after-ms": "150"}, 0.15),
        ({"retry-after-ms": "150", "retry-after": "9"}, 0.15),
        ({"retry-after-ms": "junk", "retry-after": "9"}, 9.0),
        ({"retry-after": "-3"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "not a date"}, None),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, 10.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:27:00 GMT"}, 0.0),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers, now_epoch=1445412480.0) == expected


RETRYABLE_BY_STATUS = {400: False, 401: False, 404: False, 408: True, 409: True, 422: False}
RETRYABLE_BY_STATUS |= {429: True, 500: True, 502: True, 503: True, 504: True}


@pytest.mark.parametrize(("status", "retryable"), RETRYABLE_BY_STATUS.items())
def test_status_is_retryable(status: int, retryable: bool) -> None:
    assert status_is_retryable(status) is retryable


# --- the retry plan ------------------------------------------------------------------------


def make_plan(
    *, mode: str = "stream", attempts: int = 3, fallback: bool = False, total: float = 100.0
) -> RetryPlan:
    clocks = Clocks(Timeouts(1.0, 2.0, 3.0, total), started=0.0)
    return RetryPlan(
        mode=mode,  # type: ignore[arg-type]
        clocks=clocks,
        attempts=attempts,
        backoff_initial=0.5,
        backoff_max=2.0,
        fallback=fallback,
        random_source=lambda: 1.0,
    )


ERR = RuntimeError("boom")


def retryable(**kwargs: object) -> Failure:
    return Failure(error=ERR, retryable=True, **kwargs)  # type: ignore[arg-type]


def test_first_action_is_an_attempt_in_the_decided_mode() -> None:
    assert make_plan().start() == AttemptAction("stream", 1)
    assert make_plan(mode="batch").start() == AttemptAction("batch", 1)


def test_retries_back_off_exponentially_then_stop() -> None:
    plan = make_plan(attempts=4)
    plan.start()
    delays = []
    for _ in range(3):
        action = plan.on_failure(retryable(), now=1.0)
        assert isinstance(action, SleepAction)
        delays.append(action.seconds)
        assert plan.after_sleep().mode == "stream"
    assert delays == [0.5, 1.0, 2.0]
    assert plan.on_failure(retryable(), now=1.0) == StopAction(ERR)
    assert plan.tries == 4


def test_backoff_is_capped_and_jittered_within_half_to_full() -> None:
    clocks = Clocks(Timeouts(1, 1, 1, 1000), started=0.0)
    values = iter([0.0, 0.5, 0.0, 0.0, 0.0])
    plan = RetryPlan(
        mode="batch", clocks=clocks, attempts=6, backoff_initial=1.0, backoff_max=3.0,
        random_source=lambda: next(values),
    )  # fmt: skip
    plan.start()
    seen = []
    for _ in range(4):
        action = plan.on_failure(retryable(), now=0.0)
        assert isinstance(action, SleepAction)
        seen.append(action.seconds)
        plan.after_sleep()
    assert seen == [0.5, 1.5, 1.5, 1.5]


def test_retry_after_is_honoured_and_capped() -> None:
    plan = make_plan()
    plan.start()
    assert plan.on_failure(retryable(retry_after=7.0), now=0.0) == SleepAction(7.0)
    plan.after_sleep()
    assert plan.on_failure(retryable(retry_after=600.0), now=0.0) == SleepAction(60.0)


def test_zero_retry_after_retries_at_once() -> None:
    plan = make_plan()
    plan.start()
    assert plan.on_failure(retryable(retry_after=0.0), now=0.0) == AttemptAction("stream", 2)


def test_no_retry_that_would_end_past_total() -> None:
    plan = make_plan(total=5.0)
    plan.start()
    assert plan.on_failure(retryable(retry_after=3.0), now=2.5) == StopAction(ERR)


def test_never_retry_after_progress() -> None:
    plan = make_plan(fallback=True)
    plan.start()
    assert plan.on_failure(retryable(progressed=True), now=0.0) == StopAction(ERR)


def test_never_retry_a_non_retryable_error() -> None:
    plan = make_plan(fallback=True)
    plan.start()
    failure = Failure(error=ERR, retryable=False, status_code=400)
    assert plan.on_failure(failure, now=0.0) == StopAction(ERR)


def test_total_expiry_stops_everything() -> None:
    plan = make_plan(fallback=True)
    plan.start()
    assert plan.on_failure(retryable(total_expired=True), now=0.0) == StopAction(ERR)


def test_fallback_to_batch_once_retries_are_spent_without_progress() -> None:
    plan = make_plan(attempts=2, fallback=True)
    plan.start()
    assert isinstance(plan.on_failure(retryable(status_code=503), now=0.0), SleepAction)
    plan.after_sleep()
    action = plan.on_failure(retryable(status_code=503), now=0.0)
    assert action == AttemptAction("batch", 3, fallback=True)
    # The fallback is a single call: its failure ends the call.
    assert plan.on_failure(retryable(status_code=503), now=0.0) == StopAction(ERR)


def test_fallback_after_connect_errors_and_stream_failures() -> None:
    plan = make_plan(attempts=1, fallback=True)
    plan.start()
    assert plan.on_failure(retryable(), now=0.0) == AttemptAction("batch", 2, fallback=True)


@pytest.mark.parametrize("status", [408, 409, 429])
def test_no_fallback_after_a_4xx(status: int) -> None:
    plan = make_plan(attempts=1, fallback=True)
    plan.start()
    assert plan.on_failure(retryable(status_code=status), now=0.0) == StopAction(ERR)


def test_no_fallback_when_the_policy_forbids_it_or_in_batch_mode() -> None:
    for plan in (make_plan(attempts=1), make_plan(mode="batch", attempts=1, fallback=True)):
        plan.start()
        assert plan.on_failure(retryable(), now=0.0) == StopAction(ERR)


def test_no_fallback_once_total_is_spent() -> None:
    plan = make_plan(attempts=1, fallback=True, total=5.0)
    plan.start()
    assert plan.on_failure(retryable(), now=5.0) == StopAction(ERR)


def test_attempts_below_one_still_try_once() -> None:
    plan = make_plan(attempts=0)
    assert plan.start() == AttemptAction("stream", 1)
    assert plan.on_failure(retryable(), now=0.0) == StopAction(ERR)


def test_after_sleep_requires_a_sleep() -> None:
    plan = make_plan()
    plan.start()
    with pytest.raises(AssertionError):
        plan.after_sleep()


def test_begin_wait_returns_the_deadline_of_the_tightest_clock() -> None:
    clocks = make_clocks()
    assert clocks.begin_wait(100.5) == 102.0  # first_token
    clocks.end_wait(101.0)
    clocks.progress(101.0)
    assert clocks.begin_wait(101.0) == 104.0  # idle
    clocks.end_wait(102.0)
    assert clocks.begin_wait(105.0) == 107.0  # idle: 1 s already waited
    late = make_clocks()
    late.progress(100.0)
    late.begin_attempt(109.0, stream=True)
    assert late.begin_wait(109.0) == 110.0  # total is tighter
    batch = make_clocks(stream=False)
    assert batch.begin_wait(100.0) == 110.0
