"""The intent space cut into finitely many cells, and regions of it as unions of boxes.

A policy only ever compares a field with constants written in the policy, so every field's
values fall into a few cells on which every predicate of the policy has one truth value:
the enum values; `expected_tokens` split at every constant into points and the intervals
between them; free-form strings (`model`, `provider`, labels) as each constant, a witness
string for each glob pattern, "any other value" and "missing". A box picks a set of cells
per field (a bitmask); a region is a union of boxes. Set algebra on regions is exact, so
reachability and diffs need no solver.

Globs are exact too: "any other value" is split by the set of the field's glob patterns a
string matches (one cell per subset), so every predicate has one truth value on every cell.
What cells cannot always say is whether such a cell holds any string at all (whether some
string matches exactly those patterns), so those cells are *uninhabited* for examples:
a region proven empty is empty, a region with an example is reachable, and a region that
is not empty but has only such cells is "may". Only sets of patterns that could share a
string are kept (`glob_subsets`); past `MAX_GLOB_CELLS` of them on one field the analysis
says "may" for that policy.

The space is what `Intent.from_request` can produce: `output`, `tools`, `post_process`
and `billing` are always present; the other fields may be missing.
"""

from __future__ import annotations

import fnmatch
import functools
import operator
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from router.intent import FIELDS, Intent
from router.policy.evaluate import predicate_holds
from router.policy.ir import AllOf, AnyOf, Condition, Not, Predicate

__all__ = [
    "ALWAYS_PRESENT",
    "INFERRED_DEFAULTS",
    "MISSING",
    "Box",
    "Budget",
    "FieldCells",
    "IntentSpace",
    "Interval",
    "Other",
    "OutOfBudget",
    "Region",
    "absorb",
    "bounds",
    "find_outside",
    "glob_contains",
    "glob_subsets",
    "globs_may_overlap",
    "intersect",
    "may_meet",
    "simplify",
    "subtract",
    "subtract_all",
]

#: Fields `Intent.from_request` always fills in, with the value it infers from an empty
#: request (a test keeps this true); examples prefer these values, and "missing" elsewhere.
INFERRED_DEFAULTS: Final[Mapping[str, object]] = {
    "output": "text",
    "tools": "none",
    "post_process": False,
    "billing": "none",
}
ALWAYS_PRESENT: Final = frozenset(INFERRED_DEFAULTS)


class _Marker:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: The cell of a field that is not there.
MISSING: Final = _Marker("missing")
#: More "matches exactly these patterns" cells than this on one field make the analysis
#: give up on the policy ("may"): only heavily overlapping globs come near it.
MAX_GLOB_CELLS: Final = 512


@dataclass(frozen=True, slots=True)
class Other:
    """Strings the policy does not name that match exactly the patterns in `matches`."""

    matches: frozenset[str]

    def __str__(self) -> str:
        if not self.matches:
            return "any other value"
        return "any other value matching " + " and ".join(sorted(self.matches))


@dataclass(frozen=True, slots=True)
class Interval:
    """Whole numbers from `low` to `high` inclusive; `high` None means no upper bound."""

    low: int
    high: int | None

    def __str__(self) -> str:
        if self.high == self.low:
            return str(self.low)
        if self.high is None:
            return f">= {self.low}"
        return f"{self.low}..{self.high}"


Cell: TypeAlias = str | bool | Interval | Other | _Marker
#: One cell mask per field of the space, in the space's field order.
Box: TypeAlias = tuple[int, ...]
Region: TypeAlias = list[Box]


class OutOfBudget(Exception):
    """The analysis ran past its time budget (or a field has too many glob patterns)."""


class Budget:
    """A deadline checked inside the set algebra, so that no policy can stall `check`."""

    __slots__ = ("_deadline", "_ticks")

    def __init__(self, seconds: float | None) -> None:
        self._deadline = None if seconds is None else time.perf_counter() + seconds
        self._ticks = 0

    def tick(self) -> None:
        """Raise OutOfBudget once the deadline has passed (checked every 256 calls)."""
        self._ticks += 1
        if (
            self._deadline is not None
            and not self._ticks & 0xFF
            and time.perf_counter() > self._deadline
        ):
            raise OutOfBudget


