"""Every fault, observed from a plain httpx client, sync and async."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from router.testing import Fault, Reply, SimulatedProvider

from .conftest import chat, post
from .observe import Observe, observe_async, observe_sync


@pytest.fixture(params=["sync", "async"])
def observe(request: pytest.FixtureRequest) -> Observe:
    return observe_sync if request.param == "sync" else observe_async


def url(provider: SimulatedProvider) -> str:
    return provider.base_url + "/chat/completions"


def test_refuse_connection_for_a_window_then_serve(
    provider: SimulatedProvider, observe: Observe
) -> None:
    with httpx.Client(verify=False) as client:
        assert client.post(url(provider), json=chat()).status_code == 200  # a kept-alive connection
        provider.enqueue(Fault.refuse_connection(seconds=0.4))
        with pytest.raises(httpx.ConnectError):
            client.post(url(provider), json=chat())
    seen = observe(url(provider), chat())
    assert isinstance(seen.error, httpx.ConnectError)
    time.sleep(0.5)
    assert observe(url(provider), chat()).status == 200


def test_refusal_queued_behind_a_failure_closes_the_kept_alive_connection(
    provider: SimulatedProvider,
) -> None:
    provider.enqueue(Fault.http_status(503), Fault.refuse_connection(seconds=0.3))
    with httpx.Client(verify=False) as client:
        assert client.post(url(provider), json=chat()).status_code == 503
        with pytest.raises(httpx.ConnectError):
            client.post(url(provider), json=chat())
        time.sleep(0.4)
        assert client.post(url(provider), json=chat()).status_code == 200
    assert [r.connection_id for r in provider.requests] == [1, 2]


def test_a_refusing_default_refuses_until_it_changes() -> None:
    with SimulatedProvider(Fault.refuse_connection(seconds=0.05)) as provider:
        for _ in range(3):
            with pytest.raises(httpx.ConnectError):
                post(url(provider), json=chat())
            time.sleep(0.06)
        provider.set_default(Reply.text("back"))
        time.sleep(0.1)
        assert post(url(provider), json=chat()).status_code == 200


def test_reset_connection(provider: SimulatedProvider, observe: Observe) -> None:
    provider.enqueue(Fault.reset_connection())
    seen = observe(url(provider), chat())
    assert seen.status is None
    assert isinstance(seen.error, (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError))
    assert observe(url(provider), chat()).status == 200


def test_stall_before_headers(provider: SimulatedProvider, observe: Observe) -> None:
    provider.enqueue(Fault.stall_before_headers(), Fault.stall_before_headers(0.2))
    seen = observe(url(provider), chat(stream=True), read_timeout=0.3)
    assert seen.status is None
    assert isinstance(seen.error, httpx.ReadTimeout)
    late = observe(url(provider), chat(stream=True))
    assert late.status == 200
    assert late.reads[0][0] >= 0.15
    assert late.events[-1] == "[DONE]"


@pytest.mark.parametrize(
    ("status", "retry_after", "retry_after_ms", "expected"),
    [
        (429, 2, None, {"retry-after": "2"}),
        (429, None, 250, {"retry-after-ms": "250"}),
        (500, None, None, {}),
        (503, 1.5, 1500, {"retry-after": "1.5", "retry-after-ms": "1500"}),
    ],
)
def test_error_statuses_with_retry_headers(
    provider: SimulatedProvider,
    observe: Observe,
    status: int,
    retry_after: float | None,
    retry_after_ms: int | None,
    expected: dict[str, str],
) -> None:
    provider.enqueue(
        Fault.http_status(status, retry_after=retry_after, retry_after_ms=retry_after_ms)
    )
    seen = observe(url(provider), chat(stream=True))
    assert seen.status == status
    assert seen.headers["content-type"] == "application/json"
    for name in ("retry-after", "retry-after-ms"):
        assert seen.headers.get(name) == expected.get(name)
    error = json.loads(seen.raw)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    if status == 429:
        assert error["code"] == "rate_limit_exceeded"


def test_stall_after_headers_before_the_first_event(
    provider: SimulatedProvider, observe: Observe
) -> None:
    provider.enqueue(Fault.stall_before_first_event())
    seen = observe(url(provider), chat(stream=True), read_timeout=0.3)
    assert seen.status == 200
    assert seen.headers["content-type"].startswith("text/event-stream")
    assert seen.raw == b""
    assert isinstance(seen.error, httpx.ReadTimeout)


def test_keepalive_comments_forever_with_no_content(
    provider: SimulatedProvider, observe: Observe
) -> None:
    provider.enqueue(Fault.keepalive_forever(interval=0.02))
    seen = observe(url(provider), chat(stream=True), max_seconds=0.3)
    assert seen.error is None
    assert seen.raw.count(b": keep-alive\n\n") >= 5
    assert seen.raw.replace(b": keep-alive\n\n", b"") == b""
    assert provider.requests[0].wait_client_closed(1.0)


def test_stall_mid_stream_after_n_deltas(provider: SimulatedProvider, observe: Observe) -> None:
    provider.enqueue(Fault.stall_mid_stream(after=2))
    seen = observe(url(provider), chat(stream=True), read_timeout=0.3)
    assert isinstance(seen.error, httpx.ReadTimeout)
    deltas = [c["choices"][0]["delta"] for c in seen.chunks]
    assert deltas == [
        {"role": "assistant", "content": "", "refusal": None},
        {"content": "The"},
        {"content": " quick"},
    ]


def test_close_mid_stream(provider: SimulatedProvider, observe: Observe) -> None:
    provider.enqueue(Fault.close_mid_stream(after=3))
    seen = observe(url(provider), chat(stream=True))
    assert isinstance(seen.error, httpx.RemoteProtocolError)
    assert len(seen.chunks) == 4
    assert "[DONE]" not in seen.events


def test_end_without_done_and_without_finish_reason(
    provider: SimulatedProvider, observe: Observe
) -> None:
    provider.enqueue(Fault.end_without_done(after=2))
    seen = observe(url(provider), chat(stream=True, stream_options={"include_usage": True}))
    assert seen.error is None
    assert "[DONE]" not in seen.events
    assert len(seen.chunks) == 3
    assert all(c["choices"][0]["finish_reason"] is None for c in seen.chunks)


def test_malformed_json_chunk(provider: SimulatedProvider, observe: Observe) -> None:
    provider.enqueue(Fault.malformed_chunk(after=1))
    seen = observe(url(provider), chat(stream=True))
    broken = []
    for data in seen.events:
        if data == "[DONE]":
            continue
        try:
            json.loads(data)
        except json.JSONDecodeError:
            broken.append(data)
    assert len(broken) == 1
    assert seen.events.index(broken[0]) == 2
    assert seen.events[-1] == "[DONE]"


def test_error_payload_mid_stream(provider: SimulatedProvider, observe: Observe) -> None:
    provider.enqueue(Fault.error_event(after=2, message="boom", code="server_overloaded"))
    seen = observe(url(provider), chat(stream=True))
    assert seen.error is None
    last = json.loads(seen.events[-1])
    assert last == {
        "error": {
            "message": "boom",
            "type": "server_error",
            "param": None,
            "code": "server_overloaded",
        }
    }
    assert len(seen.events) == 4


def test_wrong_content_type_for_a_stream(provider: SimulatedProvider, observe: Observe) -> None:
    provider.enqueue(Fault.wrong_content_type())
    seen = observe(url(provider), chat(stream=True))
    assert seen.status == 200
    assert seen.headers["content-type"] == "application/json"
    assert "error" in json.loads(seen.raw)


def test_one_twenty_mebibyte_line(provider: SimulatedProvider, observe: Observe) -> None:
    provider.enqueue(Fault.huge_line())
    seen = observe(url(provider), chat(stream=True), read_timeout=5.0, max_seconds=10.0)
    assert seen.error is None
    longest = max(seen.raw.split(b"\n"), key=len)
    assert len(longest) >= 20 * 1024 * 1024
    assert seen.events[-1] == "[DONE]"


def test_bytes_dripped_one_at_a_time(provider: SimulatedProvider, observe: Observe) -> None:
    assert Fault.drip().interval == 0.1
    provider.enqueue(Fault.drip())
    seen = observe(url(provider), chat(stream=True), max_reads=4)
    assert [data for _, data in seen.reads] == [b"d", b"a", b"t", b"a"]
    assert seen.reads[-1][0] - seen.reads[0][0] >= 0.25


def test_content_deltas_forever(provider: SimulatedProvider, observe: Observe) -> None:
    provider.enqueue(Fault.endless_deltas(interval=0.01))
    seen = observe(url(provider), chat(stream=True), max_seconds=0.4)
    assert seen.error is None
    assert len([c for c in seen.chunks if c["choices"][0]["delta"].get("content")]) >= 10
    assert "[DONE]" not in seen.events
    assert provider.requests[0].wait_client_closed(1.0)


def test_non_streaming_body_cut_short_of_its_content_length(
    provider: SimulatedProvider, observe: Observe
) -> None:
    provider.enqueue(Fault.short_body(missing=10))
    seen = observe(url(provider), chat())
    assert seen.status == 200
    assert isinstance(seen.error, httpx.RemoteProtocolError)
    assert len(seen.raw) == int(seen.headers["content-length"]) - 10


def test_end_without_done_on_a_whole_request_keeps_the_answer_but_no_finish_reason(
    provider: SimulatedProvider,
) -> None:
    usage = {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    reply = Reply.text("cut here", reasoning="thinking", usage=usage)
    provider.enqueue(Fault.end_without_done(reply=reply))
    answer = post(url(provider), json=chat(n=2)).json()
    assert [choice["finish_reason"] for choice in answer["choices"]] == [None, None]
    message = answer["choices"][0]["message"]
    assert (message["content"], message["reasoning_content"]) == ("cut here", "thinking")
    assert answer["usage"] == usage


def test_stream_faults_on_whole_requests(provider: SimulatedProvider, observe: Observe) -> None:
    provider.enqueue(
        Fault.close_mid_stream(),
        Fault.malformed_chunk(),
        Fault.wrong_content_type(),
        Fault.stall_before_first_event(),
    )
    cut = observe(url(provider), chat())
    assert isinstance(cut.error, httpx.RemoteProtocolError)
    broken = observe(url(provider), chat())
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.raw)
    html = observe(url(provider), chat())
    assert html.headers["content-type"] == "text/html"
    stalled = observe(url(provider), chat(), read_timeout=0.3)
    assert stalled.status == 200
    assert isinstance(stalled.error, httpx.ReadTimeout)


def test_forever_faults_end_at_max_stall() -> None:
    with SimulatedProvider(Fault.stall_before_first_event(), max_stall=0.3) as provider:
        seen = observe_sync(url(provider), chat(stream=True), read_timeout=3.0)
    assert seen.status == 200
    assert seen.events[-1] == "[DONE]"
    assert seen.reads[0][0] >= 0.25


def test_reply_given_to_a_fault_is_the_one_corrupted(provider: SimulatedProvider) -> None:
    provider.enqueue(Fault.close_mid_stream(after=1, reply=Reply.text("alpha beta gamma")))
    seen = observe_sync(url(provider), chat(stream=True))
    assert seen.chunks[-1]["choices"][0]["delta"] == {"content": "alpha"}


def test_after_zero_breaks_the_stream_before_any_progress(provider: SimulatedProvider) -> None:
    provider.enqueue(Fault.error_event(after=0), Fault.end_without_done(after=0))
    errored = observe_sync(url(provider), chat(stream=True))
    assert [list(c) for c in errored.chunks][-1] == ["error"]
    assert len(errored.chunks) == 2  # the role chunk, then the error
    unfinished = observe_sync(url(provider), chat(stream=True))
    assert len(unfinished.chunks) == 1
    assert unfinished.chunks[0]["choices"][0]["delta"]["role"] == "assistant"


def test_retry_after_as_an_http_date_and_rate_limit_headers(provider: SimulatedProvider) -> None:
    date = "Wed, 21 Oct 2015 07:28:00 GMT"
    provider.enqueue(
        Fault.http_status(429, retry_after=date), Fault.http_status(429, retry_after=2)
    )
    dated = observe_sync(url(provider), chat())
    assert dated.headers["retry-after"] == date
    assert dated.headers["x-ratelimit-remaining-requests"] == "0"
    seconds = observe_sync(url(provider), chat())
    assert seconds.headers["x-ratelimit-reset-requests"] == "2s"
    answered = observe_sync(url(provider), chat(stream=True))
    assert answered.headers["x-ratelimit-limit-requests"] == "10000"
    assert int(answered.headers["x-ratelimit-remaining-requests"]) > 0
