"""Public test kit: a simulated OpenAI-compatible provider with faults on demand.

- `SimulatedProvider`: a real HTTP/1.1 server on 127.0.0.1 speaking the Chat Completions wire
  format byte for byte, scripted with `Reply` answers and `Fault` misbehaviours.
- `SimulatedTransport`: the same scripts through an httpx transport, with no sockets.
- `Scenario`: a named script (built in, or loaded from a YAML file) for `router simulate`.
- The `simulated_provider` pytest fixture (registered by installing the package).

Names are imported on first use: pytest loads this package's plugin in every test run, and
that must stay cheap. See docs/testing.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from router._lazy import lazy_exports

if TYPE_CHECKING:
    from router.testing.recording import RecordedHeaders, RecordedRequest
    from router.testing.scenarios import Scenario, load_scenario
    from router.testing.scripts import (
        PING_COMMENT,
        PING_DATA,
        PING_EVENT,
        ChoiceSpec,
        Fault,
        FaultKind,
        Quirks,
        Reply,
        Responder,
        Step,
        ToolCallSpec,
    )
    from router.testing.server import SimulatedProvider
    from router.testing.transport import SimulatedTransport

#: Public name -> the module defining it.
_LAZY: dict[str, str] = {
    "PING_COMMENT": "router.testing.scripts",
    "PING_DATA": "router.testing.scripts",
    "PING_EVENT": "router.testing.scripts",
    "ChoiceSpec": "router.testing.scripts",
    "Fault": "router.testing.scripts",
    "FaultKind": "router.testing.scripts",
    "Quirks": "router.testing.scripts",
    "RecordedHeaders": "router.testing.recording",
    "RecordedRequest": "router.testing.recording",
    "Reply": "router.testing.scripts",
    "Responder": "router.testing.scripts",
    "Scenario": "router.testing.scenarios",
    "SimulatedProvider": "router.testing.server",
    "SimulatedTransport": "router.testing.transport",
    "Step": "router.testing.scripts",
    "ToolCallSpec": "router.testing.scripts",
    "load_scenario": "router.testing.scenarios",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


__all__ = [
    "PING_COMMENT",
    "PING_DATA",
    "PING_EVENT",
    "ChoiceSpec",
    "Fault",
    "FaultKind",
    "Quirks",
    "RecordedHeaders",
    "RecordedRequest",
    "Reply",
    "Responder",
    "Scenario",
    "SimulatedProvider",
    "SimulatedTransport",
    "Step",
    "ToolCallSpec",
    "load_scenario",
]
