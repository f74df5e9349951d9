"""Read policy YAML into a node tree, safely: no objects built, no bombs, no duplicate keys.

Policies are composed (not constructed) with PyYAML's safe loader, so every value keeps its
line and column for error messages and no YAML tag can build a Python object. Before the
tree is used, one pass over it refuses what a safe loader still lets through: documents over
`MAX_BYTES`, alias bombs ("billion laughs": a few lines that expand to billions of nodes),
recursive aliases, tags other than YAML's plain data types, merge keys, duplicate keys.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from router.errors import Diagnostic

__all__ = [
    "MAX_BYTES",
    "MAX_NODES",
    "ComposeResult",
    "compose",
    "position",
]

#: Policies larger than this are refused before parsing (a real policy is a few KiB).
MAX_BYTES = 1024 * 1024
#: The most nodes a policy may expand to, aliases counted at every use.
MAX_NODES = 100_000

_TAG = "tag:yaml.org,2002:"
#: The only tags a policy may carry: YAML's plain data types.
ALLOWED_TAGS = frozenset(
    _TAG + name for name in ("str", "int", "float", "bool", "null", "seq", "map")
)

_Base: type[yaml.SafeLoader]
try:  # libyaml's parser is several times faster and limits nesting depth to 1000
    _Base = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Base = yaml.SafeLoader

#: Plain scalar text -> its implicit tag. Resolving runs regexes in Python for each scalar;
#: policies repeat the same few words, so this makes loading markedly faster.
_RESOLVED: dict[str, str] = {}
_RESOLVED_MAX = 4096


class _Loader(_Base):  # type: ignore[valid-type,misc]
    """The safe loader, with implicit tags of plain scalars cached (same result, faster)."""

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode and implicit[0] and type(value) is str:
            tag = _RESOLVED.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(_RESOLVED) < _RESOLVED_MAX:
                    _RESOLVED[value] = tag
            return tag
        resolved: str = super().resolve(kind, value, implicit)
        return resolved


def position(node: Node) -> tuple[int, int]:
    """1-based (line, column) where `node` starts."""
    mark = node.start_mark
    return mark.line + 1, mark.column + 1


class ComposeResult(NamedTuple):
    """The document's root node (None when unusable) and every problem found."""

    root: Node | None
    diagnostics: list[Diagnostic]
    #: ids of the nodes under a refused tag, so later checks do not report them again
    refused: frozenset[int] = frozenset()


def compose(text: str, source: str) -> ComposeResult:
    """Parse `text` into a checked node tree; problems become diagnostics, never exceptions."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        return ComposeResult(
            None,
            [
                Diagnostic(
                    source,
                    1,
                    1,
                    f"the policy is {size} bytes, over the {MAX_BYTES} byte limit: "
                    "split it or remove what is not policy",
                    code="too-large",
                )
            ],
        )
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        hint = _syntax_hint(text, line, problem)
        message = f"YAML syntax: {problem}{context}; {hint}"
        return ComposeResult(None, [Diagnostic(source, line, column, message, code="yaml")])
    except yaml.YAMLError as exc:
        return ComposeResult(None, [Diagnostic(source, 1, 1, f"YAML: {exc}", code="yaml")])
    except RecursionError:  # pragma: no cover - only the pure-Python parser recurses
        return ComposeResult(
            None, [Diagnostic(source, 1, 1, "YAML nesting is too deep", code="too-large")]
        )
    if root is None:
        return ComposeResult(None, [], frozenset())
    refused: set[int] = set()
    diagnostics = _check_tree(root, source, refused)
    return ComposeResult(root, diagnostics, frozenset(refused))


def _syntax_hint(text: str, line: int, problem: str) -> str:
    """How to fix the most common YAML mistakes, from the parser's complaint."""
    lines = text.splitlines()
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    if "\t" in here:
        return "indent with spaces: YAML does not allow tabs"
    if "cannot start any token" in problem:
        return "quote a value that starts with @ or `"
    if "undefined alias" in problem:
        return "define the anchor (&name) before using it (*name)"
    if "mapping values are not allowed" in problem:
        return 'check the indentation, or quote a value that contains ": "'
    if "quoted scalar" in problem or "end of stream" in problem:
        return "close the quote or bracket opened above"
    if "expected ',' or" in problem or "flow" in problem:
        return "close the [ or { opened above, and separate items with commas"
    return "check the indentation and the brackets around here"


