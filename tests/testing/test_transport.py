"""SimulatedTransport answers the same scripts with the same bytes, and no sockets."""

from __future__ import annotations

import json

import anyio
import httpx
import pytest

from router.testing import Fault, Reply, SimulatedProvider, SimulatedTransport

from .conftest import chat, chunks, content

BASE = "https://api.openai.com/v1"


def test_sync_stream_and_whole_answer() -> None:
    transport = SimulatedTransport(Reply.text("Hi there"))
    with httpx.Client(verify=False, transport=transport, base_url=BASE) as client:
        streamed = client.post("/chat/completions", json=chat(stream=True))
        whole = client.post("/chat/completions", json=chat())
    assert streamed.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert content(streamed.content) == "Hi there"
    assert streamed.content.endswith(b"data: [DONE]\n\n")
    assert whole.json()["choices"][0]["message"]["content"] == "Hi there"
    assert [r.stream for r in transport.requests] == [True, False]


@pytest.mark.anyio
async def test_async_stream_with_usage() -> None:
    transport = SimulatedTransport(Reply.text("async hi"))
    async with httpx.AsyncClient(verify=False, transport=transport, base_url=BASE) as client:
        response = await client.post(
            "/chat/completions", json=chat(stream=True, stream_options={"include_usage": True})
        )
    parsed = chunks(response.content)
    assert parsed[-1]["choices"] == []
    assert parsed[-1]["usage"]["completion_tokens"] == 2


def test_sequence_and_connection_faults_raise_what_httpx_raises() -> None:
    transport = SimulatedTransport(
        steps=[
            Fault.refuse_connection(),
            Fault.reset_connection(),
            Fault.http_status(429, retry_after=3),
        ]
    )
    with httpx.Client(verify=False, transport=transport, base_url=BASE) as client:
        with pytest.raises(httpx.ConnectError):
            client.post("/chat/completions", json=chat())
        with pytest.raises(httpx.ReadError):
            client.post("/chat/completions", json=chat())
        limited = client.post("/chat/completions", json=chat())
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "3"
        assert client.post("/chat/completions", json=chat()).status_code == 200
    assert len(transport.requests) == 4


@pytest.mark.parametrize("fault", [Fault.close_mid_stream(after=2), Fault.short_body()])
def test_cut_streams_raise_remote_protocol_error(fault: Fault) -> None:
    transport = SimulatedTransport(fault)
    received: list[bytes] = []

    def read() -> None:
        with (
            httpx.Client(verify=False, transport=transport, base_url=BASE) as client,
            client.stream("POST", "/chat/completions", json=chat(stream=True)) as response,
        ):
            for data in response.iter_raw():
                received.append(data)  # keep what came before the error

    with pytest.raises(httpx.RemoteProtocolError):
        read()
    assert b"data: " in b"".join(received)
    assert transport.requests[0].finished


def test_stream_faults_give_the_same_bytes_as_the_server() -> None:
    transport = SimulatedTransport(
        steps=[Fault.error_event(after=1), Fault.end_without_done(after=1)]
    )
    with httpx.Client(verify=False, transport=transport, base_url=BASE) as client:
        errored = client.post("/chat/completions", json=chat(stream=True)).content
        unfinished = client.post("/chat/completions", json=chat(stream=True)).content
    assert json.loads(errored.split(b"data: ")[-1])["error"]["type"] == "server_error"
    assert b"[DONE]" not in unfinished
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks(unfinished))


def test_closing_a_stream_early_is_recorded() -> None:
    transport = SimulatedTransport(Reply.text("a b c d e f"))
    with (
        httpx.Client(verify=False, transport=transport, base_url=BASE) as client,
        client.stream("POST", "/chat/completions", json=chat(stream=True)) as response,
    ):
        next(response.iter_raw())
    assert transport.requests[0].client_closed


@pytest.mark.anyio
async def test_async_pauses_are_cancellable() -> None:
    transport = SimulatedTransport(Fault.stall_before_first_event(), max_stall=30)
    async with httpx.AsyncClient(verify=False, transport=transport, base_url=BASE) as client:
        with anyio.move_on_after(0.2) as scope:
            async with client.stream(
                "POST", "/chat/completions", json=chat(stream=True)
            ) as response:
                async for _ in response.aiter_raw():
                    pass
    assert scope.cancelled_caught
    assert transport.requests[0].client_closed


def test_models_endpoint() -> None:
    transport = SimulatedTransport()
    with httpx.Client(verify=False, transport=transport, base_url=BASE) as client:
        assert client.get("/models").json()["object"] == "list"


def test_answers_carry_the_same_headers_and_framing_as_the_server() -> None:
    varying = {"date", "x-request-id", "connection"}

    def exchange(client: httpx.Client) -> list[tuple[list[str], bytes]]:
        unpadded = {"include_obfuscation": False}  # random padding would vary the sizes
        bodies = [chat(), chat(stream=True, stream_options=unpadded)]
        answers = [client.post("/chat/completions", json=body) for body in bodies]
        return [(sorted(set(a.headers) - varying), a.content) for a in answers]

    reply = Reply.text("Same bytes", usage={"total_tokens": 2})
    transport = SimulatedTransport(reply)
    with httpx.Client(transport=transport, base_url=BASE) as client:
        simulated = exchange(client)
    with (
        SimulatedProvider(reply) as provider,
        httpx.Client(verify=False, base_url=provider.base_url) as client,
    ):
        served = exchange(client)
    assert [names for names, _ in simulated] == [names for names, _ in served]
    assert "content-length" in simulated[0][0]
    assert "transfer-encoding" in simulated[1][0]
    assert [len(body) for _, body in simulated] == [len(body) for _, body in served]
