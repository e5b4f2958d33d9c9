"""Durations: parsing, limits, compact formatting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import UserError
from bot.plans.durations import MAX_DURATION, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("90m", 90),
        ("4h", 240),
        ("1h30m", 90),
        ("1m", 1),
        ("2d", 2 * 24 * 60),
        ("30min", 30),
        ("2hrs", 120),
        ("4H", 240),
        (" 1h 30m ", 90),
        ("30m1h", 90),
        ("1d2h3m", 24 * 60 + 123),
        ("2 horas", 120),
        ("3 días", 3 * 24 * 60),
        ("90d", 90 * 24 * 60),
    ],
)
def test_parse_duration(text: str, minutes: int) -> None:
    assert parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["", "abc", "4", "1.5h", "4x", "h4", "1h1h", "4 h ago", "1h-30m"])
def test_garbage_quotes_value_and_gives_an_example(text: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_duration(text)
    assert caught.value.params == {"value": text.strip()}
    assert "“4h”" in caught.value.message


@pytest.mark.parametrize("text", ["0m", "0h0m", "-4h", "-1m"])
def test_zero_or_negative(text: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_duration(text)
    assert "longer than zero" in caught.value.message
    assert caught.value.params == {"value": text}


@pytest.mark.parametrize("text", ["91d", "90d1m", "2161h"])
def test_capped_at_ninety_days(text: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_duration(text)
    assert caught.value.params == {"value": text, "maximum": "90d"}
    assert parse_duration("90d") == MAX_DURATION


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(hours=4), "4h"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(minutes=30), "30m"),
        (timedelta(days=2), "2d"),
        (timedelta(days=1, minutes=5), "1d5m"),
        (timedelta(0), "0m"),
        (timedelta(seconds=89), "1m"),  # display rounds to the minute
        (timedelta(seconds=29), "0m"),
    ],
)
def test_format_duration(duration: timedelta, text: str) -> None:
    assert format_duration(duration) == text


def test_format_rejects_negative() -> None:
    with pytest.raises(ValueError):
        format_duration(timedelta(minutes=-1))


@settings(max_examples=300)
@given(st.integers(1, MAX_DURATION // timedelta(minutes=1)))
def test_round_trip(minutes: int) -> None:
    duration = timedelta(minutes=minutes)
    assert parse_duration(format_duration(duration)) == duration
