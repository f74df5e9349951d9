"""`router test POLICY [CASES...]`: run a policy's test cases and measure rule coverage.

Cases are YAML files (see `router.policy.cases`); without CASES, the file beside the policy
named `<policy>.cases.yaml` is used. Exit 0 when every case passes (and coverage reaches
`--min-coverage`), 1 when one fails, 2 when the policy or a case file is broken.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from router.cli.common import EXIT_FAILED, EXIT_OK, add_format_option, print_json

if TYPE_CHECKING:
    from router.policy import Policy
    from router.policy.cases import CasesReport

HELP = "run a policy's test cases: pass/fail, differences, rule coverage"


def _percent(text: str) -> float:
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a percentage 0-100, got {text!r}") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"expected a percentage 0-100, got {text!r}")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of `router test`."""
    parser.add_argument("policy", metavar="POLICY", help="the policy file under test")
    parser.add_argument(
        "cases",
        nargs="*",
        metavar="CASES",
        help="case files (default: POLICY's sibling <name>.cases.yaml)",
    )
    parser.add_argument(
        "--min-coverage",
        type=_percent,
        default=None,
        metavar="PCT",
        help="fail unless the cases reach at least PCT%% of the rules and the defaults",
    )
    add_format_option(parser)


def default_cases_path(policy_path: str) -> str:
    """`policies/default.yaml` -> `policies/default.cases.yaml`."""
    from pathlib import Path

    path = Path(policy_path)
    stem = path.name.removesuffix(".yaml").removesuffix(".yml")
    return str(path.with_name(f"{stem}.cases.yaml"))


def run(args: argparse.Namespace) -> int:
    """Load the policy and every case file, run them, report, return the exit code."""
    from router.cli.common import load_policy_argument, read_text
    from router.errors import Diagnostic, PolicyError, UsageError
    from router.policy.cases import Case, load_cases, run_cases
    from router.policy.yamlsafe import MAX_BYTES

    policy = load_policy_argument(args.policy)
    paths: list[str] = args.cases or [default_cases_path(args.policy)]
    if not args.cases:
        from pathlib import Path

        if not Path(paths[0]).is_file():
            raise UsageError(
                f"no CASES given, and {paths[0]} (the default beside the policy) does not exist",
                code="unreadable",
            )
    rule_names = [rule.name for rule in policy.rules]
    cases: list[Case] = []
    problems: list[Diagnostic] = []
    for path in paths:
        try:
            text = read_text(path, limit=MAX_BYTES)
            cases.extend(load_cases(text, source=path, rule_names=rule_names))
        except PolicyError as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise PolicyError(problems)
    report = run_cases(policy, cases)
    below = args.min_coverage is not None and report.coverage.percent < args.min_coverage
    if args.format == "json":
        print_json(_json_report(policy, report, args.min_coverage, below))
    else:
        sys.stdout.write(_text_report(policy, paths, report, args.min_coverage, below))
    return EXIT_FAILED if report.failed or below else EXIT_OK


def _json_report(
    policy: Policy, report: CasesReport, min_coverage: float | None, below: bool
) -> dict[str, Any]:
    return {
        "policy": {"source": policy.source, "sha256": policy.sha256},
        "cases": [
            {
                "name": result.case.name,
                "location": result.case.location,
                "passed": result.passed,
                "mode": result.decision.mode,
                "rule": result.decision.rule,
                "differences": [d.to_dict() for d in result.differences],
            }
            for result in report.results
        ],
        "summary": {
            "total": len(report.results),
            "passed": len(report.results) - len(report.failed),
            "failed": len(report.failed),
        },
        "coverage": report.coverage.to_dict(),
        "min_coverage": min_coverage,
        "ok": not report.failed and not below,
    }


def _text_report(
    policy: Policy, paths: list[str], report: CasesReport, min_coverage: float | None, below: bool
) -> str:
    lines = [f"{policy.source}: {len(report.results)} cases from {', '.join(paths)}"]
    for result in report.results:
        if result.passed:
            lines.append(f"  pass  {result.case.name}")
            continue
        lines.append(f"  FAIL  {result.case.name}  ({result.case.location})")
        lines.extend(f"          {difference}" for difference in result.differences)
    failed = len(report.failed)
    passed = len(report.results) - failed
    lines.append(f"{passed} passed, {failed} failed")
    coverage = report.coverage
    reached = len(coverage.targets) - len(coverage.missed)
    line = (
        f"coverage: {coverage.percent:.0f}% ({reached} of {len(coverage.targets)}: "
        "the rules and the defaults)"
    )
    if coverage.missed:
        line += "; never reached: " + ", ".join(coverage.missed)
    lines.append(line)
    if below:
        lines.append(f"coverage {coverage.percent:.0f}% is under --min-coverage {min_coverage:g}%")
    return "\n".join(lines) + "\n"
