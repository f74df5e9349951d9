"""Public names imported on first use, so that importing a package stays cheap.

A package lists `name -> module` and installs the hooks that PEP 562 reads::

    __getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping


def lazy_exports(
    package: str, table: Mapping[str, str], namespace: MutableMapping[str, object]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """A module `__getattr__` that imports `table[name]` once, and the matching `__dir__`."""

    def get_attribute(name: str) -> object:
        module_name = table.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module_name), name)
        namespace[name] = value  # later lookups are plain attribute reads
        return value

    def list_attributes() -> list[str]:
        return sorted(set(namespace) | set(table))

    return get_attribute, list_attributes
