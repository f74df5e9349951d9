"""Progressive checking: stop a structured answer as soon as it can no longer be valid.

A `ProgressiveChecker` is fed the text deltas of one streamed answer (`feed`), or is handed
the whole text so far when its size reaches `next_check_at` (`check_text`, for a caller that
holds the text anyway, as a call's stream assembler does). Now and then it closes off the
text received so far (complete members kept, the one being written dropped, open objects and
arrays closed) and validates that document against the *prefix schema* (see
`router.validation.prefix_schema`): the rules every part of a valid answer already obeys,
such as types, `enum`, `const`, `pattern`, `additionalProperties: false`, `maxItems`. When
the part breaks one of them, no continuation can repair it: the checker raises `ValidationFailed`
with every issue and its JSON path, the text received so far kept as `raw`. It never raises
for a prefix that can still become valid; what only the whole answer can show (a missing
required key, too few items) is left to the final validation (`validate_completion`).

Pure: no I/O, no clock. One checker per answer, used from one thread.

Cost. Closing off and validating the text from its start costs about one decoding of it
(the partial-JSON parser of `pydantic_core`, then the compiled prefix schema); doing so after
every delta would be quadratic. Checks therefore run on a schedule: after `min_step`
characters, then whenever the text has grown by `growth` times its size at the last check
(by default by 1.25 times: 256, 576, 1,296, 2,916 characters, ...), and once more at
`close()`. All checks together cost about `1 + 1/growth` decodings of the whole answer (1.8
by default), and a value that breaks the schema is caught once the text is at most
`1 + growth` times as long as where the value completed (2.25 by default), or `min_step`
characters later. With the default, the whole cost of checking a stream of 5-character
deltas, counting included, stays within 3x one final validation at 2.5 KB and 21.7 KB (2x to
3.5x at other sizes, by where the last check falls; `docs/progressive-validation.md`).

Between checks, `feed` only stores the delta, and a caller of `check_text` compares one
length. The bound above is exact for `check_text`; `feed` does not measure each delta but
counts them, estimating how many make up the next step from the mean delta so far, so when
deltas grow (a short first delta, then long ones) a check comes later.

The partial parser passes over a syntax error quietly (it returns what precedes it), so a
syntax error shows as a document that stopped changing: then the strict parser and the exact
scanner (`router.validation.prefix_scanner`) decide, and it is caught one check later.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Mapping
from itertools import repeat
from typing import Any, Final, NoReturn

from pydantic_core import from_json

from router.errors import ValidationFailed, ValidationIssue
from router.validation.answers import AnswerSpec
from router.validation.prefix_scanner import BrokenPrefix, close_prefix
from router.validation.prefix_schema import prefix_validator
from router.validation.schema import SchemaValidator, summarize

__all__ = ["DEFAULT_GROWTH", "ProgressiveChecker", "checker_for_answer", "progressive_checker"]

#: Characters a JSON number can end with; a number at the end of a prefix may grow.
_NUMBER_CHARS: Final = "0123456789+-.eE"
#: How much the text grows between checks, relative to its size at the last one. 1.25 rather
#: than doubling (1.0): checking a stream of 5-character deltas then costs under 3x one final
#: validation in all, counting included, at the benchmark's 2.5 KB and 21.7 KB answers
#: (doubling: 3.3-3.8x and 2.7-3.1x), for a detection bound of 2.25x instead of 2x.
DEFAULT_GROWTH: Final = 1.25
#: The schema of a `json_object` answer: any JSON object.
_JSON_OBJECT: Final = {"type": "object"}


class _Nothing:
    """No member of the prefix is complete yet: nothing to judge."""


_NOTHING: Final = _Nothing()


class ProgressiveChecker:
    """Judge a streamed structured answer while it arrives; raise once it cannot be valid.

    `schema` is a JSON Schema (a mapping or a boolean) or a validator from `compile_schema`.
    Call `checker.feed(delta)` with each piece of text as it arrives, then `checker.close()`
    when the answer has ended (or, holding the text yourself, `check_text(text)` whenever its
    length reaches `next_check_at`, then `close(text)`). They raise `ValidationFailed` (issues
    with JSON paths, `raw` the text received) as soon as the answer can no longer be valid;
    after that, every call raises the same error again. Options (keyword-only): `min_step`,
    the characters before the first check and between checks (256); `growth`, how much the
    text must grow, relative to its size at the last check, before the next one (1.25: to
    2.25 times that size). Smaller values catch problems sooner and cost more;
    `min_step=1, growth=0` checks after every delta.
    """

    __slots__ = (
        "_closed",
        "_deltas",
        "_due",
        "_exact",
        "_failure",
        "_growth",
        "_min_step",
        "_parts",
        "_previous",
        "_text",
        "_validator",
        "checks",
        "feed",
        "next_check_at",
    )

    #: Give it the next piece of the answer; raises `ValidationFailed` once it cannot be valid.
    feed: Callable[[str], None]

    def __init__(
        self,
        schema: Mapping[str, Any] | bool | SchemaValidator,
        *,
        min_step: int = 256,
        growth: float = DEFAULT_GROWTH,
    ) -> None:
        if min_step < 1:
            raise ValueError("min_step must be at least 1")
        if growth < 0:
            raise ValueError("growth must not be negative")
        self._validator = prefix_validator(schema)
        self._min_step = min_step
        self._growth = growth
        self._parts: list[str] = []
        self._text = ""
        self._deltas = 0  # deltas received up to the last check
        self._due = 1  # deltas to receive before looking at the text again
        #: The size of the text (in characters) at which the next check is due: a plain
        #: attribute, since a caller compares it with the text's length at every delta.
        self.next_check_at = min_step
        self._exact = False  # set when the fast parser refuses what the standard one accepts
        self._previous: Any = _NOTHING  # the document the last check judged
        self._failure: ValidationFailed | None = None
        self._closed = False
        #: How many times the received text has been judged (for tests and benchmarks).
        self.checks = 0
        consumer = self._consume()
        next(consumer)
        # `feed` is the generator's own `send`: resuming a generator costs less than calling
        # a method that also counts, and its loop counts deltas for free (~70 ns a delta
        # against ~90 ns in CPython 3.11).
        self.feed = consumer.send

    def __repr__(self) -> str:
        state = "failed" if self._failure else "closed" if self._closed else "open"
        return f"<ProgressiveChecker {state} checks={self.checks}>"

    @property
    def text(self) -> str:
        """Everything received so far."""
        if self._parts:
            self._text += "".join(self._parts)
            self._parts.clear()
        return self._text

    def check_text(self, text: str) -> None:
        """Judge `text`, the whole answer received so far, when a check is due at its size.

        For callers that keep the text themselves (a call's stream assembler does): instead
        of handing every delta to `feed`, they compare the text's length with
        `next_check_at`, an integer comparison per delta, and call this when it is reached.
        The checker then stores nothing per delta, so the cost is the checks alone. Use
        either `feed` or `check_text` for one answer, not both.
        """
        if self._failure is not None:
            raise self._failure
        if self._closed:
            raise ValueError("check_text() after close(): the answer has ended")
        size = len(text)
        if size >= self.next_check_at:
            self._parts.clear()
            self._text = text
            self._check(text, final=False)
            self.next_check_at = size + max(self._min_step, int(size * self._growth))

    def close(self, text: str | None = None) -> None:
        """The answer has ended: judge what arrived since the last check (a final number too).

        Callers of `check_text` pass the whole answer as `text`. Raises `ValidationFailed`
        when the answer cannot be valid (including text after a complete JSON document).
        Whether it is complete and has every required member is for `validate_completion`
        to say.
        """
        if self._failure is not None:
            raise self._failure
        if self._closed:
            return
        if text is not None:
            self._parts.clear()
            self._text = text
        self._closed = True
        self.feed = self._feed_after_close
        self._check(self.text, final=True)

    def _consume(self) -> Generator[None, str, None]:
        append = self._parts.append
        while True:
            for _ in repeat(None, self._due):
                append((yield))
            self._deltas += self._due
            text = self.text
            size = len(text)
            if size >= self.next_check_at:
                self.check_text(text)
            # Deltas until the next check, from the mean delta so far (at least one).
            mean = size / self._deltas
            self._due = max(1, int((self.next_check_at - size) / mean)) if mean else 1

    def _check(self, text: str, *, final: bool) -> None:
        """Judge `text`, the whole answer so far; raise once it cannot be valid."""
        self.checks += 1
        document = self._closed_document(text, final)
        if document is _NOTHING or self._validator.is_valid(document):
            return
        self._fail(self._validator.issues(document), text)

    def _closed_document(self, text: str, final: bool) -> Any:
        if not self._exact:
            try:
                if final:
                    return from_json(text, allow_inf_nan=False, cache_strings="keys")
                document = from_json(
                    _without_trailing_number(text),
                    allow_partial=True,
                    allow_inf_nan=False,
                    cache_strings="keys",  # keys repeat across items; values rarely do
                )
            except ValueError:
                # Cut short at the top level (a lone string or number still being written),
                # broken, or something only the standard decoder accepts (a lone surrogate
                # escape, very deep nesting): the exact scanner decides.
                pass
            else:
                # The partial parser stops quietly at a syntax error, so a document that has
                # not changed since the last check may be stuck on one: the strict parser
                # says whether the text merely ends early; if not, the scanner decides. (A
                # syntax error is so caught one check after it arrived.)
                stalled = document == self._previous and not _merely_unfinished(text)
                self._previous = document
                if not stalled:
                    return document
        try:
            closed = close_prefix(text, final=final)
        except BrokenPrefix as exc:
            self._fail([ValidationIssue("$", f"not JSON: {exc}", "json")], text)
        if closed is None:
            return _NOTHING
        # The fast parser refused (or stalled on) a prefix the standard decoder accepts: from
        # now on, only the exact scanner reads this answer.
        self._exact = True
        try:
            return json.loads(closed)
        except RecursionError:  # nested too deeply for Python: the final decoding will say so
            return _NOTHING

    def _fail(self, issues: list[ValidationIssue], text: str) -> NoReturn:
        self._failure = ValidationFailed(
            f"the answer can no longer match its schema (after {len(text)} characters): "
            + summarize(issues),
            issues=issues,
            raw=text,
        )
        self.feed = self._feed_after_failure
        raise self._failure

    def _feed_after_failure(self, delta: str) -> NoReturn:
        assert self._failure is not None
        raise self._failure

    def _feed_after_close(self, delta: str) -> NoReturn:
        raise ValueError("feed() after close(): the answer has ended")


def _merely_unfinished(text: str) -> bool:
    """Whether the strict parser finds nothing wrong with `text` except that it ends early."""
    try:
        from_json(text, allow_inf_nan=False)
    except ValueError as exc:
        return str(exc).startswith("EOF while parsing")
    return True


def _without_trailing_number(text: str) -> str:
    """The text without a number at its very end, which may still grow (`12` -> `123`)."""
    if text[-1:] in _NUMBER_CHARS and not text.endswith(("true", "false")):
        return text.rstrip(_NUMBER_CHARS)
    return text


def progressive_checker(
    request: Mapping[str, Any],
    *,
    response_model: Any = None,
    min_step: int = 256,
    growth: float = DEFAULT_GROWTH,
) -> ProgressiveChecker | None:
    """A checker for the structured answer `request` asks for, or None if nothing to check.

    `response_format` `json_schema` gives its schema (without one: JSON syntax only);
    `json_object` asks for any JSON object. Free text, and answers judged by a pydantic
    `response_model` (whose lax parsing a JSON Schema cannot mirror), give None. Raises
    `InvalidSchema` when the request's schema is broken.
    """
    spec = AnswerSpec.from_request(request, response_model=response_model)
    return checker_for_answer(spec, min_step=min_step, growth=growth)


def checker_for_answer(
    spec: AnswerSpec, *, min_step: int = 256, growth: float = DEFAULT_GROWTH
) -> ProgressiveChecker | None:
    """`progressive_checker` with the request already read (`AnswerSpec.from_request`).

    A call reads its request once and hands the same spec to the checker of every stream
    attempt and to the final validation.
    """
    if spec.content == "schema" and spec.validator is not None:
        # Compiled (and looked up in the cache) once, by the spec: not again by the checker.
        schema: Mapping[str, Any] | bool | SchemaValidator = spec.validator
    elif spec.content == "json_object":
        schema = _JSON_OBJECT
    elif spec.content == "json":
        schema = True
    else:
        return None
    return ProgressiveChecker(schema, min_step=min_step, growth=growth)
