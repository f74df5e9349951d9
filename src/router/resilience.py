"""Clocks and the retry plan: what a call may still do, decided without doing any I/O.

Both pieces are sans-I/O state machines in the style of h11 and tenacity's `iter`: every
method takes the current time (`now`, seconds on a monotonic clock) and returns a decision;
nothing here sleeps, reads or raises on its own. The sync and async drivers in
`router.call` feed them the clock and the outcomes of real attempts, so the whole policy of
"when to give up, when to retry, when to fall back" is tested with a fake clock.

Clocks (DESIGN: Execution semantics):

- `connect`: handed to httpx as its connect timeout for each attempt.
- `first_token`: from the start of a stream attempt until its first progress event.
- `idle`: between two progress events, counting only time spent waiting on the upstream
  (between `begin_wait` and `end_wait`), never the caller's time between pulls.
- `total`: the whole call, retries and fallback included; a caller's deadline only shortens it.

The retry plan returns actions: `AttemptAction` (stream, batch or the one batch fallback),
`SleepAction` (back off), `StopAction` (give up with the error to raise).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from router.decision import Timeouts

__all__ = [
    "RETRYABLE_STATUS",
    "AttemptAction",
    "Clocks",
    "Failure",
    "RetryPlan",
    "SleepAction",
    "StopAction",
    "parse_retry_after",
    "status_is_retryable",
]

#: Statuses that may succeed on a retry: timeout, conflict, rate limit, server errors.
RETRYABLE_STATUS = frozenset({408, 409, 429})

#: The longest a `Retry-After` header may make a call wait, whatever the server asks.
RETRY_AFTER_CAP = 60.0

ClockName = Literal["connect", "first_token", "idle", "total"]


class Clocks:
    """The running clocks of one call; checked on every raw read by the drivers.

    `deadline` (seconds from `started`) is the caller's own limit: it can only shorten
    `total`. Phases per attempt: `begin_attempt`, then `progress` (zero or more) while reads
    are bracketed by `begin_wait` / `end_wait`.
    """

    __slots__ = (
        "_attempt_started",
        "_idle_waited",
        "_progressed",
        "_stream",
        "_wait_started",
        "limits",
        "started",
        "total_deadline",
        "total_limit",
        "wait_deadline",
    )

    def __init__(self, limits: Timeouts, *, started: float, deadline: float | None = None):
        #: The decision's four bounds in seconds, read as they are (no copy per call).
        self.limits = limits
        self.started = started
        total = limits.total
        if deadline is not None:
            total = min(total, max(deadline, 0.0))
        #: The effective total bound in seconds (the policy's, or the caller's if shorter).
        self.total_limit = total
        self.total_deadline = started + total
        self._attempt_started = started
        self._stream = False
        self._progressed = False
        self._idle_waited = 0.0
        self._wait_started: float | None = None
        #: The deadline `begin_wait` last returned: before it, no clock can have run out.
        self.wait_deadline = started

    # --- phases -----------------------------------------------------------------------------

    def begin_attempt(self, now: float, *, stream: bool) -> None:
        """A new attempt starts: `first_token` restarts for a stream, idle is cleared."""
        self._attempt_started = now
        self._stream = stream
        self._progressed = False
        self._idle_waited = 0.0
        self._wait_started = None
        self.wait_deadline = now

    def begin_wait(self, now: float) -> float:
        """The driver is about to wait on the upstream (a raw read); returns the read's deadline.

        The deadline is the absolute time at which the tightest running clock runs out: the
        driver hands it to the socket so that a stalled read wakes up in time. This is the
        per-read hot path, hence plain comparisons rather than `deadlines()`.
        """
        self._wait_started = now
        deadline = self.total_deadline
        if self._stream:
            if self._progressed:
                clock = now + self.limits.idle - self._idle_waited
            else:
                clock = self._attempt_started + self.limits.first_token
            if clock < deadline:
                deadline = clock
        self.wait_deadline = deadline
        return deadline

    def end_wait(self, now: float) -> None:
        """The raw read returned; the time it took counts toward `idle`."""
        if self._wait_started is not None:
            if self._progressed:
                self._idle_waited += max(now - self._wait_started, 0.0)
            self._wait_started = None

    def progress(self, now: float) -> None:
        """A progress event arrived: `first_token` is met and `idle` starts over."""
        self._progressed = True
        self._idle_waited = 0.0
        if self._wait_started is not None:
            self._wait_started = now

    @property
    def progressed(self) -> bool:
        """Whether the current attempt has delivered any progress."""
        return self._progressed

    # --- queries ----------------------------------------------------------------------------

    def deadlines(self, now: float) -> dict[ClockName, float]:
        """The absolute deadline of every clock running now (idle only while waiting)."""
        out: dict[ClockName, float] = {"total": self.total_deadline}
        if self._stream and not self._progressed:
            out["first_token"] = self._attempt_started + self.limits.first_token
        elif self._stream and self._progressed:
            waiting_since = self._wait_started if self._wait_started is not None else now
            out["idle"] = waiting_since + self.limits.idle - self._idle_waited
        return out

    def tightest(self, now: float) -> tuple[ClockName, float]:
        """The running clock that ends first, and the seconds left on it (never negative)."""
        name, deadline = min(self.deadlines(now).items(), key=lambda item: item[1])
        return name, max(deadline - now, 0.0)

    def read_timeout(self, now: float) -> float:
        """The timeout for the next raw read: the time left on the tightest running clock."""
        return self.tightest(now)[1]

    def connect_timeout(self, now: float) -> float:
        """The connect timeout for a new attempt: `connect`, cut to what `total` leaves."""
        return max(min(self.limits.connect, self.total_deadline - now), 0.0)

    def total_left(self, now: float) -> float:
        """Seconds left before `total` (or the caller's deadline) runs out."""
        return max(self.total_deadline - now, 0.0)

    def expired(self, now: float) -> ClockName | None:
        """The clock that has run out at `now`, if any; `total` wins a tie."""
        if now >= self.total_deadline:
            return "total"
        if self._stream and not self._progressed:
            if now >= self._attempt_started + self.limits.first_token:
                return "first_token"
        elif self._stream and self._progressed:
            waited = self._idle_waited
            if self._wait_started is not None:
                waited += max(now - self._wait_started, 0.0)
            if waited >= self.limits.idle:
                return "idle"
        return None

    def limit_ms(self, clock: ClockName) -> float:
        """The bound of `clock` in milliseconds (the effective one for `total`)."""
        seconds = self.total_limit if clock == "total" else getattr(self.limits, clock)
        return float(seconds) * 1000.0


def parse_retry_after(
    headers: Mapping[str, str], *, now_epoch: float | None = None
) -> float | None:
    """Seconds a server asks to wait: `retry-after-ms`, else `Retry-After` (seconds or a date)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    ms = lowered.get("retry-after-ms")
    if ms is not None:
        try:
            value = float(ms) / 1000.0
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value >= 0:
            return value
    text = lowered.get("retry-after")
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        from email.utils import parsedate_to_datetime  # rare: only for HTTP-date values

        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if now_epoch is None:
            import time

            now_epoch = time.time()
        return max(when.timestamp() - now_epoch, 0.0)
    return value if math.isfinite(value) and value >= 0 else None


# --- the retry plan ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Failure:
    """How one attempt failed, as the plan needs to know it.

    `retryable` is the driver's classification of the error itself (a connect error, a
    retryable status or payload, a stream that failed before progress); the plan adds the
    rules that depend on history: attempts left, progress, `total`, fallback.
    """

    error: BaseException
    retryable: bool
    progressed: bool = False
    status_code: int | None = None
    retry_after: float | None = None
    total_expired: bool = False


@dataclass(frozen=True, slots=True)
class AttemptAction:
    """Run one attempt in `mode`; `fallback` marks the single batch call after a failed stream."""

    mode: Literal["stream", "batch"]
    number: int
    fallback: bool = False


@dataclass(frozen=True, slots=True)
class SleepAction:
    """Wait `seconds` before the next attempt (backoff or the server's `Retry-After`)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class StopAction:
    """Give up: raise `error`."""

    error: BaseException


Action = AttemptAction | SleepAction | StopAction


def status_is_retryable(status_code: int) -> bool:
    """408, 409, 429 and every 5xx may succeed on a retry; other statuses never do."""
    return status_code in RETRYABLE_STATUS or status_code >= 500


class RetryPlan:
    """Which attempt comes next, after which pause; or when to stop.

    Usage: `action = plan.start()`; after an attempt fails, `action = plan.on_failure(f, now)`;
    after a `SleepAction`, `action = plan.after_sleep()`. `attempts` counts the first try
    (attempts=1 means no retry); `fallback` allows one batch call once a stream's retries are
    spent with no progress, never after a 4xx (429 included).
    """

    __slots__ = (
        "_attempts",
        "_backoff_initial",
        "_backoff_max",
        "_clocks",
        "_fallback",
        "_fell_back",
        "_mode",
        "_pending",
        "_random",
        "_retry_after_cap",
        "_tries",
    )

    def __init__(
        self,
        *,
        mode: Literal["stream", "batch"],
        clocks: Clocks,
        attempts: int = 3,
        backoff_initial: float = 0.5,
        backoff_max: float = 8.0,
        fallback: bool = False,
        retry_after_cap: float = RETRY_AFTER_CAP,
        random_source: Callable[[], float] = random.random,
    ) -> None:
        self._mode: Literal["stream", "batch"] = mode
        self._clocks = clocks
        self._attempts = max(int(attempts), 1)
        self._backoff_initial = max(float(backoff_initial), 0.0)
        self._backoff_max = max(float(backoff_max), 0.0)
        self._fallback = fallback and mode == "stream"
        self._retry_after_cap = retry_after_cap
        self._random = random_source
        self._tries = 0
        self._fell_back = False
        self._pending: AttemptAction | None = None

    @property
    def tries(self) -> int:
        """Attempts started so far (the fallback included)."""
        return self._tries

    def renewed(self) -> RetryPlan:
        """A fresh plan with the same settings and clocks, for a new request (a re-ask)."""
        return RetryPlan(
            mode=self._mode,
            clocks=self._clocks,
            attempts=self._attempts,
            backoff_initial=self._backoff_initial,
            backoff_max=self._backoff_max,
            fallback=self._fallback,
            retry_after_cap=self._retry_after_cap,
            random_source=self._random,
        )

    def start(self) -> AttemptAction:
        """The first attempt."""
        return self._next(self._mode, fallback=False)

    def after_sleep(self) -> AttemptAction:
        """The attempt that a `SleepAction` was waiting for."""
        assert self._pending is not None, "after_sleep() without a SleepAction"
        action, self._pending = self._pending, None
        self._tries += 1
        return action

    def on_failure(self, failure: Failure, now: float) -> Action:
        """Decide what follows a failed attempt."""
        if failure.total_expired or failure.progressed or self._fell_back:
            return StopAction(failure.error)
        if not failure.retryable:
            return StopAction(failure.error)
        current_mode = self._mode
        if self._tries < self._attempts:
            delay = self._delay(failure)
            if now + delay >= self._clocks.total_deadline:
                return StopAction(failure.error)
            if delay <= 0:
                return self._next(current_mode, fallback=False)
            self._pending = AttemptAction(current_mode, self._tries + 1)
            return SleepAction(delay)
        if self._fallback and not _is_client_error(failure.status_code):
            if now >= self._clocks.total_deadline:
                return StopAction(failure.error)
            self._fell_back = True
            return self._next("batch", fallback=True)
        return StopAction(failure.error)

    def _next(self, mode: Literal["stream", "batch"], *, fallback: bool) -> AttemptAction:
        self._tries += 1
        return AttemptAction(mode, self._tries, fallback=fallback)

    def _delay(self, failure: Failure) -> float:
        if failure.retry_after is not None:
            return min(max(failure.retry_after, 0.0), self._retry_after_cap)
        exponent = self._tries - 1
        base = min(self._backoff_initial * (2.0**exponent), self._backoff_max)
        # "Equal jitter": half the delay fixed, half random, so that clients that failed
        # together do not retry together, and no retry comes back immediately.
        return base / 2.0 + self._random() * base / 2.0


def _is_client_error(status_code: int | None) -> bool:
    return status_code is not None and 400 <= status_code < 500
