"""Call handles: one routed call, iterated for text deltas, ending in a `Completion`.

`CallCore` holds everything a call decides and remembers (the plan, the clocks, the
assembler, attempts, hooks' reports) and does no I/O; `Call` and `AsyncCall` are thin
drivers that move bytes between httpx and the core. httpx's own exceptions are translated
by the function the router hands in (`router.client.map_httpx_error`), the one place that
knows them.

Lifecycle of an attempt, as the drivers run it::

    action = core.plan.start()
    prepared = core.prepare(action, now)            # URL, headers, shaped body, timeouts
    core.on_response(status, headers, now)          # False: read the error body, then
    core.status_failure(status, body)               #   raise the attempt's failure
    text = core.feed(raw_bytes, now)                # every chunk read (None: the end); the
                                                    #   clocks and the progressive check run here
    core.on_batch_body(body, now)                   # or: a whole answer
    action = core.on_attempt_failed(failure, now)   # on any failure: retry, sleep, stop
    action = core.on_answer(now)                    # an answer: validate; None (done), a
                                                    #   re-ask's attempt, or stop

Validation, re-asks (`router.reask`) and progressive checks live in the core too, so the
sync and async handles behave alike by construction.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import anyio
import httpx

from router.completion import Attempt, Completion, Status, Timings, Usage
from router.errors import (
    AnswerRefused,
    CallCancelled,
    CallError,
    CallTimeout,
    ConnectionFailed,
    ConnectTimeout,
    FirstTokenTimeout,
    HookFailed,
    IdleTimeout,
    IncompleteAnswer,
    ProtocolError,
    RouterError,
    StreamFailed,
    StreamInterrupted,
    TotalTimeout,
    UpstreamStatusError,
    ValidationFailed,
)
from router.http import READ_DEADLINE, bind_clocks
from router.redact import redact_text, redact_value
from router.resilience import (
    AttemptAction,
    ClockName,
    Clocks,
    Failure,
    RetryPlan,
    SleepAction,
    StopAction,
    parse_retry_after,
    status_is_retryable,
)
from router.sse import SSEDecoder

if TYPE_CHECKING:
    from router.decision import Decision

__all__ = ["AsyncCall", "Call", "CallCore", "Endpoint", "UsageReport"]

#: Error bodies are read up to this size: enough for any provider's error JSON.
ERROR_BODY_LIMIT = 1 << 20

_TIMEOUT_CLASSES: dict[str, type[CallTimeout]] = {
    "connect": ConnectTimeout,
    "first_token": FirstTokenTimeout,
    "idle": IdleTimeout,
    "total": TotalTimeout,
}

ErrorMapper = Callable[[BaseException, "CallCore", float], RouterError]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and how to send a call: the URL, the headers (credentials included)."""

    url: str
    headers: Mapping[str, str]
    secrets: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"Endpoint(url={redact_text(self.url, self.secrets)!r}, headers=<redacted>)"