@dataclass(frozen=True, slots=True)
class FieldCells:
    """One field's cells and how the policy's predicates evaluate on each."""

    field: str
    kind: str
    cells: tuple[Cell, ...]
    globs: tuple[str, ...] = ()
    #: A concrete value per cell for examples (None: missing, or no string was found).
    values: tuple[Any, ...] = ()
    #: The cells that have a value an example can use.
    inhabited: int = 0

    @classmethod
    def build(cls, field: str, kind: str, cells: list[Cell], globs: tuple[str, ...]) -> FieldCells:
        """Cells with their example values found once (the search tries glob witnesses)."""
        taken = {c for c in cells if isinstance(c, str)}
        values: list[Any] = []
        inhabited = 0
        for index, cell in enumerate(cells):
            value: Any
            if cell is MISSING:
                value = None
            elif isinstance(cell, Other):
                value = _other_value(cell, taken, globs)
            elif isinstance(cell, Interval):
                value = cell.low
            else:
                value = cell
            if value is not None or cell is MISSING:
                inhabited |= 1 << index
            values.append(value)
        return cls(field, kind, tuple(cells), globs, tuple(values), inhabited)

    @property
    def full(self) -> int:
        return (1 << len(self.cells)) - 1

    def mask(self, predicate: Predicate) -> int:
        """The cells where `predicate` holds."""
        out = 0
        for index, cell in enumerate(self.cells):
            if _truth(predicate, cell):
                out |= 1 << index
        return out

    def preferred(self, mask: int) -> int:
        """The cell of `mask` an example should use: missing, else the usual value."""
        usual = INFERRED_DEFAULTS.get(self.field, MISSING)
        for index, cell in enumerate(self.cells):
            if mask >> index & 1 and (
                cell is usual or (type(cell) is type(usual) and cell == usual)
            ):
                return index
        return (mask & -mask).bit_length() - 1

    def value(self, index: int) -> Any:
        """A concrete value of cell `index` for an example intent (None when missing)."""
        return self.values[index]

    def describe(self, mask: int) -> str:
        """The cells of `mask` in the policy's terms: `user`, `64..127`, `matching o*`."""
        chosen = [cell for i, cell in enumerate(self.cells) if mask >> i & 1]
        missing = [] if MISSING not in chosen else ["missing"]
        present = [cell for cell in chosen if cell is not MISSING]
        if self.kind == "int":
            words = _describe_intervals([c for c in present if isinstance(c, Interval)])
        elif self.kind == "str":
            words = self._describe_strings(present)
        else:
            words = [_describe_cell(cell) for cell in present]
        return ", ".join(words + missing)

    def _describe_strings(self, present: list[Cell]) -> list[str]:
        others = {c.matches for c in self.cells if isinstance(c, Other)}
        chosen = {c.matches for c in present if isinstance(c, Other)}
        named = [c for c in self.cells if isinstance(c, str)]
        picked = {c for c in present if isinstance(c, str)}
        patterns: set[str] = set()
        if chosen == others:
            rule, implied_all = "any value", True
        elif chosen == {frozenset()}:
            rule, implied_all = "any other value", False
        else:
            implied_all = False
            patterns = {p for p in self.globs if all(s in chosen for s in others if p in s)}
            if patterns and chosen == {s for s in others if s & patterns}:
                rule = "matching " + " or ".join(sorted(patterns))
            elif patterns and chosen == {s for s in others if s & patterns} | {frozenset()}:
                rule = "any other value, or matching " + " or ".join(sorted(patterns))
            else:
                return [_describe_cell(cell) for cell in present]

        def implied(value: str) -> bool:
            return implied_all or any(fnmatch.fnmatchcase(value, p) for p in patterns)

        words = [rule] if chosen else []
        words += [value for value in named if value in picked and not (chosen and implied(value))]
        excluded = [v for v in named if v not in picked and chosen and implied(v)]
        if excluded:
            words.append("except " + ", ".join(excluded))
        return words


