"""Business hours: parsing (English/Spanish), errors, canonical formatting and storage."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import UserError
from bot.plans.hours import WeeklyHours, format_hours, from_json, parse_hours, to_json

NINE_TO_SIX = ((540, 1080),)
SPLIT = ((540, 840), (960, 1140))


def week(**days: tuple[tuple[int, int], ...]) -> WeeklyHours:
    keys = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return WeeklyHours(tuple(days.get(key, ()) for key in keys))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "mon-fri 09:00-18:00",
            week(mon=NINE_TO_SIX, tue=NINE_TO_SIX, wed=NINE_TO_SIX, thu=NINE_TO_SIX, fri=NINE_TO_SIX),
        ),
        (
            "mon-thu 09:00-14:00,16:00-19:00; fri 08:00-15:00",
            week(mon=SPLIT, tue=SPLIT, wed=SPLIT, thu=SPLIT, fri=((480, 900),)),
        ),
        ("sat 10:00-13:00", week(sat=((600, 780),))),
        ("mon,wed,fri 10:00-12:00", week(mon=((600, 720),), wed=((600, 720),), fri=((600, 720),))),
        ("sun 9:00-24:00", week(sun=((540, 1440),))),
        ("SAT 9-13", week(sat=((540, 780),))),
        ("Monday 09:00 - 18:00 ; Saturday 10:00-13:00", week(mon=NINE_TO_SIX, sat=((600, 780),))),
        (
            "lun-jue 9:00-14:00, 16:00-19:00; vie 8:00-15:00",
            week(mon=SPLIT, tue=SPLIT, wed=SPLIT, thu=SPLIT, fri=((480, 900),)),
        ),
        ("mié 10:00-12:00; sáb 10:00-12:00", week(wed=((600, 720),), sat=((600, 720),))),
        ("MIERCOLES 10:00-12:00\nSábado 10:00-12:00", week(wed=((600, 720),), sat=((600, 720),))),
        ("lunes a viernes 09:00-18:00", parse_hours("mon-fri 09:00-18:00")),
        ("sat and sun 10:00-12:00", week(sat=((600, 720),), sun=((600, 720),))),
        (
            "mon-wed,fri 10:00-12:00",
            week(mon=((600, 720),), tue=((600, 720),), wed=((600, 720),), fri=((600, 720),)),
        ),
        # Unsorted ranges are sorted; touching ranges merge into one.
        ("tue 16:00-19:00,09:00-14:00", week(tue=SPLIT)),
        ("tue 09:00-14:00,14:00-18:00", week(tue=NINE_TO_SIX)),
        ("mon-fri 09:00-18:00;", parse_hours("mon-fri 09:00-18:00")),
        ("mon-fri 09:00-18:00,", parse_hours("mon-fri 09:00-18:00")),
    ],
)
def test_parse_hours(text: str, expected: WeeklyHours) -> None:
    assert parse_hours(text) == expected


@pytest.mark.parametrize("text", ["24/7", "24x7", " 24X7 ", "24 / 7", "mon-sun 00:00-24:00"])
def test_always_open(text: str) -> None:
    hours = parse_hours(text)
    assert hours == WeeklyHours.always()
    assert hours.is_always_open
    assert format_hours(hours) == "24/7"


def test_not_always_open() -> None:
    assert not parse_hours("mon-sat 00:00-24:00").is_always_open
    assert parse_hours("mon-fri 09:00-18:00").minutes_per_week == 45 * 60


@pytest.mark.parametrize(
    ("text", "fragment", "params"),
    [
        ("mon-fru 09:00-18:00", "Unknown day", {"day": "fru", "part": "mon-fru 09:00-18:00"}),
        ("lun/mar 09:00-18:00", "Unknown day", {"day": "/"}),
        ("mon-fri 9am-6pm", "Cannot read the time range", {"range": "9am-6pm"}),
        ("mon-fri 09:00", "Cannot read the time range", {"range": "09:00"}),
        ("mon-fri 09:00-18:00,,x", "Cannot read the time range", {"range": "x"}),
        ("mon-fri 09:75-18:00", "invalid time", {"range": "09:75-18:00"}),
        ("mon-fri 09:00-24:30", "invalid time", {"range": "09:00-24:30"}),
        ("mon 18:00-09:00", "does not end after it starts", {"range": "18:00-09:00"}),
        ("mon 22:00-02:00", "does not end after it starts", {"range": "22:00-02:00"}),
        ("mon 09:00-09:00", "does not end after it starts", {"range": "09:00-09:00"}),
        ("mon 09:00-14:00,13:00-18:00", "overlap", {"first": "09:00-14:00", "second": "13:00-18:00"}),
        ("mon-fri 09:00-18:00; wed 10:00-12:00", "more than once", {"day": "wed", "part": "wed 10:00-12:00"}),
        ("mon,tue,mon 09:00-18:00", "more than once", {"day": "mon"}),
        ("mon-fri 09:00-18:00; lunes 10:00-12:00", "more than once", {"day": "lunes"}),
        ("fri-mon 09:00-18:00", "wraps past Sunday", {"range": "fri-mon", "fixed": "fri-sun,mon-mon"}),
        ("mon- 09:00-18:00", "Cannot read the days", {"part": "mon- 09:00-18:00"}),
        ("09:00-18:00", "no days", {"part": "09:00-18:00"}),
        ("mon-fri", "no opening times", {"part": "mon-fri"}),
        ("", "No opening hours", {}),
        (" ; ", "No opening hours", {}),
    ],
)
def test_parse_errors_name_the_fragment(text: str, fragment: str, params: dict[str, str]) -> None:
    with pytest.raises(UserError) as caught:
        parse_hours(text)
    assert fragment in caught.value.message
    assert params.items() <= caught.value.params.items()
    # Every field of the msgid is supplied, so rendering never raises KeyError.
    caught.value.render(lambda message: message)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("lun-vie 9:00-18:00", "mon-fri 09:00-18:00"),
        ("mon-fri 09:00-18:00; sat 10:00-13:00", "mon-fri 09:00-18:00; sat 10:00-13:00"),
        (
            "fri 08:00-15:00; mon-thu 09:00-14:00,16:00-19:00",
            "mon-thu 09:00-14:00,16:00-19:00; fri 08:00-15:00",
        ),
        ("mon,wed,fri 10:00-12:00", "mon 10:00-12:00; wed 10:00-12:00; fri 10:00-12:00"),
        ("sat,sun 10:00-24:00", "sat-sun 10:00-24:00"),
    ],
)
def test_format_hours(text: str, canonical: str) -> None:
    assert format_hours(parse_hours(text)) == canonical


@pytest.mark.parametrize(
    "days",
    [
        (((540, 1080),),) * 6,  # six days
        (((600, 540),),) + ((),) * 6,  # backwards
        (((0, 1441),),) + ((),) * 6,  # past 24:00
        (((540, 600), (600, 700)),) + ((),) * 6,  # touching: not canonical
        (((540, 700), (600, 800)),) + ((),) * 6,  # overlapping
        (((600, 700), (100, 200)),) + ((),) * 6,  # unsorted
        ((),) * 7,  # never open
    ],
)
def test_weekly_hours_rejects_invalid_values(days: tuple) -> None:
    with pytest.raises(ValueError):
        WeeklyHours(days)


def test_json_shape() -> None:
    hours = parse_hours("mon-thu 09:00-14:00,16:00-19:00; fri 08:00-15:00")
    assert to_json(hours)["mon"] == [[540, 840], [960, 1140]]
    assert "sat" not in to_json(hours)
    assert from_json(json.loads(json.dumps(to_json(hours)))) == hours


@pytest.mark.parametrize("data", [None, [], {"xyz": []}, {"mon": [[1]]}, {"mon": [["a", "b"]]}, {}])
def test_from_json_rejects_garbage(data: object) -> None:
    with pytest.raises(ValueError):
        from_json(data)


@st.composite
def weekly_hours(draw: st.DrawFn) -> WeeklyHours:
    days = []
    for _ in range(7):
        # Distinct sorted boundaries paired up give sorted, gapped (canonical) intervals.
        bounds = sorted(draw(st.sets(st.integers(0, 1440), max_size=6)))
        bounds = bounds[: len(bounds) // 2 * 2]
        days.append(tuple(zip(bounds[::2], bounds[1::2], strict=True)))
    if not any(days):
        days[0] = ((540, 1080),)
    return WeeklyHours(tuple(days))


@settings(max_examples=200)
@given(weekly_hours())
def test_format_and_json_round_trip(hours: WeeklyHours) -> None:
    assert parse_hours(format_hours(hours)) == hours
    assert from_json(json.loads(json.dumps(to_json(hours)))) == hours
    assert hash(hours) == hash(parse_hours(format_hours(hours)))
