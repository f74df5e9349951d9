"""Validation speed: our JSON Schema path against the engines people reach for.

The input is a realistic 2.3 KB structured answer (an extracted invoice: nested objects,
arrays, enums, patterns, `$defs`/`$ref`, `additionalProperties: false`). Every contender
starts from the JSON text, so parsing is included everywhere. Printed: the median time per
answer and its ratio to ours, for a valid answer and for one with four errors (where we
collect every error with its path).

    python benchmarks/bench_validation.py

`fastjsonschema` is measured when it happens to be installed (it is not a dependency); it
knows drafts up to 7, so it gets the same schema with `prefixItems` written the draft-7 way.
"""

# No `from __future__ import annotations`: the pydantic models below are resolved when they
# are defined, which also works when benchmarks/run.py loads this file without importing it.
import copy
import json
import statistics
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import jsonschema
import jsonschema_rs
import pydantic
from pydantic import BaseModel, ConfigDict, Field

from router.completion import Choice, Completion, Message, Status
from router.errors import ValidationFailed
from router.validation import AnswerSpec, compile_schema, validate_answer, validate_completion

DATA = Path(__file__).resolve().parent.parent / "tests" / "validation" / "data"


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Money(_Closed):
    amount: Annotated[float, Field(ge=0)]
    currency: Literal["EUR", "USD", "GBP", "JPY", "CHF"]


class Address(_Closed):
    street: Annotated[str, Field(min_length=1, max_length=120)]
    city: Annotated[str, Field(min_length=1)]
    postal_code: Annotated[str, Field(pattern=r"^[0-9A-Z -]{3,10}$")]
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class Party(_Closed):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    vat_id: Annotated[str, Field(pattern=r"^[A-Z]{2}[0-9A-Z]{8,12}$")] | None
    email: str
    address: Address


class LineItem(_Closed):
    sku: Annotated[str, Field(pattern=r"^[A-Z]{3}-[0-9]{4}$")]
    description: Annotated[str, Field(min_length=1, max_length=200)]
    quantity: Annotated[int, Field(ge=1, le=10000)]
    unit_price: Money
    tax_rate: Literal[0, 0.055, 0.1, 0.2]
    category: Literal["hardware", "software", "service", "shipping"]
    tags: Annotated[list[Annotated[str, Field(max_length=20)]], Field(max_length=5)]


class Totals(_Closed):
    net: Money
    tax: Money
    gross: Money


