"""`router decide`: what a policy decides for requests, and why, without calling anything.

Reads request files (or `-`, standard input), decides each with the policy (the bundled
default unless `--policy` names one) and prints the decisions as text or as DESIGN's
decision JSON, one object per line. A `.jsonl` input is decided line by line: a line that
cannot be decided is reported with its line number while the others still are (exit 1).

This is the cold-start path: nothing heavy (httpx, jsonschema, pydantic) is imported.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from router.cli.common import (
    DEFAULTS_NAME,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    add_format_option,
    add_intent_options,
    error_line,
    print_json,
)

if TYPE_CHECKING:
    from router.policy import Policy

HELP = "show what the policy decides for requests (stream or batch) and why"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of `router decide`."""
    parser.add_argument(
        "requests",
        nargs="*",
        metavar="REQUEST",
        help="a Chat Completions request body or an envelope "
        '{"request": ..., "intent": ...} as JSON; a .jsonl file holds one per line; '
        "- or nothing reads standard input",
    )
    parser.add_argument(
        "--policy", metavar="PATH", help="the policy file (default: the bundled policy)"
    )
    add_intent_options(parser)
    parser.add_argument(
        "--explain",
        action="store_true",
        help="show the inferred intent and, rule by rule, why each matched or not",
    )
    add_format_option(parser)


def run(args: argparse.Namespace) -> int:
    """Decide every request; exit 1 when some JSONL lines could not be decided, 2 when none
    could."""
    from router.cli.common import hints_from_args, load_policy_argument, merge_hints
    from router.cli.request_files import read_requests
    from router.errors import IntentError, UsageError

    if not args.requests and sys.stdin is not None and sys.stdin.isatty():
        # Waiting on a terminal for JSON nobody is typing looks like a hang; say what to do.
        raise UsageError(
            "no REQUEST given: name a request file, or pipe requests into standard input",
            code="usage",
        )
    cli_hints = hints_from_args(args)
    policy = load_policy_argument(args.policy)
    paths: Sequence[str] = args.requests or ["-"]
    items = [item for path in paths for item in read_requests(path)]
    many = len(items) > 1 or any(item.from_lines for item in items)
    width = max(len(item.location) for item in items)

    by_mode: Counter[str] = Counter()
    by_rule: Counter[str] = Counter()
    failed = 0
    first = True
    for item in items:
        if item.error is not None:
            error_line(f"{item.location}: {item.error}")
            failed += 1
            continue
        try:
            decision = policy.decide(
                item.body, explain=args.explain, **merge_hints(item.hints, cli_hints)
            )
        except IntentError as exc:
            if not item.from_lines:
                raise UsageError(f"{item.location}: {exc}", code=exc.code) from None
            error_line(f"{item.location}: {exc}")
            failed += 1
            continue
        data: dict[str, Any] = decision.to_dict()
        by_mode[data["mode"]] += 1
        by_rule[data["rule"] if data["rule"] is not None else DEFAULTS_NAME] += 1
        if args.format == "json":
            if many:
                data["input"] = item.location
            print_json(data)
        elif many and not args.explain:
            sys.stdout.write(render_decision_line(data, location=item.location.ljust(width)))
        else:
            if not first:
                sys.stdout.write("\n")
            sys.stdout.write(render_decision(data, location=item.location, policy=policy))
            first = False

    if many:
        summary = {
            "decided": sum(by_mode.values()),
            "failed": failed,
            "by_mode": dict(sorted(by_mode.items())),
            "by_rule": dict(by_rule.most_common()),
        }
        if args.format == "json":
            print_json({"summary": summary})
        else:
            sys.stdout.write("\n" + render_summary(summary))
    if not failed:
        return EXIT_OK
    # Some lines decided and some not is a partial failure; nothing decidable at all is
    # unusable input, as for a single file that cannot be read.
    return EXIT_FAILED if sum(by_mode.values()) else EXIT_USAGE


# --- the text reporter ----------------------------------------------------------------------


def format_ms(ms: float | None) -> str:
    """A duration in milliseconds the way a policy writes it (250ms, 0.5s, 30s, 10m, 2h)."""
    if ms is None:
        return "none"
    from router.policy.grammar import format_duration_ms  # loaded with the policy already

    return format_duration_ms(ms)


