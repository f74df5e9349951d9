"""Decision and Options: the Decision JSON shape of DESIGN.md, immutability, defaults."""

from __future__ import annotations

import json

import pytest

from router.decision import (
    Decision,
    Options,
    PolicyRef,
    Retries,
    StreamOptions,
    Timeouts,
    TraceStep,
    ValidateOptions,
)
from router.intent import Intent

REF = PolicyRef("default.yaml", "ab" * 32)


def test_to_dict_is_designs_decision_json() -> None:
    decision = Decision(
        "stream",
        "user-facing",
        Options(stream=StreamOptions(include_usage=True, fallback="batch")),
        Intent.from_request(audience="user"),
        REF,
        (TraceStep("cost-known-first", False, "billing: none is not before_delivery"),),
    )
    data = decision.to_dict()
    assert list(data) == ["format_version", "mode", "rule", "options", "intent", "policy", "trace"]
    assert data["format_version"] == 1
    assert data["options"] == {
        "validate": False,
        "stream": {"include_usage": True, "fallback": "batch"},
        "timeouts_ms": {"connect": 5000, "first_token": 30000, "idle": 30000, "total": 600000},
        "retries": {"attempts": 3, "backoff_ms": {"initial": 500, "max": 8000}},
    }
    assert data["intent"]["audience"] == "user"
    assert data["policy"] == {"source": "default.yaml", "sha256": "ab" * 32}
    assert data["trace"] == [
        {
            "rule": "cost-known-first",
            "matched": False,
            "failed": "billing: none is not before_delivery",
        }
    ]
    json.dumps(data)  # plain JSON types only


def test_trace_is_absent_unless_explained_and_rule_may_be_null() -> None:
    decision = Decision("batch", None, Options(), Intent.from_request(), REF)
    data = decision.to_dict()
    assert "trace" not in data
    assert data["rule"] is None
    assert decision.stream is False


def test_enabled_validation_is_an_object() -> None:
    options = Options(validate=ValidateOptions(enabled=True, reask=2, progressive=True))
    assert options.to_dict()["validate"] == {"reask": 2, "progressive": True}


def test_fractional_milliseconds_survive() -> None:
    assert Timeouts(connect=0.0005).to_dict()["connect"] == 0.5
    assert Retries(backoff_initial=0.25).to_dict()["backoff_ms"]["initial"] == 250


def test_decision_is_immutable_and_compares_by_value() -> None:
    a = Decision("batch", None, Options(), Intent.from_request(), REF)
    b = Decision("batch", None, Options(), Intent.from_request(), REF)
    assert a == b
    assert "batch" in repr(a)
    with pytest.raises(AttributeError):
        a.mode = "stream"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        Options().timeouts.total = 1.0  # type: ignore[misc]


def test_decisions_and_intents_compare_only_with_their_own_kind() -> None:
    intent = Intent.from_request()
    assert intent != tuple(intent)
    decision = Decision("batch", None, Options(), intent, REF)
    assert decision != tuple(decision)
    assert Options() == Options(timeouts=Timeouts(), retries=Retries())
    assert Options(timeouts=Timeouts(total=1.0)) != Options()
