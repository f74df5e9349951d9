"""A chat page served by Starlette: answers stream word by word; a recipe card arrives whole.

Run it against the simulated provider (no API key, no network)::

    python examples/webapp/app.py --simulate

or against OpenAI (reads OPENAI_API_KEY)::

    python examples/webapp/app.py --model gpt-4o-mini

then open http://127.0.0.1:8000. The page POSTs to `/api/chat` and `/api/structured` and
reads the event stream with `fetch`. The service, not the browser, fixes the model, the
intent hints and the answer's format: the default policy streams the chat (`audience: user`)
and fetches the recipe whole, validated against its JSON Schema (`post_process`).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from router.relay import Relay
from router.relay.endpoint import RelayableRouter

STATIC = Path(__file__).resolve().parent / "static"

#: The recipe card's JSON Schema: the router validates the answer against it before the
#: browser sees a single character of it.
RECIPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "minutes": {"type": "integer", "minimum": 1},
        "ingredients": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    },
    "required": ["name", "minutes", "ingredients"],
    "additionalProperties": False,
}

RECIPE_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "recipe", "strict": True, "schema": RECIPE_SCHEMA},
}


def create_app(
    router: RelayableRouter,
    *,
    model: str = "gpt-4o-mini",
    ping_interval: float = 15.0,
    retry_ms: int | None = None,
    close_router: bool = False,
) -> Starlette:
    """The demo app over `router` (an `AsyncRouter`); `close_router` closes it at shutdown."""
    relay = Relay(router, ping_interval=ping_interval, retry_ms=retry_ms)
    chat = relay.endpoint(
        model=model,
        system="You are a helpful assistant. Answer in plain text.",
        audience="user",
        labels={"route": "chat"},
    )
    structured = relay.endpoint(
        model=model,
        system="Answer with one recipe for the dish the user names.",
        request_fields={"response_format": RECIPE_FORMAT},
        audience="user",
        labels={"route": "recipe"},
    )

    async def index(request: Request) -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if close_router:
            await router.aclose()  # type: ignore[attr-defined]

    return Starlette(
        routes=[
            Route("/", index),
            Route("/api/chat", chat, methods=["GET", "POST"]),
            Route("/api/structured", structured, methods=["POST"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        lifespan=lifespan,
    )


# --- the simulated provider's answers ------------------------------------------------------


def simulated_responder(*, first_token_delay: float = 0.3, token_delay: float = 0.06) -> Any:
    """Answers for the simulated provider: a recipe when one is asked for, else prose."""
    from router.testing import RecordedRequest, Reply

    def respond(request: RecordedRequest) -> Reply:
        body = request.body if isinstance(request.body, dict) else {}
        prompt = _last_user_message(body)
        if "response_format" in body:
            return Reply.json(
                {
                    "name": (prompt.strip().capitalize() or "Pancakes")[:60],
                    "minutes": 25,
                    "ingredients": ["2 eggs", "200 g flour", "300 ml milk", "a pinch of salt"],
                },
                first_token_delay=first_token_delay,
            )
        return Reply.text(
            _prose(prompt), first_token_delay=first_token_delay, token_delay=token_delay
        )

    return respond


def _last_user_message(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return str(message.get("content") or "")
    return ""


def _prose(prompt: str) -> str:
    topic = re.sub(r"\s+", " ", prompt).strip()[:80] or "that"
    return (
        f"You asked about “{topic}”. This answer comes from the simulated provider, "
        "one word at a time, so the first words are on your screen while the rest is "
        "still being written.\n\n"
        "The router chose to stream it because a person is waiting for it. A recipe card, "
        "on the other hand, is fetched whole and checked against its schema before any of "
        "it is shown."
    )


# --- command line --------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the demo on 127.0.0.1 (against the simulated provider with --simulate)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--simulate", action="store_true", help="answer from a simulated provider")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument("--base-url", default="https://api.openai.com/v1")
    parser.add_argument("--policy", default=None, help="a policy file (default: the bundled one)")
    args = parser.parse_args(argv)

    import uvicorn

    from router import AsyncRouter, load_policy

    with contextlib.ExitStack() as stack:
        base_url = args.base_url
        if args.simulate:
            from router.testing import SimulatedProvider

            provider = stack.enter_context(SimulatedProvider(simulated_responder()))
            base_url = provider.base_url
            print(f"simulated provider at {base_url}", file=sys.stderr)
        router = AsyncRouter(load_policy(args.policy), base_url=base_url)
        app = create_app(router, model=args.model, close_router=True)
        print(f"open http://{args.host}:{args.port}", file=sys.stderr)
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