def _value(value: object) -> str:
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def _validate_text(validate: object) -> str:
    """The decision JSON's `validate`: `false`, or the options of an enabled validation."""
    if not isinstance(validate, Mapping):
        return "off"
    return "on (" + ", ".join(f"{key} {_value(val)}" for key, val in validate.items()) + ")"


def render_decision(data: Mapping[str, Any], *, location: str, policy: Policy) -> str:
    """A decision as a few aligned lines for people; `--explain` adds intent and trace."""
    rule = data.get("rule")
    by = f"rule {rule}" if rule is not None else "the defaults (no rule matched)"
    lines = [f"{location}: {data['mode']}, decided by {by}"]
    options: Mapping[str, Any] = data.get("options", {})
    lines.append(f"  validate   {_validate_text(options.get('validate'))}")
    stream = options.get("stream")
    if data["mode"] == "stream" and isinstance(stream, Mapping):
        lines.append(
            f"  stream     include_usage {_value(stream.get('include_usage'))}, "
            f"fallback {_value(stream.get('fallback'))}"
        )
    timeouts = options.get("timeouts_ms")
    if isinstance(timeouts, Mapping):
        # A batch call has no stream to wait on: only its connect and total clocks apply.
        shown = _STREAM_CLOCKS if data["mode"] == "stream" else _BATCH_CLOCKS
        lines.append(
            "  timeouts   "
            + ", ".join(f"{k} {format_ms(v)}" for k, v in timeouts.items() if k in shown)
        )
    retries = options.get("retries")
    if isinstance(retries, Mapping):
        backoff = retries.get("backoff_ms", {})
        lines.append(
            f"  retries    {retries.get('attempts')} attempts, backoff "
            f"{format_ms(backoff.get('initial'))} growing to {format_ms(backoff.get('max'))}"
        )
    trace = data.get("trace")
    if trace is not None:
        lines.extend(_wrapped("intent", _intent_text(data.get("intent", {}))))
        lines.extend(_trace_lines(trace))
        description = policy.rule(rule).description if rule is not None else ""
        if description:
            lines.extend(_wrapped("why", description))
    return "\n".join(lines) + "\n"


_STREAM_CLOCKS = frozenset({"connect", "first_token", "idle", "total"})
_BATCH_CLOCKS = frozenset({"connect", "total"})
_WIDTH = 96


def _wrapped(label: str, text: str) -> list[str]:
    import textwrap

    return textwrap.wrap(
        text,
        width=_WIDTH,
        initial_indent=f"  {label:<9}  ",
        subsequent_indent=" " * 13,
        break_on_hyphens=False,
    )


def _intent_text(intent: Mapping[str, Any]) -> str:
    return ", ".join(f"{key} {_value(value)}" for key, value in intent.items())


def render_decision_line(data: Mapping[str, Any], *, location: str) -> str:
    """One decision on one line, for runs over many requests: where, mode, rule."""
    rule = data.get("rule")
    by = rule if rule is not None else DEFAULTS_NAME
    validate = data.get("options", {}).get("validate")
    extra = ", validated" if validate else ""
    return f"{location}  {data['mode']:<6}  {by}{extra}\n"


def _trace_lines(trace: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = ["  trace"]
    if not trace:
        lines.append("    (the policy has no rules)")
    width = max((len(str(step.get("rule"))) for step in trace), default=0)
    matched_any = False
    for number, step in enumerate(trace, start=1):
        name = str(step.get("rule")).ljust(width)
        if step.get("matched"):
            matched_any = True
            lines.append(f"    {number}. {name}  matched")
        else:
            lines.append(f"    {number}. {name}  no: {step.get('failed') or 'did not match'}")
    if trace and not matched_any:
        lines.append("    no rule matched: the defaults decide")
    return lines


def render_summary(summary: Mapping[str, Any]) -> str:
    """The closing line of a multi-request run: how many went each way, and by which rule."""
    modes = ", ".join(f"{count} {mode}" for mode, count in summary["by_mode"].items())
    rules = ", ".join(f"{rule} {count}" for rule, count in summary["by_rule"].items())
    text = f"{summary['decided']} decided"
    if modes:
        text += f": {modes}"
    if rules:
        text += f" (by rule: {rules})"
    if summary["failed"]:
        text += f"; {summary['failed']} could not be decided"
    return text + "\n"
