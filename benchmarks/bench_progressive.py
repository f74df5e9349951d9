"""Progressive checking: its whole cost over a streamed answer, against one final validation.

    python benchmarks/bench_progressive.py

A structured answer (an order: nested objects, an array of line items, enums, patterns,
`additionalProperties: false`, `$ref`) of about 2.3 KB and 20 KB is fed in 5-character
deltas. Rows, each the median per answer over interleaved rounds:

- one full parse and validation: `compile_schema(schema).validate_json(text)`, the
  validation core, once the answer is whole: the yardstick;
- a stream that keeps its text (a list append per delta): what every consumer of a stream
  does anyway, progressive checking or not (a call's assembler does it): the baseline the
  cost of progressive checking is measured from;
- + counting: the same, plus the size of the text counted per delta and compared with the
  checker's `next_check_at` (no check falls due): the bookkeeping that decides when to check;
- + checks (default schedule): the same, checks included, the way a call drives the checker
  (`check_text` with the held text when a check is due);
- + checks with `growth=1`: the text doubling between checks, which catches problems a
  little sooner (by 2x their position instead of 2.25x) and costs more;
- `feed` (default schedule), and `feed` + `close`: the checker keeping the text itself, a
  Python call per delta (for callers that hold no text);
- re-checking every delta (`pydantic_core` partial parse and validation of the whole prefix
  each time, as partial-streaming libraries do per chunk): the quadratic approach.

Then the cost of progressive checking, split: the counting, the checks, and the two together,
each as a multiple of the yardstick.

Then the same answers in a call: Chat Completions SSE chunks (one 5-character delta each)
through the call core both routers share (`router.call.CallCore`: SSE decoding, assembly,
clocks, validation), with `validate: true` and `validate: {progressive: true}`. The
progressive call's checks and its final validation are timed inside it (the two steps
wrapped for the section): inside a call both run with caches cooled by the chunk work
between them, and cost more than their tight-loop figures. Differences between whole streams
of 2-20 ms are lost in their noise; the step timings are not.

Last, for an answer broken at 25%, 50% and 75% of its length, where the default schedule
stops it, against the character where it became certain.

    python benchmarks/bench_progressive.py --sweep

measures instead the cost of progressive checking (counting and checks, over the stream that
keeps its text) at thirteen sizes from 1.5 KB to 24 KB, on the default schedule and when the
text doubles: what it costs depends on where the last check before the end falls.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
import timeit
from collections.abc import Callable
from typing import Any

import httpx
from pydantic_core import from_json

from router.call import CallCore
from router.client import Router
from router.policy import Policy
from router.validation import compile_schema
from router.validation.prefix_schema import prefix_validator
from router.validation.progressive import DEFAULT_GROWTH, ProgressiveChecker

SCHEMA: dict[str, Any] = {
    "$defs": {
        "Money": {
            "type": "object",
            "properties": {
                "amount": {"type": "number", "minimum": 0},
                "currency": {"type": "string", "enum": ["EUR", "USD", "GBP"]},
            },
            "required": ["amount", "currency"],
            "additionalProperties": False,
        },
        "LineItem": {
            "type": "object",
            "properties": {
                "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"},
                "description": {"type": "string", "maxLength": 200},
                "quantity": {"type": "integer", "minimum": 1},
                "price": {"$ref": "#/$defs/Money"},
                "category": {"enum": ["hardware", "software", "service"]},
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
            },
            "required": ["sku", "description", "quantity", "price", "category", "tags"],
            "additionalProperties": False,
        },
    },
    "type": "object",
    "properties": {
        "order_id": {"type": "string", "pattern": "^ORD-[0-9]{6}$"},
        "status": {"enum": ["pending", "shipped", "delivered"]},
        "customer": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "email": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
            },
            "required": ["name", "email", "country"],
            "additionalProperties": False,
        },
        "items": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/LineItem"}},
        "notes": {"type": ["string", "null"]},
    },
    "required": ["order_id", "status", "customer", "items", "notes"],
    "additionalProperties": False,
}

DELTA = 5


def _answer(items: int) -> dict[str, Any]:
    return {
        "order_id": "ORD-004217",
        "status": "shipped",
        "customer": {"name": "Ada Lovelace", "email": "ada@example.com", "country": "GB"},
        "items": [
            {
                "sku": f"GEA-{index:04d}",
                "description": f"Brass gear wheel, {12 + index} teeth, for the engine",
                "quantity": index % 7 + 1,
                "price": {"amount": round(3.5 + index * 1.25, 2), "currency": "GBP"},
                "category": "hardware",
                "tags": ["brass", "spare"],
            }
            for index in range(items)
        ],
        "notes": "Leave at the door, please.",
    }


def _medians_us(
    runs: dict[str, tuple[Callable[[], object], int]], *, rounds: int
) -> dict[str, float]:
    """Median time per call of each run, measured in interleaved rounds.

    Interleaving spreads the noise of a shared machine over every row alike, which keeps
    the ratios steady even when the absolute figures move.
    """
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, (run, number) in runs.items():
            samples[name].append(timeit.timeit(run, number=number) / number * 1e6)
    return {name: statistics.median(times) for name, times in samples.items()}


def _deltas(text: str) -> list[str]:
    return [text[start : start + DELTA] for start in range(0, len(text), DELTA)]


def _keeping(deltas: list[str]) -> Callable[[], None]:
    """A stream that keeps its text: what every consumer does, checking or not."""

    def run() -> None:
        parts: list[str] = []
        for delta in deltas:
            parts.append(delta)

    return run


def _checking(
    validator: Any, deltas: list[str], *, min_step: int = 256, growth: float = DEFAULT_GROWTH
) -> Callable[[], None]:
    """The same stream driving a checker as a call does.

    Per delta it counts the size and compares it with `next_check_at`; the text is joined
    and handed over only when a check is due.
    """

    def run() -> None:
        checker = ProgressiveChecker(validator, min_step=min_step, growth=growth)
        parts: list[str] = []
        size = 0
        due = checker.next_check_at
        for delta in deltas:
            parts.append(delta)
            size += len(delta)
            if size >= due:
                checker.check_text("".join(parts))
                due = checker.next_check_at

    return run


def _measure(items: int, *, quadratic_repeat: int) -> None:
    text = json.dumps(_answer(items))
    deltas = _deltas(text)
    validator = compile_schema(SCHEMA)
    assert validator.is_valid(json.loads(text))
    ProgressiveChecker(validator)  # build and cache the prefix schema outside the timings

    def fed(*, close: bool) -> Callable[[], None]:
        def run() -> None:
            checker = ProgressiveChecker(validator)
            for delta in deltas:
                checker.feed(delta)
            if close:
                checker.close()

        return run

    prefix_schema = prefix_validator(validator)

    def every_delta() -> None:
        text = ""
        for delta in deltas:
            text += delta
            prefix_schema.is_valid(from_json(text, allow_partial=True))

    scale = max(1, 20_000 // len(text))
    medians = _medians_us(
        {
            "one full parse + validation": (lambda: validator.validate_json(text), 4 * scale),
            "a stream that keeps its text": (_keeping(deltas), 4 * scale),
            "+ counting (no check due)": (
                _checking(validator, deltas, min_step=len(text) + 1),
                2 * scale,
            ),
            "+ checks (default schedule)": (_checking(validator, deltas), scale),
            "+ checks, growth=1 (doubling)": (_checking(validator, deltas, growth=1.0), scale),
            "feed (default schedule)": (fed(close=False), scale),
            "feed + close": (fed(close=True), scale),
        },
        rounds=25,
    )
    quadratic = statistics.median(timeit.repeat(every_delta, number=1, repeat=quadratic_repeat))
    rows = [*medians.items(), ("re-check every delta (quadratic)", quadratic * 1e6)]
    checker = ProgressiveChecker(validator)
    for delta in deltas:
        checker.feed(delta)
    checker.close()
    base = medians["one full parse + validation"]
    print(f"\n{len(text):,} characters, {len(deltas)} deltas of {DELTA}, {checker.checks} checks")
    print(f"  {'':38} {'median':>12} {'x one validation':>17}")
    for name, micros in rows:
        print(f"  {name:38} {micros:>9.1f} us {micros / base:>16.2f}x")
    floor = medians["a stream that keeps its text"]
    counted = medians["+ counting (no check due)"]
    print("  the cost of progressive checking (over the stream that keeps its text):")
    for name, row in (
        ("default schedule", "+ checks (default schedule)"),
        ("growth=1 (doubling)", "+ checks, growth=1 (doubling)"),
    ):
        total = medians[row] - floor
        counting = counted - floor
        print(
            f"    {name:20} {total / base:5.2f}x in all:"
            f" counting {counting / base:4.2f}x, checks {(total - counting) / base:4.2f}x"
        )


def _sse(content: str | None, finish: str | None = None) -> bytes:
    """One Chat Completions chunk as the wire carries it."""
    delta = {"content": content} if content is not None else {}
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "bench",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def _in_a_call(items: int, *, rounds: int) -> None:
    text = json.dumps(_answer(items))
    chunks = [_sse(delta) for delta in _deltas(text)]
    chunks += [_sse(None, "stop"), b"data: [DONE]\n\n"]
    request = {
        "model": "bench",
        "messages": [{"role": "user", "content": "the order, as JSON"}],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "order", "schema": SCHEMA},
        },
    }
    headers = httpx.Headers({"content-type": "text/event-stream"})

    def stream(validate: str) -> Callable[[], None]:
        policy = Policy.from_text(
            "version: 1\ndefaults:\n  mode: stream\n"
            f"  validate: {validate}\n"
            "  stream: {include_usage: never, fallback: none}\nrules: []\n"
        )
        router = Router(policy, base_url="http://127.0.0.1:9", api_key="bench")

        def run() -> None:
            # What the sync driver does with a response, minus the socket.
            core, _ = router._prepare(
                request, deadline=None, headers=None, api_key=None, response_model=None, hints={}
            )
            action = core.plan.start()
            assert action is not None
            now = time.monotonic()
            core.prepare(action, now)
            core.on_response(200, headers, now)
            feed = core.feed
            for chunk in chunks:
                feed(chunk, now)
            feed(None, now)
            assert core.on_answer(now) is None

        return run

    plain, progressive = stream("true"), stream("{progressive: true}")
    plain()
    progressive()  # compile the schemas and the prefix schema outside the timings
    # Timed inside the call: the two steps are wrapped for this section only. The checks are
    # `check_progress` (the text handed over, and judged); the final validation is
    # `validation_error` on the answer, the request's spec being read already.
    spent: dict[str, float] = {}
    originals = {name: getattr(CallCore, name) for name in ("check_progress", "validation_error")}

    def timed(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any) -> Any:
            began = time.perf_counter()
            try:
                return method(*args)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - began

        return wrapper

    checks: list[float] = []
    finals: list[float] = []
    whole: dict[str, list[float]] = {"validate: true": [], "validate: {progressive: true}": []}
    try:
        for name, method in originals.items():
            setattr(CallCore, name, timed(name, method))
        for _ in range(rounds):
            gc.collect()
            whole["validate: true"].append(timeit.timeit(plain, number=1) * 1e6)
            spent.clear()
            whole["validate: {progressive: true}"].append(
                timeit.timeit(progressive, number=1) * 1e6
            )
            checks.append(spent["check_progress"] * 1e6)
            finals.append(spent["validation_error"] * 1e6)
    finally:
        for name, method in originals.items():
            setattr(CallCore, name, method)
    check_us, final_us = statistics.median(checks), statistics.median(finals)
    print(f"\nin a call: {len(text):,} characters, {len(chunks)} SSE chunks (median per stream)")
    for name, times in whole.items():
        print(f"  {name:38} {statistics.median(times):>9.1f} us")
    print(f"  its final validation, as the call runs it  {final_us:>9.1f} us")
    print(
        f"  its checks, as the call runs them          {check_us:>9.1f} us"
        f"  {check_us / final_us:.2f}x the final validation"
    )


def _latency(items: int) -> None:
    answer = _answer(items)
    text = json.dumps(answer)
    print(f"\nwhere the default schedule stops a broken {len(text):,}-character answer")
    print(f"  {'broken at':>10} {'certain at':>11} {'stopped at':>11} {'ratio':>6}")
    for fraction in (0.25, 0.5, 0.75):
        position = int(len(text) * fraction)
        index = text.index('"category": "hardware"', position)
        broken = (
            text[:index] + '"category": "furniture"' + text[index + len('"category": "hardware"') :]
        )
        certain = index + len('"category": "furniture"')
        checker = ProgressiveChecker(SCHEMA)
        stopped = len(broken)
        try:
            for delta in _deltas(broken):
                checker.feed(delta)
            checker.close()
        except Exception as exc:  # ValidationFailed: where it stopped is its `raw`
            stopped = len(getattr(exc, "raw", "") or "")
        print(f"  {fraction:>10.0%} {certain:>11,} {stopped:>11,} {stopped / certain:>6.2f}")


def _sweep() -> None:
    """The cost of progressive checking at sizes from 1.5 KB to 24 KB, two schedules."""
    validator = compile_schema(SCHEMA)
    ProgressiveChecker(validator)
    print("\nthe cost of progressive checking, in all, by size (x one parse + validation)")
    print(f"  {'characters':>10} {'default':>8} {'doubling':>9}")
    for items in (7, 9, 11, 14, 18, 23, 29, 37, 47, 60, 76, 97, 123):
        size, default, doubling = _cost_at(validator, items)
        print(f"  {size:>10,} {default:>7.2f}x {doubling:>8.2f}x")


def _cost_at(validator: Any, items: int) -> tuple[int, float, float]:
    """The answer's size, and the cost of progressive checking on both schedules."""
    text = json.dumps(_answer(items))
    deltas = _deltas(text)

    scale = max(1, 20_000 // len(text))
    medians = _medians_us(
        {
            "base": (lambda: validator.validate_json(text), 4 * scale),
            "kept": (_keeping(deltas), 4 * scale),
            "default": (_checking(validator, deltas), scale),
            "doubling": (_checking(validator, deltas, growth=1.0), scale),
        },
        rounds=15,
    )
    base, floor = medians["base"], medians["kept"]
    return (
        len(text),
        (medians["default"] - floor) / base,
        (medians["doubling"] - floor) / base,
    )


def main(argv: list[str] | None = None) -> None:
    """Measure at about 2.3 KB and 20 KB, alone and in a call; then where broken answers stop."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sweep", action="store_true", help="the cost at sizes 1.5-24 KB")
    if parser.parse_args(argv or []).sweep:  # `run.py` calls main() with no arguments
        _sweep()
        return
    _measure(12, quadratic_repeat=5)
    _measure(110, quadratic_repeat=3)
    _in_a_call(12, rounds=41)
    _in_a_call(110, rounds=21)
    _latency(110)


if __name__ == "__main__":
    main(sys.argv[1:])
