"""Public test kit: a simulated OpenAI-compatible provider with faults on demand.

- `SimulatedProvider`: a real HTTP/1.1 server on 127.0.0.1 speaking the Chat Completions wire
  format byte for byte, scripted with `Reply` answers and `Fault` misbehaviours.
- `SimulatedTransport`: the same scripts through an httpx transport, with no sockets.
- `Scenario`: a named script (built in, or loaded from a YAML file) for `router simulate`.
- The `simulated_provider` pytest fixture (registered by installing the package).

See docs/testing.md.
"""

from __future__ import annotations

from router.testing.recording import RecordedHeaders, RecordedRequest
from router.testing.scenarios import Scenario, load_scenario
from router.testing.scripts import (
    PING_COMMENT,
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

__all__ = [
    "PING_COMMENT",
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
