"""Business calendar: table tests with real holidays, split hours and DST days.

Dates used (2026): Fri 8 May / Mon 11 May are ordinary; Mon 2 Nov and Mon 7 Dec are
Madrid-only holidays; Tue 8 Dec and Fri 25 Dec are national; Sun 29 Mar and Sun
25 Oct are the Europe/Madrid DST changes. The holiday facts are asserted below so a
``holidays`` upgrade that changes them fails loudly rather than silently.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from bot.errors import UserError
from bot.plans.calendar import BusinessCalendar, NeverOpenError, validate_holidays, validate_timezone
from bot.plans.hours import WeeklyHours, parse_hours

MADRID = ZoneInfo("Europe/Madrid")
OFFICE = BusinessCalendar("Europe/Madrid", parse_hours("mon-fri 09:00-18:00"), "ES", "MD")
OFFICE_ES = BusinessCalendar("Europe/Madrid", parse_hours("mon-fri 09:00-18:00"), "ES")
SPLIT = BusinessCalendar("Europe/Madrid", parse_hours("mon-fri 09:00-14:00,16:00-19:00"), "ES", "MD")
SUNDAYS = BusinessCalendar("Europe/Madrid", parse_hours("sun 00:00-24:00"))
MADRID_24_7 = BusinessCalendar("Europe/Madrid", WeeklyHours.always(), "ES", "MD")


def md(day: str, clock: str = "00:00") -> datetime:
    """Madrid wall-clock time, e.g. ``md("2026-05-08", "17:00")``."""
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=MADRID)


def test_holiday_facts_used_below() -> None:
    national = holidays.country_holidays("ES", years=2026)
    madrid = holidays.country_holidays("ES", subdiv="MD", years=2026)
    assert date(2026, 12, 8) in national  # Inmaculada Concepción
    assert date(2026, 12, 25) in national
    for madrid_only in (date(2026, 11, 2), date(2026, 12, 7)):
        assert madrid_only in madrid and madrid_only not in national
    assert date(2027, 1, 1) in national
    assert date(2026, 2, 2) in holidays.country_holidays("MX", years=2026)  # Día de la Constitución
    assert date(2026, 7, 20) in holidays.country_holidays("CO", years=2026)  # Independencia


H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("calendar", "start", "duration", "expected"),
    [
        # Friday afternoon rolls over the weekend.
        (OFFICE, md("2026-05-08", "17:00"), 4 * H, md("2026-05-11", "12:00")),
        # Start on Saturday -> clock starts at Monday's opening.
        (OFFICE, md("2026-05-09", "10:00"), H, md("2026-05-11", "10:00")),
        (OFFICE, md("2026-05-09", "10:00"), timedelta(0), md("2026-05-11", "09:00")),
        # Before opening, exactly at opening, exactly at closing.
        (OFFICE, md("2026-05-12", "07:30"), 2 * H, md("2026-05-12", "11:00")),
        (OFFICE, md("2026-05-12", "09:00"), timedelta(0), md("2026-05-12", "09:00")),
        (OFFICE, md("2026-05-12", "18:00"), H, md("2026-05-13", "10:00")),
        (OFFICE, md("2026-05-12", "18:00"), timedelta(0), md("2026-05-13", "09:00")),
        # A deadline that uses the day up exactly is the closing instant, not the next opening.
        (OFFICE, md("2026-05-12", "17:00"), H, md("2026-05-12", "18:00")),
        (OFFICE, md("2026-05-08", "09:00"), 9 * H, md("2026-05-08", "18:00")),
        # Split hours: the lunch break does not count.
        (SPLIT, md("2026-05-12", "13:00"), 2 * H, md("2026-05-12", "17:00")),
        (SPLIT, md("2026-05-12", "15:00"), H / 2, md("2026-05-12", "16:30")),
        (SPLIT, md("2026-05-12", "14:00"), timedelta(0), md("2026-05-12", "16:00")),
        (SPLIT, md("2026-05-12", "18:30"), H, md("2026-05-13", "09:30")),
        # Three-day windows: 72 business hours are eight 9-hour days.
        (OFFICE, md("2026-05-11", "09:00"), 72 * H, md("2026-05-20", "18:00")),
        (SPLIT, md("2026-05-11", "09:00"), 72 * H, md("2026-05-21", "19:00")),
        (MADRID_24_7, md("2026-05-11", "09:00"), 72 * H, md("2026-05-14", "09:00")),
        # Holidays: Madrid closes Mon 7 Dec (regional) and Tue 8 Dec (national).
        (OFFICE, md("2026-12-04", "17:00"), 4 * H, md("2026-12-09", "12:00")),
        (OFFICE_ES, md("2026-12-04", "17:00"), 4 * H, md("2026-12-07", "12:00")),
        (OFFICE, md("2026-10-30", "17:00"), 4 * H, md("2026-11-03", "12:00")),
        (OFFICE_ES, md("2026-10-30", "17:00"), 4 * H, md("2026-11-02", "12:00")),
        (OFFICE, md("2026-12-24", "17:00"), 4 * H, md("2026-12-28", "12:00")),
        # New Year's Day 2027 is a Friday: across the year boundary.
        (OFFICE, md("2026-12-31", "17:00"), 4 * H, md("2027-01-04", "12:00")),
        # DST: a 09:00-18:00 day is 9 h either side of the change; 24/7 counts real hours.
        (OFFICE, md("2026-03-27", "17:00"), 4 * H, md("2026-03-30", "12:00")),
        (OFFICE, md("2026-10-23", "17:00"), 4 * H, md("2026-10-26", "12:00")),
        (MADRID_24_7, md("2026-03-28", "12:00"), 24 * H, md("2026-03-29", "13:00")),
        (MADRID_24_7, md("2026-10-24", "12:00"), 24 * H, md("2026-10-25", "11:00")),
        (SUNDAYS, md("2026-03-29"), 23 * H, md("2026-03-30")),
        (SUNDAYS, md("2026-10-25"), 25 * H, md("2026-10-26")),
    ],
)
def test_due(calendar: BusinessCalendar, start: datetime, duration: timedelta, expected: datetime) -> None:
    result = calendar.due(start, duration)
    assert result == expected
    assert result.tzinfo is UTC
    assert calendar.elapsed(start, result) == duration


@pytest.mark.parametrize(
    ("calendar", "start", "end", "expected"),
    [
        (OFFICE, md("2026-05-08", "17:00"), md("2026-05-11", "10:00"), 2 * H),
        (OFFICE, md("2026-05-11", "10:00"), md("2026-05-08", "17:00"), timedelta(0)),
        (OFFICE, md("2026-05-11", "00:00"), md("2026-05-18", "00:00"), 45 * H),
        (SPLIT, md("2026-05-12", "00:00"), md("2026-05-13", "00:00"), 8 * H),
        (OFFICE, md("2026-12-01", "00:00"), md("2027-01-01", "00:00"), (23 - 3) * 9 * H),
        (SUNDAYS, md("2026-03-28"), md("2026-03-31"), 23 * H),
        (SUNDAYS, md("2026-10-24"), md("2026-10-27"), 25 * H),
        (SUNDAYS, md("2026-06-06"), md("2026-06-09"), 24 * H),
        (MADRID_24_7, md("2026-03-28"), md("2026-03-31"), 71 * H),
        (MADRID_24_7, md("2026-12-24"), md("2026-12-26"), 48 * H),  # 24/7 ignores holidays
    ],
)
def test_elapsed(calendar: BusinessCalendar, start: datetime, end: datetime, expected: timedelta) -> None:
    assert calendar.elapsed(start, end) == expected


@pytest.mark.parametrize(
    ("hours", "sunday", "expected"),
    [
        # Opening at 02:30 on the spring-forward day means opening when clocks jump to 03:00.
        ("sun 02:30-05:00", "2026-03-29", 2 * H),
        ("sun 02:30-05:00", "2026-03-22", 2.5 * H),
        # On the fall-back day an ambiguous 02:30 is its first occurrence (CEST).
        ("sun 02:30-05:00", "2026-10-25", 3.5 * H),
        ("sun 01:00-04:00", "2026-10-25", 4 * H),
        ("sun 01:00-04:00", "2026-03-29", 2 * H),
        ("sun 02:15-02:45", "2026-03-29", timedelta(0)),  # entirely skipped
    ],
)
def test_dst_edges(hours: str, sunday: str, expected: timedelta) -> None:
    calendar = BusinessCalendar("Europe/Madrid", parse_hours(hours))
    day = md(sunday)
    assert calendar.elapsed(day, day + 24 * H) == expected


def test_is_open_and_next_opening() -> None:
    assert OFFICE.is_open(md("2026-05-11", "09:00"))  # opening instant counts
    assert not OFFICE.is_open(md("2026-05-11", "18:00"))  # closing instant does not
    assert not OFFICE.is_open(md("2026-12-08", "12:00"))  # holiday
    assert not SPLIT.is_open(md("2026-05-11", "15:00"))
    at = md("2026-05-11", "10:00")
    assert OFFICE.next_opening(at) == at and OFFICE.next_opening(at).tzinfo is UTC
    assert OFFICE.next_opening(md("2026-12-04", "18:00")) == md("2026-12-09", "09:00")
    assert MADRID_24_7.is_open(md("2026-12-25", "03:00"))


def test_other_zones_and_countries() -> None:
    mexico = BusinessCalendar("America/Mexico_City", parse_hours("mon-fri 09:00-18:00"), "MX")
    cdmx = ZoneInfo("America/Mexico_City")
    # Mexico has no DST since 2022 and Mon 2 Feb 2026 is Constitution Day.
    start = datetime(2026, 1, 30, 17, tzinfo=cdmx)
    assert mexico.due(start, 4 * H) == datetime(2026, 2, 3, 12, tzinfo=cdmx)
    bogota = BusinessCalendar("America/Bogota", parse_hours("lun-vie 8:00-12:00,14:00-18:00"), "CO")
    bog = ZoneInfo("America/Bogota")
    assert bogota.due(datetime(2026, 7, 17, 17, tzinfo=bog), 2 * H) == datetime(2026, 7, 21, 9, tzinfo=bog)


def test_closed_dates() -> None:
    closed = BusinessCalendar("Europe/Madrid", OFFICE.hours, "ES", "MD", closed_dates={date(2026, 5, 11)})
    assert isinstance(closed.closed_dates, frozenset)
    assert closed.due(md("2026-05-08", "17:00"), 4 * H) == md("2026-05-12", "12:00")


def test_wall_clock() -> None:
    crisis = BusinessCalendar.wall_clock()
    start = datetime(2026, 3, 29, 0, 30, tzinfo=MADRID)
    assert crisis.is_wall_clock and crisis.tz == "UTC"
    # Real elapsed time: 00:30 CET + 90 min is 03:00 CEST. Adding a timedelta to a
    # zoneinfo datetime does wall-clock arithmetic (02:00, which does not exist), hence UTC.
    assert crisis.due(start, timedelta(minutes=90)) == start.astimezone(UTC) + timedelta(minutes=90)
    assert crisis.due(start, timedelta(minutes=90)) == md("2026-03-29", "03:00")
    assert crisis.elapsed(start, start.astimezone(UTC) + 3 * H) == 3 * H
    assert crisis.elapsed(start, md("2026-03-29", "03:30")) == 2 * H
    assert crisis.next_opening(start) == start


def test_start_timezone_does_not_matter() -> None:
    start = md("2026-05-08", "17:00")
    assert OFFICE.due(start.astimezone(ZoneInfo("Asia/Tokyo")), 4 * H) == OFFICE.due(start, 4 * H)


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        OFFICE.due(datetime(2026, 5, 8, 17), H)  # naive
    with pytest.raises(ValueError):
        OFFICE.due(md("2026-05-08"), -H)
    with pytest.raises(ValueError):
        BusinessCalendar("UTC", OFFICE.hours, None, "MD")
    with pytest.raises(Exception, match="Mars"):
        BusinessCalendar("Mars/Base", OFFICE.hours)


def test_never_open_calendar_raises_instead_of_looping() -> None:
    # Saturdays only, and every Saturday for five years closed.
    first = date(2026, 1, 3)
    saturdays = {first + timedelta(weeks=n) for n in range(5 * 53)}
    calendar = BusinessCalendar("UTC", parse_hours("sat 10:00-11:00"), closed_dates=saturdays)
    with pytest.raises(NeverOpenError):
        calendar.due(datetime(2026, 1, 1, tzinfo=UTC), H)
    with pytest.raises(NeverOpenError):
        calendar.next_opening(datetime(2026, 1, 1, tzinfo=UTC))


def test_calendars_are_values() -> None:
    again = BusinessCalendar("Europe/Madrid", parse_hours("lun-vie 9:00-18:00"), "ES", "MD")
    assert again == OFFICE and hash(again) == hash(OFFICE)
    assert again._timeline is OFFICE._timeline  # equal calendars share precomputed intervals
    assert {OFFICE, again, SPLIT} == {OFFICE, SPLIT}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ES", ("ES", None)),
        ("es-md", ("ES", "MD")),
        (" ES-MD ", ("ES", "MD")),
        ("MX", ("MX", None)),
        ("CO", ("CO", None)),
        ("us-ny", ("US", "NY")),
    ],
)
def test_validate_holidays(code: str, expected: tuple[str, str | None]) -> None:
    assert validate_holidays(code) == expected


@pytest.mark.parametrize(
    ("code", "params"),
    [
        ("XX", {"country": "XX"}),
        ("", {"country": ""}),
        ("ES-ZZ", {"subdiv": "ZZ", "country": "ES"}),
        ("CO-DC", {"country": "CO"}),  # Colombia has no regional holiday calendars
    ],
)
def test_validate_holidays_errors(code: str, params: dict[str, str]) -> None:
    with pytest.raises(UserError) as caught:
        validate_holidays(code)
    assert params.items() <= caught.value.params.items()
    if "subdiv" in params:
        assert "MD" in caught.value.params["valid"]
    caught.value.render(lambda message: message)


def test_validate_timezone() -> None:
    assert validate_timezone("europe/madrid") == "Europe/Madrid"
    assert validate_timezone(" America/Bogota ") == "America/Bogota"
    with pytest.raises(UserError) as caught:
        validate_timezone("Mars/Base")
    assert caught.value.params == {"tz": "Mars/Base"}
    assert "Europe/Madrid" in caught.value.message