class _Refuse(Exception):
    """Stops the walk: the document cannot be used at all (alias bomb, cycle, depth)."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


#: Collections nest at most this deep (libyaml itself stops at 1000).
MAX_DEPTH = 200


def _check_tree(root: Node, source: str, refused: set[int]) -> list[Diagnostic]:
    """One pass over the node graph, each distinct collection once (aliases share nodes).

    Computes the size the document expands to with every alias counted at each use, so an
    alias bomb is refused in time linear in its text, and finds recursive aliases.
    """
    out: list[Diagnostic] = []
    sizes: dict[int, int] = {}  # id(collection) -> values it expands to, once walked
    active: set[int] = set()  # collections being walked: meeting one again is a cycle

    def refuse(node: Node, message: str, code: str) -> _Refuse:
        line, column = position(node)
        return _Refuse(Diagnostic(source, line, column, message, code=code))

    def walk(node: Node, depth: int, under_refused: bool) -> int:
        if type(node) is ScalarNode:
            if node.tag not in ALLOWED_TAGS and not under_refused:
                _refuse_tag(node, source, out)
                refused.add(id(node))
            elif under_refused:
                refused.add(id(node))
            return 1
        key = id(node)
        size = sizes.get(key)
        if size is not None:
            return size
        if key in active:
            raise refuse(
                node, "a recursive alias: this value contains itself; write it out", "alias-bomb"
            )
        if depth > MAX_DEPTH:
            raise refuse(node, f"values nest deeper than {MAX_DEPTH} levels", "too-large")
        if under_refused or node.tag not in ALLOWED_TAGS:
            if not under_refused:
                _refuse_tag(node, source, out)
            under_refused = True
            refused.add(key)
        active.add(key)
        total = 1
        if isinstance(node, MappingNode):
            seen: dict[object, int] = {}
            for key_node, value in node.value:
                total += walk(key_node, depth + 1, under_refused) + walk(
                    value, depth + 1, under_refused
                )
                _check_key(key_node, seen, source, out)
        else:
            for item in node.value:
                total += walk(item, depth + 1, under_refused)
        active.discard(key)
        if total > MAX_NODES:
            raise refuse(
                node,
                f"the document expands to more than {MAX_NODES} values through aliases "
                "(an alias bomb?): write the values out",
                "alias-bomb",
            )
        sizes[key] = total
        return total

    try:
        walk(root, 0, False)
    except _Refuse as stop:
        return [stop.diagnostic]
    return out


def _refuse_tag(node: Node, source: str, out: list[Diagnostic]) -> None:
    line, column = position(node)
    if node.tag == _TAG + "merge":
        message = "merge keys (<<) are not supported: write the keys out"
    else:
        tag = "!!" + node.tag[len(_TAG) :] if node.tag.startswith(_TAG) else node.tag
        message = (
            f"the tag {tag} is not allowed: a policy holds plain data "
            "(strings, numbers, booleans, lists, mappings); remove the tag"
        )
    out.append(Diagnostic(source, line, column, message, code="tag"))


def _check_key(key_node: Node, seen: dict[object, int], source: str, out: list[Diagnostic]) -> None:
    line, column = position(key_node)
    if not isinstance(key_node, ScalarNode):
        out.append(Diagnostic(source, line, column, "a key must be a plain string", code="type"))
        return
    name = key_node.value
    if name in seen:
        out.append(
            Diagnostic(
                source,
                line,
                column,
                f"duplicate key {name!r} (first at line {seen[name]}): YAML would keep "
                "only the last one; remove one of them",
                code="duplicate-key",
            )
        )
    else:
        seen[name] = line
