"""JSON Schema validators, compiled once and cached, that report every issue with its path.

The engine is `jsonschema-rs` (Rust, Draft 4 to 2020-12) where it agrees with the reference
implementation, `jsonschema`, and `jsonschema` itself where it might not:

- `pattern`, `multipleOf` and numeric `enum` run the reference's own logic inside the fast
  engine where the two could differ (see `router.validation.fastschema` and `.keywords`);
- a schema with `patternProperties` (a regex chosen by key, which a custom keyword cannot
  override) or one the fast engine refuses to build is validated by the reference;
- a document the fast engine cannot take (a string holding a lone surrogate, which `\\ud800`
  in JSON produces) is validated by the reference.

`format` is never asserted (as with `jsonschema.validate()`), and no `$ref` is ever fetched
over the network: validation is pure.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import threading
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, cast

import jsonschema
import jsonschema_rs
import referencing.exceptions
from jsonschema_specifications import REGISTRY as META_SCHEMAS  # type: ignore[import-untyped]

from router.errors import InvalidSchema, ValidationFailed, ValidationIssue
from router.validation.decode import parse_json
from router.validation.fastschema import rewrite
from router.validation.keywords import FAITHFUL_KEYWORDS, KEYWORD_NAMES, OVERRIDE_KEYWORDS
from router.validation.paths import json_path

__all__ = [
    "SchemaCache",
    "SchemaValidator",
    "ValidatorLRU",
    "canonical_json",
    "compile_schema",
    "summarize",
    "uses_keyword",
]

Engine = Literal["jsonschema-rs", "jsonschema"]
_K = TypeVar("_K", str, bytes)

#: What the fast engine raises for a document it cannot take: a lone surrogate in a string
#: (`UnicodeEncodeError`), or Python data that is not JSON (a set, a date, a non-string key).
#: The reference judges those documents instead.
_NOT_FOR_THE_FAST_ENGINE = (UnicodeEncodeError, ValueError, TypeError)

#: Keywords that send a whole schema to the reference engine (see the module docstring).
_REFERENCE_ONLY_KEYWORDS = frozenset({"patternProperties"})


def canonical_json(schema: Mapping[str, Any] | bool) -> str:
    """The schema as compact JSON with sorted keys: equal schemas give equal text."""
    try:
        return json.dumps(
            schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        raise InvalidSchema(f"the schema is not JSON data: {exc}") from None


def uses_keyword(node: Any, keywords: frozenset[str]) -> bool:
    """Whether any object in the schema has one of `keywords` as a key (conservative)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            if not keywords.isdisjoint(current):
                return True
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
    return False


def summarize(issues: list[ValidationIssue], *, limit: int = 3) -> str:
    """A one-line account of the first few issues, for exception messages."""
    shown = "; ".join(str(issue) for issue in issues[:limit])
    more = len(issues) - limit
    noun = "issue" if len(issues) == 1 else "issues"
    return f"{len(issues)} {noun}: {shown}" + (f" (and {more} more)" if more > 0 else "")


def _at(document: Any, path: Any) -> Any:
    """The value at `path` (keys and indices) inside `document`."""
    for part in path:
        document = document[part]
    return document


def _keyword_of(schema_path: Any) -> str | None:
    for part in reversed(list(schema_path)):
        if isinstance(part, str):
            return KEYWORD_NAMES.get(part, part)
    return None


