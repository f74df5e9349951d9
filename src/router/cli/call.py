"""`router call`: run one request through the router and show what happened.

Text output prints the answer's tokens as they arrive, then one summary line on stderr-free
stdout (status, mode, rule, first-token and total time, usage). JSON output prints one
object with the decision, status, completion (partial when the call failed), error,
attempts and timings. Exit 0 when the call completed, 1 otherwise, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from router.cli.common import (
    DEFAULTS_NAME,
    EXIT_FAILED,
    EXIT_OK,
    add_format_option,
    add_intent_options,
    print_json,
)

if TYPE_CHECKING:
    from router.completion import Completion
    from router.decision import Decision
    from router.errors import CallError

HELP = "run one request through the router (decide, then stream or fetch) and report it"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of `router call`."""
    parser.add_argument(
        "request",
        metavar="REQUEST",
        help='a Chat Completions request body or an envelope {"request": ..., "intent": ...} '
        "as JSON; - reads standard input",
    )
    parser.add_argument(
        "--policy", metavar="PATH", help="the policy file (default: the bundled policy)"
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        default="https://api.openai.com/v1",
        help="the provider's base URL (default: https://api.openai.com/v1)",
    )
    parser.add_argument(
        "--api-key-env",
        metavar="NAME",
        help="the environment variable holding the API key (default: OPENAI_API_KEY)",
    )
    parser.add_argument(
        "--deadline", metavar="SECONDS", type=float, help="a deadline that shortens `total`"
    )
    add_intent_options(parser)
    add_format_option(parser)


def run(args: argparse.Namespace) -> int:
    """Run the call; exit 0 when it completed, 1 when it did not."""
    from router.cli.common import hints_from_args, load_policy_argument, merge_hints
    from router.cli.request_files import read_requests
    from router.client import Router
    from router.errors import CallError, UsageError

    hints = hints_from_args(args)
    policy = load_policy_argument(args.policy)
    items = read_requests(args.request)
    if len(items) != 1:
        raise UsageError(f"{args.request}: `router call` runs one request, found {len(items)}")
    item = items[0]
    if item.error is not None:
        raise UsageError(f"{item.location}: {item.error}", code="request")
    if item.body is None:
        # An envelope may hold only an intent: enough to decide, but nothing to send.
        raise UsageError(
            f'{item.location}: the envelope has no "request": `router call` needs a body to send',
            code="request",
        )
    provider = hints.pop("provider", None) or "openai"
    text_mode = args.format == "text"
    router = Router(
        policy,
        base_url=args.base_url,
        api_key_env=args.api_key_env,
        provider=provider,
    )
    error: CallError | None = None
    completion: Completion | None = None
    with router:
        call = router.call(
            item.body, deadline=args.deadline, **merge_hints(dict(item.hints), hints)
        )
        with call:
            try:
                for delta in call:
                    if text_mode:
                        sys.stdout.write(delta)
                        sys.stdout.flush()
                completion = call.result()
            except CallError as exc:
                error = exc
                completion = exc.partial
    decision = call.decision
    if text_mode:
        if completion is not None and completion.text and not completion.text.endswith("\n"):
            sys.stdout.write("\n")
        sys.stdout.write(summary_line(decision, completion, error) + "\n")
    else:
        print_json(_report(decision, completion, error))
    complete = error is None and completion is not None and str(completion.status) == "complete"
    return EXIT_OK if complete else EXIT_FAILED


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}ms"


def summary_line(decision: Decision, completion: Completion | None, error: CallError | None) -> str:
    """`-- complete · stream · rule user-facing · first token 212ms · total 1.4s · usage ...`."""
    status = str(completion.status) if completion is not None else "failed"
    timings = completion.timings if completion is not None else None
    usage = completion.usage if completion is not None else None
    rule = decision.rule if decision.rule is not None else DEFAULTS_NAME
    mode = completion.mode if completion is not None and completion.mode else decision.mode
    parts = [
        f"-- {status}",
        mode,
        f"rule {rule}",
        f"first token {_ms(timings.first_token_ms if timings else None)}",
        f"total {_ms(timings.total_ms if timings else None)}",
    ]
    if usage is not None:
        parts.append(
            f"usage {usage.prompt_tokens} in / {usage.completion_tokens} out"
            f" / {usage.total_tokens} total"
        )
    else:
        parts.append("usage none")
    if completion is not None and len(completion.attempts) > 1:
        parts.append(f"{len(completion.attempts)} attempts")
    if error is not None:
        parts.append(f"{type(error).__name__}: {error}")
    return " · ".join(parts)


def _report(
    decision: Decision, completion: Completion | None, error: CallError | None
) -> dict[str, Any]:
    """The JSON report. Errors need no redaction here: the call redacts every secret it
    knows before it builds an error (see `router.redact`)."""
    error_obj = None
    if error is not None:
        error_obj = {"type": type(error).__name__, "message": str(error)}
        for name in ("clock", "limit_ms", "status_code", "body"):
            value = getattr(error, name, None)
            if value is not None:
                error_obj[name] = value
    return {
        "decision": decision.to_dict(),
        "status": str(completion.status) if completion is not None else "failed",
        "completion": completion.to_dict() if completion is not None else None,
        "error": error_obj,
        "attempts": [
            {"mode": a.mode, "outcome": a.outcome, "elapsed_ms": round(a.elapsed_ms, 3)}
            for a in (completion.attempts if completion is not None else ())
        ],
        "timings": completion.timings.to_dict() if completion is not None else None,
        "mode": completion.mode if completion is not None else None,
        "mode_reason": completion.mode_reason if completion is not None else None,
    }
