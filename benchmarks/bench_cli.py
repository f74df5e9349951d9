"""Cold start of `router decide`: the whole process, against the interpreter and `import openai`.

Each measurement starts a fresh process and waits for it to exit, so it includes interpreter
start-up, imports, loading the bundled policy, reading the request and printing the
decision: what an operator feels when typing the command. Runs are interleaved (one of each
per round) so that machine noise falls on all of them alike; the table shows medians.

    python benchmarks/bench_cli.py            # or: python benchmarks/run.py cli

The target is at most 150 ms for `router decide`.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUEST = ROOT / "examples" / "requests" / "chat.json"
ROUNDS = 21
TARGET_MS = 150.0


def _router_command() -> list[str]:
    """The console script beside this interpreter if installed, else `python -m router`."""
    script = Path(sys.executable).with_name("router")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "router"]


def _commands() -> dict[str, list[str]]:
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "router decide chat.json": [*_router_command(), "decide", str(REQUEST)],
        "router decide --explain --format json": [
            *_router_command(),
            "decide",
            str(REQUEST),
            "--explain",
            "--format",
            "json",
        ],
        'python -c "import openai"': [sys.executable, "-c", "import openai"],
    }


def _time_once(command: list[str]) -> float:
    start = time.perf_counter()
    completed = subprocess.run(
        command, capture_output=True, timeout=60, check=False, env=_env(), cwd=ROOT
    )
    elapsed = (time.perf_counter() - start) * 1000.0
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {completed.stderr.decode()[-400:]}")
    return elapsed


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    return env


def main() -> None:
    """Measure every command ROUNDS times, interleaved, and print medians and ratios."""
    commands = _commands()
    for command in commands.values():  # warm the bytecode caches once: "cold" means a new process
        _time_once(command)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(ROUNDS):
        for name, command in commands.items():
            samples[name].append(_time_once(command))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    base = medians["python -c pass"]
    ours = medians["router decide chat.json"]
    print(f"whole process, median of {ROUNDS} interleaved runs each\n")
    # The minimum is the run least disturbed by other work on the machine; the median is
    # what a user typically waits.
    print(f"| {'command':<40} | {'median ms':>9} | {'min ms':>7} | {'vs python':>9} |")
    print(f"|{'-' * 42}|{'-' * 11}|{'-' * 9}|{'-' * 11}|")
    for name, values in samples.items():
        ratio = medians[name] / base
        print(f"| {name:<40} | {medians[name]:>9.1f} | {min(values):>7.1f} | {ratio:>8.1f}x |")
    verdict = "within" if ours <= TARGET_MS else "OVER"
    print(f"\nrouter decide: {ours:.1f} ms median, {verdict} the {TARGET_MS:.0f} ms target")
    openai_ms = medians['python -c "import openai"']
    print(f"import openai alone takes {openai_ms / ours:.1f}x as long as a whole router decide")


if __name__ == "__main__":
    main()
