"""Pieces every command shares: exit codes, output formats, reading input files."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from router.errors import UsageError
    from router.policy import Policy

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

#: How reports name the outcome where no rule matched and the policy's defaults decided, as
#: `router test`'s coverage does (`router.policy.cases.DEFAULTS`, too slow to import here).
DEFAULTS_NAME = "(defaults)"


def error_line(message: str) -> None:
    """Write one `router: error: ...` line to stderr."""
    sys.stderr.write(f"router: error: {message}\n")


def add_format_option(parser: argparse.ArgumentParser) -> None:
    """`--format text|json`, text by default."""
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="output format (default: text)",
    )


def print_json(obj: Any) -> None:
    """One compact JSON document on one line of stdout."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")


def read_text(path: str, *, limit: int | None = None) -> str:
    """Read a UTF-8 file, or stdin for `-`; a directory or unreadable file is a usage error.

    With `limit`, an input longer than `limit` bytes is a usage error too, found after
    reading at most `limit + 1` bytes: an endless input (`/dev/zero`) cannot hang a command.
    """
    from router.errors import UsageError

    size = -1 if limit is None else limit + 1
    if path == "-":
        try:
            text = sys.stdin.read(size)
        except UnicodeDecodeError as exc:
            raise UsageError(f"<stdin>: not UTF-8 text ({exc.reason})", code="unreadable") from None
        if limit is not None and len(text) > limit:
            raise UsageError(f"<stdin>: larger than the {limit}-byte limit", code="too-large")
        return text
    data = _read_file(path, size)
    if limit is not None and len(data) > limit:
        raise UsageError(f"{path}: larger than the {limit}-byte limit", code="too-large")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text ({exc.reason})", code="unreadable") from None


def read_chunks(path: str, size: int) -> Iterator[bytes]:
    """A file's bytes, or stdin's for `-`, in chunks of at most `size` as they are read.

    A reader that stops early never reads the rest, and one that bounds what it keeps
    (as the SSE decoder does) cannot be hung by an endless input. Failures are the same
    located `UsageError`s as `read_text`'s.
    """
    if path == "-":
        while chunk := sys.stdin.buffer.read(size):
            yield chunk
        return
    _refuse_directory(path)
    try:
        with Path(path).open("rb") as stream:
            while chunk := stream.read(size):
                yield chunk
    except OSError as exc:
        raise _unreadable(path, exc) from None


def _read_file(path: str, size: int) -> bytes:
    """Up to `size` bytes of file `path` (-1: all), each failure one located `UsageError`."""
    _refuse_directory(path)
    try:
        with Path(path).open("rb") as stream:
            return stream.read(size)
    except OSError as exc:
        raise _unreadable(path, exc) from None


def _refuse_directory(path: str) -> None:
    from router.errors import UsageError

    if Path(path).is_dir():
        raise UsageError(f"{path}: is a directory, expected a file", code="unreadable")


def _unreadable(path: str, exc: OSError) -> UsageError:
    """The one-line `UsageError` for a file that could not be opened or read."""
    from router.errors import UsageError

    if isinstance(exc, FileNotFoundError):
        reason = "no such file"
    elif isinstance(exc, PermissionError):
        reason = "permission denied"
    else:
        reason = f"cannot read ({exc.strerror})"
    return UsageError(f"{path}: {reason}", code="unreadable")


def load_policy_argument(path: str | None) -> Policy:
    """The `Policy` a `--policy PATH` option names, or the bundled default for None.

    An unreadable path is a `UsageError`; a policy with problems raises `PolicyError`
    (every diagnostic located), which `router.cli.app` prints one per line with exit 2.
    """
    from router.policy import Policy, load_policy
    from router.policy.yamlsafe import MAX_BYTES

    if path is None:
        return load_policy()
    return Policy.from_text(read_text(path, limit=MAX_BYTES), source=path)


def add_intent_options(parser: argparse.ArgumentParser) -> None:
    """`--intent KEY=VALUE` (repeatable) and `--provider NAME`."""
    parser.add_argument(
        "--intent",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an intent hint, typed by its field (audience=user, expected_tokens=40, "
        "labels.tenant=acme); repeatable; wins over what the request implies",
    )
    parser.add_argument(
        "--provider",
        metavar="NAME",
        help="the provider the call would go to (the intent's `provider` field)",
    )


def merge_hints(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """`extra` over `base`; `labels` are merged key by key rather than replaced."""
    merged = dict(base)
    for name, value in extra.items():
        old = merged.get(name)
        if name == "labels" and isinstance(old, Mapping) and isinstance(value, Mapping):
            merged[name] = {**old, **value}
        else:
            merged[name] = value
    return merged


def hints_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The hints given by `--intent` and `--provider`, typed by the intent's fields."""
    from router.errors import IntentError, UsageError
    from router.intent import parse_hint

    hints: dict[str, Any] = {}
    for pair in args.intent:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--intent expects KEY=VALUE, got {pair!r}", code="intent")
        try:
            name, value = parse_hint(key.strip(), text)
        except IntentError as exc:
            raise IntentError(
                f"--intent {pair}: {exc}", field=exc.field, allowed=exc.allowed
            ) from None
        if name.startswith("labels."):
            value, name = {name.removeprefix("labels."): value}, "labels"
        hints = merge_hints(hints, {name: value})
    if args.provider is not None:
        hints = merge_hints(hints, {"provider": args.provider})
    return hints
