"""Durations as users type them (``90m``, ``4h``, ``1h30m``, ``2d``) and as we show them.

A day is always 24 hours here: whether those hours are business hours or wall-clock
hours is the calendar's business, not the parser's.
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot.errors import UserError
from bot.i18n.translator import N_

MAX_DURATION = timedelta(days=90)

_UNITS: dict[str, str] = {}
for _unit, _words in {
    "d": ("d", "day", "days", "dia", "dias", "día", "días"),
    "h": ("h", "hr", "hrs", "hour", "hours", "hora", "horas"),
    "m": ("m", "min", "mins", "minute", "minutes", "minuto", "minutos"),
}.items():
    for _word in _words:
        _UNITS[_word] = _unit

_MINUTES = {"d": 24 * 60, "h": 60, "m": 1}
_TERM = re.compile(r"(\d+)\s*([^\W\d_]+)\s*")


def parse_duration(text: str) -> timedelta:
    """Parse ``90m``, ``4h``, ``1h30m``, ``30min``, ``2hrs``, ``2d`` (case-insensitive).

    Each unit may appear once; a day is 24 hours. Raises :class:`UserError` for
    unreadable input, for zero or negative durations and above 90 days.
    """
    raw = text.strip()
    body = raw.lower()
    negative = body.startswith("-")
    body = body.lstrip("-+").strip()
    minutes = _read_minutes(body)
    if minutes is None:
        raise UserError(N_("Cannot read the duration “{value}”; write it like “4h”, “90m” or “1h30m”."), value=raw)
    if negative or minutes == 0:
        raise UserError(N_("The duration “{value}” must be longer than zero."), value=raw)
    if minutes > MAX_DURATION // timedelta(minutes=1):
        raise UserError(
            N_("The duration “{value}” is too long; the maximum is {maximum}."),
            value=raw,
            maximum=format_duration(MAX_DURATION),
        )
    return timedelta(minutes=minutes)


def _read_minutes(body: str) -> int | None:
    """Total minutes in ``body`` or None if it is not a sequence of distinct ``<n><unit>`` terms."""
    position, total, used = 0, 0, set()
    while position < len(body):
        match = _TERM.match(body, position)
        unit = _UNITS.get(match[2]) if match else None
        if match is None or unit is None or unit in used:
            return None
        used.add(unit)
        total += int(match[1]) * _MINUTES[unit]
        position = match.end()
    return total if used else None


def format_duration(duration: timedelta) -> str:
    """Compact form that :func:`parse_duration` reads back: ``4h``, ``1h30m``, ``2d3h``, ``0m``.

    Seconds are rounded to the nearest minute (this is for display). Negative
    durations raise ``ValueError``: callers decide how to show "overdue".
    """
    if duration < timedelta(0):
        raise ValueError(f"negative duration {duration!r}")
    minutes = round(duration / timedelta(minutes=1))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    text = "".join(f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (mins, "m")) if n)
    return text or "0m"
