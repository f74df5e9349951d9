"""What the encoder writes, our own decoder reads back: any text, split anywhere."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.relay.encoder import encode_comment, encode_event, encode_retry
from router.relay.events import PING, delta_event, done_event, error_event
from router.sse import ServerSentEvent, SSEDecoder

# Every code point, lone surrogates included (a provider's JSON may carry them).
any_text = st.text(st.characters(exclude_categories=()), max_size=60)
tricky_text = st.one_of(
    any_text,
    st.lists(
        st.sampled_from(["\r", "\n", "\r\n", "", " ", "é", "世", "🎉", "\u2028", "\0", "a"])
    ).map("".join),
)
field_text = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\r\n\0"), max_size=20
)


def decode_in_pieces(stream: bytes, cuts: list[int]) -> list[ServerSentEvent]:
    """Decode `stream` fed in pieces split at `cuts` (positions within the stream)."""
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    start = 0
    for cut in sorted({min(cut, len(stream)) for cut in cuts}):
        events.extend(decoder.decode(stream[start:cut]))
        start = cut
    events.extend(decoder.decode(stream[start:]))
    events.extend(decoder.flush())
    return events


cuts = st.lists(st.integers(min_value=0, max_value=400), max_size=8)


@settings(max_examples=60)
@given(text=tricky_text, cut_at=cuts)
def test_delta_text_round_trips_exactly(text: str, cut_at: list[int]) -> None:
    [event] = decode_in_pieces(delta_event(text, id="c-1"), cut_at)
    assert event.event == "delta"
    assert event.id == "c-1"
    assert json.loads(event.data) == {"text": text}


@pytest.mark.parametrize(
    "text",
    ["", "two\nlines", "cr\ronly", "crlf\r\nline", "\r\n\r\n", "unicode é 世界 🎉", "\u2028\0"],
)
def test_named_cases_round_trip(text: str) -> None:
    [event] = decode_in_pieces(delta_event(text), [])
    assert json.loads(event.data)["text"] == text


@given(data=any_text.filter(lambda s: not re.search("[\ud800-\udfff]", s)), event=field_text)
def test_raw_data_round_trips_with_line_breaks_normalised_to_lf(data: str, event: str) -> None:
    [decoded] = decode_in_pieces(encode_event(data, event=event or None, id="i"), [])
    assert decoded.data == re.sub(r"\r\n|\r", "\n", data)
    assert decoded.event == (event or "message")
    assert decoded.id == "i"


@settings(max_examples=60)
@given(texts=st.lists(tricky_text, max_size=6), cut_at=cuts)
def test_a_whole_relayed_stream_decodes_to_the_same_events(
    texts: list[str], cut_at: list[int]
) -> None:
    blocks = [encode_retry(2000)]
    for index, text in enumerate(texts):
        blocks.append(delta_event(text, id=f"c-{index}"))
        blocks.append(PING)
    blocks.append(encode_comment("multi\nline comment"))
    blocks.append(
        done_event(finish_reason="stop", status="complete", mode="stream", validated=False)
    )
    blocks.append(error_event(RuntimeError("x"), partial="".join(texts)))
    events = decode_in_pieces(b"".join(blocks), cut_at)
    assert [event.event for event in events] == ["delta"] * len(texts) + ["done", "error"]
    assert [json.loads(event.data)["text"] for event in events[:-2]] == texts
    assert json.loads(events[-1].data)["partial"] == "".join(texts)
