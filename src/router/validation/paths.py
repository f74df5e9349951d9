"""JSON paths for validation issues: `$.items[2].price`, `$['first name']`.

Dotted names where the key is a plain identifier (the form people read), bracketed
single-quoted names otherwise, escaped as RFC 9535 normalized paths escape them, so that a
path always names exactly one location.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["json_path"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def _quote(key: str) -> str:
    chars = []
    for char in key:
        escaped = _ESCAPES.get(char)
        if escaped is None and char < " ":
            escaped = f"\\u{ord(char):04x}"
        chars.append(escaped or char)
    return "'" + "".join(chars) + "'"


def json_path(parts: Iterable[str | int]) -> str:
    """The JSON path of a location given as keys and indices from the document's root."""
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENTIFIER.match(part):
            out.append("." + part)
        else:
            out.append("[" + _quote(part) + "]")
    return "".join(out)
