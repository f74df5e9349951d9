"""Validation against a caller's pydantic model or `TypeAdapter`, issues in the common shape.

pydantic parses and validates JSON in one pass (`model_validate_json`), runs the model's own
validators (`field_validator`, `model_validator`) and returns the typed object the caller
asked for; its error locations become the same JSON paths the schema engine reports.
"""

from __future__ import annotations

import functools
from typing import Any

import pydantic

from router.errors import ValidationFailed, ValidationIssue
from router.validation.paths import json_path
from router.validation.schema import summarize

__all__ = ["validate_model_json"]


@functools.lru_cache(maxsize=128)
def _adapter(annotation: Any) -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(annotation)


def _validator_for(model: Any) -> Any:
    """The object whose `validate_json` checks text against `model`."""
    if isinstance(model, pydantic.TypeAdapter):
        return model
    if isinstance(model, type) and issubclass(model, pydantic.BaseModel):
        return None  # `model_validate_json` is called on the class itself
    try:
        return _adapter(model)
    except TypeError:  # an unhashable annotation: build an adapter for this call only
        return pydantic.TypeAdapter(model)


def _issue(error: Any) -> ValidationIssue:
    keyword = "json" if error["type"] == "json_invalid" else error["type"]
    return ValidationIssue(json_path(error["loc"]), error["msg"], keyword)


def validate_model_json(model: Any, raw: str | bytes) -> Any:
    """Parse and validate `raw` as `model` (a BaseModel class, a TypeAdapter or any type).

    Returns the validated object; raises `ValidationFailed` with every error and its path.
    """
    adapter = _validator_for(model)
    try:
        if adapter is None:
            return model.model_validate_json(raw)
        return adapter.validate_json(raw)
    except pydantic.ValidationError as exc:
        found = [_issue(error) for error in exc.errors(include_url=False)]
        text = raw if isinstance(raw, str) else raw.decode("utf-8", errors="replace")
        raise ValidationFailed(
            f"the answer does not match {_name(model)}: " + summarize(found),
            issues=found,
            raw=text,
        ) from None


def _name(model: Any) -> str:
    if isinstance(model, pydantic.TypeAdapter):
        return "its TypeAdapter"
    return getattr(model, "__name__", None) or repr(model)
