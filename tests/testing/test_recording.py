"""Every request is recorded; secrets are readable by assertions and redacted when printed."""

from __future__ import annotations

import time

import httpx

from router.redact import SECRET_HEADERS
from router.testing import Fault, RecordedHeaders, Reply, SimulatedProvider

from .conftest import chat, get, post


def test_records_method_path_body_headers_and_stream_flag(provider: SimulatedProvider) -> None:
    post(
        provider.base_url + "/chat/completions",
        json=chat(stream=True, stream_options={"include_usage": True}),
        headers={
            "Authorization": "Bearer sk-secret-123",
            "api-key": "azure-secret",
            "X-Trace": "t1",
        },
    )
    (request,) = provider.requests
    assert request.method == "POST"
    assert request.path == "/v1/chat/completions"
    assert request.body["messages"] == [{"role": "user", "content": "Say hello"}]
    assert request.stream is True
    assert request.stream_options == {"include_usage": True}
    assert request.headers["authorization"] == "Bearer sk-secret-123"
    assert request.headers["X-Trace"] == "t1"
    assert request.wait_finished(2)
    assert not request.client_closed


def test_secrets_are_redacted_in_repr_and_str(provider: SimulatedProvider) -> None:
    post(
        provider.base_url + "/chat/completions",
        json=chat(),
        headers={"Authorization": "Bearer sk-secret-123", "x-api-key": "k-456", "api-key": "a-789"},
    )
    (request,) = provider.requests
    for text in (repr(request), str(request), repr(request.headers), str(request.headers)):
        assert "sk-secret-123" not in text
        assert "k-456" not in text
        assert "a-789" not in text
        assert "[redacted]" in text
    assert request.headers.redacted()["authorization"] == "[redacted]"
    assert ("Authorization", "Bearer sk-secret-123") in request.headers.raw_items()


def test_every_credential_header_the_library_knows_is_redacted() -> None:
    items = [(name.title(), f"secret-{i}") for i, name in enumerate(sorted(SECRET_HEADERS))]
    headers = RecordedHeaders([*items, ("X-Trace", "t1"), ("x-trace", "t2")])
    assert list(headers) == [*sorted(SECRET_HEADERS), "x-trace"]
    assert headers.redacted() == {
        **{name: "[redacted]" for name in sorted(SECRET_HEADERS)},
        "x-trace": "t1, t2",
    }
    assert "secret-" not in repr(headers)


def test_client_closing_a_stream_early_is_detected_promptly(provider: SimulatedProvider) -> None:
    provider.set_default(Reply.text("word " * 200, token_delay=0.05))
    with httpx.Client(verify=False, base_url=provider.base_url) as client:
        with client.stream("POST", "/chat/completions", json=chat(stream=True)) as response:
            next(response.iter_raw())
        closed_at = time.monotonic()
    (request,) = provider.requests
    assert request.wait_client_closed(1.0)
    assert time.monotonic() - closed_at < 1.0


def test_client_leaving_during_a_stall_is_detected(provider: SimulatedProvider) -> None:
    provider.set_default(Fault.stall_before_first_event())
    with (
        httpx.Client(verify=False, base_url=provider.base_url) as client,
        client.stream("POST", "/chat/completions", json=chat(stream=True)) as response,
    ):
        assert response.status_code == 200
    assert provider.requests[0].wait_client_closed(1.0)


def test_a_complete_exchange_is_not_an_early_close(provider: SimulatedProvider) -> None:
    with httpx.Client(verify=False, base_url=provider.base_url) as client:
        client.post("/chat/completions", json=chat(stream=True))
    (request,) = provider.requests
    assert request.wait_finished(2)
    assert not request.client_closed


def test_new_connections_get_new_ids(provider: SimulatedProvider) -> None:
    for _ in range(2):
        with httpx.Client(verify=False, base_url=provider.base_url) as client:
            client.post("/chat/completions", json=chat())
    first, second = provider.requests
    assert first.connection_id != second.connection_id


def test_wait_for_requests_and_reset(provider: SimulatedProvider) -> None:
    assert provider.wait_for_requests(1, timeout=0.05) == []
    provider.enqueue(Fault.http_status(500))
    get(provider.base_url + "/models")
    assert len(provider.wait_for_requests(1)) == 1
    provider.reset()
    assert provider.requests == []
    assert provider.script.pending == 0


def test_arrival_times_show_the_gap_between_retries(provider: SimulatedProvider) -> None:
    before = time.monotonic()
    post(provider.base_url + "/chat/completions", json=chat())
    time.sleep(0.2)
    post(provider.base_url + "/chat/completions", json=chat())
    first, second = provider.requests
    assert before <= first.received_at < second.received_at
    assert second.received_at - first.received_at >= 0.15
