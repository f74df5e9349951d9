"""Streaming cost per chunk: our decoder + assembler over httpx, side by side with its peers.

A loopback HTTP/1.1 server (standard library, in a child process so that it does not share
the client's interpreter lock) answers every request with one `text/event-stream` body of
20,000 Chat Completions chunk events, each in its own HTTP chunk, then a finish chunk, a
usage chunk and `[DONE]`. Each round runs every contender once, in a rotating order:

- `raw`: httpx `iter_raw()`, no parsing at all (the floor);
- `naive`: httpx `iter_lines()` + `json.loads` of each `data:` line (the hand-rolled loop,
  which neither assembles nor checks anything);
- `ours`: `SSEDecoder` + `StreamAssembler` over `iter_raw()`, handing out every text delta
  and building the final `Completion`;
- `sdk`: the openai SDK's `create(stream=True)`, iterating its typed chunks;
- `sdk-stream`: the openai SDK's accumulating `chat.completions.stream()` helper
  (both with the SDK's own default HTTP client, as its users run it).

Every run is timed twice: the CPU time of this (client) process, which is what the
contenders cost and stays meaningful on a busy machine, and the wall clock. For each it
prints per-chunk medians, the paired median of ours/naive over the rounds (target: <= 1.05)
and the SDK helper vs ours (target: >= 10x); then the decoder and the decoder + assembler
alone in MB/s over an in-memory recording.

    python benchmarks/bench_stream.py [--rounds 15] [--sdk-rounds 3] [--events 20000]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

EVENTS = 20_000
MODEL = "gpt-4o-mini-2024-07-18"


def chunk_event(content: str | None, *, finish: str | None = None, usage: Any = None) -> bytes:
    """One `data: {...}\\n\\n` event shaped like OpenAI's chunks today."""
    choices: list[Any] = []
    if content is not None or finish is not None:
        delta = {"content": content} if content is not None else {}
        choices = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    body = {
        "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
        "object": "chat.completion.chunk",
        "created": 1741570283,
        "model": MODEL,
        "service_tier": "default",
        "system_fingerprint": "fp_06737a9306",
        "choices": choices,
        "usage": usage,
        "obfuscation": "Xr3",
    }
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def recording(events: int = EVENTS) -> list[bytes]:
    """The events of one stream, in order."""
    first = chunk_event("")
    first = first.replace(b'"delta":{"content":""}', b'"delta":{"role":"assistant","content":""}')
    out = [first]
    out.extend(chunk_event(f" token{i}") for i in range(events))
    out.append(chunk_event(None, finish="stop"))
    usage = {"prompt_tokens": 12, "completion_tokens": events, "total_tokens": events + 12}
    out.append(chunk_event(None, usage=usage))
    out.append(b"data: [DONE]\n\n")
    return out


def _chunked_body(events: list[bytes]) -> bytes:
    parts = [b"%x\r\n%s\r\n" % (len(event), event) for event in events]
    parts.append(b"0\r\n\r\n")
    return b"".join(parts)


def _serve(port_out: Any, events: int, lifetime: float) -> None:
    """Child process: answer every request with the whole stream, until `lifetime` ends."""
    body = _chunked_body(recording(events))
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
        b"transfer-encoding: chunked\r\ncache-control: no-cache\r\n\r\n"
    )
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(1.0)
    port_out.send(listener.getsockname()[1])
    deadline = time.monotonic() + lifetime
    while time.monotonic() < deadline:
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        # One thread per connection: the httpx client and the SDK keep separate ones alive.
        threading.Thread(target=_serve_connection, args=(conn, head + body), daemon=True).start()
    listener.close()


def _serve_connection(conn: socket.socket, response: bytes) -> None:
    with conn, contextlib.suppress(OSError):
        conn.settimeout(300.0)  # a slow reader (the SDK) may take long to drain a stream
        _answer(conn, response)


def _answer(conn: socket.socket, response: bytes) -> None:
    buffer = b""
    while True:  # keep-alive: one stream per request on this connection
        while b"\r\n\r\n" not in buffer:
            data = conn.recv(65536)
            if not data:
                return
            buffer += data
        header, _, buffer = buffer.partition(b"\r\n\r\n")
        length = 0
        for line in header.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(buffer) < length:
            data = conn.recv(65536)
            if not data:
                return
            buffer += data
        buffer = buffer[length:]
        conn.sendall(response)


# --- contenders --------------------------------------------------------------------------

REQUEST = {"model": MODEL, "messages": [{"role": "user", "content": "count"}], "stream": True}


def run_raw(client: Any, url: str) -> None:
    with client.stream("POST", url, json=REQUEST) as response:
        for _ in response.iter_raw():
            pass


def run_naive(client: Any, url: str) -> None:
    loads = json.loads
    with client.stream("POST", url, json=REQUEST) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                data = line[6:]
                if data != "[DONE]":
                    loads(data)


def run_ours(client: Any, url: str) -> None:
    from router.assemble import StreamAssembler
    from router.sse import SSEDecoder

    decoder = SSEDecoder()
    assembler = StreamAssembler()
    with client.stream("POST", url, json=REQUEST) as response:
        for raw in response.iter_raw():
            for event in decoder.decode(raw):
                if assembler.feed(event):
                    assembler.take_text()
        decoder.flush()
    completion = assembler.finish()
    assert completion.status == "complete", completion.status


def run_sdk(sdk: Any, _url: str) -> None:
    stream = sdk.chat.completions.create(model=MODEL, messages=REQUEST["messages"], stream=True)
    for _ in stream:
        pass


