"""Validation of whole answers: JSON Schema, tool-call arguments and pydantic models.

Pure (no I/O): the execution layer calls `validate_answer` (`validate_completion` with the
request read once per call) when a decision says `validate`. Schemas are compiled once
(`compile_schema`, a bounded cache keyed by the schema's canonical JSON) and judged as the
reference implementation `jsonschema` judges them, at the speed of `jsonschema-rs`. Every
failure lists every issue with its JSON path.
"""

from __future__ import annotations

from router.validation.answers import AnswerSpec, validate_answer, validate_completion
from router.validation.decode import parse_json
from router.validation.paths import json_path
from router.validation.schema import SchemaCache, SchemaValidator, compile_schema

__all__ = [
    "AnswerSpec",
    "SchemaCache",
    "SchemaValidator",
    "compile_schema",
    "json_path",
    "parse_json",
    "validate_answer",
    "validate_completion",
]
