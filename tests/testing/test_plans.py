"""Plans are data: the pauses and writes of a reply or a fault, checked without any I/O."""

from __future__ import annotations

import json
from collections.abc import Iterable

from router.testing import Fault, Reply
from router.testing.answers import reply_plan
from router.testing.faults import fault_plan
from router.testing.plan import Abort, Action, Pause, PlanConfig, Write, reason_phrase
from router.testing.recording import RecordedRequest

from .conftest import recorded


def request(stream: bool = True) -> RecordedRequest:
    return recorded({"messages": [], "stream": stream})


CONFIG = PlanConfig()
TIMED = Reply.text("one two three four", first_token_delay=0.5, token_delay=0.1)


def pauses(actions: Iterable[Action]) -> list[float | None]:
    return [a.seconds for a in actions if isinstance(a, Pause)]


def test_first_token_delay_then_one_token_delay_between_deltas() -> None:
    plan = reply_plan(TIMED, request(), CONFIG)
    assert pauses(list(plan.body)) == [0.5, 0.1, 0.1, 0.1]


def test_a_fault_that_resumes_a_stream_does_not_pay_the_first_token_delay_twice() -> None:
    for fault in (
        Fault.stall_mid_stream(after=2, seconds=1.0, reply=TIMED),
        Fault.malformed_chunk(after=2, reply=TIMED),
        Fault.huge_line(size=10, reply=TIMED),
    ):
        timing = pauses(list(fault_plan(fault, request(), CONFIG).body))
        assert timing.count(0.5) == 1, fault.kind
        assert timing.count(0.1) == 3, fault.kind


def test_whole_answers_hold_their_headers_for_the_streams_duration() -> None:
    plan = reply_plan(TIMED, request(stream=False), CONFIG)
    assert plan.head_pause == Pause(0.5 + 0.1 * 3)


def test_close_mid_stream_ends_with_an_abort_after_its_deltas() -> None:
    actions = list(fault_plan(Fault.close_mid_stream(after=1), request(), CONFIG).body)
    writes = [a for a in actions if isinstance(a, Write)]
    assert isinstance(actions[-1], Abort)
    assert len(writes) == 2  # the role chunk, one delta


def test_forever_faults_are_bounded_by_max_stall() -> None:
    config = PlanConfig(max_stall=0.05)
    actions = list(fault_plan(Fault.keepalive_forever(interval=0.01), request(), config).body)
    assert isinstance(actions[-1], Abort)
    assert actions.count(Write(b": keep-alive\n\n")) >= 1


def test_status_lines_carry_the_standard_reason_phrase() -> None:
    assert reason_phrase(429) == "Too Many Requests"
    assert reason_phrase(422) == "Unprocessable Entity"
    assert reason_phrase(529) == "Unknown"


def test_waiting_faults_on_a_whole_request_hold_the_body_back() -> None:
    whole = request(stream=False)
    stalled = list(fault_plan(Fault.stall_before_first_event(0.2), whole, CONFIG).body)
    assert stalled[0] == Pause(0.2)
    assert isinstance(stalled[1], Write)
    assert json.loads(stalled[1].data)["object"] == "chat.completion"
    for forever in (Fault.keepalive_forever(), Fault.endless_deltas()):
        plan = fault_plan(forever, whole, CONFIG)
        assert list(plan.body) == [Pause(None), Abort()]
        assert plan.content_length  # headers promise an answer that never comes
