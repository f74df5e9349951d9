"""Execution cost: a routed call vs naive httpx and the openai SDK, over loopback.

A standard-library asyncio HTTP/1.1 server (in a child process, so it never shares the
client's interpreter lock) answers `POST /v1/chat/completions`: streams of `max_tokens`
Chat Completions chunks (one HTTP chunk each, then a finish chunk and `[DONE]`), or one
`chat.completion` for batch requests; `x-token-delay-ms` spaces the chunks like a model
generating; `GET /stats` counts the TCP connections it accepted.

Measured, each contender in the same run:

1. per-chunk cost of one 20,000-chunk stream (sync): naive httpx `iter_lines` + `json.loads`,
   `Router.call`, the openai SDK's `create(stream=True)`;
2. time to first delta of a short stream on a warm client (sync);
3. 200 concurrent async streams of 500 chunks: wall time and peak RSS, each contender in its
   own subprocess (`ru_maxrss`);
4. new TCP connections per request on a warm client (sync and async);
5. stream vs batch by answer length: first-token and total time, to place the default
   policy's "short answer" threshold.

Run: `python benchmarks/bench_execution.py [--rounds N] [--quick] [--sections 12345]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

MODEL = "gpt-4o-mini-2024-07-18"
POLICY_TEXT = """version: 1
defaults:
  mode: stream
  stream: {include_usage: never, fallback: none}
  timeouts: {connect: 5s, first_token: 30s, idle: 30s, total: 10m}
  retries: {attempts: 1}
rules:
  - name: batch-when-asked
    when: {labels.mode: batch}
    mode: batch
"""


# --- the loopback server ---------------------------------------------------------------------


def _chunk(content: str | None, finish: str | None = None) -> bytes:
    delta: dict[str, Any] = {"content": content} if content is not None else {}
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1741570283,
        "model": MODEL,
        "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    event = b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(event), event)


_ROLE = _chunk("")
_TOKEN = _chunk(" tok")
_FINISH = _chunk(None, "stop")
_DONE = b"e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n"


def _completion(tokens: int) -> bytes:
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1741570283,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": " tok" * tokens, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": tokens, "total_tokens": tokens + 5},
    }
    return json.dumps(body, separators=(",", ":")).encode()


async def _serve(port_file: str) -> None:
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method = lines[0].split(" ", 1)[0]
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if method == "GET":
                    data = json.dumps({"connections": connections}).encode()
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n")
                    writer.write(b"content-length: %d\r\n\r\n%s" % (len(data), data))
                    await writer.drain()
                    continue
                request = json.loads(body)
                tokens = int(request.get("max_tokens") or 20)
                delay = float(headers.get("x-token-delay-ms", "0")) / 1000.0
                if not request.get("stream"):
                    if delay:
                        await asyncio.sleep(delay * tokens)
                    data = _completion(tokens)
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n")
                    writer.write(b"content-length: %d\r\n\r\n%s" % (len(data), data))
                    await writer.drain()
                    continue
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                    b"transfer-encoding: chunked\r\n\r\n" + _ROLE
                )
                if delay:
                    for _ in range(tokens):
                        await asyncio.sleep(delay)
                        writer.write(_TOKEN)
                        await writer.drain()
                else:
                    for start in range(0, tokens, 256):
                        writer.write(_TOKEN * min(256, tokens - start))
                        await writer.drain()
                writer.write(_FINISH + _DONE)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    await asyncio.to_thread(Path(port_file).write_text, str(port))
    async with server:
        await server.serve_forever()


@contextlib.contextmanager
def loopback_server() -> Iterator[str]:
    """Start the server in a child process; yield its base URL."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        port_file = os.path.join(tmp, "port")
        child = subprocess.Popen([sys.executable, __file__, "--serve", port_file])
        try:
            deadline = time.monotonic() + 10
            path = Path(port_file)
            while not path.exists() or not path.read_text():
                if time.monotonic() > deadline:
                    raise RuntimeError("the benchmark server did not start")
                time.sleep(0.02)
            port = int(path.read_text())
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                pass
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            child.terminate()
            child.wait(timeout=10)


