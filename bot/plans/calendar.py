"""Business time: deadlines and elapsed time that only count a client's opening hours.

A :class:`BusinessCalendar` combines a time zone, weekly opening hours (local
wall-clock times), public holidays (``holidays`` package, country + region) and
explicitly closed dates. All results are aware UTC datetimes.

Design notes
------------
* **Zero duration.** ``due(t, 0)`` is ``next_opening(t)``: the clock only starts when
  the client opens, so "respond immediately" outside hours means "at opening".
* **Positive durations** return the *earliest* instant at which that much open time
  has elapsed. A deadline that consumes the day exactly is the closing instant
  (Friday 18:00), not the next opening (Monday 09:00).
* **Additivity.** ``due(due(t, a), b) == due(t, a + b)`` holds for every ``a >= 0``
  and ``b > 0``. With ``b == 0`` it holds only when ``due(t, a)`` is an open instant:
  a deadline that lands exactly on a closing time is moved to the next opening by the
  second, zero-length step.
* **DST.** Opening hours are local wall-clock times; each interval's bounds are
  converted to UTC separately, so an interval only gains or loses an hour if it spans
  the transition (``00:00-24:00`` lasts 23 h / 25 h on the change days, ``09:00-18:00``
  stays 9 h). Ambiguous times use their first occurrence; skipped times map to the
  transition instant.
* **24/7** hours mean wall-clock time: always open, and holidays and closed dates do
  not apply (a 24/7 plan is 24/7). :meth:`BusinessCalendar.wall_clock` builds one.
"""

from __future__ import annotations

import functools
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import holidays

from bot.errors import UserError
from bot.i18n.translator import N_
from bot.plans._timeline import MAX_EMPTY_YEARS, NeverOpenError, Timeline, from_us, to_us
from bot.plans.hours import WeeklyHours

__all__ = ["BusinessCalendar", "NeverOpenError", "validate_holidays", "validate_timezone"]

_ZERO = timedelta(0)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class BusinessCalendar:
    """When a client counts as open. Frozen and hashable; cheap to rebuild per request
    because the precomputed intervals are shared by equal calendars."""

    tz: str
    hours: WeeklyHours
    holiday_country: str | None = None
    holiday_subdiv: str | None = None
    closed_dates: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        # Accept any iterable of dates but store a frozenset so the calendar stays hashable.
        object.__setattr__(self, "closed_dates", frozenset(self.closed_dates))
        if self.holiday_subdiv is not None and self.holiday_country is None:
            raise ValueError("holiday_subdiv needs holiday_country")
        ZoneInfo(self.tz)  # fail at construction, not at the first deadline

    @classmethod
    def wall_clock(cls, tz: str = "UTC") -> BusinessCalendar:
        """Always open, no holidays: plain elapsed time (crisis windows)."""
        return cls(tz, WeeklyHours.always())

    @functools.cached_property
    def is_wall_clock(self) -> bool:
        """True when business time is plain elapsed time (24/7 hours)."""
        return self.hours.is_always_open

    @functools.cached_property
    def _timeline(self) -> Timeline:
        # cached_property writes to the instance __dict__, which a frozen dataclass allows;
        # it is not a field, so equality and hashing ignore it.
        return _timeline_for(self)

    def due(self, start: datetime, duration: timedelta) -> datetime:
        """The instant at which ``duration`` of business time has elapsed after ``start``.

        If ``start`` is outside business hours the clock starts at the next opening.
        ``duration == 0`` returns :meth:`next_opening` (``start`` itself if open); a
        positive duration returns the earliest instant with that much open time since
        ``start``, so a deadline can fall exactly on a closing time. Aware UTC result.
        """
        if duration < _ZERO:
            raise ValueError(f"negative duration {duration!r}")
        moment = _utc(start)
        if self.is_wall_clock:
            return moment + duration
        if not duration:
            return self.next_opening(moment)
        timeline = self._timeline
        year_number = moment.year
        year = timeline.year(year_number)
        target = year.open_until(to_us(moment)) + duration // _MICROSECOND
        empty_years = 0
        while target > year.total:
            target -= year.total
            year_number += 1
            year = timeline.year(year_number)
            empty_years = empty_years + 1 if not year.total else 0
            if empty_years >= MAX_EMPTY_YEARS:
                raise NeverOpenError(f"{self!r} has no open time for {MAX_EMPTY_YEARS} years")
        return from_us(year.instant_at(target))

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between ``start`` and ``end`` (zero if ``end <= start``)."""
        first, last = _utc(start), _utc(end)
        if last <= first:
            return _ZERO
        if self.is_wall_clock:
            return last - first
        timeline = self._timeline
        first_year = timeline.year(first.year)
        if first.year == last.year:
            micros = first_year.open_until(to_us(last)) - first_year.open_until(to_us(first))
        else:
            micros = first_year.total - first_year.open_until(to_us(first))
            micros += sum(timeline.year(y).total for y in range(first.year + 1, last.year))
            micros += timeline.year(last.year).open_until(to_us(last))
        return timedelta(microseconds=micros)

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` falls inside business hours (opening instant included, closing excluded)."""
        if self.is_wall_clock:
            return True
        moment = _utc(at)
        year = self._timeline.year(moment.year)
        t = to_us(moment)
        i = bisect_right(year.starts, t) - 1
        return i >= 0 and t < year.ends[i]

    def next_opening(self, at: datetime) -> datetime:
        """``at`` (in UTC) if open, otherwise the next instant business hours start."""
        moment = _utc(at)
        if self.is_wall_clock:
            return moment
        timeline = self._timeline
        year_number = moment.year
        year = timeline.year(year_number)
        t = to_us(moment)
        i = bisect_right(year.starts, t) - 1
        if i >= 0 and t < year.ends[i]:
            return moment
        i += 1
        walked = 0
        while i >= len(year.starts):
            walked += 1
            if walked > MAX_EMPTY_YEARS:
                raise NeverOpenError(f"{self!r} has no open time for {MAX_EMPTY_YEARS} years")
            year_number += 1
            year = timeline.year(year_number)
            i = 0
        return from_us(year.starts[i])


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"business-time arithmetic needs aware datetimes, got {moment!r}")
    return moment.astimezone(UTC)


