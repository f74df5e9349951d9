"""`router schema`: the JSON Schema of the policy format, and the copy kept at the root."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from router.policy.schema import policy_json_schema

ROOT = Path(__file__).resolve().parents[2]
#: Copies editors read through `yaml-language-server` modelines: the one at the root for
#: policies written next to it, the one in policies/ for the repository's own policies.
COMMITTED = [ROOT / "router-policy.schema.json", ROOT / "policies" / "router-policy.schema.json"]


def test_schema_prints_the_policy_json_schema(cli: Any) -> None:
    result = cli("schema")
    assert result.code == 0
    assert json.loads(result.out) == policy_json_schema()


def test_compact_schema_is_one_line(cli: Any) -> None:
    out = cli("schema", "--compact").out
    assert out.count("\n") == 1
    assert json.loads(out) == policy_json_schema()


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_committed_schema_files_are_up_to_date(cli: Any, path: Path) -> None:
    assert path.read_text(encoding="utf-8") == cli("schema").out, (
        f"{path.relative_to(ROOT)} is stale: run `router schema > {path.relative_to(ROOT)}`"
    )


def test_the_repository_policies_modelines_point_at_a_committed_schema() -> None:
    policies = [
        ROOT / "policies" / "default.yaml",
        *(ROOT / "policies" / "examples").glob("*.yaml"),
    ]
    for policy in policies:
        if policy.name.endswith(".cases.yaml"):
            continue
        first = policy.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), policy
        target = (policy.parent / first.split("$schema=", 1)[1].strip()).resolve()
        assert target in [path.resolve() for path in COMMITTED], (policy, target)


def test_the_repository_policies_satisfy_the_schema() -> None:
    validator = jsonschema.Draft202012Validator(policy_json_schema())
    paths = [ROOT / "policies" / "default.yaml", *(ROOT / "policies" / "examples").glob("*.yaml")]
    for path in paths:
        if path.name.endswith(".cases.yaml"):
            continue
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
        assert errors == [], path
