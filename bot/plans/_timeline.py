"""The machinery behind :class:`bot.plans.calendar.BusinessCalendar`.

Business time is precomputed per UTC year as a sorted list of open intervals in
integer microseconds since the epoch, with the cumulative open time before each
interval. Every question then becomes a binary search:

* open time between two instants = difference of their cumulative values;
* the deadline = the instant where the cumulative value reaches ``start + duration``.

Integers (not floats, not datetimes) keep the arithmetic exact, so identities such as
``elapsed(t, due(t, d)) == d`` hold to the microsecond, and a ``due()`` costs a couple
of bisects instead of a day-by-day walk.
"""

from __future__ import annotations

import functools
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import holidays

if TYPE_CHECKING:
    from bot.plans.hours import WeeklyHours

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_DAY = timedelta(days=1)
# A calendar that stays shut this many consecutive years is broken; stop instead of looping.
MAX_EMPTY_YEARS = 3


class NeverOpenError(ValueError):
    """The calendar has no open time for :data:`MAX_EMPTY_YEARS` years in a row."""


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError(f"business-time arithmetic needs aware datetimes, got {moment!r}")
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(micros: int) -> datetime:
    """Inverse of :func:`to_us`, as an aware UTC datetime."""
    # Splitting into seconds and microseconds is ~30% cheaper than timedelta(microseconds=...).
    return EPOCH + timedelta(0, micros // 1_000_000, micros % 1_000_000)


@functools.lru_cache(maxsize=512)
def holiday_dates(country: str, subdiv: str | None, year: int) -> frozenset[date]:
    """Public holidays of ``country``/``subdiv`` in ``year`` (building these objects is slow)."""
    return frozenset(holidays.country_holidays(country, subdiv=subdiv, years=year).keys())


@dataclass(frozen=True, slots=True)
class YearIntervals:
    """Open intervals clipped to one UTC year, with cumulative open time."""

    starts: list[int]
    ends: list[int]
    before: list[int]  # open µs in this year before interval i starts
    through: list[int]  # open µs in this year up to the end of interval i
    total: int

    def open_until(self, t: int) -> int:
        """Open µs in this year before instant ``t`` (which must lie in this year)."""
        i = bisect_right(self.starts, t) - 1
        if i < 0:
            return 0
        return self.before[i] + min(t, self.ends[i]) - self.starts[i]

    def instant_at(self, amount: int) -> int:
        """Earliest instant at which ``amount`` (0 < amount <= total) µs of open time have passed."""
        i = bisect_left(self.through, amount)
        return self.starts[i] + amount - self.before[i]


class Timeline:
    """Per-calendar cache of :class:`YearIntervals`; shared by equal calendars."""

    def __init__(
        self,
        tz: str,
        hours: WeeklyHours,
        country: str | None,
        subdiv: str | None,
        closed_dates: frozenset[date],
    ) -> None:
        self.zone = ZoneInfo(tz)
        self.hours = hours
        self.country = country
        self.subdiv = subdiv
        self.closed_dates = closed_dates
        self._years: dict[int, YearIntervals] = {}

    def year(self, year: int) -> YearIntervals:
        """The open intervals of UTC ``year`` (built on first use)."""
        found = self._years.get(year)
        if found is None:
            # Racing threads may both build it; the results are equal, so last write wins.
            found = self._years[year] = self._build(year)
        return found

    def is_closed_day(self, day: date) -> bool:
        """Holiday or explicitly closed local date."""
        if day in self.closed_dates:
            return True
        return self.country is not None and day in holiday_dates(self.country, self.subdiv, day.year)

    def _build(self, year: int) -> YearIntervals:
        low = to_us(datetime(year, 1, 1, tzinfo=UTC))
        high = to_us(datetime(year + 1, 1, 1, tzinfo=UTC))
        starts: list[int] = []
        ends: list[int] = []
        # Local dates one day either side cover every UTC offset (at most ±14 h).
        day = date(year, 1, 1) - ONE_DAY
        last = date(year, 12, 31) + ONE_DAY
        while day <= last:
            if not self.is_closed_day(day):
                for start_minute, end_minute in self.hours.days[day.weekday()]:
                    start = max(self._local_us(day, start_minute), low)
                    end = min(self._local_us(day, end_minute), high)
                    if start >= end:
                        continue  # outside this year, or swallowed by a DST gap
                    if ends and start <= ends[-1]:
                        ends[-1] = max(ends[-1], end)  # e.g. sat 00:00-24:00 then sun 00:00-...
                    else:
                        starts.append(start)
                        ends.append(end)
            day += ONE_DAY
        before: list[int] = []
        through: list[int] = []
        total = 0
        for start, end in zip(starts, ends, strict=True):
            before.append(total)
            total += end - start
            through.append(total)
        return YearIntervals(starts, ends, before, through, total)

    def _local_us(self, day: date, minute: int) -> int:
        """The instant a local wall-clock time happens.

        Ambiguous times (the repeated hour when clocks go back) take their first
        occurrence. Times that do not exist (skipped when clocks go forward) map to
        the transition instant: an office "opening at 02:30" opens when the clock
        jumps to 03:00. Both rules keep the mapping monotonic, so intervals stay sorted
        and a 00:00-24:00 day lasts 23 h or 25 h of real time on transition days.
        """
        naive = datetime(day.year, day.month, day.day) + timedelta(minutes=minute)
        first = naive.replace(tzinfo=self.zone)  # fold=0
        if first.astimezone(UTC).astimezone(self.zone).replace(tzinfo=None) == naive:
            return to_us(first)
        # In a gap, fold=1 lands before the transition and fold=0 after it: bisect between.
        low = to_us(naive.replace(tzinfo=self.zone, fold=1))
        high = to_us(first)
        offset_after = from_us(high).astimezone(self.zone).utcoffset()
        while high - low > 1:
            middle = (low + high) // 2
            if from_us(middle).astimezone(self.zone).utcoffset() == offset_after:
                high = middle
            else:
                low = middle
        return high
