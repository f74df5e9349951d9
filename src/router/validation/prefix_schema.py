"""The prefix schema: what the complete parts of a streamed answer must already satisfy.

While an answer streams in, its text so far can be closed off (`close_prefix`): the complete
members are kept, the one still being written is dropped, the open objects and arrays are
closed. That document is a *part* of every final answer the stream can still produce: its
objects hold a subset of the final members, its arrays a leading run of the final items, and
its scalars are final. `prefix_schema` rewrites a JSON Schema so that every part of a valid
answer satisfies it; so when a part fails the rewritten schema, no continuation of the
stream can be valid, and the stream may stop. The rewrite, keyword by keyword:

- kept: `type`, `enum` and `const` of scalars, every string and number keyword, `maxItems`,
  `maxProperties`, `propertyNames`, `additionalProperties`, `$ref` (its target is rewritten
  too, since the whole document is);
- deferred to the final validation (more text can still satisfy them): `required`,
  `minProperties`, `minItems`, `dependentRequired`, `contains` and its counts;
- dropped, since a part may break them while the whole does not: `uniqueItems` (a half-built
  item may equal an earlier one), `not`, `unevaluatedProperties`, `unevaluatedItems`;
- weakened: `oneOf` becomes `anyOf` (a part may fit several branches), `if`/`then`/`else`
  becomes "`then` or `else`" (a part may not yet show which applies; without both branches it
  is dropped), and an `enum` or `const` listing objects or arrays accepts any object or array
  (a part of one is not equal to it).

Subschemas are rewritten wherever a keyword holds them (`properties`, `items`, `anyOf`,
`$defs`, ...). If a keyword the rewrite does not know holds data that looks like schemas with
keywords it would change (something a `$ref` might point into), the prefix schema is `true`:
only the JSON syntax is then checked while streaming. Never a false alarm, at the price of
fewer early ones.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from router.validation.fastschema import SUBSCHEMA_LISTS, SUBSCHEMA_MAPS, SUBSCHEMA_VALUES
from router.validation.schema import (
    SchemaValidator,
    ValidatorLRU,
    compile_schema,
    uses_keyword,
)

__all__ = ["prefix_schema", "prefix_validator"]

#: Judged only on the whole answer: a longer text can still satisfy them.
_DEFERRED = frozenset(
    {
        "required",
        "minProperties",
        "minItems",
        "dependentRequired",
        "contains",
        "minContains",
        "maxContains",
    }
)
#: A part can break them while the whole answer does not.
_DROPPED = frozenset({"uniqueItems", "not", "unevaluatedProperties", "unevaluatedItems"})
#: Rewritten below (`oneOf`, `if`/`then`/`else`) or checked for objects and arrays.
_REWRITTEN = frozenset({"oneOf", "if", "then", "else", "enum", "const", "items", "dependencies"})
#: Keywords kept as they are: assertions on scalars, references, identifiers, annotations.
_KEPT = frozenset(
    {
        "$schema",
        "$id",
        "id",
        "$anchor",
        "$dynamicAnchor",
        "$recursiveAnchor",
        "$ref",
        "$dynamicRef",
        "$recursiveRef",
        "$vocabulary",
        "$comment",
        "type",
        "format",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "maxItems",
        "maxProperties",
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "contentEncoding",
        "contentMediaType",
        "contentSchema",
    }
)
#: Keywords that, found under a keyword the rewrite does not know, make it give up.
_WOULD_CHANGE = _DEFERRED | _DROPPED | _REWRITTEN - {"items"}


class _UnknownSubschemas(Exception):
    """A keyword the rewrite does not know holds what may be subschemas it would change."""


def prefix_schema(schema: Mapping[str, Any] | bool) -> dict[str, Any] | bool:
    """The schema every closed-off part of a valid answer satisfies (see the module docstring)."""
    try:
        rewritten: dict[str, Any] | bool = _rewrite(schema)
    except _UnknownSubschemas:
        return True
    return rewritten


_CACHE_SIZE = 256
_compiled: ValidatorLRU[str] = ValidatorLRU()
_compiled_lock = threading.Lock()


def prefix_validator(schema: Mapping[str, Any] | bool | SchemaValidator) -> SchemaValidator:
    """The compiled prefix schema of `schema`, cached by the schema's fingerprint.

    Given a compiled `SchemaValidator` (as `compile_schema` returns), the lookup costs a dict
    access: the canonical JSON was hashed once, when the schema was compiled.
    """
    compiled = schema if isinstance(schema, SchemaValidator) else compile_schema(schema)
    key = compiled.fingerprint
    with _compiled_lock:
        found = _compiled.hit(key)
    if found is not None:
        return found
    built = SchemaValidator(prefix_schema(compiled.schema))
    with _compiled_lock:
        _compiled.put(key, built, _CACHE_SIZE)
    return built


def _rewrite(node: Any) -> Any:
    if not isinstance(node, dict):
        return node  # a boolean schema means the same for a part as for the whole
    out: dict[str, Any] = {}
    extra: list[Any] = []  # constraints added under `allOf`
    for key, value in node.items():
        if key in _DEFERRED or key in _DROPPED or key in ("if", "then", "else"):
            continue
        if key == "dependencies" and isinstance(value, dict):
            # Draft 4-7: a list of names is a `dependentRequired` (deferred), a schema applies.
            out[key] = {
                name: _rewrite(sub) for name, sub in value.items() if not isinstance(sub, list)
            }
        elif key == "oneOf" and isinstance(value, list):
            extra.append({"anyOf": [_rewrite(sub) for sub in value]})
        elif key in ("enum", "const"):
            listed = value if key == "enum" and isinstance(value, list) else [value]
            if any(isinstance(item, dict | list) for item in listed):
                extra.append(_enum_for_parts(listed))
            else:
                out[key] = value  # scalars are whole in every part
        elif key in SUBSCHEMA_VALUES and isinstance(value, dict | bool):
            out[key] = _rewrite(value)
        elif key in SUBSCHEMA_LISTS and isinstance(value, list):
            out[key] = [_rewrite(sub) for sub in value]
        elif key in SUBSCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _rewrite(sub) for name, sub in value.items()}
        elif key in _KEPT:
            out[key] = value
        else:
            if uses_keyword(value, _WOULD_CHANGE):
                raise _UnknownSubschemas(key)
            out[key] = value  # an unknown keyword: validators ignore it
    if "then" in node and "else" in node and "if" in node:
        extra.append({"anyOf": [_rewrite(node["then"]), _rewrite(node["else"])]})
    if extra:
        out["allOf"] = [*out.get("allOf", ()), *extra]
    return out


def _enum_for_parts(values: list[Any]) -> dict[str, Any]:
    """`enum` for parts: scalars must be listed; an object or array may be a part of one."""
    scalars = [value for value in values if not isinstance(value, dict | list)]
    kinds = sorted({kind for value in values if (kind := _container_kind(value)) is not None})
    if not kinds:
        return {"enum": scalars}
    return {"anyOf": [{"enum": scalars}, {"type": kinds}]} if scalars else {"type": kinds}


def _container_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return None
