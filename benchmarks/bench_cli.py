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
import resource
import statistics
import subprocess
import sys
import tempfile
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


def _time_once(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall ms, CPU ms) of one run; CPU time is what the process itself spent, user and
    system, so it moves much less than wall time when other work shares the machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    completed = subprocess.run(
        command, capture_output=True, timeout=60, check=False, env=env, cwd=ROOT
    )
    elapsed = (time.perf_counter() - start) * 1000.0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {completed.stderr.decode()[-400:]}")
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000.0
    return elapsed, cpu


def _env(pycache: str) -> dict[str, str]:
    """The children's environment: bytecode cached as in any installed Python program, in
    `pycache` rather than beside the sources, which stay untouched.

    Some shells and containers set PYTHONDONTWRITEBYTECODE, which makes every start compile
    every module from source again (about twice the time); that measures the environment,
    not the program. The first, unmeasured round of runs fills the cache.
    """
    env = dict(os.environ)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def main() -> None:
    """Measure every command ROUNDS times, interleaved, and print medians and ratios."""
    commands = _commands()
    samples: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    with tempfile.TemporaryDirectory(prefix="router-bench-pycache-") as pycache:
        env = _env(pycache)
        for command in commands.values():  # warm the bytecode caches: "cold" is a new process
            _time_once(command, env)
        for _ in range(ROUNDS):
            for name, command in commands.items():
                wall_ms, cpu_ms = _time_once(command, env)
                samples[name].append(wall_ms)
                cpu[name].append(cpu_ms)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    base = medians["python -c pass"]
    ours = medians["router decide chat.json"]
    print(f"whole process, median of {ROUNDS} interleaved runs each\n")
    # Wall time is what a user waits; the minimum is the run least disturbed by other work
    # on the machine, and CPU time (user + system) barely depends on that other work.
    print(
        f"| {'command':<40} | {'median ms':>9} | {'min ms':>7} | {'CPU ms':>7} | {'vs python':>9} |"
    )
    print(f"|{'-' * 42}|{'-' * 11}|{'-' * 9}|{'-' * 9}|{'-' * 11}|")
    for name, values in samples.items():
        ratio = medians[name] / base
        cpu_ms = statistics.median(cpu[name])
        print(
            f"| {name:<40} | {medians[name]:>9.1f} | {min(values):>7.1f} | {cpu_ms:>7.1f} "
            f"| {ratio:>8.1f}x |"
        )
    verdict = "within" if ours <= TARGET_MS else "OVER"
    print(f"\nrouter decide: {ours:.1f} ms median, {verdict} the {TARGET_MS:.0f} ms target")
    openai_ms = medians['python -c "import openai"']
    print(f"import openai alone takes {openai_ms / ours:.1f}x as long as a whole router decide")


if __name__ == "__main__":
    main()
