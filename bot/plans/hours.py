"""Weekly business hours: the value type, a forgiving parser and a canonical formatter.

Users type hours in Slack, in English or Spanish::

    mon-fri 09:00-18:00
    lun-jue 9:00-14:00,16:00-19:00; vie 8:00-15:00
    24/7

:func:`parse_hours` turns that into a :class:`WeeklyHours`; :func:`format_hours` writes
the canonical English form back (``parse_hours(format_hours(h)) == h``), and
:func:`to_json` / :func:`from_json` store it in the database.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from bot.errors import UserError
from bot.i18n.translator import N_

MINUTES_PER_DAY = 24 * 60
DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Interval = tuple[int, int]
DayIntervals = tuple[Interval, ...]

# Accents are stripped before lookup, so "mié"/"sáb"/"miércoles" match their plain forms.
_DAY_NAMES: dict[str, int] = {}
for _index, _names in enumerate(
    (
        ("mon", "monday", "lun", "lunes"),
        ("tue", "tues", "tuesday", "mar", "martes"),
        ("wed", "wednesday", "mie", "miercoles"),
        ("thu", "thur", "thurs", "thursday", "jue", "jueves"),
        ("fri", "friday", "vie", "viernes"),
        ("sat", "saturday", "sab", "sabado"),
        ("sun", "sunday", "dom", "domingo"),
    )
):
    for _name in _names:
        _DAY_NAMES[_name] = _index

# Words people naturally put between day names: "lunes a viernes", "sat and sun".
_RANGE_WORDS = frozenset({"-", "–", "a", "to"})
_LIST_WORDS = frozenset({",", "y", "and"})
_ALWAYS = frozenset({"24/7", "24x7"})
_DAY_TWICE = N_("The day “{day}” is given more than once (again in “{part}”); give each day's hours once.")

# Any other stray character becomes its own token so it is reported, not silently dropped.
_DAY_TOKEN = re.compile(r"[^\W\d_]+|\S")
_TIME_RANGE = re.compile(r"(\d{1,2})(?::(\d{2}))?\s*[-–]\s*(\d{1,2})(?::(\d{2}))?")


@dataclass(frozen=True)
class WeeklyHours:
    """Opening intervals for each weekday (0 = Monday .. 6 = Sunday).

    Each day holds ``(start_minute, end_minute)`` pairs, sorted, within 0..1440
    (1440 is "24:00"), with a gap between consecutive intervals: touching intervals
    are merged by the parser so that every schedule has exactly one representation
    and equality means "same opening hours". 24/7 is every day ``((0, 1440),)``.
    """

    days: tuple[DayIntervals, ...]

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise ValueError(f"WeeklyHours needs 7 days, got {len(self.days)}")
        for day in self.days:
            previous_end = -1
            for start, end in day:
                if not (0 <= start < end <= MINUTES_PER_DAY) or start <= previous_end:
                    raise ValueError(f"invalid or non-canonical intervals {day!r}")
                previous_end = end
        if not any(self.days):
            raise ValueError("WeeklyHours must be open at least once a week")

    @classmethod
    def always(cls) -> WeeklyHours:
        """Open around the clock, every day (24/7)."""
        return cls((((0, MINUTES_PER_DAY),),) * 7)

    @property
    def is_always_open(self) -> bool:
        """True for 24/7."""
        return all(day == ((0, MINUTES_PER_DAY),) for day in self.days)

    def intervals(self, weekday: int) -> DayIntervals:
        """The opening intervals of ``weekday`` (0 = Monday), in minutes after midnight."""
        return self.days[weekday]

    @property
    def minutes_per_week(self) -> int:
        """Total open minutes in a (holiday-free, DST-free) week."""
        return sum(end - start for day in self.days for start, end in day)


def parse_hours(text: str) -> WeeklyHours:
    """Parse business hours such as ``mon-fri 09:00-18:00; sat 10:00-13:00`` or ``24/7``.

    Parts are separated by ``;`` (or new lines); each part is a list of days (names,
    ``a-b`` ranges, comma lists; English or Spanish, any case, accents optional)
    followed by comma-separated ``HH:MM-HH:MM`` ranges. Raises :class:`UserError`
    naming the offending fragment.
    """
    stripped = text.strip()
    if stripped.lower().replace(" ", "") in _ALWAYS:
        return WeeklyHours.always()
    days: list[list[Interval]] = [[] for _ in range(7)]
    seen: set[int] = set()
    for part in (p.strip() for p in re.split(r"[;\n]", stripped)):
        if not part:
            continue
        weekdays, intervals = _parse_part(part)
        for weekday, token in weekdays:
            if weekday in seen:
                raise UserError(_DAY_TWICE, day=token, part=part)
            seen.add(weekday)
            days[weekday] = list(intervals)
    if not seen:
        raise UserError(N_("No opening hours given. Write them like “mon-fri 09:00-18:00” or “24/7”."))
    return WeeklyHours(tuple(tuple(day) for day in days))


def _parse_part(part: str) -> tuple[list[tuple[int, str]], DayIntervals]:
    """One ``days times`` part -> ([(weekday, token as typed)], merged intervals)."""
    first_digit = re.search(r"\d", part)
    day_text = part[: first_digit.start()] if first_digit else part
    time_text = part[first_digit.start() :] if first_digit else ""
    if not day_text.strip():
        raise UserError(
            N_("“{part}” has opening times but no days; start with the days, e.g. “mon-fri 09:00-18:00”."),
            part=part,
        )
    if not time_text.strip():
        raise UserError(N_("“{part}” has days but no opening times; add a range such as “09:00-18:00”."), part=part)
    return _parse_days(day_text, part), _parse_times(time_text, part)


def _day_index(token: str, part: str) -> int:
    plain = unicodedata.normalize("NFKD", token.lower()).encode("ascii", "ignore").decode()
    index = _DAY_NAMES.get(plain.rstrip("."))
    if index is None:
        raise UserError(
            N_(
                "Unknown day “{day}” in “{part}”. Use mon, tue, wed, thu, fri, sat, sun "
                "(or lun, mar, mié, jue, vie, sáb, dom)."
            ),
            day=token,
            part=part,
        )
    return index


def _parse_days(day_text: str, part: str) -> list[tuple[int, str]]:
    """``mon-wed, fri`` -> [(0, "mon"), (1, "mon-wed"), (2, "mon-wed"), (4, "fri")]."""
    tokens = _DAY_TOKEN.findall(day_text.replace(".", " "))
    result: list[tuple[int, str]] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.lower() in _LIST_WORDS:
            i += 1
            continue
        if token.lower() in _RANGE_WORDS:
            raise UserError(
                N_("Cannot read the days in “{part}”; write them like “mon-fri” or “mon,wed,fri”."), part=part
            )
        start = _day_index(token, part)
        if i + 1 < len(tokens) and tokens[i + 1].lower() in _RANGE_WORDS:
            if i + 2 >= len(tokens):
                raise UserError(
                    N_("Cannot read the days in “{part}”; write them like “mon-fri” or “mon,wed,fri”."),
                    part=part,
                )
            last_token = tokens[i + 2]
            end = _day_index(last_token, part)
            label = f"{token}-{last_token}"
            if end < start:
                raise UserError(
                    N_("The day range “{range}” wraps past Sunday; write it as “{fixed}”."),
                    range=label,
                    fixed=f"{token}-sun,mon-{last_token}",
                )
            result.extend((day, label) for day in range(start, end + 1))
            i += 3
        else:
            result.append((start, token))
            i += 1
    repeated = _first_repeat([day for day, _ in result])
    if repeated is not None:
        token = next(tok for day, tok in result if day == repeated)
        raise UserError(_DAY_TWICE, day=token, part=part)
    return result


def _first_repeat(values: list[int]) -> int | None:
    seen: set[int] = set()
    for value in values:
        if value in seen:
            return value
        seen.add(value)
    return None


def _minute(hour: str, minute: str | None, piece: str, part: str) -> int:
    h, m = int(hour), int(minute or 0)
    if m >= 60 or h > 24 or (h == 24 and m):
        raise UserError(
            N_("“{range}” in “{part}” has an invalid time; use times from 00:00 to 24:00."),
            range=piece,
            part=part,
        )
    return h * 60 + m


def _parse_times(time_text: str, part: str) -> DayIntervals:
    """``9:00-14:00, 16:00-19:00`` -> ((540, 840), (960, 1140)); touching ranges merge."""
    ranges: list[tuple[int, int, str]] = []
    for raw in time_text.split(","):
        piece = raw.strip()
        if not piece:
            continue  # a stray trailing comma is harmless
        match = _TIME_RANGE.fullmatch(piece)
        if not match:
            raise UserError(
                N_("Cannot read the time range “{range}” in “{part}”; write it like “09:00-18:00”."),
                range=piece,
                part=part,
            )
        start = _minute(match[1], match[2], piece, part)
        end = _minute(match[3], match[4], piece, part)
        if end <= start:
            raise UserError(
                N_(
                    "The time range “{range}” in “{part}” does not end after it starts; "
                    "ranges past midnight must be split, e.g. “22:00-24:00” and “00:00-02:00” the next day."
                ),
                range=piece,
                part=part,
            )
        ranges.append((start, end, piece))
    ranges.sort()
    merged: list[Interval] = []
    for index, (start, end, piece) in enumerate(ranges):
        if merged and start < merged[-1][1]:
            raise UserError(
                N_("The time ranges “{first}” and “{second}” overlap in “{part}”."),
                first=ranges[index - 1][2],
                second=piece,
                part=part,
            )
        if merged and start == merged[-1][1]:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def format_hours(hours: WeeklyHours) -> str:
    """Canonical compact English form, e.g. ``mon-fri 09:00-18:00; sat 10:00-13:00`` or ``24/7``.

    Consecutive days with identical intervals are grouped; closed days are omitted.
    """
    if hours.is_always_open:
        return "24/7"
    parts: list[str] = []
    day = 0
    while day < 7:
        intervals = hours.days[day]
        last = day
        while last + 1 < 7 and hours.days[last + 1] == intervals:
            last += 1
        if intervals:
            label = DAY_KEYS[day] if last == day else f"{DAY_KEYS[day]}-{DAY_KEYS[last]}"
            times = ",".join(f"{_clock(s)}-{_clock(e)}" for s, e in intervals)
            parts.append(f"{label} {times}")
        day = last + 1
    return "; ".join(parts)


def to_json(hours: WeeklyHours) -> dict[str, list[list[int]]]:
    """JSON-able form for storage: ``{"mon": [[540, 1080]], ...}``; closed days are omitted."""
    return {DAY_KEYS[i]: [[s, e] for s, e in day] for i, day in enumerate(hours.days) if day}


def from_json(data: Any) -> WeeklyHours:
    """Inverse of :func:`to_json`. Raises ``ValueError`` on malformed data (a storage bug,
    not something the user typed)."""
    if not isinstance(data, dict) or not set(data) <= set(DAY_KEYS):
        raise ValueError(f"not a stored WeeklyHours: {data!r}")
    try:
        days = tuple(tuple((int(s), int(e)) for s, e in data.get(key, ())) for key in DAY_KEYS)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not a stored WeeklyHours: {data!r}") from exc
    return WeeklyHours(days)
