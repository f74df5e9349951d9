"""Pieces every command shares: exit codes, output formats, reading input files."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


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


def read_text(path: str) -> str:
    """Read a UTF-8 file, or stdin for `-`; a directory or unreadable file is a usage error."""
    from router.errors import UsageError

    if path == "-":
        return sys.stdin.read()
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{path}: is a directory, expected a file", code="unreadable")
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file", code="unreadable") from None
    except PermissionError:
        raise UsageError(f"{path}: permission denied", code="unreadable") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text ({exc.reason})", code="unreadable") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror})", code="unreadable") from None


def read_bytes(path: str) -> bytes:
    """Read a file's bytes, or stdin's for `-`, with the same errors as `read_text`."""
    from router.errors import UsageError

    if path == "-":
        return sys.stdin.buffer.read()
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{path}: is a directory, expected a file", code="unreadable")
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file", code="unreadable") from None
    except PermissionError:
        raise UsageError(f"{path}: permission denied", code="unreadable") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror})", code="unreadable") from None
