"""Secrets never survive redaction, whatever carries them."""

from __future__ import annotations

import pytest

from router.redact import (
    REDACTED,
    SECRET_HEADERS,
    is_secret_header,
    redact_headers,
    redact_text,
    redact_value,
)

KEY = "sk-proj-abcdefghijklmnop1234"


@pytest.mark.parametrize(
    "name",
    sorted({*SECRET_HEADERS, "Authorization", "API-Key", "Cookie", "Proxy-Authorization"}),
)
def test_every_credential_header_is_redacted(name: str) -> None:
    assert is_secret_header(name)
    assert redact_headers({name: KEY, "Accept": "text/event-stream"}) == {
        name: REDACTED,
        "Accept": "text/event-stream",
    }


def test_every_header_that_carries_a_credential_is_listed() -> None:
    # Those the router sends (OpenAI, Azure) and those proxies and compatible servers use.
    carriers = {"authorization", "proxy-authorization", "api-key", "x-api-key", "openai-api-key"}
    assert carriers <= SECRET_HEADERS


def test_headers_given_as_pairs() -> None:
    assert redact_headers([("x-api-key", KEY)]) == {"x-api-key": REDACTED}


def test_known_secret_values_are_removed_from_text() -> None:
    text = redact_text("upstream echoed key my-azure-key-123 back", ["my-azure-key-123", None])
    assert "my-azure-key-123" not in text
    assert REDACTED in text


@pytest.mark.parametrize(
    "text",
    [
        f"Authorization: Bearer {KEY}",
        f"Incorrect API key provided: {KEY}.",
        "api-key: 0123456789abcdef",
        '{"api_key": "0123456789abcdef"}',
        "https://example.test/v1?api-key=0123456789abcdef&x=1",
        "Authorization: Basic dXNlcjpwYXNz",
    ],
)
def test_credential_shapes_are_removed_from_text(text: str) -> None:
    out = redact_text(text)
    assert REDACTED in out
    for secret in (KEY, "0123456789abcdef", "dXNlcjpwYXNz"):
        assert secret not in out


def test_plain_text_is_untouched() -> None:
    assert redact_text("the answer is 42, a skeptic asked") == "the answer is 42, a skeptic asked"


def test_parsed_error_bodies_are_redacted_deeply() -> None:
    body = {"error": {"message": f"Incorrect API key provided: {KEY}", "code": 401}, "api-key": "x"}
    out = redact_value({"list": [body], "n": 1}, [KEY])
    assert KEY not in repr(out)
    assert out["list"][0]["api-key"] == REDACTED
    assert out["n"] == 1
