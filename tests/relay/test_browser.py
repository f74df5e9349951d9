"""The example app in a real browser: headless Chromium, driven by playwright, on loopback.

The page is served by uvicorn against the simulated provider. Chromium is Debian's package
(`/usr/bin/chromium`); playwright's own browser downloads are never used.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from router.testing import Reply, SimulatedProvider

CHROMIUM = os.environ.get("ROUTER_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
WAIT_MS = 10_000  # every wait in the page is bounded by this

# Pieces a browser's parsers must carry exactly: line breaks of every kind, unicode, spaces.
TRICKY_TOKENS = ["Line one", "\r\n", "then CR", "\r", "then LF", "\n", "é 世界 🎉", "  two spaces"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium is needed for the real-browser test and is not at {CHROMIUM}: "
            "apt-get install chromium",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def provider() -> Iterator[SimulatedProvider]:
    with SimulatedProvider(max_stall=10.0) as simulated:
        yield simulated


@pytest.fixture
def site(
    webapp: ModuleType,
    provider: SimulatedProvider,
    serve: Callable[[Any], AbstractContextManager[str]],
) -> Iterator[str]:
    from router import AsyncRouter

    router = AsyncRouter(base_url=provider.base_url, api_key="sk-test")
    app = webapp.create_app(router, model="gpt-4o-mini", retry_ms=100, close_router=True)
    with serve(app) as base_url:
        yield base_url


def open_page(browser: Any, site: str) -> Any:
    page = browser.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(site + "/")
    return page


def chat_until_text_shows(browser: Any, site: str, prompt: str) -> Any:
    """Open the page, send `prompt` to the chat, and return once some answer text is shown."""
    page = open_page(browser, site)
    page.fill("#prompt", prompt)
    page.click("#send")
    page.wait_for_function(
        "() => { const m = document.querySelector('#log .message.assistant');"
        " return m && m.querySelector('.text').textContent.length > 0; }",
        timeout=WAIT_MS,
    )
    return page


def last_answer(page: Any) -> Any:
    return page.locator("#log .message.assistant").last


def answer_text(page: Any) -> str:
    return str(
        page.evaluate(
            "document.querySelector('#log .message.assistant:last-child .text').textContent"
        )
    )


def test_chat_answer_appears_word_by_word_then_whole(
    browser: Any, site: str, provider: SimulatedProvider
) -> None:
    words = [f" word{index}" for index in range(25)]
    tokens = ["Hello:", *TRICKY_TOKENS, *words]
    provider.set_default(Reply.text(tokens=tokens, first_token_delay=0.05, token_delay=0.03))
    # Some text is on screen while the provider is still sending the rest.
    page = chat_until_text_shows(browser, site, "Tell me something")
    partial = answer_text(page)
    [request] = provider.chat_requests
    assert not request.finished, "the provider had already sent everything"
    assert last_answer(page).get_attribute("data-state") == "streaming"
    full = "".join(tokens)
    assert full.startswith(partial)
    assert len(partial) < len(full)

    page.wait_for_selector("#log .message.assistant[data-state='done']", timeout=WAIT_MS)
    assert answer_text(page) == full
    assert last_answer(page).locator(".meta").text_content() == "stream · stop"
    assert request.body["stream"] is True
    assert request.body["model"] == "gpt-4o-mini"
    page.close()


def test_recipe_card_arrives_whole_and_validated(
    browser: Any, site: str, provider: SimulatedProvider, webapp: ModuleType
) -> None:
    provider.set_default(webapp.simulated_responder(first_token_delay=0.05))
    page = open_page(browser, site)
    # Record every text the answer shows, to prove no piece of the JSON is shown early.
    page.evaluate(
        "window.seen = [];"
        "new MutationObserver(() => {"
        "  const m = document.querySelector('#log .message.assistant');"
        "  const t = m && m.querySelector('.text');"
        "  if (t) window.seen.push(t.textContent);"
        "}).observe(document.getElementById('log'),"
        " {subtree: true, childList: true, characterData: true});"
    )
    page.fill("#prompt", "pancakes")
    page.click("#structured")
    page.wait_for_selector("#log .message.assistant[data-state='done']", timeout=WAIT_MS)

    answer = last_answer(page)
    assert answer.locator(".card h2").text_content() == "Pancakesvalidated"
    assert answer.locator(".badge").text_content() == "validated"
    assert answer.locator(".card li").all_text_contents() == [
        "2 eggs",
        "200 g flour",
        "300 ml milk",
        "a pinch of salt",
    ]
    assert answer.locator(".meta").text_content() == "batch · stop"
    # The only text ever shown before the card is the whole answer, which parses as the recipe.
    seen = [text for text in page.evaluate("window.seen") if text]
    assert seen, "the observer saw no answer text"
    recipe = json.loads(answer.get_attribute("data-recipe"))
    assert all(json.loads(text) == recipe for text in seen), seen
    [request] = provider.chat_requests
    assert "stream" not in request.body
    assert request.body["response_format"]["json_schema"]["name"] == "recipe"
    page.close()


def test_a_refusal_is_shown_and_its_question_is_not_sent_again(
    browser: Any, site: str, provider: SimulatedProvider
) -> None:
    provider.enqueue(Reply.refusal("I can't help with that."), Reply.text("Sure."))
    page = open_page(browser, site)
    page.fill("#prompt", "Something forbidden")
    page.click("#send")
    page.wait_for_selector("#log .message.assistant.refusal[data-state='done']", timeout=WAIT_MS)
    assert answer_text(page) == "I can't help with that."
    page.fill("#prompt", "Something else")
    page.click("#send")
    page.wait_for_selector(
        "#log .message.assistant:last-child[data-state='done']:not(.refusal)", timeout=WAIT_MS
    )
    assert answer_text(page) == "Sure."
    declined, answered = provider.chat_requests
    assert declined.body["messages"][-1] == {"role": "user", "content": "Something forbidden"}
    assert [m["content"] for m in answered.body["messages"] if m["role"] != "system"] == [
        "Something else"
    ]
    page.close()


def test_closing_the_page_closes_the_upstream_call(
    browser: Any, site: str, provider: SimulatedProvider
) -> None:
    provider.set_default(Reply.text(" long" * 400, first_token_delay=0.05, token_delay=0.05))
    page = chat_until_text_shows(browser, site, "Write a lot")
    [request] = provider.chat_requests
    assert not request.client_closed
    page.close()
    assert request.wait_client_closed(timeout=3.0), "the upstream call was not closed"
    assert len(provider.chat_requests) == 1


def test_stop_button_aborts_the_fetch_and_closes_the_upstream_call(
    browser: Any, site: str, provider: SimulatedProvider
) -> None:
    provider.set_default(Reply.text(" more" * 400, token_delay=0.05))
    page = chat_until_text_shows(browser, site, "Keep going")
    page.click("#stop")
    page.wait_for_selector("#log .message.assistant[data-state='error']", timeout=WAIT_MS)
    assert last_answer(page).locator(".error").text_content() == "Stopped."
    [request] = provider.chat_requests
    assert request.wait_client_closed(timeout=3.0), "the upstream call was not closed"
    assert page.is_enabled("#send")
    page.close()


def test_event_source_reads_the_same_text_and_its_reconnect_starts_no_second_call(
    browser: Any, site: str, provider: SimulatedProvider
) -> None:
    provider.set_default(Reply.text(tokens=TRICKY_TOKENS, token_delay=0.01))
    page = open_page(browser, site)
    # The browser's own event-stream parser; the stream is left open so that, after `done`,
    # EventSource reconnects with Last-Event-ID and gets 204, which closes it for good.
    result = page.evaluate(
        """() => new Promise((resolve) => {
            const texts = [];
            const events = [];
            const source = new EventSource('/api/chat?prompt=' + encodeURIComponent('hi'));
            source.addEventListener('delta', (e) => { texts.push(JSON.parse(e.data).text);
                                                      events.push('delta'); });
            source.addEventListener('done', () => events.push('done'));
            source.onerror = () => {
                if (source.readyState === EventSource.CLOSED) resolve({texts, events});
            };
            setTimeout(() => { source.close(); resolve({texts, events, timedOut: true}); }, 8000);
        })"""
    )
    assert "timedOut" not in result, result
    assert "".join(result["texts"]) == "".join(TRICKY_TOKENS)
    assert result["events"][-1] == "done"
    assert result["events"].count("done") == 1
    assert len(provider.chat_requests) == 1
    page.close()


# Texts the encoder must carry to a browser unchanged.
ENCODER_CASES = [
    "",
    "plain",
    "two\nlines",
    "cr\ronly",
    "crlf\r\nline",
    "\r\n\r\n",
    "é 世界 🎉",
    " lead",
]
RAW_DATA = "line1\r\nline2\rline3\nline4\n\n"


def test_encoded_events_read_the_same_in_the_browser_as_in_our_decoder(
    browser: Any, webapp: ModuleType, serve: Callable[[Any], AbstractContextManager[str]]
) -> None:
    import anyio
    from starlette.applications import Starlette
    from starlette.responses import FileResponse, StreamingResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from router.relay.encoder import encode_comment, encode_event
    from router.relay.events import PING, delta_event, done_event
    from router.sse import SSEDecoder

    stream = b"".join(
        [
            encode_comment("start"),
            *(delta_event(text, id=f"e-{index}") for index, text in enumerate(ENCODER_CASES)),
            PING,
            encode_event(RAW_DATA, event="raw"),
            done_event(finish_reason="stop", status="complete", mode="stream", validated=False),
        ]
    )
    decoder = SSEDecoder()
    expected = [[event.event, event.data] for event in decoder.decode(stream) + decoder.flush()]
    assert [json.loads(data)["text"] for name, data in expected if name == "delta"] == ENCODER_CASES

    async def pieces() -> Any:
        # Small pieces, so that line breaks (CR here, LF in the next piece) are split.
        for start in range(0, len(stream), 11):
            yield stream[start : start + 11]
            await anyio.sleep(0.002)

    async def encoded(request: Any) -> StreamingResponse:
        return StreamingResponse(pieces(), media_type="text/event-stream")

    async def index(request: Any) -> FileResponse:
        return FileResponse(webapp.STATIC / "index.html")

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/encoded", encoded),
            Mount("/static", StaticFiles(directory=webapp.STATIC)),
        ]
    )
    with serve(app) as base_url:
        page = open_page(browser, base_url)
        seen = page.evaluate(
            """async () => {
                const response = await fetch('/encoded');
                const viaFetch = [];
                for await (const e of readEvents(response.body)) viaFetch.push([e.event, e.data]);
                const viaEventSource = await new Promise((resolve) => {
                    const got = [];
                    const source = new EventSource('/encoded');
                    for (const name of ['delta', 'raw', 'done']) {
                        source.addEventListener(name, (e) => {
                            got.push([name, e.data]);
                            if (name === 'done') { source.close(); resolve(got); }
                        });
                    }
                    setTimeout(() => { source.close(); resolve(got); }, 5000);
                });
                return {viaFetch, viaEventSource};
            }"""
        )
        page.close()
    assert seen["viaEventSource"] == expected
    assert seen["viaFetch"] == expected
