"""The server speaks HTTP/1.1 like a real provider: keep-alive, chunked streams, clean stops."""

from __future__ import annotations

import contextlib
import socket
import threading

import anyio
import httpx
import pytest

from router.testing import Fault, Reply, SimulatedProvider

from .conftest import chat, content, get, post


def test_base_url_is_loopback_with_a_free_port() -> None:
    with SimulatedProvider() as provider:
        assert provider.base_url == f"http://127.0.0.1:{provider.port}/v1"
        assert provider.port > 0


def test_keep_alive_carries_several_requests_over_one_connection(
    provider: SimulatedProvider,
) -> None:
    with httpx.Client(verify=False, base_url=provider.base_url) as client:
        for stream in (False, True, False):
            client.post("/chat/completions", json=chat(stream=stream)).raise_for_status()
    ids = [request.connection_id for request in provider.requests]
    assert ids == [ids[0]] * 3
    assert provider.connections_opened == 1


def test_stream_uses_chunked_encoding_and_whole_answers_content_length(
    provider: SimulatedProvider,
) -> None:
    with httpx.Client(verify=False, base_url=provider.base_url) as client:
        whole = client.post("/chat/completions", json=chat())
        streamed = client.post("/chat/completions", json=chat(stream=True))
    assert whole.headers["content-length"] == str(len(whole.content))
    assert "transfer-encoding" not in whole.headers
    assert streamed.headers["transfer-encoding"] == "chunked"
    assert streamed.headers["content-type"] == "text/event-stream; charset=utf-8"


def test_raw_chunked_framing_ends_with_the_zero_length_chunk(provider: SimulatedProvider) -> None:
    provider.set_default(Reply.text("Hi"))
    body = b'{"model":"m","messages":[],"stream":true}'
    request = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    with socket.create_connection(("127.0.0.1", provider.port), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, payload = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nconnection: close" in head
    assert payload.endswith(b"data: [DONE]\n\n\r\n0\r\n\r\n")
    first_size, _, rest = payload.partition(b"\r\n")
    assert rest[: int(first_size, 16)].startswith(b"data: {")


def test_stalled_response_does_not_block_other_connections(provider: SimulatedProvider) -> None:
    provider.enqueue(Fault.stall_before_headers())
    stalled = threading.Thread(
        target=lambda: _swallow(
            lambda: post(provider.base_url + "/chat/completions", json=chat(), timeout=0.3)
        )
    )
    stalled.start()
    provider.wait_for_requests(1)
    answer = post(provider.base_url + "/chat/completions", json=chat(), timeout=2.0)
    assert answer.status_code == 200
    stalled.join(5)
    assert not stalled.is_alive()


def _swallow(call: object) -> None:
    with contextlib.suppress(httpx.HTTPError):
        call()  # type: ignore[operator]


def test_stop_is_prompt_and_leaks_no_thread_even_mid_stall() -> None:
    with (
        SimulatedProvider(Fault.keepalive_forever(interval=0.05)) as provider,  # stopped if we fail
        httpx.Client(verify=False, base_url=provider.base_url, timeout=5.0) as client,
        client.stream("POST", "/chat/completions", json=chat(stream=True)) as response,
    ):
        raw = response.iter_raw()
        next(raw)
        assert provider.threads()
        provider.stop(timeout=2.0)
        assert provider.threads() == []
        with pytest.raises(httpx.RemoteProtocolError):
            list(raw)
    assert not provider.running


def test_every_thread_named_after_the_provider_is_gone_after_the_context() -> None:
    with SimulatedProvider() as provider:
        post(provider.base_url + "/chat/completions", json=chat(stream=True))
        port = provider.port
    assert [t for t in threading.enumerate() if f"simulated-provider:{port}" in t.name] == []


def test_models_list_and_unknown_paths(provider: SimulatedProvider) -> None:
    models = get(provider.base_url + "/models").json()
    assert models["object"] == "list"
    assert models["data"][0] == {
        "id": "gpt-4o-mini",
        "object": "model",
        "created": 1715367049,
        "owned_by": "system",
    }
    missing = post(provider.base_url + "/embeddings", json={})
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "invalid_request_error"


def test_a_body_that_is_not_json_is_a_400(provider: SimulatedProvider) -> None:
    answer = post(provider.base_url + "/chat/completions", content=b"{nope")
    assert answer.status_code == 400
    assert provider.requests[0].body is None


def test_azure_deployment_path_is_chat_completions(provider: SimulatedProvider) -> None:
    url = f"http://127.0.0.1:{provider.port}/openai/deployments/gpt4/chat/completions"
    answer = post(url, params={"api-version": "2024-10-21"}, json=chat())
    assert answer.json()["object"] == "chat.completion"
    assert provider.requests[0].query == "api-version=2024-10-21"


def test_chunked_request_bodies_are_read(provider: SimulatedProvider) -> None:
    def parts() -> object:
        yield b'{"messages": [], '
        yield b'"stream": true}'

    answer = post(provider.base_url + "/chat/completions", content=parts())  # type: ignore[arg-type]
    assert content(answer.content) == "Hello! How can I help you today?"
    assert provider.requests[0].stream


@pytest.mark.anyio
async def test_usable_from_async_tests(provider: SimulatedProvider) -> None:
    provider.set_default(Reply.text("async works", token_delay=0.01))
    async with httpx.AsyncClient(verify=False, base_url=provider.base_url) as client:
        with anyio.fail_after(5):
            answers = [
                await client.post("/chat/completions", json=chat(stream=True)) for _ in range(2)
            ]
    assert [content(a.content) for a in answers] == ["async works"] * 2


def test_expect_100_continue_is_answered(provider: SimulatedProvider) -> None:
    body = b'{"messages": []}'
    head = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
        b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    with socket.create_connection(("127.0.0.1", provider.port), timeout=5) as sock:
        sock.sendall(head)
        assert sock.recv(64) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 200 OK\r\n")


def test_a_failing_request_listener_does_not_break_serving(
    provider: SimulatedProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(request: object) -> None:
        raise RuntimeError("listener bug")

    provider.on_request = broken
    assert post(provider.base_url + "/chat/completions", json=chat()).status_code == 200
    assert "on_request raised RuntimeError: listener bug" in capsys.readouterr().err


def _exchange(provider: SimulatedProvider, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", provider.port), timeout=5) as sock:
        sock.sendall(raw)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"HELLO\r\n\r\n", "not an HTTP/1.x request line"),
        (
            b"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: ten\r\n\r\n",
            "bad Content-Length",
        ),
        (
            b"POST /v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "bad chunk size",
        ),
        (
            b"POST /v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n",
            "bad chunk size",
        ),
        (
            # A declared size over the limit is refused at once, not waited for.
            b"POST /v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"ffffffffff\r\n",
            "body over",
        ),
    ],
)
def test_bytes_that_are_not_http_get_a_400_and_a_close(
    provider: SimulatedProvider, raw: bytes, message: str
) -> None:
    received = _exchange(provider, raw)
    assert received.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"connection: close" in received
    assert message.encode() in received
    assert provider.requests == []


