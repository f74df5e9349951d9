"""`router check POLICY...`: load each policy and report every problem, located.

Each problem prints as `file:line:col: error: message`, the shape compilers use, so that
editors and terminals jump to it. Exit 1 when any policy has an error (or, with `--strict`, a
warning); exit 2 when a file cannot be read at all.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from router.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    add_format_option,
    error_line,
    print_json,
)

HELP = "check policy files and report every problem as file:line:col"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of `router check`."""
    parser.add_argument("policies", nargs="+", metavar="POLICY", help="policy files to check")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail on warnings too (such as a rule without a description)",
    )
    add_format_option(parser)


def run(args: argparse.Namespace) -> int:
    """Check every file, report, and return 0, 1 (problems found) or 2 (unreadable input)."""
    reports = [check_file(path, strict=args.strict) for path in args.policies]
    errors = sum(report["errors"] for report in reports)
    warnings = sum(report["warnings"] for report in reports)
    unreadable = [report for report in reports if "error" in report]
    failing = [r for r in reports if not r["ok"] and "error" not in r]
    summary = {
        "files": len(reports),
        "ok": len(reports) - len(failing) - len(unreadable),
        "errors": errors,
        "warnings": warnings,
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
    """One file's report: its diagnostics (errors and warnings) and, if it loads, its rules.

    `ok` is false when the file has errors, or warnings under `strict`.
    """
    from router.cli.common import read_text
    from router.errors import Diagnostic, PolicyError, UsageError
    from router.policy import Policy
    from router.policy.yamlsafe import MAX_BYTES

    report: dict[str, Any] = {"source": path, "ok": False, "errors": 0, "warnings": 0}
    try:
        text = read_text(path, limit=MAX_BYTES)
    except UsageError as exc:
        report["error"] = str(exc)
        report["diagnostics"] = []
        return report
    diagnostics: list[Diagnostic]
    try:
        policy = Policy.from_text(text, source=path)
    except PolicyError as exc:
        diagnostics = list(exc.diagnostics)
    else:
        diagnostics = lint(policy)
        report["rules"] = len(policy.rules)
        report["sha256"] = policy.sha256
    report["errors"] = sum(1 for d in diagnostics if d.severity == "error")
    report["warnings"] = len(diagnostics) - report["errors"]
    report["ok"] = report["errors"] == 0 and not (strict and report["warnings"])
    report["diagnostics"] = [d.to_dict() for d in diagnostics]
    return report


def lint(policy: Any) -> list[Any]:
    """Warnings about a policy that loads: things that work but will puzzle its next reader."""
    from router.errors import Diagnostic

    warnings = []
    for rule in policy.rules:
        if not getattr(rule, "description", None):
            warnings.append(
                Diagnostic(
                    policy.source,
                    getattr(rule, "line", 1) or 1,
                    getattr(rule, "column", 1) or 1,
                    f"rule {rule.name!r} has no description: say why it decides as it does",
                    severity="warning",
                    code="lint",
                )
            )
    return warnings


def _print_text(reports: list[dict[str, Any]], summary: dict[str, int]) -> None:
    out = sys.stdout
    for report in reports:
        if "error" in report:
            continue  # already said on stderr
        for diagnostic in report["diagnostics"]:
            out.write(
                f"{diagnostic['source']}:{diagnostic['line']}:{diagnostic['column']}: "
                f"{diagnostic['severity']}: {diagnostic['message']}\n"
            )
        if report["ok"]:
            rules = report["rules"]
            out.write(f"{report['source']}: ok ({rules} rule{'s' if rules != 1 else ''})\n")
        elif not report["errors"]:
            out.write(f"{report['source']}: fails --strict on its warnings\n")
    if len(reports) > 1 or summary["errors"] or summary["warnings"]:
        parts = [f"{summary['files']} file{'s' if summary['files'] != 1 else ''} checked"]
        parts.append(f"{summary['errors']} error{'s' if summary['errors'] != 1 else ''}")
        parts.append(f"{summary['warnings']} warning{'s' if summary['warnings'] != 1 else ''}")
        if summary["unreadable"]:
            parts.append(f"{summary['unreadable']} unreadable")
        out.write(", ".join(parts) + "\n")
