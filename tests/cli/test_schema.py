"""`router schema`: the JSON Schema of the policy format, and the copy kept at the root."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from router.policy.schema import policy_json_schema

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "router-policy.schema.json"


def test_schema_prints_the_policy_json_schema(cli: Any) -> None:
    result = cli("schema")
    assert result.code == 0
    assert json.loads(result.out) == policy_json_schema()


def test_compact_schema_is_one_line(cli: Any) -> None:
    out = cli("schema", "--compact").out
    assert out.count("\n") == 1
    assert json.loads(out) == policy_json_schema()


def test_the_committed_schema_file_is_up_to_date(cli: Any) -> None:
    # Editors read this file through the policies' `yaml-language-server` modeline;
    # regenerate it with `router schema > router-policy.schema.json`.
    assert COMMITTED.read_text(encoding="utf-8") == cli("schema").out, (
        "router-policy.schema.json is stale: run `router schema > router-policy.schema.json`"
    )


def test_the_repository_policies_satisfy_the_schema() -> None:
    validator = jsonschema.Draft202012Validator(policy_json_schema())
    paths = [ROOT / "policies" / "default.yaml", *(ROOT / "policies" / "examples").glob("*.yaml")]
    for path in paths:
        if path.name.endswith(".cases.yaml"):
            continue
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
        assert errors == [], path
