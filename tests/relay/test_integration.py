"""The relay end to end: uvicorn on loopback, the real AsyncRouter, the simulated provider."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.routing import Route

from router import AsyncRouter
from router.relay import Relay
from router.sse import ServerSentEvent, SSEDecoder
from router.testing import Fault, Reply, SimulatedProvider

Serve = Callable[[Any], AbstractContextManager[str]]
TIMEOUT = httpx.Timeout(10.0)


@contextmanager
def relay_site(
    serve: Serve,
    provider: SimulatedProvider,
    *,
    ping_interval: float = 15.0,
    decisions: list[Any] | None = None,
    **hints: Any,
) -> Iterator[str]:
    router = AsyncRouter(
        base_url=provider.base_url,
        api_key="sk-test-KEY",
        decision_hook=decisions.append if decisions is not None else None,
    )
    relay = Relay(router, ping_interval=ping_interval)
    endpoint = relay.endpoint(model="server-model", **hints)
    app = Starlette(routes=[Route("/chat", endpoint, methods=["GET", "POST"])])
    with serve(app) as base_url:
        yield base_url + "/chat"


def events_of(response: httpx.Response) -> Iterator[ServerSentEvent | str]:
    """Each event as it arrives, and the text of each comment block (such as "ping")."""
    decoder = SSEDecoder()
    for chunk in response.iter_raw():
        for block in chunk.decode().split("\n\n"):
            if block.startswith(": "):
                yield block[2:]
        yield from decoder.decode(chunk)


def relayed(url: str, body: Any) -> list[ServerSentEvent | str]:
    with httpx.stream("POST", url, json=body, timeout=TIMEOUT) as response:
        assert response.status_code == 200
        return list(events_of(response))


def payloads(events: list[ServerSentEvent | str]) -> list[tuple[str, Any]]:
    return [
        (event.event, json.loads(event.data))
        for event in events
        if isinstance(event, ServerSentEvent)
    ]


def test_browser_hanging_up_closes_the_upstream_within_one_second(serve: Serve) -> None:
    reply = Reply.text(" word" * 500, token_delay=0.02)
    with (
        SimulatedProvider(reply, max_stall=10) as provider,
        relay_site(serve, provider, audience="user") as url,
    ):
        with httpx.stream("POST", url, json={"prompt": "hi"}, timeout=TIMEOUT) as response:
            for event in events_of(response):
                if isinstance(event, ServerSentEvent) and event.event == "delta":
                    break
            [request] = provider.chat_requests
            assert not request.client_closed
        hung_up = time.monotonic()
        assert request.wait_client_closed(timeout=1.0), "upstream still open after 1 s"
        assert time.monotonic() - hung_up < 1.0
        assert len(provider.chat_requests) == 1


def test_stream_and_batch_decisions_end_in_the_same_events(serve: Serve) -> None:
    with SimulatedProvider(Reply.text("Hello there, friend.")) as provider:
        with relay_site(serve, provider, audience="user") as url:
            streamed = payloads(relayed(url, {"prompt": "hi"}))
        assert [name for name, _ in streamed] == ["delta", "delta", "delta", "done"]
        assert "".join(data["text"] for _, data in streamed[:-1]) == "Hello there, friend."
        assert streamed[-1][1] == {
            "finish_reason": "stop",
            "status": "complete",
            "mode": "stream",
            "validated": False,
        }
        with relay_site(serve, provider, audience="service") as url:
            whole = payloads(relayed(url, {"prompt": "hi"}))
        assert whole == [
            ("delta", {"text": "Hello there, friend."}),
            (
                "done",
                {
                    "finish_reason": "stop",
                    "status": "complete",
                    "mode": "batch",
                    "validated": False,
                },
            ),
        ]
        assert [request.stream for request in provider.chat_requests] == [True, False]


def test_pings_flow_while_the_model_thinks(serve: Serve) -> None:
    with (
        SimulatedProvider(Reply.text("Done thinking.", first_token_delay=0.25)) as provider,
        relay_site(serve, provider, ping_interval=0.05, audience="user") as url,
    ):
        events = relayed(url, {"prompt": "hi"})
    assert events[0] == "ping"
    assert [event.event for event in events if isinstance(event, ServerSentEvent)][-1] == "done"


def test_upstream_error_reaches_the_browser_without_its_body_or_the_key(serve: Serve) -> None:
    fault = Fault.http_status(400, message="Invalid request: org-PRIVATE quota details")
    with (
        SimulatedProvider(fault) as provider,
        relay_site(serve, provider, audience="user") as url,
    ):
        events = relayed(url, {"prompt": "hi"})
    [(name, data)] = payloads(events)
    assert name == "error"
    assert data == {
        "type": "UpstreamStatusError",
        "message": "The model service answered with an error (400).",
        "partial": "",
    }
    raw = json.dumps(data)
    assert "PRIVATE" not in raw
    assert "sk-test-KEY" not in raw


def test_stream_cut_mid_way_reports_the_text_already_delivered(serve: Serve) -> None:
    reply = Reply.text("one two three four five")
    with (
        SimulatedProvider(Fault.close_mid_stream(after=2, reply=reply)) as provider,
        relay_site(serve, provider, audience="user") as url,
    ):
        events = payloads(relayed(url, {"prompt": "hi"}))
    assert [name for name, _ in events] == ["delta", "delta", "error"]
    delivered = "".join(data["text"] for name, data in events if name == "delta")
    assert delivered == "one two"
    assert events[-1][1]["partial"] == delivered
    assert events[-1][1]["type"] == "StreamInterrupted"
    assert len(provider.chat_requests) == 1  # no retry once text reached the browser


def test_the_browser_cannot_change_model_billing_labels_or_format(serve: Serve) -> None:
    decisions: list[Any] = []
    hostile = {
        "prompt": "hi",
        "model": "the-priciest-model",
        "billing": "none",
        "labels": {"tenant": "someone-else"},
        "response_format": {"type": "json_object"},
        "stream": False,
    }
    with SimulatedProvider(Reply.text("ok")) as provider:
        with relay_site(
            serve,
            provider,
            decisions=decisions,
            audience="user",
            billing="after_delivery",
            labels={"tenant": "acme"},
        ) as url:
            assert payloads(relayed(url, hostile))[-1][0] == "done"
        [request] = provider.chat_requests
    assert request.body["model"] == "server-model"
    assert "response_format" not in request.body
    assert request.body["stream"] is True
    [decision] = decisions
    assert decision.mode == "stream"
    assert decision.intent["billing"] == "after_delivery"
    assert decision.intent["labels"] == {"tenant": "acme"}
    assert decision.intent["model"] == "server-model"
    assert decision.intent["output"] == "text"


def test_reconnect_gets_204_and_the_provider_sees_one_call(serve: Serve) -> None:
    with SimulatedProvider(Reply.text("once")) as provider:
        with relay_site(serve, provider, audience="user") as url:
            with httpx.stream("GET", url, params={"prompt": "hi"}, timeout=TIMEOUT) as response:
                events = [e for e in events_of(response) if isinstance(e, ServerSentEvent)]
            last_id = events[-1].id
            assert last_id is not None
            again = httpx.get(
                url, params={"prompt": "hi"}, headers={"Last-Event-ID": last_id}, timeout=TIMEOUT
            )
            unknown = httpx.post(
                url, json={"prompt": "hi"}, headers={"Last-Event-ID": "nope"}, timeout=TIMEOUT
            )
        assert (again.status_code, again.content) == (204, b"")
        assert unknown.status_code == 204
        assert len(provider.chat_requests) == 1


def test_a_refusal_is_told_in_done_rather_than_left_blank(serve: Serve) -> None:
    with (
        SimulatedProvider(Reply.refusal("I can't help with that.")) as provider,
        relay_site(serve, provider, audience="user") as url,
    ):
        events = payloads(relayed(url, {"prompt": "hi"}))
    [(name, done)] = events
    assert name == "done"
    assert done["refusal"] == "I can't help with that."