@dataclass(frozen=True, slots=True)
class UsageReport:
    """What the usage hook receives for every call, finished or failed.

    `usage` is None when the provider sent none; `reason` then says why (not requested, the
    provider does not accept `stream_options`, the stream ended before it, the call failed).
    After re-asks, `usage` is the sum over every answer the call paid for; each of
    `attempts` carries its own.
    """

    usage: Usage | None
    reason: str | None
    model: str | None
    rule: str | None
    mode: str | None
    status: Status
    attempts: tuple[Attempt, ...]
    timings: Timings
    decision_id: str
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record, for logs and billing pipelines."""
        return {
            "decision_id": self.decision_id,
            "usage": self.usage.to_dict() if self.usage is not None else None,
            "reason": self.reason,
            "model": self.model,
            "rule": self.rule,
            "mode": self.mode,
            "status": str(self.status),
            "attempts": [attempt.to_dict() for attempt in self.attempts],
            "timings": self.timings.to_dict(),
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """One attempt's HTTP request, ready for httpx."""

    url: str
    headers: dict[str, str]
    body: dict[str, Any]
    stream: bool
    timeout: httpx.Timeout

    def build(self, client: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        """The httpx request: both clients build it alike; only sending it differs."""
        return client.build_request(
            "POST", self.url, json=self.body, headers=self.headers, timeout=self.timeout
        )


class AttemptFailed(Exception):
    """Internal: one attempt ended in `error`; the plan decides what follows."""

    def __init__(
        self,
        error: CallError,
        *,
        retryable: bool,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.retryable = retryable
        self.status_code = status_code
        self.retry_after = retry_after


@dataclass(slots=True)
class CallCore:
    """The sans-I/O state of one call, shared by the sync and async handles."""

    decision: Decision
    decision_id: str
    request: Mapping[str, Any]
    dialect: Any
    endpoint: Endpoint
    clocks: Clocks
    plan: RetryPlan
    mode: Literal["stream", "batch"]
    include_usage: bool
    withhold: bool
    response_model: Any = None
    usage_reason: str | None = None
    mode_reason: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    completion: Completion | None = None
    error: CallError | None = None
    delivered: bool = False
    first_progress_at: float | None = None
    finished_at: float | None = None
    rate_limits: dict[str, str] = field(default_factory=dict)
    # per attempt
    action: AttemptAction | None = None
    attempt_started: float = 0.0
    status_code: int | None = None
    assembler: Any = None
    decoder: Any = None
    last_partial: Completion | None = None
    withheld: list[str] = field(default_factory=list)
    reported: bool = False
    whole_body: bool = False
    #: The stream said it is over (`[DONE]`); what follows is only the HTTP terminator.
    stream_done: bool = False
    #: An attempt has started and is not yet recorded (a cancel records it).
    attempt_open: bool = False
    # validation
    #: The body the next attempt sends: the caller's, or a re-ask built from it (never mutated).
    body: Mapping[str, Any] = field(default_factory=dict)
    #: Re-asks still allowed (`validate: {reask: N}`).
    reasks_left: int = 0
    #: Usage of the answers that were re-asked (the call paid for each).
    reasked_usage: list[Usage | None] = field(default_factory=list)
    #: Whether stream attempts judge the answer while it arrives (`progressive: true`).
    progressive: bool = False
    #: The progressive checker of the stream attempt in progress, if any.
    checker: Any = None
    #: Characters of the answer's text received in the attempt in progress: compared with
    #: the checker's `next_check_at`, so that the text is judged only when a check is due.
    checked_size: int = 0
    #: What the request asks the answer to be (`AnswerSpec`), read once: the progressive
    #: checker of every attempt and every validation use it.
    spec: Any = None

    @classmethod
    def create(
        cls,
        *,
        decision: Decision,
        decision_id: str,
        request: Mapping[str, Any],
        dialect: Any,
        endpoint: Endpoint,
        stream_usage: bool,
        deadline: float | None,
        response_model: Any,
        now: float,
    ) -> CallCore:
        """Resolve the mode and usage request for this provider, and start the clocks."""
        options = decision.options
        billing = getattr(decision.intent, "billing", None)
        needs_usage = billing in ("after_delivery", "before_delivery")
        mode: Literal["stream", "batch"] = "stream" if decision.mode == "stream" else "batch"
        include_usage = mode == "stream" and bool(options.stream.include_usage)
        usage_reason = mode_reason = None
        if include_usage and not stream_usage:
            include_usage = False
            if needs_usage:
                mode = "batch"
                mode_reason = (
                    "ran in batch mode: billing needs usage and this provider does not "
                    "accept stream_options"
                )
            else:
                usage_reason = "the provider does not accept stream_options"
        elif mode == "stream" and not include_usage:
            usage_reason = "usage was not requested for this stream (include_usage is false)"
        clocks = Clocks(options.timeouts, started=now, deadline=deadline)
        retries = options.retries
        plan = RetryPlan(
            mode=mode,
            clocks=clocks,
            attempts=retries.attempts,
            backoff_initial=retries.backoff_initial,
            backoff_max=retries.backoff_max,
            fallback=options.stream.fallback == "batch",
        )
        validate = options.validate
        return cls(
            decision=decision,
            decision_id=decision_id,
            request=request,
            body=request,
            reasks_left=max(int(validate.reask), 0) if validate.enabled else 0,
            progressive=bool(validate.enabled and validate.progressive),
            dialect=dialect,
            endpoint=endpoint,
            clocks=clocks,
            plan=plan,
            mode=mode,
            include_usage=include_usage,
            withhold=billing == "before_delivery",
            response_model=response_model,
            usage_reason=usage_reason,
            mode_reason=mode_reason,
        )

    # --- an attempt ---------------------------------------------------------------------

    def prepare(self, action: AttemptAction, now: float) -> PreparedRequest:
        """Start an attempt: clocks, a fresh assembler, the shaped request."""
        stream = action.mode == "stream"
        self.action = action
        self.attempt_started = now
        self.status_code = None
        self.whole_body = False
        self.stream_done = False
        self.attempt_open = True
        self.completion = self.last_partial = None
        self.withheld.clear()
        self.clocks.begin_attempt(now, stream=stream)
        self.checker = None
        self.checked_size = 0
        if stream:
            self.decoder = SSEDecoder()
            self.assembler = self.dialect.new_assembler()
            if self.progressive:
                from router.validation.progressive import checker_for_answer

                self.checker = checker_for_answer(self.answer_spec())
        else:
            self.decoder = self.assembler = None
        body = self.dialect.shape_request(
            self.body, stream=stream, include_usage=stream and self.include_usage
        )
        connect = max(self.clocks.connect_timeout(now), 0.001)
        timeout = httpx.Timeout(
            connect=connect,
            read=max(self.clocks.read_timeout(now), 0.001),
            write=max(self.clocks.total_left(now), 0.001),
            pool=connect,
        )
        headers = dict(self.endpoint.headers)
        headers["accept"] = "text/event-stream" if stream else "application/json"
        if stream and not any(name.lower() == "accept-encoding" for name in headers):
            # A compressed event stream arrives in bursts; ask for it plain.
            headers["accept-encoding"] = "identity"
        return PreparedRequest(self.endpoint.url, headers, body, stream, timeout)

    def read_deadline(self, now: float) -> float:
        """Mark the start of a wait on the upstream; the absolute time the read must end by."""
        return self.clocks.begin_wait(now)

    def on_response(self, status_code: int, headers: httpx.Headers, now: float) -> bool:
        """Headers arrived; False when the status is an error (read the body, then fail)."""
        self.clocks.end_wait(now)
        self.status_code = status_code
        for name, value in headers.items():
            if name.startswith(("x-ratelimit-", "retry-after")):
                self.rate_limits[name] = value
        self.check_clocks(now)
        return status_code < 400

    def status_failure(self, status_code: int, headers: httpx.Headers, body: bytes) -> None:
        """The provider answered with an error status: raise the attempt's failure."""
        info = self.dialect.parse_error(status_code, body)
        message = redact_text(
            f"{self.endpoint_name()} answered {status_code}: {info.message}",
            self.endpoint.secrets,
        )
        body_value = redact_value(info.payload, self.endpoint.secrets)
        error = UpstreamStatusError(message, status_code=status_code, body=body_value)
        raise AttemptFailed(
            error,
            retryable=status_is_retryable(status_code) and bool(info.retryable),
            status_code=status_code,
            retry_after=parse_retry_after(headers),
        )

    def is_event_stream(self, headers: httpx.Headers) -> bool:
        """Whether a stream attempt got an event stream (some servers answer JSON instead)."""
        return "text/event-stream" in headers.get("content-type", "")

    def feed(self, chunk: bytes | None, now: float) -> str:
        """Take one chunk of a stream (None: its end); the text to release to the caller now.

        The read that produced `chunk` has ended its wait on the clocks (the socket reads do,
        see `router.http`); here the clocks are checked once one of them may have run out.
        At the end, the completion is kept, or the attempt's failure raised (see `end_stream`).
        """
        if chunk is None:
            return self.end_stream(now)
        clocks = self.clocks
        try:
            events = self.decoder.decode(chunk)
        except ProtocolError as exc:
            self.fail_stream(str(exc))
        assembler = self.assembler
        if events:
            progressed = False
            for event in events:
                if assembler.feed(event):
                    progressed = True
            if progressed:
                clocks.progress(now)
                if self.first_progress_at is None:
                    self.first_progress_at = now
            if assembler.done:
                if assembler.error is not None:
                    self.fail_stream(None)
                self.stream_done = True
        if now >= clocks.wait_deadline:  # only then can a clock have run out
            self.check_clocks(now)
        text: str = assembler.take_text()
        if not text:
            return ""
        checker = self.checker
        if checker is not None:
            # `count_checked`, inlined: this runs for every chunk of a progressive stream.
            self.checked_size += len(text)
            if self.checked_size >= checker.next_check_at:
                self.check_progress()
        if self.withhold:
            self.withheld.append(text)
            return ""
        self.delivered = True
        return text

    def count_checked(self, text: str) -> None:
        """Count newly received text toward the progressive checker; check it when due."""
        self.checked_size += len(text)
        if self.checked_size >= self.checker.next_check_at:
            self.check_progress()

    def check_progress(self) -> None:
        """Have the progressive checker judge the text so far; stop the attempt if doomed.

        The assembler holds the text already, so the checker is handed it only when a check
        is due (`check_text`), not every delta. The delta that made the answer invalid is
        not released: it stays in the partial completion, with everything before it.
        """
        try:
            self.checker.check_text(self.assembler.text_so_far())
        except ValidationFailed as exc:
            self.checker = None
            raise AttemptFailed(exc, retryable=False) from None

    def end_stream(self, now: float) -> str:
        """The stream ended: keep its completion and return the text not yet released.

        Raises the attempt's failure when the stream did not end complete.
        """
        self.clocks.end_wait(now)
        try:
            events = self.decoder.flush()
        except ProtocolError as exc:
            self.fail_stream(str(exc))
        for event in events:
            if self.assembler.feed(event):
                self.clocks.progress(now)
        completion: Completion = self.assembler.finish()
        if completion.status is Status.FAILED:
            self.fail_stream(None)
        if completion.status is not Status.COMPLETE:
            raise AttemptFailed(
                StreamInterrupted(
                    "the stream ended before every choice finished (no finish reason"
                    + (" and no [DONE])" if not self.assembler.done else ")")
                ),
                retryable=not self.clocks.progressed,
            )
        tail: str = self.assembler.take_text()
        if tail and self.checker is not None:
            self.count_checked(tail)
        self.completion = completion
        if not tail or self.withhold:
            if tail:
                self.withheld.append(tail)
            return ""
        self.delivered = True
        return tail

    def fail_stream(self, detail: str | None) -> None:
        """Raise the failure of a stream that sent an error payload or undecodable bytes."""
        assembler = self.assembler
        error_payload = assembler.error if assembler is not None else None
        retryable = not self.clocks.progressed
        message = detail or "the stream failed"
        if error_payload is not None and detail is None:
            info = self.dialect.parse_stream_error(error_payload)
            message = info.message
            retryable = retryable and bool(info.retryable)
        error = StreamFailed(redact_text(f"stream failed: {message}", self.endpoint.secrets))
        raise AttemptFailed(error, retryable=retryable)

    def on_batch_body(self, body: bytes, now: float) -> None:
        """A whole response arrived: parse it into the completion, or raise the failure."""
        self.check_clocks(now)
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict):
                raise TypeError(f"a JSON {type(payload).__name__}, expected an object")
            info = self.dialect.body_error(payload)
            if info is not None:
                raise AttemptFailed(
                    StreamFailed(
                        redact_text(
                            f"the provider sent an error: {info.message}", self.endpoint.secrets
                        )
                    ),
                    retryable=bool(info.retryable),
                )
            completion: Completion = self.dialect.parse_response(payload)
        except AttemptFailed:
            raise
        except (ValueError, TypeError, KeyError, RecursionError, RouterError) as exc:
            preview = body[:80].decode("utf-8", "replace")
            error = StreamFailed(
                redact_text(
                    f"the response is not a chat completion ({exc}); it starts with {preview!r}",
                    self.endpoint.secrets,
                )
            )
            raise AttemptFailed(error, retryable=False) from None
        if self.first_progress_at is None:
            self.first_progress_at = now
        self.whole_body = True
        if self.action is not None and self.action.mode == "stream":
            # Some compatible servers ignore `stream: true` and answer whole: accept it.
            completion.mode = "batch"
            self.mode_reason = "the provider answered the stream request with a whole response"
        self.completion = completion

    def check_clocks(self, now: float) -> None:
        """Raise the attempt's failure if a clock has run out."""
        clock = self.clocks.expired(now)
        if clock is not None:
            raise AttemptFailed(self.timeout_error(clock), retryable=clock != "total")

    def timeout_error(self, clock: ClockName) -> CallTimeout:
        """The error for an expired clock, with its bound."""
        limit_ms = self.clocks.limit_ms(clock)
        cls = _TIMEOUT_CLASSES[clock]
        what = {
            "connect": "no connection",
            "first_token": "no progress",
            "idle": "no progress since the last one",
            "total": "the call did not finish",
        }[clock]
        return cls(f"{clock} timeout: {what} within {limit_ms:g} ms", limit_ms=limit_ms)

    def transport_failure(self, error: CallError) -> AttemptFailed:
        """A mapped httpx failure as an attempt failure, classified for the plan."""
        if isinstance(error, TotalTimeout):
            return AttemptFailed(error, retryable=False)
        progressed = self.clocks.progressed
        retryable = not progressed and isinstance(
            error, ConnectionFailed | ConnectTimeout | FirstTokenTimeout | StreamInterrupted
        )
        return AttemptFailed(error, retryable=retryable)

    def on_attempt_failed(
        self, failure: AttemptFailed, now: float
    ) -> AttemptAction | SleepAction | StopAction:
        """Record the failed attempt and ask the plan what follows.

        The attempt's partial completion is built here, once, for every way a stream fails.
        """
        self.record_attempt(failure.error, now)
        if self.assembler is not None:
            self.last_partial = self.assembler.finish(eof=False)
        clock_total = self.clocks.expired(now) == "total" or isinstance(failure.error, TotalTimeout)
        action = self.plan.on_failure(
            Failure(
                error=failure.error,
                retryable=failure.retryable,
                progressed=self.clocks.progressed or self.delivered,
                status_code=failure.status_code,
                retry_after=failure.retry_after,
                total_expired=clock_total,
            ),
            now,
        )
        if isinstance(action, StopAction):
            error = action.error
            if clock_total and not isinstance(error, TotalTimeout) and not self.clocks.progressed:
                error = self.timeout_error("total")
            assert isinstance(error, CallError)
            self.fail(error, now)
            return StopAction(error)
        return action

    def sleep_time(self, action: SleepAction, now: float) -> float:
        """How long to sleep for a backoff: never past `total`."""
        return max(min(action.seconds, self.clocks.total_left(now)), 0.0)

    def record_attempt(self, error: CallError | None, now: float) -> None:
        """Append the attempt that just ended to the call's record."""
        self.attempt_open = False
        action = self.action
        mode = action.mode if action is not None else self.mode  # a fallback's is "batch"
        outcome = "ok" if error is None else _outcome_name(error)
        answer = self.completion
        self.attempts.append(
            Attempt(
                mode=mode,
                outcome=outcome,
                elapsed_ms=(now - self.attempt_started) * 1000.0,
                status_code=self.status_code,
                error=None if error is None else str(error),
                usage=answer.usage if answer is not None else None,
                issues=error.issues if isinstance(error, ValidationFailed) else (),
            )
        )

    # --- the end of the call --------------------------------------------------------------

    def on_answer(self, now: float) -> AttemptAction | StopAction | None:
        """An attempt brought an answer: validate it; None when the call has succeeded.

        An invalid answer that another answer could fix, while re-asks are left and nothing
        has reached the caller, starts a re-ask: the next attempt's action is returned. Any
        other invalid answer ends the call: a `StopAction` with its `ValidationFailed`.
        """
        completion = self.completion
        assert completion is not None
        error = self.validation_error(completion)
        if error is None:
            self.succeed(now)
            return None
        self.record_attempt(error, now)
        if self.may_reask(error, now):
            return self.reask(completion, error, now)
        completion.status = Status.FAILED
        self.fail(error, now)
        return StopAction(error)

    def answer_spec(self) -> Any:
        """The request's `AnswerSpec`, read on first use; raises `InvalidSchema` if broken."""
        if self.spec is None:
            from router.validation import AnswerSpec

            self.spec = AnswerSpec.from_request(self.request, response_model=self.response_model)
        return self.spec

    def validation_error(self, completion: Completion) -> ValidationFailed | None:
        """Validate when the decision or the caller asks for it; the failure, or None."""
        if not (self.decision.options.validate.enabled or self.response_model is not None):
            return None
        from router.validation import validate_answer

        try:
            completion.parsed = validate_answer(completion, self.answer_spec())
        except ValidationFailed as exc:
            return exc
        return None

    def may_reask(self, error: ValidationFailed, now: float) -> bool:
        """Whether to give this invalid answer back to the model (see `router.reask`)."""
        from router.reask import can_reask

        return (
            self.reasks_left > 0
            and not self.delivered
            and self.clocks.total_left(now) > 0
            and can_reask(error, self.completion)
        )

    def reask(self, completion: Completion, error: ValidationFailed, now: float) -> AttemptAction:
        """Start a re-ask: the answer and its errors go back to the model, in the same clocks.

        The re-ask is a new request, so it gets a fresh retry plan (its transient failures
        are retried as any call's are); `total` keeps running across all of them.
        """
        from router.reask import reask_request

        self.reasks_left -= 1
        self.reasked_usage.append(completion.usage)
        self.body = reask_request(self.body, completion, error)
        self.completion = None
        self.withheld.clear()  # text held back for billing belonged to the invalid answer
        self.plan = self.plan.renewed()
        return self.plan.start()

    def succeed(self, now: float) -> Completion:
        """The attempt that worked: stamp the record of the call on its completion."""
        self.record_attempt(None, now)
        completion = self.completion
        assert completion is not None
        self.stamp(completion, now)
        return completion

    def stamp(self, completion: Completion, now: float) -> None:
        """Write the record of the call (mode, attempts, timings) on its completion or partial."""
        self.finished_at = now
        if self.whole_body:
            completion.mode = "batch"
        else:
            completion.mode = self.action.mode if self.action is not None else self.mode
        completion.attempts = list(self.attempts)
        completion.timings = self.timings(now)
        completion.rate_limits = dict(self.rate_limits)
        if self.mode_reason is not None:
            completion.mode_reason = self.mode_reason

    def fail(self, error: CallError, now: float) -> CallError:
        """The call failed with `error`: attach what was received and the attempts."""
        partial = self.completion or self.last_partial
        if partial is None:
            partial = Completion(status=Status.FAILED)
        if isinstance(error, CallCancelled):
            partial.status = Status.CANCELLED
        elif (
            isinstance(error, StreamInterrupted | CallTimeout)
            and partial.status is not Status.FAILED
        ):
            partial.status = Status.INTERRUPTED
        elif not isinstance(error, StreamInterrupted | CallTimeout):
            partial.status = Status.FAILED
        self.stamp(partial, now)
        error.partial = partial
        error.attempts = tuple(self.attempts)
        self.error = error
        return error

    def cancel(self, now: float) -> CallCancelled:
        """The caller closed the call before it finished."""
        if self.assembler is not None and self.completion is None:
            self.last_partial = self.assembler.finish(eof=False)
        error = CallCancelled("the call was closed before it finished")
        if self.attempt_open:
            self.record_attempt(error, now)  # the attempt in flight
        self.fail(error, now)
        return error

    def take_report(self) -> UsageReport | None:
        """The usage report, the first time it is asked for: hooks hear of a call once."""
        if self.reported:
            return None
        self.reported = True
        return self.usage_report()

    def timings(self, now: float) -> Timings:
        """First-progress and total times, in milliseconds from the start of the call."""
        started = self.clocks.started
        first = self.first_progress_at
        return Timings(
            first_token_ms=None if first is None else (first - started) * 1000.0,
            total_ms=(now - started) * 1000.0,
        )

    def usage_report(self) -> UsageReport:
        """What the usage hook is told about this call."""
        result = self.completion if self.error is None else self.error.partial
        usage = result.usage if result is not None else None
        if self.reasked_usage:  # the call paid for every answer, re-asked ones included
            usage = _sum_usage([*self.reasked_usage, usage])
        reason = None
        if usage is None:
            if self.error is not None:
                reason = "the call failed before the provider reported usage"
            elif self.usage_reason is not None:
                reason = self.usage_reason
            else:
                reason = "the provider sent no usage"
        return UsageReport(
            usage=usage,
            reason=reason,
            model=(result.model if result is not None else None) or self.request.get("model"),
            rule=self.decision.rule,
            mode=result.mode if result is not None else self.mode,
            status=result.status if result is not None else Status.FAILED,
            attempts=tuple(self.attempts),
            timings=self.timings(self.finished_at or self.clocks.started),
            decision_id=self.decision_id,
            error=None if self.error is None else f"{type(self.error).__name__}: {self.error}",
        )

    def hook_failed(self, exc: BaseException, now: float) -> HookFailed:
        """The usage hook raised: the call fails; withheld text stays withheld (not in partial)."""
        error = HookFailed(
            redact_text(f"the usage hook raised {type(exc).__name__}: {exc}", self.endpoint.secrets)
        )
        self.withheld.clear()
        done = self.completion
        if self.withhold and done is not None:
            # Keep what the bill needs, never the text that was held back.
            self.completion = Completion(
                id=done.id, created=done.created, model=done.model, usage=done.usage
            )
        self.fail(error, now)
        return error

    def release_withheld(self) -> str:
        """After a successful usage hook: the text held back for billing."""
        text = "".join(self.withheld)
        self.withheld.clear()
        if text:
            self.delivered = True
        return text

    def final_text(self) -> str:
        """What is left to release once the call succeeded (and the usage hook ran).

        A whole answer (batch mode, or a server that ignored `stream: true`) is released at
        once; a stream releases only the text held back for billing.
        """
        if self.whole_body:
            completion = self.completion
            return completion.text if completion is not None else ""
        return self.release_withheld()

    def endpoint_name(self) -> str:
        """The provider's host, for messages."""
        return httpx.URL(self.endpoint.url).host or "the provider"


def _sum_usage(usages: list[Usage | None]) -> Usage | None:
    """The usage of several answers added up, detail fields (`raw`) included."""
    present = [usage for usage in usages if usage is not None]
    if not present:
        return None

    def add(field_values: list[int | None]) -> int | None:
        known = [value for value in field_values if value is not None]
        return sum(known) if known else None

    raw: dict[str, Any] = {}
    for usage in present:
        _add_counts(raw, usage.to_dict())
    return Usage(
        prompt_tokens=add([usage.prompt_tokens for usage in present]),
        completion_tokens=add([usage.completion_tokens for usage in present]),
        total_tokens=add([usage.total_tokens for usage in present]),
        raw=raw,
    )


def _add_counts(into: dict[str, Any], counts: Mapping[str, Any]) -> None:
    """Add the numbers of `counts` into `into`, nested objects too; other values: the last."""
    for key, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int | float | Mapping):
            into[key] = value
        elif isinstance(value, Mapping):
            nested = into.get(key)
            if not isinstance(nested, dict):
                nested = into[key] = {}
            _add_counts(nested, value)
        else:
            previous = into.get(key)
            into[key] = value + previous if isinstance(previous, int | float) else value