@functools.lru_cache(maxsize=256)
def _timeline_for(calendar: BusinessCalendar) -> Timeline:
    return Timeline(
        calendar.tz,
        calendar.hours,
        calendar.holiday_country,
        calendar.holiday_subdiv,
        calendar.closed_dates,
    )


@functools.cache
def _timezones() -> dict[str, str]:
    # available_timezones() scans the tz database on disk; do it once.
    return {name.lower(): name for name in available_timezones()}


def validate_timezone(name: str) -> str:
    """The canonical IANA name for ``name`` (case-insensitive), or :class:`UserError`."""
    canonical = _timezones().get(name.strip().lower())
    if canonical is None:
        raise UserError(
            N_("Unknown time zone “{tz}”. Use an IANA name such as “Europe/Madrid” or “America/Bogota”."),
            tz=name.strip(),
        )
    return canonical


def validate_holidays(code: str) -> tuple[str, str | None]:
    """Parse ``ES``, ``ES-MD``, ``mx``, ``US-NY``... into ``(country, subdivision or None)``.

    Checked against ``holidays.list_supported_countries()``; raises :class:`UserError`
    quoting the unknown country or region (and listing valid regions).
    """
    text = code.strip()
    country_text, _, subdiv_text = text.partition("-")
    country = country_text.strip().upper()
    supported = _supported_countries()
    if country not in supported:
        raise UserError(
            N_("Unknown country “{country}” for public holidays. Use an ISO code such as “ES”, “MX” or “CO”."),
            country=country_text.strip() or text,
        )
    subdiv_text = subdiv_text.strip()
    if not subdiv_text:
        return country, None
    regions = supported[country]
    if not regions:
        raise UserError(
            N_("Public holidays for “{country}” have no regional variants; use just “{country}”."),
            country=country,
        )
    by_lower = {region.lower(): region for region in regions}
    subdiv = by_lower.get(subdiv_text.lower())
    if subdiv is None:
        shown = ", ".join(regions[:20]) + (", …" if len(regions) > 20 else "")
        raise UserError(
            N_("Unknown region “{subdiv}” for “{country}” public holidays. Valid regions: {valid}."),
            subdiv=subdiv_text,
            country=country,
            valid=shown,
        )
    return country, subdiv


@functools.cache
def _supported_countries() -> dict[str, list[str]]:
    return {country: list(regions) for country, regions in holidays.list_supported_countries().items()}
