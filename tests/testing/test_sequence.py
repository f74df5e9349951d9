"""Steps answer one request each, in order; the default answers the rest; responders choose."""

from __future__ import annotations

import httpx

from router.testing import Fault, RecordedRequest, Reply, SimulatedProvider

from .conftest import chat, content, get, post


def test_first_call_fails_second_succeeds(provider: SimulatedProvider) -> None:
    provider.enqueue(Fault.http_status(503), Reply.text("second"))
    with httpx.Client(verify=False, base_url=provider.base_url) as client:
        statuses = [client.post("/chat/completions", json=chat()) for _ in range(3)]
    assert [r.status_code for r in statuses] == [503, 200, 200]
    assert statuses[1].json()["choices"][0]["message"]["content"] == "second"
    assert (
        statuses[2].json()["choices"][0]["message"]["content"] == "Hello! How can I help you today?"
    )


def test_steps_given_to_the_constructor() -> None:
    with SimulatedProvider(Reply.text("default"), steps=[Reply.text("one")]) as provider:
        url = provider.base_url + "/chat/completions"
        texts = [post(url, json=chat(stream=True)).content for _ in range(2)]
    assert [content(t) for t in texts] == ["one", "default"]


def test_a_responder_answers_from_the_request(provider: SimulatedProvider) -> None:
    def echo(request: RecordedRequest) -> Reply:
        return Reply.text(request.body["messages"][-1]["content"].upper())

    provider.set_default(echo)
    answer = post(provider.base_url + "/chat/completions", json=chat(stream=True))
    assert content(answer.content) == "SAY HELLO"


def test_models_requests_do_not_consume_steps(provider: SimulatedProvider) -> None:
    provider.enqueue(Fault.http_status(429))
    assert get(provider.base_url + "/models").status_code == 200
    assert post(provider.base_url + "/chat/completions", json=chat()).status_code == 429
