"""The schema handed to the fast engine: the caller's schema with keywords re-routed.

`jsonschema-rs` judges `pattern` by ECMA-262 rules and compares numbers in `enum` slowly; the
reference (`jsonschema`) uses Python's `re` and Python equality. The rewrite keeps each
keyword native where the two agree and routes it to a custom keyword running the reference's
logic where they might not:

- `pattern`: kept native when `native_pattern` can translate it exactly, else renamed to
  `x-router-pattern` (Python's `re`);
- `enum` holding a number, list or object: renamed to `x-router-enum` (reference equality);
- `multipleOf`: always the reference's float arithmetic (a custom keyword of that name).

Only positions where a keyword is a keyword are rewritten (never a property named
`pattern`). A `$ref` whose target the walk cannot vouch for (anything but `#`, `#/$defs/...`
or `#/definitions/...`) makes `rewrite` return None, and the caller falls back to overriding
`pattern` everywhere.
"""

from __future__ import annotations

from typing import Any

from router.validation.keywords import ENUM, PATTERN, native_pattern

__all__ = ["SUBSCHEMA_LISTS", "SUBSCHEMA_MAPS", "SUBSCHEMA_VALUES", "rewrite"]

#: Where subschemas live, for every walk over a schema: keywords whose value is one
#: subschema, a map of names to subschemas, or a list of subschemas (`items` is either).
SUBSCHEMA_VALUES = frozenset(
    {
        "additionalItems",
        "additionalProperties",
        "contains",
        "else",
        "if",
        "items",
        "not",
        "propertyNames",
        "then",
        "unevaluatedItems",
        "unevaluatedProperties",
    }
)
SUBSCHEMA_MAPS = frozenset(
    {"$defs", "definitions", "dependencies", "dependentSchemas", "patternProperties", "properties"}
)
SUBSCHEMA_LISTS = frozenset({"allOf", "anyOf", "items", "oneOf", "prefixItems"})
_SAFE_REF_PREFIXES = ("#/$defs/", "#/definitions/")


class _Unsure(Exception):
    """The walk met a reference it cannot follow."""


def _rewrite(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("$ref", "$dynamicRef", "$recursiveRef"):
            if not isinstance(value, str) or not (
                value == "#" or value.startswith(_SAFE_REF_PREFIXES)
            ):
                raise _Unsure(value)
            out[key] = value
        elif key == "pattern" and isinstance(value, str):
            native = native_pattern(value)
            if native is None:
                out[PATTERN] = value
            else:
                out[key] = native
        elif (
            key == "enum"
            and isinstance(value, list)
            and not all(isinstance(member, str) or member is None for member in value)
        ):
            out[ENUM] = value
        elif key in SUBSCHEMA_VALUES and isinstance(value, dict | bool):
            out[key] = _rewrite(value)
        elif key in SUBSCHEMA_LISTS and isinstance(value, list):
            out[key] = [_rewrite(item) for item in value]
        elif key in SUBSCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _rewrite(item) for name, item in value.items()}
        else:
            out[key] = value
    return out


def rewrite(schema: Any) -> Any | None:
    """The schema for the fast engine, or None when a `$ref` target cannot be vouched for."""
    try:
        return _rewrite(schema)
    except _Unsure:
        return None
