"""A caller's pydantic model (or TypeAdapter) checks the answer and becomes the parsed value."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from router.completion import Choice, Completion, FunctionCall, Message, Status, ToolCall
from router.errors import AnswerRefused, IncompleteAnswer, ValidationFailed
from router.validation import validate_completion
from router.validation.models import validate_model_json


class LineItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Annotated[str, Field(pattern=r"^[A-Z]{3}-[0-9]{4}$")]
    quantity: Annotated[int, Field(ge=1)]
    unit_price: float
    category: Literal["hardware", "software", "service"]


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: str
    placed_on: date
    items: Annotated[list[LineItem], Field(min_length=1)]
    total: float

    @field_validator("order_id")
    @classmethod
    def order_ids_are_prefixed(cls, value: str) -> str:
        if not value.startswith("ORD-"):
            raise ValueError("order ids start with ORD-")
        return value

    @model_validator(mode="after")
    def total_matches_items(self) -> Order:
        expected = round(sum(i.quantity * i.unit_price for i in self.items), 2)
        if abs(expected - self.total) > 0.005:
            raise ValueError(f"total {self.total} does not match the items ({expected})")
        return self


GOOD: dict[str, Any] = {
    "order_id": "ORD-17",
    "placed_on": "2026-11-20",
    "items": [
        {"sku": "HWD-1001", "quantity": 2, "unit_price": 10.5, "category": "hardware"},
        {"sku": "SRV-3001", "quantity": 1, "unit_price": 85.0, "category": "service"},
    ],
    "total": 106.0,
}
REQUEST: dict[str, Any] = {"model": "gpt-4o", "messages": []}


def answer(text: str | None, finish_reason: str = "stop") -> Completion:
    choice = Choice(message=Message(content=text), finish_reason=finish_reason)
    return Completion(choices=[choice], status=Status.COMPLETE)


def test_the_parsed_value_is_a_model_instance() -> None:
    completion = answer(json.dumps(GOOD), finish_reason="stop")
    order = validate_completion(completion, REQUEST, response_model=Order)
    assert isinstance(order, Order)
    assert order.placed_on == date(2026, 11, 20)
    assert completion.parsed is order


def test_every_error_has_a_path_including_validators() -> None:
    bad = json.loads(json.dumps(GOOD))
    bad["order_id"] = "17"
    bad["items"][0]["quantity"] = 0
    bad["items"][1]["category"] = "food"
    bad["items"][1]["colour"] = "red"
    with pytest.raises(ValidationFailed) as caught:
        validate_completion(answer(json.dumps(bad)), REQUEST, response_model=Order)
    found = [(i.path, i.keyword) for i in caught.value.issues]
    assert found == [
        ("$.order_id", "value_error"),
        ("$.items[0].quantity", "greater_than_equal"),
        ("$.items[1].category", "literal_error"),
        ("$.items[1].colour", "extra_forbidden"),
    ]
    assert "order ids start with ORD-" in caught.value.issues[0].message
    assert str(caught.value).startswith("the answer does not match Order: 4 issues:")
    assert caught.value.raw == json.dumps(bad)


def test_model_validator_failure_is_reported_at_the_root() -> None:
    bad = {**GOOD, "total": 99.0}
    with pytest.raises(ValidationFailed) as caught:
        validate_completion(answer(json.dumps(bad)), REQUEST, response_model=Order)
    (issue,) = caught.value.issues
    assert issue.path == "$"
    assert "does not match the items (106.0)" in issue.message


def test_invalid_json_is_a_json_issue() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_completion(answer('{"order_id": '), REQUEST, response_model=Order)
    (issue,) = caught.value.issues
    assert issue.keyword == "json"
    assert "line 1 column 13" in issue.message


def test_type_adapter_and_plain_types() -> None:
    adapter = TypeAdapter(list[LineItem])
    text = json.dumps(GOOD["items"])
    items = validate_completion(answer(text), REQUEST, response_model=adapter)
    assert [i.sku for i in items] == ["HWD-1001", "SRV-3001"]
    assert validate_completion(answer("[1, 2]"), REQUEST, response_model=list[int]) == [1, 2]
    with pytest.raises(ValidationFailed) as caught:
        validate_model_json(dict[str, int], '{"a": 1, "b": "x"}')
    assert [i.path for i in caught.value.issues] == ["$.b"]


def test_model_replaces_the_request_schema() -> None:
    request = {
        **REQUEST,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "x", "schema": {"type": "array"}},
        },
    }
    order = validate_completion(answer(json.dumps(GOOD)), request, response_model=Order)
    assert isinstance(order, Order)


def test_model_given_as_response_format_like_the_sdk_parse() -> None:
    request = {**REQUEST, "response_format": Order}
    assert isinstance(validate_completion(answer(json.dumps(GOOD)), request), Order)


def test_refused_and_cut_off_answers() -> None:
    refused = Completion(choices=[Choice(message=Message(refusal="No."), finish_reason="stop")])
    with pytest.raises(AnswerRefused):
        validate_completion(refused, REQUEST, response_model=Order)
    cut = answer(json.dumps(GOOD)[:40], finish_reason="length")
    with pytest.raises(IncompleteAnswer):
        validate_completion(cut, REQUEST, response_model=Order)


def test_forced_function_call_arguments_become_the_model() -> None:
    request = {
        **REQUEST,
        "tools": [
            {
                "type": "function",
                "function": {"name": "record_order", "parameters": Order.model_json_schema()},
            }
        ],
        "tool_choice": {"type": "function", "function": {"name": "record_order"}},
    }
    call = ToolCall(id="c1", function=FunctionCall("record_order", json.dumps(GOOD)))
    completion = Completion(
        choices=[Choice(message=Message(tool_calls=[call]), finish_reason="stop")]
    )
    order = validate_completion(completion, request, response_model=Order)
    assert isinstance(order, Order)
    assert call.function.parsed_arguments is order
    bad = ToolCall(id="c2", function=FunctionCall("record_order", json.dumps({**GOOD, "total": 1})))
    completion.choices[0].message.tool_calls = [bad]
    with pytest.raises(ValidationFailed) as caught:
        validate_completion(completion, request, response_model=Order)
    assert [(i.tool_call, i.path) for i in caught.value.issues] == [(0, "$")]
