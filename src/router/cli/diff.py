"""`router diff OLD NEW`: the intents whose decision a policy change alters, to gate a deploy.

Exit 0 when the two policies decide every intent alike (proven, not sampled), 1 when some
intent is decided differently (or may be), 2 when either policy cannot be loaded.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from router.cli.common import (
    DEFAULTS_NAME,
    EXIT_FAILED,
    EXIT_OK,
    add_format_option,
    print_json,
)

HELP = "show which intents two policies decide differently (exit 1 when any)"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of `router diff`."""
    parser.add_argument("old", metavar="OLD", help="the policy in force")
    parser.add_argument("new", metavar="NEW", help="the policy to deploy")
    add_format_option(parser)


def run(args: argparse.Namespace) -> int:
    """Load both policies, compare them over every intent, report, return the exit code."""
    from router.cli.common import load_policy_argument
    from router.policy.diff import diff_policies

    old = load_policy_argument(args.old)
    new = load_policy_argument(args.new)
    diff = diff_policies(old, new)
    if args.format == "json":
        print_json(diff.to_dict())
    else:
        sys.stdout.write(render_diff(diff.to_dict()))
    return EXIT_OK if diff.same else EXIT_FAILED


def render_diff(data: dict[str, Any]) -> str:
    """The text report: one paragraph per change, then a one-line verdict."""
    lines: list[str] = []
    for change in data["changes"]:
        before, after = change["from"], change["to"]
        maybe = "" if change["certain"] else " (may: no example string was found)"
        lines.append(f"{_rule(before['rule'])} -> {_rule(after['rule'])}{maybe}")
        for key in change["changed"]:
            lines.append(f"  {key}: {_value(before.get(key))} -> {_value(after.get(key))}")
        for where in change["where"][:3]:
            bounds = "; ".join(f"{field}: {cells}" for field, cells in where.items())
            lines.append(f"  where {bounds or 'every intent'}")
        if len(change["where"]) > 3:
            lines.append(f"  ... and {len(change['where']) - 3} more regions")
        if change["example"] is not None:
            example = {k: v for k, v in change["example"].items() if v not in (None, {})}
            lines.append(f"  e.g. {json.dumps(example, ensure_ascii=False)}")
        lines.append("")
    count = len(data["changes"])
    if data["same"]:
        verdict = "no change: both policies decide every intent alike"
    elif not data["complete"]:
        verdict = f"{count} change(s) found before the time budget ran out; there may be more"
    else:
        verdict = f"{count} change{'s' if count != 1 else ''}"
    lines.append(f"{data['old']} -> {data['new']}: {verdict}")
    return "\n".join(lines) + "\n"


def _rule(name: str | None) -> str:
    return DEFAULTS_NAME if name is None else name


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
