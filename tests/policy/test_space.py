"""The intent space: cells, glob reasoning (sound by construction) and region algebra."""

from __future__ import annotations

import fnmatch

from hypothesis import given, settings
from hypothesis import strategies as st

from router.policy.ir import Predicate
from router.policy.space import (
    MISSING,
    Budget,
    IntentSpace,
    Interval,
    Other,
    absorb,
    find_outside,
    glob_contains,
    glob_subsets,
    globs_may_overlap,
    intersect,
    simplify,
    subtract,
)

ALPHABET = "ab-1"
patterns = st.text(alphabet=ALPHABET + "*?", min_size=0, max_size=5)
strings = st.text(alphabet=ALPHABET, min_size=0, max_size=7)


def test_glob_containment_examples() -> None:
    assert glob_contains("gpt-4*", "gpt-4o*")
    assert not glob_contains("gpt-4o*", "gpt-4*")
    assert glob_contains("*", "a?c")
    assert glob_contains("o[0-9]*", "o1*")
    assert not glob_contains("o1*", "o[0-9]*")
    assert glob_contains("*mini*", "gpt-*-mini")


@settings(max_examples=300, deadline=None)
@given(patterns, patterns, st.lists(strings, max_size=30))
def test_glob_containment_is_sound(outer: str, inner: str, samples: list[str]) -> None:
    if glob_contains(outer, inner):
        for sample in samples:
            if fnmatch.fnmatchcase(sample, inner):
                assert fnmatch.fnmatchcase(sample, outer)


@settings(max_examples=300, deadline=None)
@given(patterns, patterns, st.lists(strings, max_size=30))
def test_disjoint_globs_really_share_no_string(a: str, b: str, samples: list[str]) -> None:
    if not globs_may_overlap(a, b):
        for sample in samples:
            assert not (fnmatch.fnmatchcase(sample, a) and fnmatch.fnmatchcase(sample, b))


@settings(max_examples=200, deadline=None)
@given(st.lists(patterns, min_size=1, max_size=4, unique=True), st.lists(strings, max_size=40))
def test_every_string_falls_in_a_kept_glob_subset(globs: list[str], samples: list[str]) -> None:
    kept = set(glob_subsets(sorted(globs)))
    for sample in samples:
        matched = frozenset(g for g in globs if fnmatch.fnmatchcase(sample, g))
        assert matched in kept


def test_mostly_disjoint_globs_give_few_subsets() -> None:
    subsets = glob_subsets(sorted(f"gpt-{n}*" for n in range(50)))
    assert len(subsets) == 51  # none, and each family alone (gpt-1* holds gpt-10* ...)
    assert frozenset({"gpt-1*", "gpt-10*"}) in subsets
    assert frozenset({"gpt-10*"}) not in subsets


def _space(*predicates: Predicate) -> IntentSpace:
    from router.policy.ir import AllOf

    return IntentSpace.for_conditions([AllOf(tuple(predicates))])


def test_numeric_constants_cut_points_and_intervals() -> None:
    space = _space(Predicate("expected_tokens", "lt", 64), Predicate("expected_tokens", "eq", 10))
    cells = space.fields[space.index["expected_tokens"]].cells
    assert cells == (
        Interval(0, 9),
        Interval(10, 10),
        Interval(11, 63),
        Interval(64, 64),
        Interval(65, None),
        MISSING,
    )


def test_strings_get_constants_witnesses_and_other_cells() -> None:
    space = _space(Predicate("model", "eq", "gpt-4o"), Predicate("model", "glob", ("o*",)))
    field = space.fields[space.index["model"]]
    assert "gpt-4o" in field.cells
    assert Other(frozenset()) in field.cells
    assert Other(frozenset({"o*"})) in field.cells
    assert field.cells[-1] is MISSING
    for index, cell in enumerate(field.cells):
        value = field.value(index)
        if isinstance(cell, Other) and value is not None:
            assert fnmatch.fnmatchcase(value, "o*") is ("o*" in cell.matches)
            assert value != "gpt-4o"


def test_region_algebra() -> None:
    budget = Budget(None)
    universe = (0b111, 0b11)
    left = [(0b011, 0b11)]
    right = [(0b110, 0b01)]
    assert intersect(left, right, budget) == [(0b010, 0b01)]
    rest = subtract([universe], left, budget)
    assert rest == [(0b100, 0b11)]
    assert subtract(left, left, budget) == []
    assert simplify([(0b001, 0b01), (0b010, 0b01)]) == [(0b011, 0b01)]
    assert absorb([(0b011, 0b11), (0b001, 0b01)]) == [(0b011, 0b11)]
    outside = find_outside([universe], [left, right], budget)
    assert outside is not None
    assert intersect([outside], left, budget) == []
    assert intersect([outside], right, budget) == []
    assert find_outside([universe], [[universe]], budget) is None
