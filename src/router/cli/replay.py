"""`router replay`: decode and assemble a recorded `text/event-stream` body, offline.

Reads the raw body of a streamed Chat Completions answer (a file, or `-` for stdin), runs it
through the same SSE decoder and assembler as live calls, and prints the assembled answer:
as text for people, or as one JSON object `{"status", "error", "completion"}` for programs.
Exit 0 when the stream is complete, 1 when it is interrupted or failed, 2 when the input
cannot be read.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from router.completion import Completion

HELP = "decode and assemble a recorded text/event-stream body and print the answer"

#: Bytes handed to the decoder at a time, as a network read would.
_READ_SIZE = 65536


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of `router replay`."""
    from router.cli.common import add_format_option

    parser.add_argument(
        "recording",
        metavar="RECORDING",
        help="a raw text/event-stream body (a file, or - for standard input)",
    )
    parser.add_argument(
        "--schema",
        metavar="FILE",
        help="validate the assembled answer against this JSON Schema file"
        " (exit 1 with every error and its path when it fails)",
    )
    add_format_option(parser)


def replay(chunks: Iterable[bytes]) -> tuple[Completion, dict[str, Any] | None]:
    """Decode and assemble a recorded body, chunk by chunk as a network read would hand it
    over: the completion and the error, if any. Reading stops at the end of the stream, and
    an endless input stops at the decoder's size limits."""
    from router.errors import EventTooLarge
    from router.providers import get_dialect
    from router.sse import SSEDecoder

    decoder = SSEDecoder()
    assembler = get_dialect("openai").new_assembler()
    try:
        for chunk in chunks:
            for event in decoder.decode(chunk):
                assembler.feed(event)
            if assembler.done:
                break
        decoder.flush()
    except EventTooLarge as exc:
        assembler.fail("event_too_large", str(exc))
    return assembler.finish(eof=True), assembler.error


def report(completion: Completion, error: dict[str, Any] | None) -> dict[str, Any]:
    """The JSON report: status, the error's type and message (or null), the completion."""
    return {
        "status": str(completion.status),
        "error": None
        if error is None
        else {"type": error.get("type"), "message": error.get("message")},
        "completion": completion.to_dict(),
    }


def render_text(completion: Completion, error: dict[str, Any] | None) -> str:
    """The report for people: status, model and usage, then each choice's answer."""
    lines = [f"status: {completion.status}"]
    if error is not None:
        lines.append(f"error: {error.get('type')}: {error.get('message')}")
    lines.append(f"model: {completion.model or '-'}  id: {completion.id or '-'}")
    usage = completion.usage
    if usage is not None:
        lines.append(
            f"usage: {usage.prompt_tokens} prompt + {usage.completion_tokens} completion"
            f" = {usage.total_tokens} tokens"
        )
    for choice in completion.choices:
        lines.append("")
        lines.append(f"--- choice {choice.index} (finish: {choice.finish_reason or 'none'})")
        message = choice.message
        if message.reasoning:
            lines.append(f"[reasoning] {message.reasoning}")
        if message.refusal:
            lines.append(f"[refusal] {message.refusal}")
        if message.content:
            lines.append(message.content)
        for call in message.tool_calls:
            lines.append(
                f"[tool call {call.id or '-'}] {call.function.name}({call.function.arguments})"
            )
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """Replay the recording and print the report; the exit code says how the stream ended."""
    import sys

    from router.cli.common import EXIT_FAILED, EXIT_OK, print_json, read_chunks, read_text
    from router.completion import Status

    completion, error = replay(read_chunks(args.recording, _READ_SIZE))
    outcome = EXIT_OK if completion.status == Status.COMPLETE else EXIT_FAILED
    # Checks of the assembled answer (such as validating it against a schema) belong here:
    # they read `completion`, add their findings to the report and may set `outcome`.
    check = None
    if args.schema is not None:
        from router.validation.schemacheck import check_against_schema

        check = check_against_schema(completion, read_text(args.schema), source=args.schema)
        if not check.valid:
            outcome = EXIT_FAILED
    if args.format == "json":
        payload = report(completion, error)
        if check is not None:
            payload["validation"] = check.to_dict()
        print_json(payload)
    else:
        sys.stdout.write(render_text(completion, error))
        if check is not None:
            sys.stdout.write(check.render_text())
    return outcome
