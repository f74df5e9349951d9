"""Read policy YAML into a node tree, safely: no objects built, no bombs, no duplicate keys.

Policies are composed (not constructed) with PyYAML's safe loader, so every value keeps its
line and column for error messages and no YAML tag can build a Python object. Before the
tree is used, one pass over it refuses what a safe loader still lets through: documents over
`MAX_BYTES`, alias bombs ("billion laughs": a few lines that expand to billions of nodes),
recursive aliases, tags other than YAML's plain data types, merge keys, duplicate keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

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

_Loader: type[yaml.SafeLoader]
try:  # libyaml's parser is several times faster and limits nesting depth to 1000
    _Loader = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader


def position(node: Node) -> tuple[int, int]:
    """1-based (line, column) where `node` starts."""
    mark = node.start_mark
    return mark.line + 1, mark.column + 1


@dataclass(slots=True)
class ComposeResult:
    """The document's root node (None when unusable) and every problem found."""

    root: Node | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
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
        return ComposeResult(
            None,
            [Diagnostic(source, line, column, f"YAML syntax: {problem}{context}", code="yaml")],
        )
    except yaml.YAMLError as exc:
        return ComposeResult(None, [Diagnostic(source, 1, 1, f"YAML: {exc}", code="yaml")])
    except RecursionError:  # pragma: no cover - only the pure-Python parser recurses
        return ComposeResult(
            None, [Diagnostic(source, 1, 1, "YAML nesting is too deep", code="too-large")]
        )
    if root is None:
        return ComposeResult(None, [])
    refused: set[int] = set()
    diagnostics = _check_tree(root, source, refused)
    return ComposeResult(root, diagnostics, frozenset(refused))


def _children(node: Node) -> Iterator[Node]:
    if isinstance(node, MappingNode):
        for key, value in node.value:
            yield key
            yield value
    elif isinstance(node, SequenceNode):
        yield from node.value


def _check_tree(root: Node, source: str, refused: set[int]) -> list[Diagnostic]:
    """One pass over the node graph, each distinct node once (aliases share nodes).

    Computes the size the document expands to with every alias counted at each use, so an
    alias bomb is refused in time linear in its text, and finds recursive aliases.
    """
    out: list[Diagnostic] = []
    expanded: dict[int, int] = {}  # id(node) -> nodes it expands to, once finished
    in_progress: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            in_progress.discard(key)
            total = 1 + sum(expanded[id(child)] for child in _children(node))
            expanded[key] = total
            if total > MAX_NODES:
                line, column = position(node)
                return [
                    Diagnostic(
                        source,
                        line,
                        column,
                        f"the document expands to more than {MAX_NODES} values through "
                        "aliases (an alias bomb?): write the values out",
                        code="alias-bomb",
                    )
                ]
            continue
        if key in expanded:
            continue
        if key in in_progress:
            line, column = position(node)
            return [
                Diagnostic(
                    source,
                    line,
                    column,
                    "a recursive alias: this value contains itself; write it out",
                    code="alias-bomb",
                )
            ]
        in_progress.add(key)
        if key in refused or not _check_node(node, source, out):
            refused.add(key)
            refused.update(id(child) for child in _children(node))
        stack.append((node, True))
        for child in _children(node):
            if id(child) in in_progress:
                line, column = position(child)
                return [
                    Diagnostic(
                        source,
                        line,
                        column,
                        "a recursive alias: this value contains itself; write it out",
                        code="alias-bomb",
                    )
                ]
            if id(child) not in expanded:
                stack.append((child, False))
    return out


def _check_node(node: Node, source: str, out: list[Diagnostic]) -> bool:
    """Report what is wrong with one node; False when its tag is refused."""
    if node.tag not in ALLOWED_TAGS:
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
        return False
    if isinstance(node, MappingNode):
        seen: dict[object, int] = {}
        for key_node, _value in node.value:
            if not isinstance(key_node, ScalarNode):
                line, column = position(key_node)
                out.append(
                    Diagnostic(source, line, column, "a key must be a plain string", code="type")
                )
                continue
            name = key_node.value
            line, column = position(key_node)
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
    return True
