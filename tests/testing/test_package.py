"""`router.testing`'s public names resolve, and loading the pytest plugin stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import router.testing


def test_all_names_resolve() -> None:
    assert set(router.testing._LAZY) == set(router.testing.__all__)
    for name in router.testing.__all__:
        assert getattr(router.testing, name) is not None, name


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="nothing_here"):
        _ = router.testing.nothing_here  # type: ignore[attr-defined]


def test_the_pytest_plugin_imports_neither_httpx_nor_the_server() -> None:
    code = (
        "import sys, router.testing.pytest_plugin; "
        "print(sorted(m for m in ('httpx', 'router.testing.server', 'yaml') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "[]", out.stderr
