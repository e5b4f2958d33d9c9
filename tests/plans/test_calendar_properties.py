"""Invariants of business-time arithmetic, checked with hypothesis on realistic calendars.

Besides algebraic laws (monotonicity, additivity, elapsed/due inverse) the engine is
compared with a deliberately naive oracle that walks local days and sums overlaps.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.plans.calendar import BusinessCalendar
from bot.plans.hours import WeeklyHours, parse_hours

CALENDARS = [
    BusinessCalendar("Europe/Madrid", parse_hours("lun-vie 9:00-14:00,16:00-19:00"), "ES", "MD"),
    # Weekend night shifts that span both Madrid DST transitions (01:00-04:00 on Sundays).
    BusinessCalendar("Europe/Madrid", parse_hours("mon-fri 09:00-18:00; sat-sun 01:00-04:00"), "ES", "MD"),
    BusinessCalendar("America/Mexico_City", parse_hours("mon-fri 09:00-18:00; sat 10:00-13:00"), "MX"),
    BusinessCalendar(
        "America/Bogota",
        parse_hours("lun-vie 8:00-12:00,14:00-18:00"),
        "CO",
        closed_dates=frozenset({date(2026, 12, 24), date(2026, 12, 31)}),
    ),
    BusinessCalendar("America/New_York", parse_hours("mon-fri 00:00-24:00"), "US", "NY"),
]
WALL = [BusinessCalendar.wall_clock(), BusinessCalendar("Europe/Madrid", WeeklyHours.always())]

calendars = st.sampled_from(CALENDARS)
uniform_instants = st.datetimes(
    min_value=datetime(2025, 10, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
# Uniform instants rarely land near the interesting days, so aim at them half the time:
# DST changes (Madrid, New York), Madrid's December holidays and a year boundary.
HOTSPOTS = [
    datetime(2025, 10, 26, tzinfo=UTC),
    datetime(2026, 3, 29, tzinfo=UTC),
    datetime(2026, 10, 25, tzinfo=UTC),
    datetime(2027, 3, 28, tzinfo=UTC),
    datetime(2026, 3, 8, tzinfo=UTC),
    datetime(2026, 11, 1, tzinfo=UTC),
    datetime(2026, 12, 7, tzinfo=UTC),
    datetime(2027, 1, 1, tzinfo=UTC),
]
# Whole minutes, like the opening hours, so deadlines can land exactly on a closing time.
near_hotspots = st.builds(
    lambda spot, minutes: spot + timedelta(minutes=minutes),
    st.sampled_from(HOTSPOTS),
    st.integers(-3 * 24 * 60, 2 * 24 * 60),
)
instants = st.one_of(uniform_instants, near_hotspots)
# Mostly whole minutes (what users type), sometimes arbitrary microseconds.
durations = st.one_of(
    st.integers(0, 3 * 24 * 60).map(lambda m: timedelta(minutes=m)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)),
)
positive = durations.filter(bool)
EXAMPLES = settings(max_examples=150, deadline=None)


@functools.cache
def _holidays(country: str, subdiv: str | None, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdiv, years=year)


def oracle_elapsed(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Sum of overlaps with each local day's intervals (valid for bounds that are never
    in a DST gap, which holds for the calendars above)."""
    zone = ZoneInfo(calendar.tz)
    day = start.astimezone(zone).date() - timedelta(days=1)
    total = timedelta(0)
    while day <= end.astimezone(zone).date():
        closed = day in calendar.closed_dates or (
            calendar.holiday_country is not None
            and day in _holidays(calendar.holiday_country, calendar.holiday_subdiv, day.year)
        )
        for start_minute, end_minute in () if closed else calendar.hours.intervals(day.weekday()):
            midnight = datetime(day.year, day.month, day.day)
            # To UTC before subtracting: same-tzinfo subtraction would ignore DST.
            opens = (midnight + timedelta(minutes=start_minute)).replace(tzinfo=zone).astimezone(UTC)
            closes = (midnight + timedelta(minutes=end_minute)).replace(tzinfo=zone).astimezone(UTC)
            overlap = min(closes, end) - max(opens, start)
            total += max(overlap, timedelta(0))
        day += timedelta(days=1)
    return total


@settings(max_examples=60, deadline=None)
@given(calendars, instants, st.integers(0, 5 * 24 * 60).map(lambda m: timedelta(minutes=m)))
def test_matches_naive_oracle(calendar: BusinessCalendar, start: datetime, span: timedelta) -> None:
    assert calendar.elapsed(start, start + span) == oracle_elapsed(calendar, start, start + span)