def _other_value(cell: Other, taken: set[str], globs: tuple[str, ...]) -> str | None:
    """A string no constant names that matches exactly `cell.matches`, if one is found."""
    candidates: list[str] = []
    for pattern in sorted(cell.matches):
        witness = _glob_witness(pattern)
        if witness is not None:
            candidates.extend(f"{witness}{suffix}" for suffix in ("-other", "x", "0", ""))
    if not cell.matches:  # a string matching no pattern: plain names do
        candidates.extend(["other", *(f"other-{n}" for n in range(1, 50))])
    for candidate in candidates:
        if candidate in taken:
            continue
        if all(fnmatch.fnmatchcase(candidate, g) is (g in cell.matches) for g in globs):
            return candidate
    return None


def _describe_intervals(intervals: list[Interval]) -> list[str]:
    """Adjacent intervals joined: 64 and 65..127 read `64..127`."""
    merged: list[Interval] = []
    for interval in sorted(intervals, key=lambda i: i.low):
        last = merged[-1] if merged else None
        if last is not None and last.high is not None and last.high + 1 == interval.low:
            merged[-1] = Interval(last.low, interval.high)
        else:
            merged.append(interval)
    return [str(interval) for interval in merged]


def _describe_cell(cell: Cell) -> str:
    if cell is True:
        return "true"
    if cell is False:
        return "false"
    return str(cell)


def _truth(predicate: Predicate, cell: Cell) -> bool:
    """Whether `predicate` holds on the values of `cell` (the same for each of them)."""
    op = predicate.op
    operand = predicate.operand
    if cell is MISSING:
        return op == "exists" and operand is False
    if op == "exists":
        return operand is True
    if isinstance(cell, Interval):
        return _interval_truth(op, operand, cell)
    if isinstance(cell, Other):
        if op == "glob":
            assert isinstance(operand, tuple)
            return any(pattern in cell.matches for pattern in operand)
        # Such strings differ from every constant the policy names.
        return op in ("ne", "not_in")
    # A cell of one value: evaluation's own semantics decide.
    return predicate_holds(predicate, cell)


def _interval_truth(op: str, operand: object, cell: Interval) -> bool:
    point = cell.low if cell.high == cell.low else None
    if op == "eq":
        return point is not None and point == operand
    if op == "ne":
        return not (point is not None and point == operand)
    if op == "in" or op == "not_in":
        assert isinstance(operand, frozenset)
        inside = point is not None and point in operand
        return inside is (op == "in")
    assert isinstance(operand, int)
    # Every constant is a cell of its own, so a comparison has one truth over an interval.
    low = cell.low
    if op == "lt":
        return low < operand
    if op == "lte":
        return low <= operand
    if op == "gt":
        return low > operand
    return low >= operand  # gte


def _predicates(condition: Condition) -> Iterable[Predicate]:
    if isinstance(condition, Predicate):
        yield condition
    elif isinstance(condition, Not):
        yield from _predicates(condition.item)
    else:
        for item in condition.items:
            yield from _predicates(item)


