"""Validation is heavy (jsonschema, jsonschema-rs): `import router` must not load it, and
validating against a JSON Schema must not load pydantic (only a `response_model` needs it)."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import router
HEAVY = ("jsonschema", "jsonschema_rs", "pydantic", "router.validation")
before = [m for m in HEAVY if m in sys.modules]
from router import Choice, Completion, Message, Status, validate_completion
schema = {"type": "object"}
request = {"response_format": {"type": "json_schema", "json_schema": {"schema": schema}}}
choice = Choice(message=Message(content="{}"), finish_reason="stop")
answer = Completion(choices=[choice], status=Status.COMPLETE)
assert validate_completion(answer, request) == {}
print(before, [m for m in HEAVY[:3] if m in sys.modules])
"""


def test_import_router_stays_light_and_schemas_need_no_pydantic() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[] ['jsonschema', 'jsonschema_rs']"
