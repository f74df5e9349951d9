"""The pydantic models (source of the JSON Schema) and the loader say exactly the same."""

from __future__ import annotations

import re
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import jsonschema
import pydantic
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from router.errors import PolicyError
from router.intent import FIELDS
from router.policy import Policy
from router.policy import grammar as g
from router.policy import schema as s

REPO = Path(__file__).resolve().parents[2]
POLICY_FILES = sorted(
    path for path in (REPO / "policies").rglob("*.yaml") if not path.name.endswith(".cases.yaml")
)


def keys(model: type[pydantic.BaseModel]) -> set[str]:
    return {info.alias or name for name, info in model.model_fields.items()}


def literal_values(annotation: Any) -> set[Any]:
    """Every Literal value reachable inside a (union of) annotation(s)."""
    out: set[Any] = set()
    if typing.get_origin(annotation) is typing.Literal:
        return set(typing.get_args(annotation))
    for arg in typing.get_args(annotation):
        out |= literal_values(arg)
    return out


def field_annotation(model: type[pydantic.BaseModel], name: str) -> Any:
    return model.model_fields[name].annotation


def test_same_keys() -> None:
    assert keys(s.PolicyModel) == set(g.TOP_KEYS)
    assert keys(s.OptionsModel) == set(g.OPTION_KEYS)
    assert keys(s.RuleModel) == set(g.RULE_KEYS)
    assert keys(s.ValidateModel) == set(g.VALIDATE_KEYS)
    assert keys(s.StreamModel) == set(g.STREAM_KEYS)
    assert keys(s.TimeoutsModel) == set(g.TIMEOUT_KEYS)
    assert keys(s.RetriesModel) == set(g.RETRY_KEYS)
    assert keys(s.Backoff) == set(g.BACKOFF_KEYS)
    assert keys(s.When) == set(g.CONDITION_FIELDS) | set(g.COMBINATORS)


def test_same_enums() -> None:
    assert literal_values(field_annotation(s.OptionsModel, "mode")) == set(g.MODES)
    assert literal_values(field_annotation(s.StreamModel, "include_usage")) == set(
        g.INCLUDE_USAGE_VALUES
    )
    assert literal_values(field_annotation(s.StreamModel, "fallback")) == set(g.FALLBACK_VALUES)
    assert literal_values(field_annotation(s.PolicyModel, "version")) == set(g.SUPPORTED_VERSIONS)
    for name, spec in FIELDS.items():
        if spec.kind == "enum":
            assert literal_values(field_annotation(s.When, name)) == set(spec.allowed), name


def test_same_operators_per_kind() -> None:
    ops_model = {"bool": s.BoolOps, "int": s.IntOps, "str": s.StrOps}
    for name, spec in FIELDS.items():
        if spec.kind == "labels":
            continue
        union = typing.get_args(field_annotation(s.When, name))
        (model,) = [
            arg for arg in union if isinstance(arg, type) and issubclass(arg, pydantic.BaseModel)
        ]
        assert model is ops_model.get(spec.kind, model)
        assert keys(model) == set(g.OPERATORS_BY_KIND[spec.kind]), name