class SchemaValidator:
    """One JSON Schema, compiled once; judges documents exactly as `jsonschema` would.

    Build it with `compile_schema` (which caches). `issues()` lists every problem with its
    JSON path; `validate_json()` decodes and validates an answer in one step.
    """

    __slots__ = ("_fast", "_reference", "_strict", "draft", "engine", "fingerprint", "schema")

    def __init__(self, schema: Mapping[str, Any] | bool, *, canonical: str | None = None) -> None:
        text = canonical if canonical is not None else canonical_json(schema)
        #: A private copy, so that later changes to the caller's dict change nothing here.
        self.schema: dict[str, Any] | bool = json.loads(text)
        #: The SHA-256 of the canonical JSON text: a stable name for logs and caches.
        self.fingerprint = hashlib.sha256(text.encode()).hexdigest()
        self._reference = self._build_reference(self.schema)
        self.draft: str = type(self._reference).__name__.removesuffix("Validator")
        self._fast = self._build_fast(self.schema)
        self.engine: Engine = "jsonschema" if self._fast is None else "jsonschema-rs"
        self._strict = _strict_copy(self.schema)

    def matches(self, schema: object) -> bool:
        """Whether `schema` is this validator's schema, with every value of the same type.

        A deep comparison in C (numbers and booleans are compared by type too, so `true`,
        `1` and `1.0` differ): about half the cost of serializing the schema.
        """
        try:
            return bool(self._strict == schema)
        except Exception:  # an exotic object in a caller's schema: not ours, then
            return False

    @staticmethod
    def _build_reference(schema: Any) -> Any:
        if not isinstance(schema, dict | bool):
            raise InvalidSchema(f"a schema is an object or a boolean, not {type(schema).__name__}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unknown $schema, regex FutureWarnings
            cls = jsonschema.validators.validator_for(
                schema, default=jsonschema.Draft202012Validator
            )
            try:
                cls.check_schema(cast(Any, schema))  # a boolean schema is valid too
            except jsonschema.SchemaError as exc:
                where = json_path(exc.absolute_path)
                raise InvalidSchema(f"invalid JSON Schema at {where}: {exc.message}") from None
        # Only the meta-schemas are known: a remote `$ref` is an error, never a download.
        return cls(schema, registry=META_SCHEMAS)

    @staticmethod
    def _build_fast(schema: dict[str, Any] | bool) -> Any:
        if uses_keyword(schema, _REFERENCE_ONLY_KEYWORDS):
            return None
        rewritten = rewrite(schema)
        if rewritten is None:
            rewritten, keywords = schema, OVERRIDE_KEYWORDS
        else:
            keywords = FAITHFUL_KEYWORDS
        try:
            return jsonschema_rs.validator_for(
                rewritten, validate_formats=False, keywords=keywords, offline=True
            )
        except Exception:  # anything it cannot build, the reference judges
            return None

    def __repr__(self) -> str:
        return f"<SchemaValidator {self.draft} engine={self.engine} {self.fingerprint[:12]}>"

    def is_valid(self, instance: Any) -> bool:
        """Whether the document satisfies the schema (stops at the first problem)."""
        if self._fast is not None:
            try:
                return bool(self._fast.is_valid(instance))
            except _NOT_FOR_THE_FAST_ENGINE:
                pass
        return not self._reference_issues(instance, first_only=True)

    def issues(self, instance: Any) -> list[ValidationIssue]:
        """Every problem with the document, each with its JSON path; [] when it is valid.

        The document is JSON data as `json.loads` returns it (dict, list, str, int, float,
        bool, None); other Python types are not JSON and their verdicts are not promised.
        """
        fast = self._fast
        if fast is not None:
            try:
                if fast.is_valid(instance):
                    return []
                return [self._fast_issue(error) for error in fast.iter_errors(instance)]
            except _NOT_FOR_THE_FAST_ENGINE:
                pass
        return self._reference_issues(instance)

    def _fast_issue(self, error: Any) -> ValidationIssue:
        message = error.message
        if type(error.kind).__name__ == "Pattern":
            # The engine ran a translated pattern; name the one the schema's author wrote.
            try:
                written = _at(self.schema, error.schema_path)
            except (KeyError, IndexError, TypeError):  # a path we cannot follow: keep it
                written = None
            if isinstance(written, str):
                head, _, _ = message.rpartition(" does not match ")
                message = f"{head} does not match {json.dumps(written, ensure_ascii=False)}"
        return ValidationIssue(
            json_path(error.instance_path), message, _keyword_of(error.schema_path)
        )

    def _reference_issues(
        self, instance: Any, *, first_only: bool = False
    ) -> list[ValidationIssue]:
        found = []
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                for error in self._reference.iter_errors(instance):
                    keyword = error.validator if isinstance(error.validator, str) else None
                    found.append(
                        ValidationIssue(json_path(error.absolute_path), error.message, keyword)
                    )
                    if first_only:
                        break
        except referencing.exceptions.Unresolvable as exc:
            raise InvalidSchema(f"the schema has a $ref that cannot be resolved: {exc}") from None
        except RecursionError:  # hundreds of levels that only the reference could take
            return [ValidationIssue("$", "nested too deeply to validate", "depth")]
        return found

    def validate(self, instance: Any, *, raw: str | None = None) -> Any:
        """Return the document if it is valid, else raise `ValidationFailed` with every issue."""
        found = self.issues(instance)
        if found:
            raise _invalid(found, raw)
        return instance

    def validate_json(self, raw: str | bytes) -> Any:
        """Decode a JSON answer and validate it; return the decoded document.

        Raises `ValidationFailed` when the text is not JSON (with the position) or when the
        document breaks the schema (with every issue and its path); `raw` keeps the text.
        """
        instance = parse_json(raw)
        found = self.issues(instance)
        if found:
            text = raw if isinstance(raw, str) else raw.decode("utf-8")
            raise _invalid(found, text)
        return instance


def _invalid(found: list[ValidationIssue], raw: str | None) -> ValidationFailed:
    return ValidationFailed(
        "the answer does not match its schema: " + summarize(found), issues=found, raw=raw
    )


def _exact_key(schema: Any) -> bytes | None:
    """The schema's exact serialization (types and key order kept), or None if it has none.

    `marshal` (format 2: no back-references, so equal values give equal bytes) is several
    times faster than sorted JSON, and equal bytes always decode to equal values of equal
    types, so it can only miss where the canonical key would hit, never hit wrongly.
    """
    try:
        return marshal.dumps(schema, 2)
    except ValueError:  # a Mapping that is not a dict, or an object marshal cannot write
        return None


class ValidatorLRU(OrderedDict[_K, "SchemaValidator"]):
    """Compiled validators by key, forgetting the least recently used beyond a bound.

    Not thread-safe by itself: its users hold a lock around every call.
    """

    def hit(self, key: _K) -> SchemaValidator | None:
        """The validator under `key`, now the most recently used; None when absent."""
        found = self.get(key)
        if found is not None:
            self.move_to_end(key)
        return found

    def put(self, key: _K, value: SchemaValidator, maxsize: int) -> None:
        """Store `value` as the most recently used; drop the oldest beyond `maxsize`."""
        self[key] = value
        self.move_to_end(key)
        while len(self) > maxsize:
            self.popitem(last=False)


class _StrictScalar:
    """A number or boolean that equals only a value of its own type (`true` is not `1`)."""

    __slots__ = ("value",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, value: bool | int | float) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self.value) and other == self.value


