"""The public surface: `__all__` is complete, sorted, and every name resolves."""

from __future__ import annotations

import router


def test_all_is_sorted() -> None:
    assert list(router.__all__) == sorted(router.__all__)


def test_all_names_resolve() -> None:
    for name in router.__all__:
        assert getattr(router, name) is not None, name


def test_lazy_names_are_listed_in_all() -> None:
    assert set(router._LAZY) <= set(router.__all__)


def test_every_public_class_defined_in_router_is_exported() -> None:
    import router.completion
    import router.errors

    for module in (router.errors, router.completion):
        for name in module.__all__:
            assert name in router.__all__, f"{module.__name__}.{name} missing from router.__all__"


def test_unknown_attribute_raises_attribute_error() -> None:
    import pytest

    with pytest.raises(AttributeError, match="no_such_thing"):
        _ = router.no_such_thing  # type: ignore[attr-defined]