def test_a_responder_that_raises_becomes_a_500_naming_it(
    provider: SimulatedProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(request: object) -> Reply:
        raise ValueError("no answer for you")

    provider.set_default(broken)
    answer = post(provider.base_url + "/chat/completions", json=chat())
    assert answer.status_code == 500
    assert answer.json()["error"]["message"] == (
        "router.testing: the script raised ValueError: no answer for you"
    )
    assert "ValueError: no answer for you" in capsys.readouterr().err
    assert post(provider.base_url + "/chat/completions", json=chat()).status_code == 500


def test_stop_is_prompt_while_writing_to_a_client_that_does_not_read() -> None:
    body = b'{"messages": [], "stream": true}'
    with (
        SimulatedProvider(Fault.huge_line(size=8 * 1024 * 1024)) as provider,  # stopped if we fail
        socket.create_connection(("127.0.0.1", provider.port), timeout=5) as sock,
    ):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
            % (len(body), body)
        )
        provider.wait_for_requests(1)
        provider.stop(timeout=2.0)
        assert provider.threads() == []


def test_idle_keep_alive_connections_close_after_the_timeout() -> None:
    with SimulatedProvider(keep_alive_timeout=0.1) as provider:
        with socket.create_connection(("127.0.0.1", provider.port), timeout=5) as sock:
            sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
            received = b""
            while chunk := sock.recv(65536):  # ends when the server closes the idle connection
                received += chunk
        assert received.startswith(b"HTTP/1.1 200 OK")
        assert b'"object": "list"' in received
