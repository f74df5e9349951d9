"""Progressive checking: its whole cost over a streamed answer, against one final validation.

    python benchmarks/bench_progressive.py

A structured answer (an order: nested objects, an array of line items, enums, patterns,
`additionalProperties: false`, `$ref`) of about 2.3 KB and 20 KB is fed in 5-character
deltas. Rows, each the median per answer:

- one full parse and validation: `compile_schema(schema).validate_json(text)`, the
  validation core (json + jsonschema-rs), once the answer is whole: the yardstick;
- a Python call per delta that only stores it: the floor any `feed(delta)` API pays;
- ours with no checks at all (`min_step` past the end): what our `feed` costs by itself,
  counting deltas towards the next check;
- ours, `feed` only: every delta fed, the checks of the default schedule (what a caller
  pays on top of the final validation it runs anyway);
- ours, `feed` + `close`: the same, plus the final check of the whole answer;
- ours, `check_text` on held text (+ `close`): how a call drives it, since its assembler
  keeps the text anyway: one length test per delta and a join at each check (the
  appending of deltas is counted too);
- one pass of a Python `re` tokenizer over the text (strings, brackets, commas): the cost
  of tracking the structure at Python speed, for comparison with a whole parse;
- re-checking every delta (`pydantic_core` partial parse and validation of the whole prefix
  each time, as partial-streaming libraries do per chunk): the quadratic approach.

Then, for an answer broken at 25%, 50% and 75% of its length, where the default schedule
stops it, against the character where it became certain.
"""

from __future__ import annotations

import json
import re
import statistics
import timeit
from collections.abc import Callable
from typing import Any

from pydantic_core import from_json

from router.validation import compile_schema
from router.validation.prefix_schema import prefix_validator
from router.validation.progressive import ProgressiveChecker

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
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\],:]|[^\s"{}\[\],:]+')


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


class _Store:
    """The floor: a `feed` that only keeps the delta."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: list[str] = []

    def feed(self, delta: str) -> None:
        self._parts.append(delta)


def _measure(items: int, *, quadratic_repeat: int) -> None:
    text = json.dumps(_answer(items))
    deltas = _deltas(text)
    validator = compile_schema(SCHEMA)
    assert validator.is_valid(json.loads(text))
    ProgressiveChecker(validator)  # build and cache the prefix schema outside the timings

    def store() -> None:
        sink = _Store()
        for delta in deltas:
            sink.feed(delta)

    def ours(*, close: bool, growth: float = 1.0, min_step: int = 256) -> Callable[[], None]:
        def run() -> None:
            checker = ProgressiveChecker(validator, growth=growth, min_step=min_step)
            for delta in deltas:
                checker.feed(delta)
            if close:
                checker.close()

        return run

    def held(*, close: bool) -> Callable[[], None]:
        # A call's stream already keeps the text (its assembler appends every fragment):
        # per delta the checker costs one length test, and the text is joined only when a
        # check is due. The append is counted here anyway, to stay on the safe side.
        def run() -> None:
            checker = ProgressiveChecker(validator)
            parts: list[str] = []
            size = 0
            due = checker.next_check_at
            for delta in deltas:
                parts.append(delta)
                size += len(delta)
                if size >= due:
                    checker.check_text("".join(parts))
                    due = checker.next_check_at
            if close:
                checker.close("".join(parts))

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
            "floor: a Python call per delta": (store, 2 * scale),
            "ours, feed with no checks": (ours(close=False, min_step=len(text) + 1), scale),
            "ours, feed (default schedule)": (ours(close=False), scale),
            "ours, feed + close": (ours(close=True), scale),
            "ours, check_text on held text": (held(close=False), scale),
            "ours, check_text + close": (held(close=True), scale),
            "ours, growth=2, feed": (ours(close=False, growth=2), scale),
            "ours, growth=2, feed + close": (ours(close=True, growth=2), scale),
            "ours, growth=3, feed": (ours(close=False, growth=3), scale),
            "ours, growth=3, feed + close": (ours(close=True, growth=3), scale),
            "one pass of a Python re tokenizer": (lambda: _TOKENS.findall(text), 2 * scale),
        },
        rounds=25,
    )
    quadratic = statistics.median(timeit.repeat(every_delta, number=1, repeat=quadratic_repeat))
    rows = [*medians.items(), ("re-check every delta (quadratic)", quadratic * 1e6)]
    checker = ProgressiveChecker(validator)
    for delta in deltas:
        checker.feed(delta)
    checker.close()
    base = rows[0][1]
    print(f"\n{len(text):,} characters, {len(deltas)} deltas of {DELTA}, {checker.checks} checks")
    print(f"  {'':38} {'median':>12} {'x one validation':>17}")
    for name, micros in rows:
        print(f"  {name:38} {micros:>9.1f} us {micros / base:>16.2f}x")


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


def main() -> None:
    """Measure at about 2.3 KB and 20 KB, then show how soon broken answers stop."""
    _measure(12, quadratic_repeat=5)
    _measure(110, quadratic_repeat=3)
    _latency(110)


if __name__ == "__main__":
    main()