def _outcome_name(error: CallError) -> str:
    if isinstance(error, CallTimeout):
        return f"{error.clock}_timeout"
    if isinstance(error, UpstreamStatusError):
        return f"status_{error.status_code}"
    return {
        ConnectionFailed: "connection_failed",
        StreamInterrupted: "interrupted",
        StreamFailed: "failed",
        ValidationFailed: "invalid",
        IncompleteAnswer: "incomplete",
        AnswerRefused: "refused",
        CallCancelled: "cancelled",
    }.get(type(error), type(error).__name__)


def _plain(response: httpx.Response) -> bool:
    """Whether the body can be read raw: not compressed, not already read by a transport."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    return encoding in ("", "identity") and not response.is_stream_consumed


def _body_chunks(response: httpx.Response, core: CallCore, *, bound: bool) -> Iterator[bytes]:
    """The body as it arrives, every socket read under the call's clocks.

    Plain bodies are read straight from the transport's stream (httpx's `iter_raw` adds a
    layer and nothing else), compressed ones decoded by httpx. `bound`: the connection follows
    the clocks itself (`router.http.bind_clocks`); else each read is timed here.
    """
    if not bound:
        return _timed_reads(
            response.iter_raw() if _plain(response) else response.iter_bytes(), core
        )
    if _plain(response) and isinstance(response.stream, httpx.SyncByteStream):
        return iter(response.stream)
    return response.iter_bytes()


def _timed_reads(raw: Iterator[bytes], core: CallCore) -> Iterator[bytes]:
    """`raw` from a connection not built here, each read timed on the clocks.

    Its stream cannot follow the clocks (nor `READ_DEADLINE`): a read waits at most for the
    read timeout httpx was given when the attempt started; the clocks are checked after it.
    """
    clocks = core.clocks
    while True:
        clocks.begin_wait(time.monotonic())
        chunk = next(raw, None)
        clocks.end_wait(time.monotonic())
        if chunk is None:
            return
        yield chunk


def _abody_chunks(response: httpx.Response, core: CallCore, *, bound: bool) -> AsyncIterator[bytes]:
    """The async twin of `_body_chunks`."""
    if not bound:
        raw = response.aiter_raw() if _plain(response) else response.aiter_bytes()
        return _adeadline_reads(raw, core)
    if _plain(response) and isinstance(response.stream, httpx.AsyncByteStream):
        return aiter(response.stream)
    return response.aiter_bytes()


async def _adeadline_reads(raw: AsyncIterator[bytes], core: CallCore) -> AsyncIterator[bytes]:
    """`raw` from a connection not built here, each read bounded by a cancel scope and timed.

    Its stream cannot follow the clocks, so the scope ends a read at the tightest clock.
    """
    clocks = core.clocks
    while True:
        deadline = clocks.begin_wait(time.monotonic())
        with anyio.fail_after(max(deadline - time.monotonic(), 0.0)):
            chunk = await anext(raw, None)
        clocks.end_wait(time.monotonic())
        if chunk is None:
            return
        yield chunk


class BodyBuffer:
    """A whole response body, read under the call's clocks, up to `limit` bytes."""

    __slots__ = ("_core", "_limit", "_parts", "_size")

    def __init__(self, core: CallCore, limit: int | None) -> None:
        self._core = core
        self._limit = limit
        self._parts: list[bytes] = []
        self._size = 0

    def add(self, chunk: bytes | None, now: float) -> bytes | None:
        """Take one raw read (None: the end); the body once it is whole, else None."""
        if chunk is None:
            return b"".join(self._parts)
        self._parts.append(chunk)
        self._size += len(chunk)
        if self._limit is not None and self._size >= self._limit:
            return b"".join(self._parts)[: self._limit]
        self._core.check_clocks(now)
        return None