def _strict_copy(node: Any) -> Any:
    """A copy of JSON data whose `==` with other data is exact (see `SchemaValidator.matches`)."""
    if isinstance(node, dict):
        return {key: _strict_copy(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_strict_copy(value) for value in node]
    if isinstance(node, bool | int | float):
        return _StrictScalar(node)
    return node


#: How many of the callers' schema objects the identity memo holds on to.
_IDENTITY_SIZE = 64


class SchemaCache:
    """A bounded, thread-safe LRU of compiled validators keyed by the schema's canonical JSON.

    Two memos sit in front, so that a repeated lookup does not re-encode the schema as sorted
    JSON (the costly part): one by the schema object's identity, confirmed by an exact deep
    comparison (`SchemaValidator.matches`, which catches any change made to the object in
    place), and one by the schema's exact serialization. Either can miss where the canonical
    key would hit; neither can hit wrongly.
    """

    def __init__(self, maxsize: int = 256) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self._entries: ValidatorLRU[str] = ValidatorLRU()
        self._exact: ValidatorLRU[bytes] = ValidatorLRU()
        # id -> (the schema object, kept alive so that its id stays its own; its validator)
        self._by_identity: OrderedDict[int, tuple[object, SchemaValidator]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, schema: Mapping[str, Any] | bool) -> SchemaValidator:
        """The compiled validator for this schema, compiling it on first sight."""
        with self._lock:
            seen = self._by_identity.get(id(schema))
        if seen is not None and seen[0] is schema and seen[1].matches(schema):
            return seen[1]
        found = self._lookup(schema)
        with self._lock:
            self._by_identity[id(schema)] = (schema, found)
            self._by_identity.move_to_end(id(schema))
            while len(self._by_identity) > min(self.maxsize, _IDENTITY_SIZE):
                self._by_identity.popitem(last=False)
        return found

    def _lookup(self, schema: Mapping[str, Any] | bool) -> SchemaValidator:
        exact = _exact_key(schema)
        if exact is not None:
            with self._lock:
                found = self._exact.hit(exact)
            if found is not None:
                return found
        key = canonical_json(schema)
        with self._lock:
            found = self._entries.hit(key)
        if found is None:
            # Compile outside the lock: two threads may compile one new schema; one wins.
            found = SchemaValidator(schema, canonical=key)
        with self._lock:
            self._entries.put(key, found, self.maxsize)
            if exact is not None:
                self._exact.put(exact, found, self.maxsize)
        return found

    def clear(self) -> None:
        """Forget every compiled validator."""
        with self._lock:
            self._entries.clear()
            self._exact.clear()
            self._by_identity.clear()


_CACHE = SchemaCache()


def compile_schema(schema: Mapping[str, Any] | bool) -> SchemaValidator:
    """The compiled validator for a JSON Schema, from a process-wide cache of 256 schemas.

    Equal schemas share one validator whatever their key order. Raises `InvalidSchema` when
    the schema itself is broken (with the path of the problem inside it).
    """
    return _CACHE.get(schema)