def _glob_witness(pattern: str) -> str | None:
    """A string that matches `pattern` (`*` -> "x", `?` -> "x", a class -> one member)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char in "*?":
            out.append("x")
        elif char == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append("[")
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    excluded = set(body[1:])
                    out.append(next(c for c in "xyz0123456789_-" if c not in excluded))
                else:
                    out.append(body[0])
                i = end
        else:
            out.append(char)
        i += 1
    witness = "".join(out)
    return witness if fnmatch.fnmatchcase(witness, pattern) else None


def glob_subsets(patterns: list[str]) -> list[frozenset[str]]:
    """The sets of patterns one unnamed string might match all of (and no others).

    Pairs that can never match the same string (their literal heads or tails conflict)
    never share a set, and a set holding p holds every q whose language contains p's; so
    mostly disjoint patterns (`gpt-4*`, `o1*`, `claude-*`) give few sets, not 2**n. A set
    kept here may still hold no string: examples are searched, never assumed.
    """
    implied = {p: [q for q in patterns if q != p and glob_contains(q, p)] for p in patterns}
    out: list[frozenset[str]] = []

    def extend(index: int, chosen: list[str]) -> None:
        if len(out) > MAX_GLOB_CELLS:
            raise OutOfBudget
        if index == len(patterns):
            chosen_set = frozenset(chosen)
            if all(q in chosen_set for p in chosen for q in implied[p]):
                out.append(chosen_set)
            return
        pattern = patterns[index]
        extend(index + 1, chosen)
        if all(globs_may_overlap(pattern, other) for other in chosen):
            chosen.append(pattern)
            extend(index + 1, chosen)
            chosen.pop()

    extend(0, [])
    return out


@functools.lru_cache(maxsize=16384)
def globs_may_overlap(a: str, b: str) -> bool:
    """False only when no string can match both (sound: True when unsure)."""
    head_a, head_b = _literal_head(a), _literal_head(b)
    if not (head_a.startswith(head_b) or head_b.startswith(head_a)):
        return False
    tail_a, tail_b = _literal_tail(a), _literal_tail(b)
    if not (tail_a.endswith(tail_b) or tail_b.endswith(tail_a)):
        return False
    if "*" not in a and "*" not in b:
        return len(_glob_tokens(a)) == len(_glob_tokens(b))
    return True


def _literal_head(pattern: str) -> str:
    tokens = _glob_tokens(pattern)
    head = []
    for token in tokens:
        if token in ("*", "?") or (token.startswith("[") and len(token) > 2):
            break
        head.append(token)
    return "".join(head)


def _literal_tail(pattern: str) -> str:
    tokens = _glob_tokens(pattern)
    tail = []
    for token in reversed(tokens):
        if token in ("*", "?") or (token.startswith("[") and len(token) > 2):
            break
        tail.append(token)
    return "".join(reversed(tail))


@functools.lru_cache(maxsize=4096)
def _glob_tokens(pattern: str) -> tuple[str, ...]:
    """`a*[xy]?` -> ("a", "*", "[xy]", "?"): one token per character or class."""
    tokens: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "[":
            end = pattern.find("]", i + 2)
            if end != -1:
                tokens.append(pattern[i : end + 1])
                i = end + 1
                continue
        tokens.append(pattern[i])
        i += 1
    return tuple(tokens)


@functools.lru_cache(maxsize=16384)
def glob_contains(outer: str, inner: str) -> bool:
    """True when every string matching `inner` matches `outer` (sound; may miss some).

    `outer` is matched against `inner` read as symbols: its `*` absorbs any run of them
    (`*` included), its `?` one non-`*` symbol, a class a literal it contains (or the same
    class), a literal only the same literal.
    """
    a, b = _glob_tokens(outer), _glob_tokens(inner)
    # reach[j]: outer[:i] can match inner[:j]
    reach = [True] + [False] * len(b)
    for token in a:
        nxt = [False] * (len(b) + 1)
        if token == "*":
            seen = False
            for j in range(len(b) + 1):
                seen = seen or reach[j]
                nxt[j] = seen
        else:
            for j in range(len(b)):
                if reach[j] and _symbol_covers(token, b[j]):
                    nxt[j + 1] = True
        reach = nxt
    return reach[len(b)]


def _symbol_covers(token: str, symbol: str) -> bool:
    if symbol == "*":
        return False
    if token == "?":
        return True
    if token == symbol:
        return True
    if token.startswith("[") and len(token) > 2 and len(symbol) == 1 and symbol not in "?[":
        return fnmatch.fnmatchcase(symbol, token)
    return False


def _int_cells(points: set[int]) -> list[Cell]:
    cells: list[Cell] = []
    low = 0
    for point in sorted(p for p in points if p >= 0):
        if point > low:
            cells.append(Interval(low, point - 1))
        cells.append(Interval(point, point))
        low = point + 1
    cells.append(Interval(low, None))
    return cells


def _constants(predicate: Predicate) -> list[object]:
    operand = predicate.operand
    if predicate.op in ("exists", "glob"):
        return []
    if isinstance(operand, frozenset):
        return list(operand)
    return [operand]


class IntentSpace:
    """The cells of every field some policy tests (plus `billing`, which options depend on)."""

    def __init__(self, fields: Sequence[FieldCells]) -> None:
        self.fields: tuple[FieldCells, ...] = tuple(fields)
        self.index: dict[str, int] = {f.field: i for i, f in enumerate(self.fields)}
        self.universe: Box = tuple(f.full for f in self.fields)
        self._inhabited: Box = tuple(f.inhabited for f in self.fields)

    @classmethod
    def for_conditions(cls, conditions: Iterable[Condition]) -> IntentSpace:
        """The space that separates every predicate of `conditions`."""
        constants: dict[str, set[Any]] = {"billing": set()}
        globs: dict[str, list[str]] = {}
        for condition in conditions:
            for predicate in _predicates(condition):
                constants.setdefault(predicate.field, set()).update(_constants(predicate))
                if predicate.op == "glob":
                    assert isinstance(predicate.operand, tuple)
                    globs.setdefault(predicate.field, []).extend(predicate.operand)
        fields = []
        for name in sorted(constants, key=_field_order):
            fields.append(_field_cells(name, constants[name], tuple(globs.get(name, ()))))
        return cls(fields)

    # --- regions -----------------------------------------------------------------------

    def region(self, condition: Condition, budget: Budget) -> Region:
        """The intents for which `condition` holds."""
        if isinstance(condition, Predicate):
            i = self.index[condition.field]
            return self._with(i, self.fields[i].mask(condition))
        if isinstance(condition, Not):
            return self.complement(self.region(condition.item, budget), budget)
        if isinstance(condition, AllOf):
            acc: Region = [self.universe]
            for item in condition.items:
                acc = intersect(acc, self.region(item, budget), budget)
                if not acc:
                    break
            return acc
        assert isinstance(condition, AnyOf)
        union: Region = []
        for item in condition.items:
            union = absorb(union + self.region(item, budget))
        return union

    def inhabited(self, region: Region) -> Region:
        """The part of `region` an example can be drawn from."""
        out: Region = []
        for candidate in region:
            met = _meet(candidate, self._inhabited)
            if met is not None:
                out.append(met)
        return out

    def _with(self, i: int, mask: int) -> Region:
        if not mask:
            return []
        box = list(self.universe)
        box[i] = mask
        return [tuple(box)]

    def complement(self, region: Region, budget: Budget) -> Region:
        """Everything outside `region`."""
        return subtract([self.universe], region, budget)

    def only(self, field: str, values: Iterable[object]) -> Region:
        """The boxes where `field` takes one of `values` (enum or bool fields)."""
        i = self.index[field]
        wanted = set(values)
        mask = 0
        for bit, cell in enumerate(self.fields[i].cells):
            if cell in wanted:
                mask |= 1 << bit
        return self._with(i, mask)

    # --- examples and descriptions -----------------------------------------------------

    def example(self, box: Box) -> Intent:
        """A concrete intent inside `box` (each field at its first cell)."""
        hints: dict[str, Any] = {}
        labels: dict[str, str] = {}
        for field, mask in zip(self.fields, box, strict=True):
            value = field.value(field.preferred(mask))
            if value is None:
                continue
            if field.field.startswith("labels."):
                labels[field.field[7:]] = value
            else:
                hints[field.field] = value
        if labels:
            hints["labels"] = labels
        return Intent.from_request(None, **hints)

    def describe(self, box: Box) -> dict[str, str]:
        """The fields `box` constrains, each with its cells in words."""
        return {
            field.field: field.describe(mask)
            for field, mask in zip(self.fields, box, strict=True)
            if mask != field.full
        }


def _field_order(name: str) -> tuple[int, str]:
    names = list(FIELDS)
    return (names.index(name), "") if name in FIELDS else (len(names), name)


def _field_cells(name: str, constants: set[Any], globs: tuple[str, ...]) -> FieldCells:
    spec = FIELDS.get(name)
    kind = spec.kind if spec is not None else "str"  # labels.<key>
    cells: list[Cell]
    if kind == "enum":
        assert spec is not None
        cells = list(spec.allowed)
    elif kind == "bool":
        cells = [True, False]
    elif kind == "int":
        cells = _int_cells({c for c in constants if isinstance(c, int)})
    else:
        strings = sorted({c for c in constants if isinstance(c, str)})
        for pattern in globs:
            witness = _glob_witness(pattern)
            if witness is not None and witness not in strings:
                strings.append(witness)
        subsets = glob_subsets(sorted(set(globs)))
        cells = [*strings, *(Other(subset) for subset in subsets)]
    if name not in ALWAYS_PRESENT:
        cells.append(MISSING)
    return FieldCells.build(name, kind, cells, tuple(sorted(set(globs))))


# --- set algebra on regions ------------------------------------------------------------


def _meet(a: Box, b: Box) -> Box | None:
    out = tuple(map(operator.and_, a, b))
    return None if 0 in out else out


def bounds(region: Region) -> Box | None:
    """The smallest box holding all of `region` (None for the empty region)."""
    if not region:
        return None
    out = region[0]
    for box in region[1:]:
        out = tuple(map(operator.or_, out, box))
    return out


def may_meet(a: Region, b: Region) -> bool:
    """False when `a` and `b` surely share nothing (their bounding boxes do not meet)."""
    box_a, box_b = bounds(a), bounds(b)
    return box_a is not None and box_b is not None and _meet(box_a, box_b) is not None


def intersect(a: Region, b: Region, budget: Budget) -> Region:
    """The boxes common to `a` and `b`."""
    if len(a) * len(b) > 4 and not may_meet(a, b):
        return []
    out: Region = []
    for x in a:
        for y in b:
            budget.tick()
            met = _meet(x, y)
            if met is not None:
                out.append(met)
    return simplify(out)


def _subtract_box(a: Box, b: Box) -> Region:
    if _meet(a, b) is None:
        return [a]
    out: Region = []
    current = list(a)
    for i, mask in enumerate(b):
        rest = current[i] & ~mask
        if rest:
            piece = list(current)
            piece[i] = rest
            out.append(tuple(piece))
        current[i] &= mask
    return out


def subtract(a: Region, b: Region, budget: Budget) -> Region:
    """The parts of `a` outside every box of `b`."""
    out = a
    for y in b:
        pieces: Region = []
        for x in out:
            budget.tick()
            pieces.extend(_subtract_box(x, y))
        out = pieces
        if not out:
            break
    return simplify(out)


def subtract_all(a: Region, regions: Iterable[Region], budget: Budget) -> Region:
    """`a` minus every region of `regions`, skipping those that do not meet it (cheap)."""
    out = a
    for region in regions:
        if not out:
            break
        if may_meet(out, region) and any(_meet(x, y) is not None for x in out for y in region):
            out = subtract(out, region, budget)
    return out


def find_outside(a: Region, regions: Sequence[Region], budget: Budget) -> Box | None:
    """A box of `a` that meets none of `regions`, searched depth first (None: there is none).

    Finding one point needs only one branch of the subtraction, so this is fast when the
    complement is large (defaults reachable) and no slower than `subtract_all` otherwise.
    """
    removers = [box for region in regions for box in region]

    def search(box: Box, start: int) -> Box | None:
        for k in range(start, len(removers)):
            budget.tick()
            if _meet(box, removers[k]) is None:
                continue
            for piece in _subtract_box(box, removers[k]):
                found = search(piece, k + 1)
                if found is not None:
                    return found
            return None
        return box

    for box in a:
        found = search(box, 0)
        if found is not None:
            return found
    return None


def simplify(region: Region) -> Region:
    """Merge boxes that differ in one field only (linear: one bucketing pass per field).

    Subtraction and intersection keep boxes disjoint, so no box can hold another here;
    only unions (`any`) make overlaps, and `absorb` prunes those.
    """
    if len(region) < 2:
        return region
    boxes = list(dict.fromkeys(region))
    width = len(boxes[0])
    for k in range(width):
        if len(boxes) < 2:
            break
        buckets: dict[tuple[int, ...], int] = {}
        for box in boxes:
            key = box[:k] + box[k + 1 :]
            buckets[key] = buckets.get(key, 0) | box[k]
        if len(buckets) < len(boxes):
            boxes = [(*key[:k], mask, *key[k:]) for key, mask in buckets.items()]
    return boxes


#: Unions larger than this skip the quadratic pruning of `absorb`.
_ABSORB_LIMIT: Final = 64


def absorb(region: Region) -> Region:
    """Drop boxes inside other boxes of the union, then merge."""
    boxes = simplify(region)
    if 1 < len(boxes) <= _ABSORB_LIMIT:
        boxes = [
            box
            for i, box in enumerate(boxes)
            if not any(j != i and _contains(other, box) for j, other in enumerate(boxes))
        ]
    return boxes


def _contains(outer: Box, inner: Box) -> bool:
    return tuple(map(operator.and_, outer, inner)) == inner
