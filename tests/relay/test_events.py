"""The relay's events: JSON payloads, safe error messages, usage only when opted in."""

from __future__ import annotations

import json

import pytest

from router import errors
from router.relay.events import (
    PING,
    delta_event,
    done_event,
    error_event,
    safe_error,
    to_json,
)


def parse(block: bytes) -> tuple[str, dict[str, object]]:
    """(event name, JSON payload) of one single-data-line event block."""
    fields = dict(line.split(": ", 1) for line in block.decode().splitlines() if line)
    return fields["event"], json.loads(fields["data"])


def test_delta_carries_text_as_json_on_one_line() -> None:
    block = delta_event("line one\r\nline two\rthree\n", id="c-1")
    assert block == b'event: delta\nid: c-1\ndata: {"text":"line one\\r\\nline two\\rthree\\n"}\n\n'
    assert parse(block) == ("delta", {"text": "line one\r\nline two\rthree\n"})


def test_delta_keeps_unicode_readable() -> None:
    assert "世界 🎉".encode() in delta_event("世界 🎉")


def test_lone_surrogate_falls_back_to_ascii_escapes_instead_of_failing() -> None:
    block = delta_event("a\ud800b")
    assert b"\\ud800" in block
    assert parse(block) == ("delta", {"text": "a\ud800b"})


def test_to_json_is_compact() -> None:
    assert to_json({"a": [1, "é"]}) == '{"a":[1,"é"]}'


def test_done_without_usage_unless_given() -> None:
    name, payload = parse(
        done_event(finish_reason="stop", status="complete", mode="stream", validated=False)
    )
    assert name == "done"
    assert payload == {
        "finish_reason": "stop",
        "status": "complete",
        "mode": "stream",
        "validated": False,
    }
    _, with_usage = parse(
        done_event(
            finish_reason="length",
            status="complete",
            mode="batch",
            validated=True,
            usage={"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8},
        )
    )
    assert with_usage["usage"] == {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}
    assert "refusal" not in with_usage
    _, refused = parse(
        done_event(
            finish_reason="stop", status="complete", mode="stream", validated=False, refusal="No."
        )
    )
    assert refused["refusal"] == "No."


def test_ping_is_a_comment() -> None:
    assert PING == b": ping\n\n"


SECRET = "sk-live-SECRET-1234"
RAW_BODY = '{"error": {"message": "quota for org-SECRET exceeded", "key": "' + SECRET + '"}}'


@pytest.mark.parametrize(
    ("exc", "expected_type"),
    [
        (errors.ConnectTimeout(RAW_BODY, limit_ms=5), "ConnectTimeout"),
        (errors.FirstTokenTimeout(RAW_BODY, limit_ms=5), "FirstTokenTimeout"),
        (errors.IdleTimeout(RAW_BODY, limit_ms=5), "IdleTimeout"),
        (errors.TotalTimeout(RAW_BODY, limit_ms=5), "TotalTimeout"),
        (errors.ConnectionFailed(RAW_BODY), "ConnectionFailed"),
        (
            errors.UpstreamStatusError(RAW_BODY, status_code=429, body=RAW_BODY),
            "UpstreamStatusError",
        ),
        (errors.StreamInterrupted(RAW_BODY), "StreamInterrupted"),
        (errors.StreamFailed(RAW_BODY), "StreamFailed"),
        (errors.ValidationFailed(RAW_BODY, raw=RAW_BODY), "ValidationFailed"),
        (errors.IncompleteAnswer(RAW_BODY, raw=RAW_BODY), "IncompleteAnswer"),
        (errors.AnswerRefused(RAW_BODY, raw=RAW_BODY), "AnswerRefused"),
        (errors.HookFailed(RAW_BODY), "HookFailed"),
        (errors.CallCancelled(RAW_BODY), "CallCancelled"),
        (errors.ConfigurationError(RAW_BODY), "ConfigurationError"),
        (errors.ProtocolError(RAW_BODY), "ProtocolError"),
        (RuntimeError(RAW_BODY), "InternalError"),
        (KeyError(SECRET), "InternalError"),
    ],
)
def test_error_event_names_the_type_and_never_repeats_the_exception_text(
    exc: BaseException, expected_type: str
) -> None:
    block = error_event(exc, partial="Hello, wor", id="c-9")
    assert SECRET.encode() not in block
    assert b"org-SECRET" not in block
    name, payload = parse(block)
    assert name == "error"
    assert payload["type"] == expected_type
    assert payload["partial"] == "Hello, wor"
    assert isinstance(payload["message"], str)
    assert payload["message"]


def test_timeouts_get_distinct_messages() -> None:
    messages = {
        safe_error(cls("x", limit_ms=1))[1]
        for cls in (
            errors.ConnectTimeout,
            errors.FirstTokenTimeout,
            errors.IdleTimeout,
            errors.TotalTimeout,
        )
    }
    assert len(messages) == 4


def test_upstream_status_message_says_the_status_code_only() -> None:
    exc = errors.UpstreamStatusError(RAW_BODY, status_code=503, body={"error": SECRET})
    assert safe_error(exc) == (
        "UpstreamStatusError",
        "The model service answered with an error (503).",
    )


@pytest.mark.parametrize("bad_id", ["a\nb", "a\rb", "a\0b", "a\ud800b"])
def test_every_event_refuses_an_id_the_format_cannot_carry(bad_id: str) -> None:
    events = [
        lambda: delta_event("x", id=bad_id),
        lambda: done_event(
            finish_reason="stop", status="complete", mode="stream", validated=False, id=bad_id
        ),
        lambda: error_event(RuntimeError("x"), partial="", id=bad_id),
    ]
    for make_event in events:
        with pytest.raises(errors.ProtocolError):
            make_event()
