"""`router simulate`: prints its base URL, serves, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from router.cli.app import run

from .conftest import chat, post


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    ready = selector.select(timeout)
    selector.close()
    assert ready, "router simulate printed nothing in time"
    return process.stdout.readline().strip()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


FLAKY_FILE = Path(__file__).parents[2] / "examples" / "scenarios" / "flaky-then-well.yaml"


@pytest.mark.parametrize(
    ("stop", "options"),
    [
        (signal.SIGINT, ["--scenario", "flaky"]),
        (signal.SIGTERM, ["--scenario", str(FLAKY_FILE), "--port", "PORT"]),
    ],
    ids=["ctrl-c, built-in scenario", "sigterm, scenario file and port"],
)
def test_runs_in_the_foreground_and_stops_on_a_signal(
    stop: signal.Signals, options: list[str]
) -> None:
    port = str(_free_port())
    options = [port if option == "PORT" else option for option in options]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "router", "simulate", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        base_url = _first_line(process, timeout=10)
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/v1")
        if "--port" in options:
            assert base_url == f"http://127.0.0.1:{port}/v1"
        answer = post(base_url + "/chat/completions", json=chat(), timeout=5)
        assert answer.status_code == 429
        process.send_signal(stop)
        _, stderr = process.communicate(timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=5)
    assert process.returncode == 0
    assert "Traceback" not in stderr
    assert "#0 POST /v1/chat/completions" in stderr
    assert stderr.rstrip().endswith("router simulate: stopped")


def test_list_names_the_builtin_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["simulate", "--list"]) == 0
    listed = capsys.readouterr().out
    assert "flaky" in listed
    assert "azure" in listed


def test_an_unknown_scenario_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["simulate", "--scenario", "nope"]) == 2
    assert "unknown scenario 'nope'" in capsys.readouterr().err


def test_a_broken_scenario_file_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("default: {fault: nope}\n")
    assert run(["simulate", "--scenario", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "broken.yaml: default.fault: unknown fault 'nope'" in err


def test_a_port_in_use_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert run(["simulate", "--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