def run_sdk_stream(sdk: Any, _url: str) -> None:
    with sdk.chat.completions.stream(model=MODEL, messages=REQUEST["messages"]) as stream:
        for _ in stream:
            pass
        stream.get_final_completion()


def _time(fn: Callable[[Any, str], None], client: Any, url: str) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run (the server's work is in another process)."""
    start_cpu = time.process_time()
    start = time.perf_counter()
    fn(client, url)
    return time.perf_counter() - start, time.process_time() - start_cpu


def bench_http(rounds: int, sdk_rounds: int, events: int) -> None:
    import httpx
    import openai

    receiver, sender = multiprocessing.Pipe(duplex=False)
    lifetime = 120.0 + rounds * 10.0 + sdk_rounds * 60.0  # ample; terminated when done
    server = multiprocessing.Process(target=_serve, args=(sender, events, lifetime), daemon=True)
    server.start()
    try:
        if not receiver.poll(10.0):
            raise RuntimeError("the loopback server did not start")
        port = receiver.recv()
        base = f"http://127.0.0.1:{port}/v1"
        url = f"{base}/chat/completions"
        client = httpx.Client(timeout=30.0)
        sdk = openai.OpenAI(base_url=base, api_key="sk-bench", max_retries=0)
        fast: dict[str, Callable[[Any, str], None]] = {
            "raw": run_raw,
            "naive": run_naive,
            "ours": run_ours,
        }
        slow: dict[str, Callable[[Any, str], None]] = {
            "sdk": run_sdk,
            "sdk-stream": run_sdk_stream,
        }
        for fn in fast.values():  # warm up connections, imports and caches
            fn(client, url)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in [*fast, *slow]}
        names = list(fast)
        for round_no in range(rounds):
            order = names[round_no % len(names) :] + names[: round_no % len(names)]
            for name in order:
                times[name].append(_time(fast[name], client, url))
        for _ in range(sdk_rounds):
            for name, fn in slow.items():
                times[name].append(_time(fn, sdk, url))
            times["ours"].append(_time(run_ours, client, url))
            times["naive"].append(_time(run_naive, client, url))
        client.close()
    finally:
        server.terminate()
        server.join(5.0)

    print(f"HTTP loopback, {events} chunk events, one HTTP chunk each; {rounds} rounds")
    print(
        f"python {sys.version.split()[0]}, httpx {httpx.__version__}, openai {openai.__version__}"
    )
    for label, column in (("CPU time of the client process", 1), ("wall clock", 0)):
        _report(label, {name: [t[column] for t in runs] for name, runs in times.items()}, events)


def _report(label: str, times: dict[str, list[float]], events: int) -> None:
    per_chunk = {
        name: statistics.median(values) / events * 1e6 for name, values in times.items() if values
    }
    paired = [o / n for o, n in zip(times["ours"], times["naive"], strict=True)]
    print()
    print(f"{label}:")
    print()
    print("| contender | µs per chunk (median) | vs naive |")
    print("|---|---:|---:|")
    for name in ("raw", "naive", "ours", "sdk", "sdk-stream"):
        if name in per_chunk:
            ratio = per_chunk[name] / per_chunk["naive"]
            print(f"| {name} | {per_chunk[name]:.2f} | {ratio:.2f}x |")
    print()
    print(f"ours / naive, paired median over {len(paired)} rounds: {statistics.median(paired):.3f}")
    if "sdk" in per_chunk:
        print(
            f"sdk-stream / ours: {per_chunk['sdk-stream'] / per_chunk['ours']:.1f}x; "
            f"sdk / ours: {per_chunk['sdk'] / per_chunk['ours']:.1f}x"
        )


def bench_memory(rounds: int, events: int) -> None:
    """Decoder alone and decoder + assembler over an in-memory recording, in MB/s."""
    from router.assemble import StreamAssembler
    from router.sse import SSEDecoder

    pieces = recording(events)
    body = b"".join(pieces)
    blocks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    megabytes = len(body) / 1e6

    def decode_only(chunks: list[bytes]) -> None:
        decoder = SSEDecoder()
        for chunk in chunks:
            decoder.decode(chunk)

    def full(chunks: list[bytes]) -> None:
        decoder = SSEDecoder()
        assembler = StreamAssembler()
        for chunk in chunks:
            for event in decoder.decode(chunk):
                if assembler.feed(event):
                    assembler.take_text()
        assembler.finish()

    print()
    print(
        f"In memory: {megabytes:.1f} MB recording, {len(pieces)} events; "
        f"median CPU time of {rounds} runs"
    )
    print()
    print("| path | chunks | MB/s | µs per event |")
    print("|---|---|---:|---:|")
    for label, fn in (("decoder", decode_only), ("decoder + assembler", full)):
        for chunk_label, chunks in (("one per event", pieces), ("64 KiB", blocks)):
            samples = []
            for _ in range(rounds):
                start = time.process_time()
                fn(chunks)
                samples.append(time.process_time() - start)
            seconds = statistics.median(samples)
            print(
                f"| {label} | {chunk_label} | {megabytes / seconds:.1f} | "
                f"{seconds / len(pieces) * 1e6:.2f} |"
            )


def main(argv: list[str] | None = None) -> None:
    """Run both measurements and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="rounds of the fast contenders")
    parser.add_argument("--sdk-rounds", type=int, default=3, help="rounds of the openai SDK")
    parser.add_argument("--events", type=int, default=EVENTS, help="chunk events per stream")
    args = parser.parse_args(argv if argv is not None else [])
    bench_http(args.rounds, args.sdk_rounds, args.events)
    bench_memory(max(3, args.rounds // 2), args.events)


if __name__ == "__main__":
    main(sys.argv[1:])
