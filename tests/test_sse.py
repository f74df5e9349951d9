"""The WHATWG event-stream rules, each checked with the bytes split at every position."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.errors import EventTooLarge
from router.sse import ServerSentEvent, SSEDecoder


def decode_chunks(chunks: list[bytes], **limits: int) -> list[ServerSentEvent]:
    decoder = SSEDecoder(**limits)
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(decoder.decode(chunk))
    events.extend(decoder.flush())
    return events


def decode_every_split(stream: bytes) -> list[ServerSentEvent]:
    """Decode whole, split in two at every position, and byte by byte: all must agree."""
    whole = decode_chunks([stream])
    for cut in range(len(stream) + 1):
        assert decode_chunks([stream[:cut], stream[cut:]]) == whole, f"split at {cut}"
    for first in range(len(stream) + 1):
        for second in range(first, min(len(stream), first + 3) + 1):
            chunks = [stream[:first], stream[first:second], stream[second:]]
            assert decode_chunks(chunks) == whole, f"split at {first} and {second}"
    assert decode_chunks([bytes([byte]) for byte in stream]) == whole, "byte by byte"
    return whole


def ev(data: str, event: str = "message", id: str | None = None, retry: int | None = None):
    return ServerSentEvent(event=event, data=data, id=id, retry=retry)


def test_event_defaults() -> None:
    assert ServerSentEvent() == ServerSentEvent("message", "", None, None)


def test_plain_events() -> None:
    assert decode_every_split(b"data: one\n\ndata: two\n\n") == [ev("one"), ev("two")]


# --- byte-order mark ---------------------------------------------------------------------


def test_leading_bom_is_stripped_and_the_first_event_kept() -> None:
    assert decode_every_split(b"\xef\xbb\xbfdata: first\n\ndata: second\n\n") == [
        ev("first"),
        ev("second"),
    ]


def test_only_one_bom_is_stripped() -> None:
    # The second BOM becomes part of the field name "\ufeffdata", an unknown field.
    assert decode_every_split(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: y\n\n") == [ev("y")]


def test_bom_later_in_the_stream_is_not_stripped() -> None:
    assert decode_every_split(b"data: a\n\n\xef\xbb\xbfdata: b\n\ndata: c\n\n") == [
        ev("a"),
        ev("c"),
    ]


def test_start_that_only_looks_like_a_bom() -> None:
    # Two bytes of a BOM, then text: invalid UTF-8 in a field name, nothing lost after it.
    assert decode_every_split(b"\xef\xbbdata: x\n\ndata: y\n\n") == [ev("y")]
    assert decode_chunks([b"\xef", b"\xbb"]) == []


# --- line ends ---------------------------------------------------------------------------


def test_cr_lf_and_crlf_all_end_lines() -> None:
    assert decode_every_split(b"data: a\rdata: b\r\ndata: c\n\r\n") == [ev("a\nb\nc")]


def test_lone_cr_blank_line_dispatches() -> None:
    assert decode_every_split(b"data: a\r\rdata: b\r\r") == [ev("a"), ev("b")]


def test_lf_then_cr_is_two_line_ends() -> None:
    assert decode_every_split(b"data: x\n\rdata: y\n\n") == [ev("x"), ev("y")]


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    # CR at the end of one chunk, LF at the start of the next: one line end, not two.
    assert decode_chunks([b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]) == [ev("a\nb")]


def test_unicode_line_separators_are_not_line_breaks() -> None:
    text = "a\u2028b\u2029c\x0bd\x0ce\x1cf\x85g"
    assert decode_every_split(f"data: {text}\n\n".encode()) == [ev(text)]


# --- text ----------------------------------------------------------------------------------


def test_multibyte_characters_split_anywhere() -> None:
    text = "héllo wörld — 😀 € 漢字"
    assert decode_every_split(f"event: ünï\ndata: {text}\nid: ⌘\n\n".encode()) == [
        ev(text, event="ünï", id="⌘")
    ]


def test_invalid_utf8_becomes_replacement_characters() -> None:
    assert decode_every_split(b"data: a\xffb\xe2\x82\n\n") == [ev("a\ufffdb\ufffd")]


# --- fields --------------------------------------------------------------------------------


def test_multiline_data_is_joined_with_newlines() -> None:
    assert decode_every_split(b"data: a\ndata:\ndata: b\ndata\n\n") == [ev("a\n\nb\n")]


def test_comments_are_ignored() -> None:
    stream = (
        b": keep-alive\n\n:\ndata: x\n: inside an event\ndata: y\n\n: OPENROUTER PROCESSING\n\n"
    )
    assert decode_every_split(stream) == [ev("x\ny")]


def test_field_without_colon_has_an_empty_value() -> None:
    assert decode_every_split(b"data\n\n") == [ev("")]
    assert decode_every_split(b"event\ndata: x\n\n") == [ev("x")]


def test_one_space_after_the_colon_is_stripped_not_more() -> None:
    assert decode_every_split(b"data:  two\n\ndata:none\n\ndata:\tx\n\n") == [
        ev(" two"),
        ev("none"),
        ev("\tx"),
    ]
    assert decode_every_split(b"event:  spaced\ndata: x\n\n") == [ev("x", event=" spaced")]


def test_field_names_are_case_sensitive_and_unknown_ones_ignored() -> None:
    assert decode_every_split(b"Data: x\nfoo: bar\ndata: y\n\n") == [ev("y")]


def test_event_type_is_per_event() -> None:
    stream = b"event: add\ndata: 1\n\ndata: 2\n\nevent:\ndata: 3\n\n"
    assert decode_every_split(stream) == [ev("1", event="add"), ev("2"), ev("3")]


def test_event_without_data_is_not_dispatched() -> None:
    assert decode_every_split(b"event: ping\n\nid: 1\n\nretry: 10\n\n\n\n") == []


def test_id_without_data_still_sets_the_last_event_id() -> None:
    assert decode_every_split(b"id: 7\n\ndata: x\n\n") == [ev("x", id="7")]


def test_last_event_id_persists_and_an_empty_id_resets_it() -> None:
    stream = b"id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n"
    assert decode_every_split(stream) == [ev("a", id="1"), ev("b", id="1"), ev("c", id="")]


def test_id_containing_nul_is_ignored() -> None:
    assert decode_every_split(b"id: 5\n\nid: a\x00b\ndata: x\n\n") == [ev("x", id="5")]


def test_decoder_exposes_the_committed_last_event_id() -> None:
    decoder = SSEDecoder()
    decoder.decode(b"id: 3\ndata: x\n\nid: 4\n")
    assert decoder.last_event_id == "3"  # id 4's event has not ended yet
    decoder.decode(b"\n")
    assert decoder.last_event_id == "4"


def test_id_line_in_its_own_chunk_is_committed_by_the_next_event() -> None:
    # Each chunk on its own: the last one is a whole `data:` event, the common shape.
    decoder = SSEDecoder()
    assert decoder.decode(b"data: a\n\n") == [ev("a")]
    assert decoder.decode(b"id: 5\n") == []
    assert decoder.decode(b"data: b\n\n") == [ev("b", id="5")]
    assert decoder.last_event_id == "5"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"1500", 1500),
        (b"0", 0),
        (b"", None),
        (b"15a0", None),
        (b"-1", None),
        (b"1.5", None),
        (b" 15", None),  # the second space is part of the value
        ("١٢".encode(), None),  # Arabic-Indic digits are digits, not ASCII digits
    ],
)
def test_retry_only_when_all_ascii_digits(value: bytes, expected: int | None) -> None:
    assert decode_every_split(b"retry: " + value + b"\ndata: x\n\n") == [ev("x", retry=expected)]


def test_retry_belongs_to_the_event_that_carried_it() -> None:
    assert decode_every_split(b"retry: 10\ndata: a\n\ndata: b\n\n") == [
        ev("a", retry=10),
        ev("b"),
    ]


# --- end of stream ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stream",
    [b"data: x", b"data: x\n", b"data: x\r", b"data: x\r\n", b"event: e\ndata: x\nid: 1\n"],
)
def test_unterminated_event_at_the_end_is_dropped(stream: bytes) -> None:
    assert decode_every_split(b"data: kept\n\n" + stream) == [ev("kept")]


def test_flush_resets_for_a_new_stream_but_keeps_the_last_event_id() -> None:
    decoder = SSEDecoder()
    assert decoder.decode(b"id: 9\ndata: a\n\ndata: partial") == [ev("a", id="9")]
    assert decoder.flush() == []
    assert decoder.decode(b"\xef\xbb\xbfdata: b\n\n") == [ev("b", id="9")]


def test_flush_drops_an_id_whose_event_never_ended() -> None:
    decoder = SSEDecoder()
    assert decoder.decode(b"id: 1\ndata: a\n\nid: 2\n") == [ev("a", id="1")]
    assert decoder.flush() == []
    assert decoder.decode(b"data: b\n\n") == [ev("b", id="1")]


def test_empty_chunks_are_harmless() -> None:
    assert decode_chunks([b"", b"data: a\r", b"", b"\n", b"", b"\n", b""]) == [ev("a")]


# --- bounded memory --------------------------------------------------------------------------


def test_line_over_the_limit_raises_with_the_limit_in_the_message() -> None:
    decoder = SSEDecoder(max_line_bytes=64)
    with pytest.raises(EventTooLarge, match="64-byte limit") as caught:
        decoder.decode(b"data: " + b"x" * 100 + b"\n\n")
    assert caught.value.limit == 64


def test_line_over_the_limit_arriving_in_small_chunks_raises_before_it_ends() -> None:
    decoder = SSEDecoder(max_line_bytes=1000)
    decoder.decode(b"data: ")
    fed = 6

    def feed_until_it_raises() -> None:
        nonlocal fed
        while fed < 10_000:
            decoder.decode(b"xy")
            fed += 2

    with pytest.raises(EventTooLarge, match="1000-byte limit"):
        feed_until_it_raises()
    assert fed <= 1002


def test_line_over_the_limit_after_cr_line_ends() -> None:
    decoder = SSEDecoder(max_line_bytes=32)
    with pytest.raises(EventTooLarge):
        decoder.decode(b"data: a\r" + b"z" * 40)


def test_complete_long_line_among_short_ones_raises() -> None:
    decoder = SSEDecoder(max_line_bytes=32)
    with pytest.raises(EventTooLarge):
        decoder.decode(b"data: a\n" + b"data: " + b"z" * 40 + b"\n" + b"data: b\n\n")


def test_line_at_the_limit_is_accepted() -> None:
    line = b"data: " + b"x" * 58
    assert len(line) == 64
    assert decode_chunks([line + b"\n\n"], max_line_bytes=64) == [ev("x" * 58)]


@pytest.mark.parametrize(
    ("limits", "size", "message"),
    [
        ({"max_line_bytes": 64}, 58, None),  # a 64-byte line: at the limit
        ({"max_line_bytes": 64}, 59, "64-byte limit"),
        ({"max_event_bytes": 100}, 99, None),  # 99 bytes of data and its line end
        ({"max_event_bytes": 100}, 100, "100-byte limit"),
    ],
)
def test_limits_hold_for_a_whole_event_in_one_chunk_after_another(
    limits: dict[str, int], size: int, message: str | None
) -> None:
    # After a first event the decoder has nothing pending, and a chunk holding exactly one
    # `data:` event takes its shortcut: the limits must hold there as everywhere.
    decoder = SSEDecoder(**limits)
    assert decoder.decode(b"data: a\n\n") == [ev("a")]
    chunk = b"data: " + b"x" * size + b"\n\n"
    if message is None:
        assert decoder.decode(chunk) == [ev("x" * size)]
    else:
        with pytest.raises(EventTooLarge, match=message):
            decoder.decode(chunk)


def test_event_over_the_limit_from_many_lines_raises() -> None:
    decoder = SSEDecoder(max_event_bytes=100)
    with pytest.raises(EventTooLarge, match="100-byte limit") as caught:
        decoder.decode(b"data: 0123456789\n" * 50)
    assert caught.value.limit == 100
    for _ in range(9):  # after the error the decoder starts a new event: 99 bytes fit
        decoder.decode(b"data: 0123456789\n")
    with pytest.raises(EventTooLarge, match="100-byte limit"):
        decoder.decode(b"data: 0123456789\n")


def test_event_over_the_limit_in_one_chunk_raises() -> None:
    with pytest.raises(EventTooLarge, match="event data"):
        decode_chunks([b"data: " + b"x" * 200 + b"\n\n"], max_event_bytes=100)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        SSEDecoder(max_line_bytes=0)


# --- any valid stream, any split -------------------------------------------------------------

_line_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"),
    max_size=12,
)
_event = st.tuples(
    st.one_of(st.none(), _line_text.filter(lambda s: s != "")),
    st.lists(_line_text, min_size=1, max_size=3),
    st.one_of(st.none(), _line_text),
)


@settings(max_examples=150, deadline=None)
@given(
    events=st.lists(_event, max_size=6),
    endings=st.lists(st.sampled_from([b"\n", b"\r", b"\r\n"]), min_size=1, max_size=5),
    bom=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=8),
)
def test_any_stream_split_anywhere_decodes_the_same(
    events: list[tuple[str | None, list[str], str | None]],
    endings: list[bytes],
    bom: bool,
    cuts: list[int],
) -> None:
    lines: list[str] = []
    expected: list[ServerSentEvent] = []
    last_id: str | None = None
    for kind, data_lines, event_id in events:
        if kind is not None:
            lines.append(f"event: {kind}")
        lines.extend(f"data: {line}" for line in data_lines)
        if event_id is not None:
            lines.append(f"id: {event_id}")
            last_id = event_id
        lines.append("")
        expected.append(ev("\n".join(data_lines), event=kind or "message", id=last_id))
    stream = b"\xef\xbb\xbf" if bom else b""
    previous = b""
    for number, line in enumerate(lines):
        ending = endings[number % len(endings)]
        if previous == b"\r" and not line and ending == b"\n":
            ending = b"\r\n"  # a bare LF right after a CR would pair with it
        stream += line.encode() + ending
        previous = ending
    points = sorted({cut % (len(stream) + 1) for cut in cuts})
    chunks = [
        stream[start:end] for start, end in zip([0, *points], [*points, len(stream)], strict=True)
    ]
    assert decode_chunks(chunks) == expected


def test_events_before_an_over_limit_line_are_kept_and_the_error_follows() -> None:
    decoder = SSEDecoder(max_line_bytes=32)
    chunk = b"data: a\n\ndata: b\n\ndata: " + b"z" * 40 + b"\n\n"
    assert decoder.decode(chunk) == [ev("a"), ev("b")]
    with pytest.raises(EventTooLarge, match="32-byte limit"):
        decoder.decode(b"data: c\n\n")


def test_events_before_an_over_limit_event_are_kept_and_flush_raises() -> None:
    decoder = SSEDecoder(max_event_bytes=16)
    assert decoder.decode(b"data: a\n\n" + b"data: 0123456789\n" * 3) == [ev("a")]
    with pytest.raises(EventTooLarge, match="16-byte limit"):
        decoder.flush()
    assert decoder.decode(b"data: after\n\n") == [ev("after")]


def test_unterminated_tail_over_the_limit_after_events() -> None:
    decoder = SSEDecoder(max_line_bytes=32)
    assert decoder.decode(b"data: a\n\ndata: " + b"z" * 40) == [ev("a")]
    with pytest.raises(EventTooLarge):
        decoder.decode(b"")


_wire_bytes = st.lists(
    st.sampled_from(
        [
            *(b"data:", b"data: ", b"event:", b"id:", b"retry:", b":", b" "),
            *(b"\r", b"\n", b"\r\n", b"x", b"{}", b"1", b"\x00"),
            *(b"\xef\xbb\xbf", b"\xe2\x82\xac", b"\xff"),
        ]
    ),
    max_size=40,
).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(stream=_wire_bytes, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=6))
def test_any_bytes_decode_the_same_however_they_are_split(stream: bytes, cuts: list[int]) -> None:
    points = sorted({cut % (len(stream) + 1) for cut in cuts})
    bounds = zip([0, *points], [*points, len(stream)], strict=True)
    assert decode_chunks([stream[start:end] for start, end in bounds]) == decode_chunks([stream])


def test_reconnection_time_is_kept_even_without_data() -> None:
    decoder = SSEDecoder()
    assert decoder.reconnection_time is None
    assert decoder.decode(b"retry: 2500\n\n") == []
    assert decoder.reconnection_time == 2500
    decoder.decode(b"retry: soon\ndata: x\n\n")
    assert decoder.reconnection_time == 2500


def test_many_data_lines_are_joined_without_a_list_per_line() -> None:
    decoder = SSEDecoder(max_event_bytes=1_000_000)
    events = decoder.decode(b"data\n" * 100_000 + b"data: end\n\n")
    assert events == [ev("\n" * 100_000 + "end")]