def _drain(chunks: Iterator[bytes], clocks: Clocks) -> None:
    """After `[DONE]`, read to the end of the body so the connection returns to the pool.

    Stops early (the connection is then simply not reused) on a read error, or once a clock
    has run out: a server dripping bytes after `[DONE]` cannot hold the call.
    """
    try:
        for _ in chunks:
            now = time.monotonic()
            if now >= clocks.wait_deadline and clocks.expired(now) is not None:
                return
    except httpx.HTTPError:
        return  # the answer is whole


class _Driver:
    """What both handles share: the core, the hooks, the decision, and mapping failures."""

    def __init__(
        self,
        core: CallCore,
        *,
        map_error: ErrorMapper,
        usage_hook: Callable[[UsageReport], Any] | None,
    ) -> None:
        self._core = core
        self._map_error = map_error
        self._usage_hook = usage_hook
        self._done = False

    @property
    def decision(self) -> Decision:
        """The decision this call runs."""
        return self._core.decision

    def __repr__(self) -> str:
        core = self._core
        return (
            f"<{type(self).__name__} mode={core.mode} rule={core.decision.rule!r} "
            f"endpoint={core.endpoint!r}>"
        )

    def _mapped(self, exc: BaseException) -> BaseException:
        """An httpx failure as the router's error: an attempt failure when it is a call's."""
        core = self._core
        error = self._map_error(exc, core, time.monotonic())
        if isinstance(error, CallError):
            return core.transport_failure(error)
        return error

    def _outcome(self) -> Completion:
        """The call's completion, or its error raised."""
        core = self._core
        if core.error is not None:
            raise core.error
        assert core.completion is not None
        return core.completion


