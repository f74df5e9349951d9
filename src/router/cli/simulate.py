"""`router simulate`: run a simulated OpenAI-compatible provider in the foreground.

For demos and manual tests: prints the base URL as the first line of stdout, one line per
request on stderr, and stops cleanly on Ctrl-C or SIGTERM (exit 0).
"""

from __future__ import annotations

import argparse
import sys

from router.cli.common import EXIT_OK

HELP = "run a simulated OpenAI-compatible provider on 127.0.0.1 (Ctrl-C stops it)"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of `router simulate`."""
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        metavar="N",
        help="the port to listen on (default: a free one)",
    )
    parser.add_argument(
        "--scenario",
        default="default",
        metavar="NAME|FILE",
        help="a built-in scenario (see --list) or a YAML scenario file (default: default)",
    )
    parser.add_argument("--list", action="store_true", help="list the built-in scenarios and exit")
    parser.add_argument(
        "--max-stall",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help='the longest any "forever" fault lasts (default: 60)',
    )


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    import signal
    import threading

    from router.errors import UsageError
    from router.testing.core import is_chat_completions
    from router.testing.recording import RecordedRequest
    from router.testing.scenarios import BUILTIN, resolve_scenario

    if args.list:
        width = max(len(name) for name in BUILTIN)
        for name, scenario in BUILTIN.items():
            sys.stdout.write(f"{name:<{width}}  {scenario.description}\n")
        return EXIT_OK
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: expected 0..65535", code="usage")
    scenario = resolve_scenario(args.scenario)
    provider = scenario.provider(port=args.port, max_stall=args.max_stall)

    def log(request: RecordedRequest) -> None:
        kind = ""
        if is_chat_completions(request.method, request.path):
            kind = "stream, " if request.stream else "whole, "
        sys.stderr.write(
            f"#{request.index} {request.method} {request.path} ({kind}"
            f"connection {request.connection_id})\n"
        )
        sys.stderr.flush()

    provider.on_request = log
    try:
        provider.start()
    except OSError as exc:
        raise UsageError(
            f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}", code="unavailable"
        ) from None
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        sys.stdout.write(provider.base_url + "\n")
        sys.stdout.flush()
        sys.stderr.write(
            f"router simulate: scenario {scenario.name!r}: {scenario.description} (Ctrl-C stops)\n"
        )
        sys.stderr.flush()
        while not stop.wait(0.2) and provider.running:
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        provider.stop()
    sys.stderr.write("router simulate: stopped\n")
    return EXIT_OK
