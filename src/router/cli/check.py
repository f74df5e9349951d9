"""`router check POLICY...`: load each policy, analyse it, and report every problem, located.

Each problem prints as `file:line:col: error: message` (or `warning:`), the shape compilers
use, so that editors and terminals jump to it. Errors are what stops a policy from loading;
warnings are what loads but is likely wrong: a rule that can never match or changes no
decision, risky option combinations (see `router.policy.analyze`), a rule without a
description. Exit 1 when any policy has an error (or, with `--strict`, a warning); exit 2
when a file cannot be read at all.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from router.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    add_format_option,
    error_line,
    print_json,
)

if TYPE_CHECKING:
    from router.errors import Diagnostic
    from router.policy import Policy

HELP = "check policy files: every load error, unreachable or redundant rules, as file:line:col"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of `router check`."""
    parser.add_argument("policies", nargs="+", metavar="POLICY", help="policy files to check")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail on warnings too (a rule that can never match, a rule without a description)",
    )
    add_format_option(parser)


def run(args: argparse.Namespace) -> int:
    """Check every file, report, and return 0, 1 (problems found) or 2 (unreadable input)."""
    reports = [check_file(path, strict=args.strict) for path in args.policies]
    unreadable = [report for report in reports if "error" in report]
    failing = [r for r in reports if not r["ok"] and "error" not in r]
    summary = {
        "files": len(reports),
        "ok": len(reports) - len(failing) - len(unreadable),
        "errors": sum(len(report["errors"]) for report in reports),
        "warnings": sum(len(report["warnings"]) for report in reports),
        "unreadable": len(unreadable),
    }
    for report in unreadable:
        error_line(report["error"])
    if args.format == "json":
        print_json({"files": reports, "summary": summary, "strict": args.strict})
    else:
        _print_text(reports, summary)
    if unreadable:
        return EXIT_USAGE
    return EXIT_FAILED if failing else EXIT_OK


def check_file(path: str, *, strict: bool = False) -> dict[str, Any]:
    """One file's report, as `router check --format json` prints it.

    `path` (and its older name `source`), `ok` (false on errors, or on warnings under
    `strict`), `errors` and `warnings` (diagnostics in file order); for a policy that loads,
    `sha256` and the analysis: `defaults_reachable` (true, false or "may"; null when the
    policy does not load), `defaults_example`, `exact`, and `rules` (one report per rule:
    `name`, `line`, `reachable`, `covered_by`, `redundant`, `example`; empty when the policy
    does not load). An unreadable file has `error` (the message) too.
    """
    from router.cli.common import read_text
    from router.errors import PolicyError, UsageError
    from router.policy import Policy
    from router.policy.yamlsafe import MAX_BYTES

    report: dict[str, Any] = {
        "path": path,
        "source": path,
        "ok": False,
        "errors": [],
        "warnings": [],
        "defaults_reachable": None,
        "rules": [],
    }
    try:
        text = read_text(path, limit=MAX_BYTES)
    except UsageError as exc:
        report["error"] = str(exc)
        return report
    diagnostics: list[Diagnostic]
    try:
        policy = Policy.from_text(text, source=path)
    except PolicyError as exc:
        diagnostics = list(exc.diagnostics)
    else:
        from router.policy.analyze import analyze_policy

        analysis = analyze_policy(policy)
        report["sha256"] = policy.sha256
        report.update(
            (key, value) for key, value in analysis.to_dict().items() if key != "warnings"
        )
        diagnostics = [*analysis.warnings, *lint(policy)]
    diagnostics.sort(key=lambda d: (d.line, d.column))
    report["errors"] = [d.to_dict() for d in diagnostics if d.severity == "error"]
    report["warnings"] = [d.to_dict() for d in diagnostics if d.severity != "error"]
    report["ok"] = not report["errors"] and not (strict and report["warnings"])
    return report


def lint(policy: Policy) -> list[Diagnostic]:
    """Warnings about a policy that loads: things that work but will puzzle its next reader."""
    from router.errors import Diagnostic

    return [
        Diagnostic(
            policy.source,
            rule.line or 1,
            rule.column or 1,
            f"rule {rule.name!r} has no description: say why it decides as it does",
            severity="warning",
            code="no-description",
        )
        for rule in policy.rules
        if not rule.description
    ]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _print_text(reports: list[dict[str, Any]], summary: dict[str, int]) -> None:
    out = sys.stdout
    for report in reports:
        if "error" in report:
            continue  # already said on stderr
        diagnostics = sorted(
            [*report["errors"], *report["warnings"]], key=lambda d: (d["line"], d["column"])
        )
        for d in diagnostics:
            out.write(f"{d['source']}:{d['line']}:{d['column']}: {d['severity']}: {d['message']}\n")
        if report["ok"]:
            out.write(f"{report['source']}: ok ({_plural(len(report['rules']), 'rule')})\n")
        elif not report["errors"]:
            out.write(f"{report['source']}: fails --strict on its warnings\n")
    if len(reports) > 1 or summary["errors"] or summary["warnings"]:
        parts = [
            f"{_plural(summary['files'], 'file')} checked",
            _plural(summary["errors"], "error"),
            _plural(summary["warnings"], "warning"),
        ]
        if summary["unreadable"]:
            parts.append(f"{summary['unreadable']} unreadable")
        out.write(", ".join(parts) + "\n")
