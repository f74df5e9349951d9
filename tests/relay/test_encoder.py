"""The event-stream encoder writes exactly the WHATWG format and refuses what would break it."""

from __future__ import annotations

import pytest

from router.errors import ProtocolError
from router.relay.encoder import encode_comment, encode_event, encode_retry


def test_event_with_every_field() -> None:
    assert encode_event("hi", event="delta", id="c-1", retry=250) == (
        b"event: delta\nid: c-1\nretry: 250\ndata: hi\n\n"
    )


def test_data_only() -> None:
    assert encode_event("hi") == b"data: hi\n\n"


def test_every_kind_of_line_break_starts_a_data_line() -> None:
    assert encode_event("a\nb\r\nc\rd") == b"data: a\ndata: b\ndata: c\ndata: d\n\n"


def test_trailing_line_break_keeps_an_empty_last_line() -> None:
    assert encode_event("a\n") == b"data: a\ndata: \n\n"


def test_empty_data_is_one_empty_data_line_so_the_event_is_dispatched() -> None:
    assert encode_event("", event="delta") == b"event: delta\ndata: \n\n"


def test_other_unicode_separators_are_not_line_breaks() -> None:
    text = "a\u2028b\x0cc\x0bd\x1ce\u0085f"
    assert encode_event(text) == ("data: " + text + "\n\n").encode()


def test_leading_space_in_data_survives_the_single_stripped_space() -> None:
    assert encode_event(" x") == b"data:  x\n\n"


def test_unicode_is_utf8() -> None:
    assert encode_event("héllo 世界 🎉") == "data: héllo 世界 🎉\n\n".encode()


def test_comment_and_multiline_comment() -> None:
    assert encode_comment("ping") == b": ping\n\n"
    assert encode_comment("a\r\nb") == b": a\n: b\n\n"


def test_retry_block() -> None:
    assert encode_retry(0) == b"retry: 0\n\n"


@pytest.mark.parametrize("retry", [-1, 1.5, True, "10"])
def test_bad_retry_is_refused(retry: object) -> None:
    with pytest.raises(ProtocolError, match="retry must be a non-negative integer"):
        encode_event("x", retry=retry)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["a\nb", "a\rb", "a\r\nb"])
def test_event_name_with_a_line_break_is_refused(name: str) -> None:
    with pytest.raises(ProtocolError, match="event name cannot contain a line break"):
        encode_event("x", event=name)


def test_id_with_a_line_break_or_nul_is_refused() -> None:
    with pytest.raises(ProtocolError, match="event id cannot contain a line break"):
        encode_event("x", id="a\nb")
    with pytest.raises(ProtocolError, match="NUL"):
        encode_event("x", id="a\0b")


def test_lone_surrogate_is_refused_with_its_position() -> None:
    with pytest.raises(ProtocolError, match=r"lone surrogate .* at index 8"):
        encode_event("ab\ud800")
