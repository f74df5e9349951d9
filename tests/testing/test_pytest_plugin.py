"""The `simulated_provider` fixture comes from the installed plugin, with marker options."""

from __future__ import annotations

import httpx
import pytest

from router.testing import Reply, SimulatedProvider, SimulatedTransport

from .conftest import post


def test_fixture_is_a_running_provider(simulated_provider: SimulatedProvider) -> None:
    assert simulated_provider.running
    answer = post(simulated_provider.base_url + "/chat/completions", json={"messages": []})
    assert answer.status_code == 200


@pytest.mark.simulated_provider(default=Reply.text("from the marker"))
def test_marker_passes_options(simulated_provider: SimulatedProvider) -> None:
    answer = post(simulated_provider.base_url + "/chat/completions", json={"messages": []})
    assert answer.json()["choices"][0]["message"]["content"] == "from the marker"


@pytest.mark.simulated_provider(default=Reply.text("no sockets"))
def test_transport_fixture(simulated_transport: SimulatedTransport) -> None:
    with httpx.Client(
        verify=False, transport=simulated_transport, base_url="https://x/v1"
    ) as client:
        answer = client.post("/chat/completions", json={"messages": []})
    assert answer.json()["choices"][0]["message"]["content"] == "no sockets"


def test_the_plugin_is_registered_through_the_entry_point() -> None:
    from importlib.metadata import entry_points

    (plugin,) = [e for e in entry_points(group="pytest11") if e.name == "router"]
    assert plugin.value == "router.testing.pytest_plugin"