# --- the sync driver -------------------------------------------------------------------------


class Call(_Driver):
    """A routed call: iterate for text deltas, then `result()` for the `Completion`.

    A context manager: leaving the block early closes the upstream connection at once and
    ends the call as cancelled. In batch mode the whole text arrives as one delta.
    """

    def __init__(
        self,
        core: CallCore,
        *,
        client: httpx.Client,
        map_error: ErrorMapper,
        usage_hook: Callable[[UsageReport], Any] | None,
    ) -> None:
        super().__init__(core, map_error=map_error, usage_hook=usage_hook)
        self._client = client
        self._steps: Iterator[str] | None = None

    def __enter__(self) -> Call:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[str]:
        # The generator itself: a `for` loop then pays no extra frame per delta.
        if self._done:
            return iter(())
        if self._steps is None:
            self._steps = self._run()
        return self._steps

    def __next__(self) -> str:
        if self._done:
            raise StopIteration
        if self._steps is None:
            self._steps = self._run()
        return next(self._steps)

    def result(self) -> Completion:
        """Drain the call, validate per the decision, and return the `Completion`.

        Raises the call's `CallError` (with the partial completion and the attempts).
        """
        for _ in self:
            pass
        return self._outcome()

    def close(self) -> None:
        """Stop the call now: the upstream connection is closed; an unfinished call is cancelled."""
        self._done = True
        steps, self._steps = self._steps, None
        if steps is not None:
            steps.close()  # type: ignore[attr-defined]
        if self._core.finished_at is None:
            self._core.cancel(time.monotonic())
            self._report(failed=True)

    def _report(self, *, failed: bool) -> None:
        """Tell the usage hook how the call ended (once).

        A hook that raises fails a finished call with `HookFailed`; a failed or cancelled
        call keeps its own error.
        """
        hook = self._usage_hook
        if hook is None:
            return  # no one to tell: the report is not built
        report = self._core.take_report()
        if report is None:
            return
        try:
            hook(report)
        except Exception as exc:
            if not failed:
                raise self._core.hook_failed(exc, time.monotonic()) from exc

    def _run(self) -> Iterator[str]:
        core = self._core
        try:
            action: AttemptAction | SleepAction | StopAction | None = core.plan.start()
            while action is not None:
                if isinstance(action, StopAction):
                    self._report(failed=True)
                    raise action.error
                if isinstance(action, SleepAction):
                    time.sleep(core.sleep_time(action, time.monotonic()))
                    action = core.plan.after_sleep()
                    continue
                try:
                    yield from self._attempt(action)
                except AttemptFailed as failure:
                    action = core.on_attempt_failed(failure, time.monotonic())
                else:
                    action = core.on_answer(time.monotonic())
            self._report(failed=False)
            text = core.final_text()
            if text:
                yield text
        finally:
            self._done = True

    def _attempt(self, action: AttemptAction) -> Iterator[str]:
        core = self._core
        prepared = core.prepare(action, time.monotonic())
        try:
            request = prepared.build(self._client)
            token = READ_DEADLINE.set(core.read_deadline(time.monotonic()))
            try:
                response = self._client.send(request, stream=True)
            finally:
                READ_DEADLINE.reset(token)
            # Unbound before the response closes: the pool may then hand the connection on.
            bound = bind_clocks(response, core.clocks) is not None
            try:
                if not core.on_response(response.status_code, response.headers, time.monotonic()):
                    body = self._read_body(response, bound, limit=ERROR_BODY_LIMIT)
                    core.status_failure(response.status_code, response.headers, body)
                if prepared.stream and core.is_event_stream(response.headers):
                    yield from self._stream(_body_chunks(response, core, bound=bound))
                else:
                    core.on_batch_body(self._read_body(response, bound), time.monotonic())
            finally:
                if bound:
                    bind_clocks(response, None)
                response.close()  # before the end of the body: the connection is dropped
        except httpx.HTTPError as exc:
            raise self._mapped(exc) from None

    def _stream(self, chunks: Iterator[bytes]) -> Iterator[str]:
        core = self._core
        feed = core.feed
        monotonic = time.monotonic
        for chunk in chunks:  # the hot loop: one chunk, one feed, at most one yield
            text = feed(chunk, monotonic())
            if text:
                yield text
            if core.stream_done:
                _drain(chunks, core.clocks)
                break
        text = feed(None, monotonic())
        if text:
            yield text

    def _read_body(
        self, response: httpx.Response, bound: bool, *, limit: int | None = None
    ) -> bytes:
        buffer = BodyBuffer(self._core, limit)
        for chunk in _body_chunks(response, self._core, bound=bound):
            body = buffer.add(chunk, time.monotonic())
            if body is not None:
                return body
        return buffer.add(None, time.monotonic()) or b""


