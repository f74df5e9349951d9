"""pytest plugin registered through the `pytest11` entry point: the `simulated_provider` fixture.

Installing `router` makes the fixture available to every test suite::

    def test_my_code_survives_a_dropped_stream(simulated_provider):
        simulated_provider.enqueue(Fault.close_mid_stream(after=3))
        ...  # point your client at simulated_provider.base_url

The provider is started before the test and stopped after it (every thread joined). Mark a
test with `@pytest.mark.simulated_provider(default=..., quirks=..., max_stall=...)` to pass
options to `SimulatedProvider`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # imported when a fixture is used: every pytest run loads this plugin
    from router.testing.server import SimulatedProvider
    from router.testing.transport import SimulatedTransport


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker that passes options to the fixtures."""
    config.addinivalue_line(
        "markers",
        "simulated_provider(**options): options for the simulated_provider and "
        "simulated_transport fixtures (default, steps, quirks, model, max_stall).",
    )


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker("simulated_provider")
    return dict(marker.kwargs) if marker is not None else {}


@pytest.fixture
def simulated_provider(request: pytest.FixtureRequest) -> Iterator[SimulatedProvider]:
    """A running `SimulatedProvider` on 127.0.0.1, stopped when the test ends."""
    from router.testing.server import SimulatedProvider

    options = {"max_stall": 10.0, **_options(request)}
    with SimulatedProvider(**options) as provider:
        yield provider


@pytest.fixture
def simulated_transport(request: pytest.FixtureRequest) -> SimulatedTransport:
    """A `SimulatedTransport` (no sockets) for `httpx.Client(transport=...)`."""
    from router.testing.transport import SimulatedTransport

    return SimulatedTransport(**_options(request))
