"""Scenarios: the built-in ones and the example files load and play; mistakes are located."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

import httpx
import pytest

from router.errors import UsageError
from router.testing import Fault, FaultKind, Reply, SimulatedTransport, scenarios
from router.testing.scenarios import BUILTIN, Scenario, load_scenario, resolve_scenario

from .conftest import chat, content

EXAMPLES = sorted((Path(__file__).parents[2] / "examples" / "scenarios").glob("*.yaml"))


def test_there_are_example_files() -> None:
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_file_loads_and_answers(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    assert scenario.description
    transport = SimulatedTransport(
        scenario.default, steps=scenario.steps, quirks=scenario.quirks, max_stall=0.05
    )
    with (
        httpx.Client(verify=False, transport=transport, base_url="https://x/v1") as client,
        contextlib.suppress(httpx.HTTPError),  # hostile scenarios may cut the answer
    ):
        client.post("/chat/completions", json=chat())
    assert len(transport.requests) == 1


def test_the_flaky_example_plays_its_steps_in_order() -> None:
    scenario = resolve_scenario(str(EXAMPLES[[p.stem for p in EXAMPLES].index("flaky-then-well")]))
    first, _, _, fourth = scenario.steps
    assert isinstance(first, Fault)
    assert first.kind is FaultKind.STATUS
    assert first.retry_after_ms == 500
    assert isinstance(fourth, Fault)
    assert fourth.answer.choices[0].text.startswith("This answer")
    transport = SimulatedTransport(scenario.default, steps=scenario.steps[:2])
    with httpx.Client(verify=False, transport=transport, base_url="https://x/v1") as client:
        limited = client.post("/chat/completions", json=chat())
        overloaded = client.post("/chat/completions", json=chat())
    assert (limited.status_code, limited.headers["retry-after-ms"]) == (429, "500")
    assert (overloaded.status_code, overloaded.headers["retry-after"]) == (503, "1")


def test_tool_calls_and_quirks_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "quirks: {ping: event, tool_call_index: false}\n"
        "default:\n  reply: tool_calls\n  calls: [{name: f, arguments: {a: 1}, id: call_1}]\n"
    )
    scenario = load_scenario(path)
    assert scenario.quirks is not None
    assert scenario.quirks.ping is not None
    assert scenario.quirks.ping.startswith("event: ping")
    assert isinstance(scenario.default, Reply)
    assert scenario.default.choices[0].tool_calls[0].arguments == '{"a": 1}'


@pytest.mark.parametrize("name", list(BUILTIN))
def test_builtin_scenarios_build_providers(name: str) -> None:
    scenario = resolve_scenario(name)
    provider = scenario.provider()
    assert not provider.running
    assert provider.script.pending == len(scenario.steps)


@pytest.mark.parametrize(
    ("kind", "named"),
    [(Reply, scenarios._REPLIES), (Fault, scenarios._FAULTS)],
    ids=["reply", "fault"],
)
def test_every_constructor_can_be_named_in_a_scenario_file(
    kind: type, named: dict[str, object]
) -> None:
    constructors = {
        name
        for name, value in vars(kind).items()
        if isinstance(value, classmethod) and not name.startswith("_")
    }
    assert constructors == set(named)
    assert all(named[name] == getattr(kind, name) for name in constructors)


def test_builtin_default_streams_its_greeting() -> None:
    scenario = BUILTIN["default"]
    assert isinstance(scenario.default, Reply)
    assert scenario.default.token_delay == 0.05
    transport = SimulatedTransport(dataclasses.replace(scenario.default, token_delay=0))
    with httpx.Client(verify=False, transport=transport, base_url="https://x/v1") as client:
        raw = client.post("/chat/completions", json=chat(stream=True)).content
    assert content(raw).startswith("Hello! I am a simulated provider")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- 1\n", "a scenario is a mapping"),
        ("defualt: {reply: text}\n", "defualt: unknown key (did you mean 'default'?)"),
        ("default: {fault: close_mid_steam}\n", "did you mean 'close_mid_stream'?"),
        ("default: {reply: text, txt: hi}\n", "default.txt: unknown key (did you mean 'text'?)"),
        ("default: {nothing: 1}\n", "a step needs `reply: KIND` or `fault: KIND`"),
        ("steps: {a: 1}\n", "steps: expected a list"),
        ("steps: [{fault: http_status, status: 429, retry: 1}]\n", "steps[0].retry: unknown key"),
        ("default: {fault: drip, reply: text}\n", "default.reply: expected a reply mapping"),
        ("quirks: {azure: true}\n", "quirks.azure: unknown key (did you mean 'azure_filters'?)"),
        ("default: {reply: tool_calls}\n", "default.calls: expected a list"),
        ("default: [unclosed\n", ":2:1: not valid YAML"),
        ("default: {reply: text, token_delay: fast}\n", "default.token_delay: expected a number"),
        ("default: {fault: close_mid_stream, after: 2.5}\n", "default.after: expected an integer"),
        ("default: {reply: text, text: 42}\n", "default.text: expected a string"),
        ("default: {fault: stall_mid_stream, seconds: -1}\n", "expected a number of seconds >= 0"),
    ],
)
def test_mistakes_are_usage_errors_naming_file_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(UsageError, match=r"bad\.yaml") as caught:
        load_scenario(path)
    assert message in str(caught.value)
    assert caught.value.code in ("scenario", "unreadable")


def test_unknown_names_suggest_a_builtin() -> None:
    with pytest.raises(UsageError, match="did you mean 'flaky'"):
        resolve_scenario("flakey")
    with pytest.raises(UsageError, match="no such file"):
        resolve_scenario("missing.yaml")


def test_from_mapping_defaults() -> None:
    scenario = Scenario.from_mapping({}, source="inline.yaml")
    assert scenario.name == "inline"
    assert isinstance(scenario.default, Reply)
    assert scenario.steps == ()


def test_replies_that_forward_options_accept_every_option_of_a_text_reply() -> None:
    data = {"reply": "json", "value": {"name": "Ada"}, "finish_reason": "length"}
    refusal = {"reply": "refusal", "text": "No.", "finish_reason": "length"}
    scenario = Scenario.from_mapping({"default": data, "steps": [refusal]})
    assert isinstance(scenario.default, Reply)
    assert scenario.default.choices[0].resolved_finish_reason == "length"
    (refusal,) = scenario.steps
    assert isinstance(refusal, Reply)
    assert refusal.choices[0].resolved_finish_reason == "length"


@pytest.mark.parametrize("kind", list(scenarios._REPLIES))
def test_an_unknown_key_lists_each_allowed_key_once(kind: str) -> None:
    listed = {"tool_calls": {"calls": [{"name": "f"}]}, "many": {"texts": ["a"]}}
    step = {"reply": kind, **listed.get(kind, {}), "nope": 1}
    with pytest.raises(UsageError, match=r"default\.nope: unknown key") as caught:
        Scenario.from_mapping({"default": step})
    allowed = str(caught.value).split("allowed: ")[1].split(", ")
    assert len(allowed) == len(set(allowed))
    assert {"first_token_delay", "token_delay", "usage", "quirks", "finish_reason"} <= set(allowed)
