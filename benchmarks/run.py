"""Run every benchmark (or those named) and print their side-by-side tables.

    python benchmarks/run.py            # all of them
    python benchmarks/run.py policy sse # only bench_policy.py and bench_sse.py

Each `bench_<name>.py` beside this file defines `main() -> None`, which measures our code and
its peers in one run and prints medians and ratios.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    available = {p.stem.removeprefix("bench_"): p for p in sorted(HERE.glob("bench_*.py"))}
    wanted = argv or list(available)
    unknown = [name for name in wanted if name not in available]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have: {', '.join(available)}")
        return 2
    for name in wanted:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", available[name])
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print(f"\n### {name}\n", flush=True)
        module.main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