class Payment(_Closed):
    method: Literal["bank_transfer", "card", "cash"]
    iban: Annotated[str, Field(pattern=r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")] | None
    terms_days: Annotated[int, Field(ge=0, le=120)]


class Invoice(_Closed):
    """The pydantic model equivalent to invoice.schema.json."""

    schema_version: Literal[2]
    invoice_number: Annotated[str, Field(pattern=r"^INV-[0-9]{4}-[0-9]{5}$")]
    issue_date: str
    due_date: str | None
    status: Literal["draft", "issued", "paid", "overdue", "cancelled"]
    seller: Party
    buyer: Party
    items: Annotated[list[LineItem], Field(min_length=1)]
    totals: Totals
    payment: Payment
    location: tuple[
        Annotated[float, Field(ge=-90, le=90)], Annotated[float, Field(ge=-180, le=180)]
    ]
    notes: list[Annotated[str, Field(max_length=500)]]


def load() -> tuple[dict[str, Any], str, str]:
    """The schema, a valid answer and an invalid one (four errors)."""
    schema = json.loads((DATA / "invoice.schema.json").read_text())
    valid = (DATA / "invoice.json").read_text().strip()
    broken = json.loads(valid)
    broken["items"][0]["quantity"] = 1.5
    broken["items"][2]["unit_price"]["currency"] = "BTC"
    broken["buyer"]["address"]["country"] = "Germany"
    broken["surprise"] = True
    return schema, valid, json.dumps(broken, ensure_ascii=False)


def draft7(schema: dict[str, Any]) -> dict[str, Any]:
    """The same schema in draft-7 terms (`prefixItems` -> array `items`), for fastjsonschema."""
    out = copy.deepcopy(schema)
    location = out["properties"]["location"]
    location["items"] = location.pop("prefixItems")
    location["additionalItems"] = False
    out["definitions"] = out.pop("$defs")
    text = json.dumps(out).replace("#/$defs/", "#/definitions/")
    return {"$schema": "http://json-schema.org/draft-07/schema#", **json.loads(text)}


def contenders(schema: dict[str, Any]) -> dict[str, Callable[[str], object]]:
    """Each contender validates one JSON text completely; errors are collected, not raised."""
    ours = compile_schema(schema)
    reference = jsonschema.Draft202012Validator(schema)
    rust = jsonschema_rs.validator_for(schema)
    adapter = Invoice

    def ours_prebuilt(text: str) -> object:
        try:
            return ours.validate_json(text)
        except ValidationFailed as exc:  # every issue, with paths
            return exc

    def ours_lookup(text: str) -> object:
        try:
            return compile_schema(schema).validate_json(text)
        except ValidationFailed as exc:
            return exc

    request = {
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "invoice", "strict": True, "schema": schema},
        }
    }

    spec = AnswerSpec.from_request(request)
    completions: dict[str, Completion] = {}

    def completion_of(text: str) -> Completion:
        completion = completions.get(text)
        if completion is None:  # built once per text: the benchmark measures the check only
            choice = Choice(message=Message(content=text), finish_reason="stop")
            completion = completions[text] = Completion(choices=[choice], status=Status.COMPLETE)
        return completion

    def ours_answer(text: str) -> object:
        try:
            return validate_answer(completion_of(text), spec)
        except ValidationFailed as exc:
            return exc

    def ours_completion(text: str) -> object:
        try:
            return validate_completion(completion_of(text), request)
        except ValidationFailed as exc:
            return exc

    def validate_each_call(text: str) -> object:
        try:
            return jsonschema.validate(json.loads(text), schema)
        except jsonschema.ValidationError as exc:  # the best error only
            return exc

    def prebuilt_reference(text: str) -> object:
        return list(reference.iter_errors(json.loads(text)))

    def rust_raw(text: str) -> object:
        document = json.loads(text)
        return [] if rust.is_valid(document) else list(rust.iter_errors(document))

    def pydantic_model(text: str) -> object:
        try:
            return adapter.model_validate_json(text)
        except pydantic.ValidationError as exc:
            return exc

    table: dict[str, Callable[[str], object]] = {
        "router: prebuilt SchemaValidator.validate_json (parse + all errors)": ours_prebuilt,
        "router: compile_schema(s).validate_json (cache lookup + parse + all errors)": ours_lookup,
        "router: validate_answer(completion, spec) (a call's check, request read once)": (
            ours_answer
        ),
        "router: validate_completion(completion, request) (request read, then checked)": (
            ours_completion
        ),
        "jsonschema.validate() per call (best error)": validate_each_call,
        "jsonschema Draft202012Validator prebuilt (all errors)": prebuilt_reference,
        "jsonschema-rs raw (parse + is_valid, then all errors)": rust_raw,
        "pydantic Invoice.model_validate_json (all errors)": pydantic_model,
    }
    try:
        import fastjsonschema  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        return table
    fast = fastjsonschema.compile(draft7(schema))

    def fastjsonschema_first(text: str) -> object:
        try:
            return fast(json.loads(text))
        except fastjsonschema.JsonSchemaValueException as exc:  # the first error only
            return exc

    table["fastjsonschema (draft-7 copy, first error only)"] = fastjsonschema_first
    return table


def calibrate(function: Callable[[str], object], text: str) -> int:
    """Calls per timed batch so that one batch lasts about 20 ms."""
    function(text)
    number = 1
    while timeit.timeit(lambda: function(text), number=number) < 0.02:
        number *= 2
    return number


def measure(
    table: dict[str, Callable[[str], object]], text: str, rounds: int
) -> dict[str, list[float]]:
    """µs per call for each contender, in interleaved rounds so that load hits all alike."""
    batches = {name: calibrate(function, text) for name, function in table.items()}
    samples: dict[str, list[float]] = {name: [] for name in table}
    for _ in range(rounds):
        for name, function in table.items():
            number = batches[name]
            elapsed = timeit.timeit(lambda f=function: f(text), number=number)  # type: ignore[misc]
            samples[name].append(elapsed / number * 1e6)
    return samples


def main() -> None:
    """Print one table per input: median and best µs per answer, and the ratio to ours."""
    schema, valid, broken = load()
    table = contenders(schema)
    ours_name = next(iter(table))
    for label, text in (("valid answer", valid), ("invalid answer (4 errors)", broken)):
        size = len(text.encode())
        print(f"{label}: {size} bytes, median (and best) of 15 interleaved rounds")
        samples = measure(table, text, rounds=15)
        ours = statistics.median(samples[ours_name])
        print(f"| {'contender':<78} | {'median µs':>10} | {'best µs':>8} | {'x ours':>7} |")
        print(f"|{'-' * 80}|{'-' * 11}:|{'-' * 9}:|{'-' * 8}:|")
        for name, runs in samples.items():
            median = statistics.median(runs)
            print(f"| {name:<78} | {median:>10.1f} | {min(runs):>8.1f} | {median / ours:>7.2f} |")
        print()


if __name__ == "__main__":
    main()
