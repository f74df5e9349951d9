"""Entry point of the `router` command: parse arguments, run one command, return its exit code.

Each command is a module of this package exposing `HELP` (one line), `configure(parser)` and
`run(args) -> int`. Command modules import only the standard library at the top so that
building the parser stays cheap; each imports what it needs inside `run()`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from router.cli.common import EXIT_USAGE, error_line

#: command name -> module under router.cli, in the order `router --help` lists them.
COMMANDS: dict[str, str] = {
    "decide": "decide",
    "check": "check",
    "test": "test_cmd",
    "diff": "diff",
    "schema": "schema",
    "replay": "replay",
    "call": "call",
    "simulate": "simulate",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser, one sub-parser per available command.

    With `only` (a command name), just that command's sub-parser is built: running one
    command need not import and configure all the others (start-up time matters).
    """
    parser = argparse.ArgumentParser(
        prog="router",
        description="Decide whether each LLM call streams or is fetched whole, and run it.",
    )
    from router import __version__

    parser.add_argument("--version", action="version", version=f"router {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, module_name in COMMANDS.items():
        if only is not None and name != only:
            continue
        module = importlib.import_module(f"router.cli.{module_name}")
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, run the command and return its exit code; errors become one stderr line."""
    argv = sys.argv[1:] if argv is None else list(argv)
    # `router decide ...` builds only decide's parser; anything else (help, a typo) gets all.
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    try:
        code: int = args._run(args)
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`router decide big.jsonl | head`): not an error of ours.
        sys.stderr.close()
        return 0
    except Exception as exc:  # the CLI never shows a traceback unless asked to
        if os.environ.get("ROUTER_DEBUG"):
            raise
        from router.errors import PolicyError, UsageError

        if isinstance(exc, PolicyError) and exc.diagnostics:
            # Policy problems keep the compiler's `file:line:col: error: message` shape,
            # one line each, so that editors and terminals can jump to them.
            for diagnostic in exc.diagnostics:
                sys.stderr.write(f"{diagnostic}\n")
        elif isinstance(exc, UsageError):
            error_line(str(exc))
        else:
            error_line(f"internal error: {type(exc).__name__}: {exc} (set ROUTER_DEBUG=1)")
        return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point."""
    return run(argv)
