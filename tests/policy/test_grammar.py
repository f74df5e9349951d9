"""The policy grammar's durations: read as a policy writes them, and written back alike."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.policy.grammar import format_duration_ms, parse_duration


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (250, "250ms"),
        (0.5, "0.5ms"),
        (500, "500ms"),
        (1000, "1s"),
        (1500, "1.5s"),
        (30_000, "30s"),
        (90_000, "90s"),
        (600_000, "10m"),
        (3_600_000, "1h"),
        (5_400_000, "90m"),
        (7_200_000, "2h"),
    ],
)
def test_durations_are_written_as_a_policy_writes_them(ms: float, text: str) -> None:
    assert format_duration_ms(ms) == text


@given(st.integers(min_value=1, max_value=10 * 3_600_000))
def test_every_written_duration_reads_back(ms: int) -> None:
    seconds = parse_duration(format_duration_ms(ms))
    assert seconds is not None
    assert seconds * 1000 == pytest.approx(ms, rel=1e-5)


@pytest.mark.parametrize("text", ["5", " 5s", "5s\n", "5 s", "5d", "-1s", "s", ""])
def test_what_is_not_a_duration_reads_as_none(text: str) -> None:
    assert parse_duration(text) is None
