"""The relay's own cost: re-serving a call's deltas as SSE, side by side with its peers.

Each contender is a Starlette endpoint relaying the same call handle, which yields DELTAS
short text deltas instantly (no network: what is measured is the relay, not the model). The
ASGI app is driven in memory: the request body goes in, every `http.response.body` message is
collected. Contenders, run in a rotating order each round:

- `naive`: a hand-rolled `StreamingResponse` generator writing `event: delta` lines with
  `json.dumps` (no pings, no error events, no cancellation handling);
- `sse-starlette`: `EventSourceResponse` from the sse-starlette package (where installed),
  the same events, with its pings;
- `ours`: `Relay.endpoint(...)` (`EventStreamResponse`: pings, disconnect watcher, ids).

It prints the median time to the first event and per delta, and ours/peer ratios.
Run: `python benchmarks/bench_relay.py [--rounds N] [--deltas N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from router.completion import Choice, Completion, Message, Status
from router.relay import Relay

DELTAS = 20_000
PIECE = " token"


class InstantCall:
    """A call handle (AsyncRouter's contract) whose deltas are ready at once."""

    def __init__(self, deltas: int) -> None:
        self.deltas = deltas
        self.decision = _Decision()

    async def __aenter__(self) -> InstantCall:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    def __aiter__(self) -> AsyncIterator[str]:
        return self._pieces()

    async def _pieces(self) -> AsyncIterator[str]:
        for _ in range(self.deltas):
            yield PIECE

    async def result(self) -> Completion:
        message = Message(content=PIECE * self.deltas)
        return Completion(
            choices=[Choice(message=message, finish_reason="stop")], status=Status.COMPLETE
        )

    async def aclose(self) -> None:
        return None


class _Validate:
    enabled = False


class _Options:
    validate = _Validate()


class _Decision:
    mode = "stream"
    options = _Options()


class InstantRouter:
    def __init__(self, deltas: int) -> None:
        self.deltas = deltas

    def call(self, request: Any, /, **options: Any) -> InstantCall:
        return InstantCall(self.deltas)


def naive_app(router: InstantRouter) -> Starlette:
    async def endpoint(request: Any) -> Response:
        prompt = (await request.json())["prompt"]
        body = {"model": "m", "messages": [{"role": "user", "content": prompt}]}

        async def events() -> AsyncIterator[str]:
            async with router.call(body, audience="user") as call:
                async for text in call:
                    yield f"event: delta\ndata: {json.dumps({'text': text})}\n\n"
                completion = await call.result()
            done = {"finish_reason": completion.finish_reason, "status": "complete"}
            yield f"event: done\ndata: {json.dumps(done)}\n\n"

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return Starlette(routes=[Route("/chat", endpoint, methods=["POST"])])


def sse_starlette_app(router: InstantRouter) -> Starlette | None:
    try:
        from sse_starlette import EventSourceResponse
    except ImportError:
        return None

    async def endpoint(request: Any) -> Response:
        prompt = (await request.json())["prompt"]
        body = {"model": "m", "messages": [{"role": "user", "content": prompt}]}

        async def events() -> AsyncIterator[dict[str, str]]:
            async with router.call(body, audience="user") as call:
                async for text in call:
                    yield {"event": "delta", "data": json.dumps({"text": text})}
                completion = await call.result()
            done = {"finish_reason": completion.finish_reason, "status": "complete"}
            yield {"event": "done", "data": json.dumps(done)}

        return EventSourceResponse(events(), ping=15)

    return Starlette(routes=[Route("/chat", endpoint, methods=["POST"])])


def ours_app(router: InstantRouter) -> Starlette:
    endpoint = Relay(router).endpoint(model="m", audience="user")
    return Starlette(routes=[Route("/chat", endpoint, methods=["POST"])])


async def drive(app: Any) -> tuple[float, float, int]:
    """Run one request through `app` in memory: (seconds to first event, total, body bytes)."""
    body = json.dumps({"prompt": "hi"}).encode()
    never = asyncio.Event()
    first: list[float] = []
    size = 0
    sent_request = False

    async def receive() -> dict[str, Any]:
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": body, "more_body": False}
        await never.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal size
        if message["type"] == "http.response.body" and message.get("body"):
            if not first:
                first.append(time.perf_counter())
            size += len(message["body"])

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/chat",
        "raw_path": b"/chat",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    start = time.perf_counter()
    await app(scope, receive, send)
    end = time.perf_counter()
    return first[0] - start, end - start, size


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--deltas", type=int, default=DELTAS)
    args = parser.parse_args(argv if argv is not None else [])
    router = InstantRouter(args.deltas)
    builders: dict[str, Callable[[InstantRouter], Starlette | None]] = {
        "naive": naive_app,
        "sse-starlette": sse_starlette_app,
        "ours": ours_app,
    }
    apps = {name: build(router) for name, build in builders.items()}
    missing = [name for name, app in apps.items() if app is None]
    present = {name: app for name, app in apps.items() if app is not None}
    first: dict[str, list[float]] = {name: [] for name in present}
    per_delta: dict[str, list[float]] = {name: [] for name in present}
    names = list(present)
    for round_index in range(args.rounds + 1):  # round 0 warms up
        order = names[round_index % len(names) :] + names[: round_index % len(names)]
        for name in order:
            to_first, total, _ = asyncio.run(drive(present[name]))
            if round_index:
                first[name].append(to_first)
                per_delta[name].append(total / args.deltas)

    print(f"{args.deltas} deltas per stream, {args.rounds} rounds, in-memory ASGI")
    print(f"{'contender':<15}{'first event (µs)':>18}{'per delta (µs)':>16}")
    for name in names:
        print(
            f"{name:<15}{statistics.median(first[name]) * 1e6:>18.1f}"
            f"{statistics.median(per_delta[name]) * 1e6:>16.2f}"
        )
    ours = statistics.median(per_delta["ours"])
    for peer in names:
        if peer != "ours":
            ratio = ours / statistics.median(per_delta[peer])
            print(f"per delta, ours / {peer}: {ratio:.2f}x")
    for name in missing:
        print(f"{name}: not installed, not measured")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