# --- the async driver ------------------------------------------------------------------------


class AsyncCall(_Driver):
    """The async twin of `Call`: `async with`, `async for`, `await result()`, `await aclose()`.

    Cancelling the task that iterates it closes the upstream connection at once and ends the
    call as cancelled (the `CancelledError` still propagates).
    """

    def __init__(
        self,
        core: CallCore,
        *,
        client: httpx.AsyncClient,
        map_error: ErrorMapper,
        usage_hook: Callable[[UsageReport], Any] | None,
        on_start: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(core, map_error=map_error, usage_hook=usage_hook)
        self._client = client
        self._on_start = on_start
        self._steps: AsyncIterator[str] | None = None

    async def __aenter__(self) -> AsyncCall:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncIterator[str]:
        return self

    async def __anext__(self) -> str:
        if self._done:
            raise StopAsyncIteration
        if self._steps is None:
            self._steps = self._run()
        try:
            return await self._steps.__anext__()
        except BaseException as exc:
            self._done = True
            if not isinstance(exc, StopAsyncIteration | CallError | RouterError):
                # Cancellation (or any foreign interruption): close upstream, end as cancelled.
                await self._cancel()
            raise

    async def result(self) -> Completion:
        """Drain the call, validate per the decision, and return the `Completion`."""
        async for _ in self:
            pass
        return self._outcome()

    async def aclose(self) -> None:
        """Stop the call now: the upstream connection is closed; an unfinished call is cancelled."""
        self._done = True
        await self._cancel()

    async def _cancel(self) -> None:
        # Shielded: this runs while the task is being cancelled, and must still finish.
        with anyio.CancelScope(shield=True):
            steps, self._steps = self._steps, None
            if steps is not None:
                await steps.aclose()  # type: ignore[attr-defined]
            if self._core.finished_at is None:
                self._core.cancel(time.monotonic())
                await self._report(failed=True)

    async def _report(self, *, failed: bool) -> None:
        """Tell the usage hook (plain or async) how the call ended (once); see `Call._report`."""
        hook = self._usage_hook
        if hook is None:
            return  # no one to tell: the report is not built
        report = self._core.take_report()
        if report is None:
            return
        try:
            outcome = hook(report)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception as exc:
            if not failed:
                raise self._core.hook_failed(exc, time.monotonic()) from exc

    async def _run(self) -> AsyncIterator[str]:
        core = self._core
        if self._on_start is not None:
            await self._on_start()
        action: AttemptAction | SleepAction | StopAction | None = core.plan.start()
        while action is not None:
            if isinstance(action, StopAction):
                await self._report(failed=True)
                raise action.error
            if isinstance(action, SleepAction):
                await anyio.sleep(core.sleep_time(action, time.monotonic()))
                action = core.plan.after_sleep()
                continue
            try:
                async for text in self._attempt(action):
                    yield text
            except AttemptFailed as failure:
                action = core.on_attempt_failed(failure, time.monotonic())
            else:
                action = core.on_answer(time.monotonic())
        await self._report(failed=False)
        text = core.final_text()
        if text:
            yield text

    async def _attempt(self, action: AttemptAction) -> AsyncIterator[str]:
        core = self._core
        prepared = core.prepare(action, time.monotonic())
        try:
            request = prepared.build(self._client)
            token = READ_DEADLINE.set(core.read_deadline(time.monotonic()))
            try:
                response = await self._client.send(request, stream=True)
            finally:
                READ_DEADLINE.reset(token)
            # Unbound before the response closes: the pool may then hand the connection on.
            bound = bind_clocks(response, core.clocks) is not None
            try:
                if not core.on_response(response.status_code, response.headers, time.monotonic()):
                    body = await self._read_body(response, bound, limit=ERROR_BODY_LIMIT)
                    core.status_failure(response.status_code, response.headers, body)
                if prepared.stream and core.is_event_stream(response.headers):
                    chunks = _abody_chunks(response, core, bound=bound)
                    async for text in self._stream(chunks):
                        yield text
                else:
                    core.on_batch_body(await self._read_body(response, bound), time.monotonic())
            finally:
                if bound:
                    bind_clocks(response, None)
                await response.aclose()  # before the end of the body: the connection is dropped
        except (httpx.HTTPError, TimeoutError) as exc:
            raise self._mapped(exc) from None

    async def _stream(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
        core = self._core
        feed = core.feed
        monotonic = time.monotonic
        async for chunk in chunks:  # the hot loop: one chunk, one feed, at most one yield
            text = feed(chunk, monotonic())
            if text:
                yield text
            if core.stream_done:
                await _adrain(chunks, core.clocks)
                break
        text = feed(None, monotonic())
        if text:
            yield text

    async def _read_body(
        self, response: httpx.Response, bound: bool, *, limit: int | None = None
    ) -> bytes:
        buffer = BodyBuffer(self._core, limit)
        chunks = _abody_chunks(response, self._core, bound=bound)
        async for chunk in chunks:
            body = buffer.add(chunk, time.monotonic())
            if body is not None:
                return body
        return buffer.add(None, time.monotonic()) or b""


async def _adrain(chunks: AsyncIterator[bytes], clocks: Clocks) -> None:
    """The async twin of `_drain`."""
    try:
        async for _ in chunks:
            now = time.monotonic()
            if now >= clocks.wait_deadline and clocks.expired(now) is not None:
                return
    except (httpx.HTTPError, TimeoutError):
        return  # the answer is whole
