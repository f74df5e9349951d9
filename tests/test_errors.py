"""The exception tree: its shape matches the docstring drawing, and messages are useful."""

from __future__ import annotations

import inspect
import re

import router.errors as errors
from router.errors import (
    CallError,
    CallTimeout,
    Diagnostic,
    PolicyError,
    RouterError,
    UsageError,
)


def _drawn_tree() -> dict[str, str]:
    """Child -> parent, read from the box drawing in the module docstring."""
    parents: dict[int, str] = {}
    out: dict[str, str] = {}
    for line in (errors.__doc__ or "").splitlines():
        match = re.search(r"([A-Z][A-Za-z]+)", line)
        if match is None or match.group(1) not in errors.__all__:
            continue
        column = match.start(1)
        depth = 0 if column == 4 else (column - 4) // 4
        parents[depth] = match.group(1)
        if depth > 0:
            out[match.group(1)] = parents[depth - 1]
    return out


def test_docstring_drawing_matches_the_classes() -> None:
    drawn = _drawn_tree()
    classes = {
        name: obj
        for name, obj in vars(errors).items()
        if inspect.isclass(obj) and issubclass(obj, RouterError) and obj is not RouterError
    }
    assert set(drawn) == set(classes)
    for child, parent in drawn.items():
        assert classes[child].__bases__[0].__name__ == parent, child


def test_usage_errors_and_call_failures_are_apart() -> None:
    assert not issubclass(UsageError, CallError)
    assert not issubclass(CallError, UsageError)


def test_policy_error_lists_every_diagnostic() -> None:
    diags = [Diagnostic("p.yaml", 3, 5, "first"), Diagnostic("p.yaml", 9, 1, "second")]
    err = PolicyError(diags)
    assert str(err) == "p.yaml:3:5: error: first (and 1 more)"
    assert err.diagnostics == tuple(diags)
    assert err.code == "policy"


def test_timeouts_name_their_clock() -> None:
    clocks = {cls.clock for cls in CallTimeout.__subclasses__()}
    assert clocks == {"connect", "first_token", "idle", "total"}


def test_missing_dependency_is_also_an_import_error() -> None:
    assert issubclass(errors.MissingDependencyError, ImportError)