@EXAMPLES
@given(calendars, instants, positive)
def test_due_inverts_elapsed(calendar: BusinessCalendar, start: datetime, duration: timedelta) -> None:
    deadline = calendar.due(start, duration)
    assert deadline.tzinfo is UTC
    assert deadline - start >= duration  # business time never runs faster than real time
    assert calendar.elapsed(start, deadline) == duration
    # Earliest such instant: the microsecond before the deadline was still business time.
    assert calendar.is_open(deadline - timedelta(microseconds=1))


@EXAMPLES
@given(calendars, instants, st.integers(0, 10), st.data())
def test_deadline_can_be_a_closing_time(
    calendar: BusinessCalendar, start: datetime, days_ahead: int, data: st.DataObject
) -> None:
    """A duration that ends exactly at a closing time is due at that closing time, not at
    the next opening (random durations almost never hit this, so aim at it)."""
    day = start.astimezone(ZoneInfo(calendar.tz)).date() + timedelta(days=days_ahead)
    ends = [end for _, end in calendar.hours.intervals(day.weekday())]
    assume(ends)
    minute = data.draw(st.sampled_from(ends))
    midnight = datetime(day.year, day.month, day.day)
    closing = (midnight + timedelta(minutes=minute)).replace(tzinfo=ZoneInfo(calendar.tz))
    duration = calendar.elapsed(start, closing)
    assume(duration and calendar.is_open(closing - timedelta(microseconds=1)))
    assert calendar.due(start, duration) == closing


@EXAMPLES
@given(calendars, instants)
def test_zero_duration_is_next_opening(calendar: BusinessCalendar, start: datetime) -> None:
    opening = calendar.due(start, timedelta(0))
    assert opening == calendar.next_opening(start) >= start
    assert calendar.is_open(opening)
    assert calendar.elapsed(start, opening) == timedelta(0)
    assert (opening == start) == calendar.is_open(start)


@EXAMPLES
@given(calendars, instants, instants, durations)
def test_monotonic_in_start(calendar: BusinessCalendar, a: datetime, b: datetime, duration: timedelta) -> None:
    early, late = sorted((a, b))
    assert calendar.due(early, duration) <= calendar.due(late, duration)


@EXAMPLES
@given(calendars, instants, durations, durations)
def test_monotonic_in_duration(calendar: BusinessCalendar, start: datetime, a: timedelta, b: timedelta) -> None:
    short, long = sorted((a, b))
    assert calendar.due(start, short) <= calendar.due(start, long)


@EXAMPLES
@given(calendars, instants, durations, durations)
def test_additivity(calendar: BusinessCalendar, start: datetime, a: timedelta, b: timedelta) -> None:
    """``due(due(t, a), b) == due(t, a + b)`` for any a >= 0 when b > 0. With b == 0 the
    second step moves a deadline sitting on a closing instant to the next opening, so the
    law holds exactly when ``due(t, a)`` is open."""
    first = calendar.due(start, a)
    chained = calendar.due(first, b)
    if b:
        assert chained == calendar.due(start, a + b)
    else:
        assert (chained == first) == calendar.is_open(first)


@EXAMPLES
@given(calendars, instants, instants, instants)
def test_elapsed_is_additive(calendar: BusinessCalendar, a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    assert calendar.elapsed(a, b) + calendar.elapsed(b, c) == calendar.elapsed(a, c)
    assert calendar.elapsed(c, a) == timedelta(0)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(WALL), instants, durations)
def test_wall_clock_is_plain_arithmetic(calendar: BusinessCalendar, start: datetime, duration: timedelta) -> None:
    assert calendar.due(start, duration) == start + duration
    assert calendar.elapsed(start, start + duration) == duration
    assert calendar.is_open(start) and calendar.next_opening(start) == start


@settings(max_examples=50, deadline=None)
@given(calendars, instants, positive, st.sampled_from(["Asia/Tokyo", "America/Los_Angeles", "Europe/Madrid"]))
def test_input_zone_is_irrelevant(calendar: BusinessCalendar, start: datetime, duration: timedelta, tz: str) -> None:
    assert calendar.due(start.astimezone(ZoneInfo(tz)), duration) == calendar.due(start, duration)