# Each document: (loader accepts?, pydantic accepts?) must be equal. Types included.
DOCUMENTS: list[dict[str, Any]] = [
    {"version": 1},
    {"version": 1, "rules": []},
    {"version": 1, "rules": None},
    {"version": 2},
    {"version": "1"},
    {"rules": []},
    {"version": 1, "extra": 1},
    {"version": 1, "defaults": None},
    {"version": 1, "defaults": {"mode": "stream"}},
    {"version": 1, "defaults": {"mode": "fast"}},
    {"version": 1, "defaults": {"mode": None}},
    {"version": 1, "defaults": {"validate": True}},
    {"version": 1, "defaults": {"validate": {"reask": 2, "progressive": True}}},
    {"version": 1, "defaults": {"validate": {"reask": -1}}},
    {"version": 1, "defaults": {"validate": "yes"}},
    {"version": 1, "defaults": {"timeouts": {"idle": "5s", "total": "10m"}}},
    {"version": 1, "defaults": {"timeouts": {"idle": 5}}},
    {"version": 1, "defaults": {"timeouts": {"idle": "5 s"}}},
    {"version": 1, "defaults": {"timeouts": {"idle": " 5s"}}},
    {"version": 1, "defaults": {"timeouts": {"idle": "0s"}}},
    {"version": 1, "defaults": {"timeouts": {"idle": "0.0ms"}}},
    {"version": 1, "defaults": {"timeouts": {"idle": ".0s"}}},
    {"version": 1, "defaults": {"timeouts": {"idle": "0.05s", "total": "010m"}}},
    {"version": 1, "defaults": {"retries": {"backoff": {"initial": ".5s", "max": "0"}}}},
    {"version": True},
    {"version": 2},
    {"version": 1, "defaults": {"retries": {"attempts": 0}}},
    {"version": 1, "defaults": {"retries": {"attempts": 2, "backoff": {"initial": "1s"}}}},
    {"version": 1, "defaults": {"stream": {"include_usage": "always", "fallback": "none"}}},
    {"version": 1, "defaults": {"stream": {"include_usage": True}}},
    {"version": 1, "rules": [{"name": "a"}]},
    {"version": 1, "rules": [{"name": ""}]},
    {"version": 1, "rules": [{"mode": "batch"}]},
    {"version": 1, "rules": [{"name": "a", "when": None}]},
    {"version": 1, "rules": [{"name": "a", "when": {}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"audience": "user"}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"audience": "robot"}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"audience": None}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"audience": ["user", "service"]}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"audience": []}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"audience": {"lt": 3}}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"audience": {"ne": "user"}}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"post_process": True}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"post_process": "true"}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"post_process": [True]}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"post_process": {"exists": False}}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"expected_tokens": {"lt": 64}}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"expected_tokens": {"lt": "64"}}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"expected_tokens": -1}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"expected_tokens": True}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"expected_tokens": {"glob": "1*"}}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"model": {"glob": ["o*", "x"]}}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"model": {"glob": []}}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"model": False}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"model": {"lt": 3}}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"labels.route": "x"}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"labels.route": {"glob": "x*"}}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"labels.route": 3}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"labels": {"route": "x"}}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"audiense": "user"}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"any": [{"audience": "user"}]}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"any": []}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"all": [{"model": "x"}, {"not": {}}]}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"not": {"billing": "none"}}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"not": [{"billing": "none"}]}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"tools": {"in": "offered"}}}]},
    {"version": 1, "rules": [{"name": "a", "when": {"model": {}}}]},
]


def loader_accepts(document: dict[str, Any]) -> bool:
    try:
        Policy.from_text(yaml.safe_dump(document))
    except PolicyError:
        return False
    return True


def models_accept(document: dict[str, Any]) -> bool:
    try:
        s.PolicyModel.model_validate(document)
    except pydantic.ValidationError:
        return False
    return True


@pytest.mark.parametrize("document", DOCUMENTS, ids=[str(i) for i in range(len(DOCUMENTS))])
def test_loader_and_models_accept_the_same_documents(document: dict[str, Any]) -> None:
    schema = s.policy_json_schema()
    by_schema = jsonschema.Draft202012Validator(schema).is_valid(document)
    assert loader_accepts(document) == models_accept(document) == by_schema, document


def test_a_duration_with_a_trailing_newline_is_refused_by_the_loader_and_the_models() -> None:
    # Not in DOCUMENTS: python-jsonschema searches patterns with Python's `re`, whose `$`
    # also matches before a final newline; the models (and ECMA-262's `$`) do not.
    document = {"version": 1, "defaults": {"timeouts": {"idle": "5s\n"}}}
    assert loader_accepts(document) is False
    assert models_accept(document) is False


def test_a_fractional_version_is_refused_by_the_loader_and_the_models() -> None:
    # Not in DOCUMENTS: to JSON Schema 1.0 is the integer 1, so `const: 1` takes it.
    document = {"version": 1.0}
    assert loader_accepts(document) is False
    assert models_accept(document) is False


@given(st.from_regex(r"\A[0-9.]{1,6}(ms|s|m|h)\Z"))
def test_the_duration_pattern_takes_exactly_what_parses_to_more_than_zero(text: str) -> None:
    seconds = g.parse_duration(text)
    positive = seconds is not None and seconds > 0
    assert bool(re.fullmatch(g.DURATION_PATTERN, text)) is positive


def test_the_generated_schema_is_a_valid_json_schema() -> None:
    schema = s.policy_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"].endswith("2020-12/schema")
    assert schema["title"] == "router policy"
    assert "null" not in str(schema["$defs"]["OptionsModel"])


@pytest.mark.parametrize("path", POLICY_FILES, ids=[p.name for p in POLICY_FILES])
def test_every_shipped_policy_passes_the_loader_and_the_schema(path: Path) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert loader_accepts(document)
    jsonschema.validate(document, s.policy_json_schema())
    s.PolicyModel.model_validate(document)


def test_deciding_imports_no_pydantic_httpx_or_jsonschema() -> None:
    code = (
        "import sys, router\n"
        "from router.policy import load_policy\n"
        "d = load_policy().decide({'model': 'gpt-4o'}, audience='user', explain=True)\n"
        "d.to_dict()\n"
        "heavy = sorted(m for m in ('pydantic', 'httpx', 'jsonschema') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == ""