def connections(base_url: str) -> int:
    """Connections the server accepted before this question (which opens one of its own)."""
    import httpx

    return int(httpx.get(base_url + "/stats").json()["connections"]) - 1


def body(tokens: int, *, stream: bool = True) -> dict[str, Any]:
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": tokens,
        "stream": stream,
    }


# --- sync contenders: consume one stream, return (first delta s, deltas) ---------------------


def naive_sync(client: Any, base_url: str, tokens: int) -> tuple[float, int]:
    started = time.perf_counter()
    first = 0.0
    count = 0
    with client.stream("POST", base_url + "/chat/completions", json=body(tokens)) as response:
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            choices = chunk["choices"]
            if choices and choices[0]["delta"].get("content"):
                if not count:
                    first = time.perf_counter() - started
                count += 1
    return first, count


def routed_sync(router: Any, tokens: int) -> tuple[float, int]:
    started = time.perf_counter()
    first = 0.0
    count = 0
    with router.call(body(tokens)) as call:
        for _ in call:
            if not count:
                first = time.perf_counter() - started
            count += 1
        call.result()
    return first, count


def sdk_sync(client: Any, tokens: int) -> tuple[float, int]:
    started = time.perf_counter()
    first = 0.0
    count = 0
    request = body(tokens)
    del request["stream"]
    for chunk in client.chat.completions.create(**request, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            if not count:
                first = time.perf_counter() - started
            count += 1
    return first, count


def sync_contenders(base_url: str) -> dict[str, Callable[[int], tuple[float, int]]]:
    import httpx
    import openai

    from router import Router
    from router.policy import Policy

    naive_client = httpx.Client(timeout=60)
    router = Router(Policy.from_text(POLICY_TEXT), base_url=base_url, api_key="sk-bench")
    sdk = openai.OpenAI(base_url=base_url, api_key="sk-bench", max_retries=0)
    return {
        "naive httpx": lambda n: naive_sync(naive_client, base_url, n),
        "router": lambda n: routed_sync(router, n),
        "openai SDK": lambda n: sdk_sync(sdk, n),
    }


def rounds_of(
    contenders: dict[str, Callable[[int], tuple[float, int]]], tokens: int, rounds: int
) -> dict[str, list[tuple[float, float, float]]]:
    """Each round runs every contender once, rotating the order.

    Per run: (wall s, first delta s, client CPU s). CPU time is the client's own work, the
    figure to read on a machine shared with other work; the server runs in another process.
    """
    names = list(contenders)
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            started, cpu = time.perf_counter(), time.process_time()
            first, count = contenders[name](tokens)
            wall = time.perf_counter() - started
            results[name].append((wall, first, time.process_time() - cpu))
            assert count == tokens, (name, count)
    return results


# --- concurrency, in a subprocess per contender ---------------------------------------------


async def _concurrent(
    contender: str, base_url: str, streams: int, tokens: int
) -> tuple[float, float]:
    """(wall s, CPU s) of `streams` concurrent streams, after imports and one warm-up call."""
    import httpx

    limits = httpx.Limits(max_connections=streams, max_keepalive_connections=streams)
    if contender == "naive httpx":
        client = httpx.AsyncClient(timeout=120, limits=limits)

        async def one() -> int:
            count = 0
            async with client.stream(
                "POST", base_url + "/chat/completions", json=body(tokens)
            ) as response:
                async for line in response.aiter_lines():
                    if line.startswith("data: ") and line != "data: [DONE]":
                        chunk = json.loads(line[6:])
                        if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                            count += 1
            return count

    elif contender == "router":
        from router import AsyncRouter
        from router.policy import Policy

        router = AsyncRouter(Policy.from_text(POLICY_TEXT), base_url=base_url, api_key="sk-b")

        async def one() -> int:
            count = 0
            async with router.call(body(tokens)) as call:
                async for _ in call:
                    count += 1
                await call.result()
            return count

    else:
        import openai

        sdk = openai.AsyncOpenAI(base_url=base_url, api_key="sk-bench", max_retries=0)

        async def one() -> int:
            count = 0
            request = body(tokens)
            del request["stream"]
            async for chunk in await sdk.chat.completions.create(**request, stream=True):
                if chunk.choices and chunk.choices[0].delta.content:
                    count += 1
            return count

    await one()  # warm up imports and the first connection
    started, cpu = time.perf_counter(), time.process_time()
    counts = await asyncio.gather(*(one() for _ in range(streams)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert all(count == tokens for count in counts), contender
    return elapsed, cpu


def concurrency(
    base_url: str, streams: int, tokens: int, repeats: int
) -> dict[str, tuple[float, float, float]]:
    """(wall s, CPU s, peak RSS MB) per contender, each run in a fresh interpreter.

    naive httpx and the router alternate `repeats` times (medians); the SDK runs once.
    """
    runs: dict[str, list[tuple[float, float, float]]] = {}
    order = ["naive httpx", "router"] * repeats + ["openai SDK"]
    for name in order:
        done = subprocess.run(
            [sys.executable, __file__, "--concurrent", name, base_url, str(streams), str(tokens)],
            capture_output=True,
            text=True,
            timeout=900,
            check=True,
        )
        wall, cpu, rss = json.loads(done.stdout.strip().splitlines()[-1])
        runs.setdefault(name, []).append((wall, cpu, rss))
    return {
        name: (
            statistics.median(r[0] for r in samples),
            statistics.median(r[1] for r in samples),
            max(r[2] for r in samples),
        )
        for name, samples in runs.items()
    }


# --- connection reuse ---------------------------------------------------------------------------


def new_connections_per_request(base_url: str, requests: int = 50) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, run in sync_contenders(base_url).items():
        run(5)  # warm
        before = connections(base_url)
        for _ in range(requests):
            run(5)
        out[f"{name} (sync)"] = (connections(base_url) - before - 1) / requests

    async def async_router() -> float:
        from router import AsyncRouter
        from router.policy import Policy

        async with AsyncRouter(Policy.from_text(POLICY_TEXT), base_url=base_url) as router:
            await router.complete(body(5))
            before = connections(base_url)
            for _ in range(requests):
                await router.complete(body(5))
            return (connections(base_url) - before - 1) / requests

    out["router (async)"] = asyncio.run(async_router())
    return out


# --- stream vs batch by answer length --------------------------------------------------------


def stream_vs_batch(
    base_url: str, lengths: list[int], delay_ms: float, rounds: int
) -> list[tuple[int, float, float, float]]:
    """Per length: (tokens, stream first-token ms, stream total ms, batch total ms)."""
    from router import Router
    from router.policy import Policy

    headers = {"x-token-delay-ms": str(delay_ms)}
    rows = []
    with Router(Policy.from_text(POLICY_TEXT), base_url=base_url, headers=headers) as router:
        router.complete(body(1))
        for tokens in lengths:
            firsts, stream_totals, batch_totals = [], [], []
            for _ in range(rounds):
                started = time.perf_counter()
                first = None
                with router.call(body(tokens)) as call:
                    for _ in call:
                        if first is None:
                            first = time.perf_counter() - started
                    call.result()
                stream_totals.append(time.perf_counter() - started)
                firsts.append(first or 0.0)
                started = time.perf_counter()
                router.complete(body(tokens), labels={"mode": "batch"})
                batch_totals.append(time.perf_counter() - started)
            rows.append(
                (
                    tokens,
                    statistics.median(firsts) * 1000,
                    statistics.median(stream_totals) * 1000,
                    statistics.median(batch_totals) * 1000,
                )
            )
    return rows


# --- report ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument(
        "--sections", default="12345", help="which sections to run, e.g. 13 (default: all)"
    )
    args = parser.parse_args(argv if argv is not None else [])
    chunks = 2_000 if args.quick else 20_000
    streams, per_stream = (50, 100) if args.quick else (200, 500)
    with loopback_server() as base_url:
        contenders = sync_contenders(base_url)
        for run in contenders.values():
            run(100)  # warm: imports, the connection, the first decision
        if "1" in args.sections:
            per_chunk_cost(contenders, chunks, args.rounds)
        if "2" in args.sections:
            time_to_first_delta(contenders)
        if "3" in args.sections:
            concurrent_streams(base_url, streams, per_stream, 1 if args.quick else 3)
        if "4" in args.sections:
            print("\n4. new TCP connections per request on a warm client (50 requests)")
            for name, ratio in new_connections_per_request(base_url).items():
                print(f"   {name:20} {ratio:.2f}")
        if "5" in args.sections:
            short_answers(base_url, args.rounds)


def per_chunk_cost(
    contenders: dict[str, Callable[[int], tuple[float, int]]], chunks: int, rounds: int
) -> None:
    """Section 1: medians per chunk, and the median of each round's router/naive CPU ratio."""
    print(f"1. per-chunk cost, one stream of {chunks} chunks (sync), median of {rounds}")
    per_chunk = rounds_of(contenders, chunks, rounds)
    naive = per_chunk["naive httpx"]
    naive_wall = statistics.median(r[0] for r in naive) / chunks * 1e6
    naive_cpu = statistics.median(r[2] for r in naive) / chunks * 1e6
    for name, samples in per_chunk.items():
        wall = statistics.median(r[0] for r in samples) / chunks * 1e6
        cpu = statistics.median(r[2] for r in samples) / chunks * 1e6
        print(
            f"   {name:12} wall {wall:7.2f} µs/chunk ({wall / naive_wall:5.2f}x)  "
            f"CPU {cpu:7.2f} µs/chunk ({cpu / naive_cpu:5.2f}x)"
        )
    paired = [r[2] / n[2] for r, n in zip(per_chunk["router"], naive, strict=True)]
    print(f"   router/naive CPU, paired by round: median {statistics.median(paired):.3f}x")


def time_to_first_delta(contenders: dict[str, Callable[[int], tuple[float, int]]]) -> None:
    """Section 2."""
    print("\n2. time to first delta, 5-chunk stream, warm client (sync), median of 200")
    ttfd = rounds_of(contenders, 5, 200)
    naive_first = statistics.median(r[1] for r in ttfd["naive httpx"]) * 1000
    for name, samples in ttfd.items():
        ms = statistics.median(r[1] for r in samples) * 1000
        print(f"   {name:12} {ms:7.3f} ms  {ms / naive_first:5.2f}x naive")


def concurrent_streams(base_url: str, streams: int, per_stream: int, repeats: int) -> None:
    """Section 3."""
    print(
        f"\n3. {streams} concurrent async streams of {per_stream} chunks "
        f"(own process each; median of {repeats}, the SDK once)"
    )
    results = concurrency(base_url, streams, per_stream, repeats)
    base_wall, base_cpu, base_rss = results["naive httpx"]
    for name, (wall, cpu, rss) in results.items():
        print(
            f"   {name:12} wall {wall:6.2f} s ({wall / base_wall:4.2f}x)  "
            f"CPU {cpu:6.2f} s ({cpu / base_cpu:4.2f}x)  "
            f"peak RSS {rss:6.1f} MB ({rss / base_rss:4.2f}x)"
        )


def short_answers(base_url: str, rounds: int) -> None:
    """Section 5."""
    for delay in (0.0, 20.0):
        print(
            f"\n5. stream vs batch by answer length, {delay:g} ms per token "
            f"(median of {max(rounds // 2, 3)}; ms)"
        )
        print("   tokens  stream-first  stream-total  batch-total")
        lengths = [1, 2, 4, 8, 16, 32, 64, 128] if delay else [1, 4, 16, 64, 256, 1024]
        for row in stream_vs_batch(base_url, lengths, delay, max(rounds // 2, 3)):
            print("   {:6d}  {:12.2f}  {:12.2f}  {:11.2f}".format(*row))


def _child_concurrent(contender: str, base_url: str, streams: str, tokens: str) -> None:
    wall, cpu = asyncio.run(_concurrent(contender, base_url, int(streams), int(tokens)))
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec.
    status = Path("/proc/self/status").read_text()
    rss_mb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    rss_mb = rss_mb / 1024
    print(json.dumps([wall, cpu, rss_mb]))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--serve":
        asyncio.run(_serve(sys.argv[2]))
    elif len(sys.argv) > 5 and sys.argv[1] == "--concurrent":
        _child_concurrent(*sys.argv[2:6])
    else:
        main(sys.argv[1:])
