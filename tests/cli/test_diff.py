"""`router diff`: exit codes that gate a deploy, text and JSON reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from router.cli.app import run
from router.policy.engine import default_policy_path

DEFAULT = str(default_policy_path())


@pytest.fixture
def changed(tmp_path: Path) -> str:
    text = Path(DEFAULT).read_text(encoding="utf-8").replace("lt: 16", "lt: 128")
    path = tmp_path / "new.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_identical_policies_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["diff", DEFAULT, DEFAULT]) == 0
    assert "no change" in capsys.readouterr().out


def test_a_changed_threshold_exits_1_and_shows_the_region(
    changed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["diff", DEFAULT, changed]) == 1
    out = capsys.readouterr().out
    assert "user-facing -> short-answer" in out
    assert "mode: stream -> batch" in out
    assert "expected_tokens: 16..127" in out
    assert out.rstrip().endswith("2 changes")


def test_json_report(changed: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["diff", DEFAULT, changed, "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["same"] is False
    assert data["complete"] is True
    pairs = {(c["from"]["rule"], c["to"]["rule"]) for c in data["changes"]}
    assert pairs == {("user-facing", "short-answer"), ("reasoning-models", "short-answer")}
    for change in data["changes"]:
        assert change["certain"] is True
        assert set(change) >= {"from", "to", "changed", "example", "where", "certain"}


def test_a_broken_policy_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nrules:\n  - name: x\n    mode: sometimes\n", encoding="utf-8")
    assert run(["diff", DEFAULT, str(broken)]) == 2
    err = capsys.readouterr().err
    assert "broken.yaml:4" in err
    assert "Traceback" not in err


def test_a_missing_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["diff", DEFAULT, "no-such-policy.yaml"]) == 2
    assert "no-such-policy.yaml" in capsys.readouterr().err
