"""What the simulated provider costs a test suite, side by side with the servers people use.

Every contender serves the same bytes (made once by `router.testing`): one whole
`chat.completion` answer and one 200-delta stream ending in `[DONE]`. Contenders:

- `ours`: `SimulatedProvider` (standard library, threads in the test's process);
- `uvicorn`: a Starlette app on uvicorn in a thread of the same process (a typical fake);
- `http.server`: the standard library's `ThreadingHTTPServer` with an HTTP/1.1 handler;
- for the socket-free variants: `SimulatedTransport` against `httpx.MockTransport` with a
  handler returning the same bytes.

It prints medians (ms) over rounds, in a rotating order, for: start + stop of a server (paid
by every test using a fixture), a whole answer, a 200-delta stream read to its end, and the
ratio ours / best peer. Run: `python benchmarks/bench_testing.py [--rounds N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from router.testing import Reply, SimulatedProvider, SimulatedTransport

BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello"}]}
STREAM_BODY = {**BODY, "stream": True}
REPLY = Reply.text(" ".join(f"word{i}" for i in range(200)))


def _recorded() -> tuple[bytes, bytes]:
    """The whole answer's and the stream's bytes, as the simulated provider sends them."""
    transport = SimulatedTransport(REPLY)
    with httpx.Client(transport=transport, base_url="http://x/v1") as client:
        whole = client.post("/chat/completions", json=BODY).content
        stream = client.post("/chat/completions", json=STREAM_BODY).content
    return whole, stream


WHOLE, STREAM = _recorded()
#: The stream's SSE events, split once so that the peers only write prepared bytes.
EVENTS = [event + b"\n\n" for event in STREAM.split(b"\n\n")[:-1]]


# --- peers -------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        body = self.rfile.read(length)
        streaming = b'"stream": true' in body or b'"stream":true' in body
        self.send_response(200)
        if streaming:
            self.send_header("content-type", "text/event-stream; charset=utf-8")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for data in EVENTS:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(WHOLE)))
            self.end_headers()
            self.wfile.write(WHOLE)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class StdlibServer:
    """`ThreadingHTTPServer` in a thread."""

    def __enter__(self) -> str:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,))
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def _starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    async def completions(request: Request) -> Response:
        body = await request.json()
        if body.get("stream"):

            async def events() -> Any:
                for data in EVENTS:
                    yield data

            return StreamingResponse(events(), media_type="text/event-stream")
        return Response(WHOLE, media_type="application/json")

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


class UvicornServer:
    """A Starlette app on uvicorn, in a thread."""

    app = None

    def __enter__(self) -> str:
        import socket

        import uvicorn

        if UvicornServer.app is None:
            UvicornServer.app = _starlette_app()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(UvicornServer.app, log_level="error", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})
        self.thread.start()
        while not self.server.started:
            time.sleep(0.001)
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join()
        self.sock.close()


class OurServer:
    """`SimulatedProvider`."""

    def __enter__(self) -> str:
        self.provider = SimulatedProvider(REPLY).start()
        return self.provider.base_url

    def __exit__(self, *exc: object) -> None:
        self.provider.stop()


SERVERS: dict[str, Callable[[], Any]] = {
    "ours": OurServer,
    "uvicorn": UvicornServer,
    "http.server": StdlibServer,
}


def _mock_transport() -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if b'"stream"' in request.content:
            headers = {"content-type": "text/event-stream"}
            return httpx.Response(200, stream=httpx.ByteStream(STREAM), headers=headers)
        headers = {"content-type": "application/json"}
        return httpx.Response(200, stream=httpx.ByteStream(WHOLE), headers=headers)

    return httpx.MockTransport(handler)


TRANSPORTS: dict[str, Callable[[], httpx.BaseTransport]] = {
    "ours": lambda: SimulatedTransport(REPLY),
    "httpx.MockTransport": _mock_transport,
}


# --- measurements --------------------------------------------------------------------------------


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def _read_stream(client: httpx.Client) -> None:
    with client.stream("POST", "/chat/completions", json=STREAM_BODY) as response:
        for _ in response.iter_raw():
            pass


def _rotations(names: list[str], rounds: int) -> Iterator[str]:
    for round_number in range(rounds):
        shift = round_number % len(names)
        yield from names[shift:] + names[:shift]


def measure_servers(rounds: int) -> dict[str, dict[str, float]]:
    samples: dict[str, dict[str, list[float]]] = {
        name: {"start+stop": [], "whole": [], "stream": []} for name in SERVERS
    }
    for name in _rotations(list(SERVERS), rounds):
        server = SERVERS[name]()
        start = time.perf_counter()
        with server as base_url:
            started = time.perf_counter()
            with httpx.Client(base_url=base_url, verify=False) as client:
                client.post("/chat/completions", json=BODY)  # warm the connection
                samples[name]["whole"].append(
                    _timed(lambda: client.post("/chat/completions", json=BODY))
                )
                samples[name]["stream"].append(_timed(lambda: _read_stream(client)))
            stopping = time.perf_counter()
        samples[name]["start+stop"].append(
            ((started - start) + (time.perf_counter() - stopping)) * 1000
        )
    return {n: {k: statistics.median(v) for k, v in s.items()} for n, s in samples.items()}


def measure_transports(rounds: int) -> dict[str, dict[str, float]]:
    samples: dict[str, dict[str, list[float]]] = {
        n: {"whole": [], "stream": []} for n in TRANSPORTS
    }
    for name in _rotations(list(TRANSPORTS), rounds):
        with httpx.Client(transport=TRANSPORTS[name](), base_url="http://x/v1") as client:
            samples[name]["whole"].append(
                _timed(lambda: client.post("/chat/completions", json=BODY))
            )
            samples[name]["stream"].append(_timed(lambda: _read_stream(client)))
    return {n: {k: statistics.median(v) for k, v in s.items()} for n, s in samples.items()}


def _table(title: str, results: dict[str, dict[str, float]]) -> None:
    columns = list(next(iter(results.values())))
    print(f"{title}: median ms")
    print("| contender | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for name, row in results.items():
        print(f"| {name} | " + " | ".join(f"{row[c]:.2f}" for c in columns) + " |")
    peers = {n: r for n, r in results.items() if n != "ours"}
    ratios = []
    for column in columns:
        best = min(row[column] for row in peers.values())
        ratios.append(f"{column} {results['ours'][column] / best:.2f}x")
    print("ours / best peer: " + ", ".join(ratios) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv if argv is not None else [])
    asyncio.set_event_loop_policy(None)
    _table("servers (start+stop, whole answer, 200-delta stream)", measure_servers(args.rounds))
    _table("socket-free transports", measure_transports(args.rounds * 5))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
