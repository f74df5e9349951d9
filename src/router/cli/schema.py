"""`router schema`: the JSON Schema of the policy format, for editors and other checkers.

The schema is generated from the pydantic models that define the format, so it cannot
drift from what `router check` accepts. Save it and point a policy's
`# yaml-language-server: $schema=...` modeline at it to get completion and checking in
editors that speak the YAML language server.
"""

from __future__ import annotations

import argparse
import sys

from router.cli.common import EXIT_OK

HELP = "print the JSON Schema of the policy format (for editor completion)"


def configure(parser: argparse.ArgumentParser) -> None:
    """`router schema` takes no arguments beyond `--compact`."""
    parser.add_argument("--compact", action="store_true", help="one line instead of indented JSON")


def render_schema(*, compact: bool = False) -> str:
    """The schema as JSON text, ending in a newline; keys keep the models' order."""
    import json

    from router.policy.schema import policy_json_schema

    schema = policy_json_schema()
    if compact:
        return json.dumps(schema, ensure_ascii=False, separators=(",", ":")) + "\n"
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"


def run(args: argparse.Namespace) -> int:
    """Print the schema to standard output."""
    sys.stdout.write(render_schema(compact=args.compact))
    return EXIT_OK
