"""What waits on one person, across domains: the shape each domain hands to the Home tab and ``/nexo pending``.

Each domain lists its own items as :class:`Entry` values (a line, the buttons of the original message,
and how urgent it is); :func:`entry_blocks` lays them out within a block budget and says how many did
not fit. The buttons carry the same action ids and values as the message they stand for, so the
listener that runs is the one that runs for the message (it reads what it needs from the value).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.blockkit import actions, context, date_token, section
from bot.i18n import N_, Translator

BLOCK_PREFIX = "waiting_"  # + a running number: block ids are unique within a message or view


@dataclass(frozen=True)
class Entry:
    """One thing a person must act on. ``rank`` sorts first (crises 0, everything else 1), then ``due_at``."""

    due_at: datetime
    line: str
    buttons: list[dict[str, Any]] = field(default_factory=list)
    rank: int = 1


def due_state(due_at: datetime, promised_at: datetime | None, tz: str, now: datetime, t: Translator) -> str:
    """ "due …", "⚠️ overdue since …", or the reply the person promised, in Slack's date token (each reader
    sees their own zone; the fallback is the client's local time)."""
    if promised_at is not None:
        text = t(N_("you promised a reply by {time}"), time=date_token(promised_at, tz, t.language))
        return "⚠️ " + text if promised_at <= now else text
    when = date_token(due_at, tz, t.language)
    return "⚠️ " + t(N_("overdue since {time}"), time=when) if due_at <= now else t(N_("due {time}"), time=when)


def by_urgency(entries: list[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda e: (e.rank, e.due_at))


def entry_blocks(entries: list[Entry], t: Translator, *, max_blocks: int) -> list[dict[str, Any]]:
    """Each entry as a section and its buttons, most urgent first, in at most ``max_blocks`` blocks;
    a last context line says how many more there are."""
    blocks: list[dict[str, Any]] = []
    for shown, entry in enumerate(by_urgency(entries)):
        need = 1 + bool(entry.buttons)
        left = len(entries) - shown
        if len(blocks) + need + (1 if left > 1 else 0) > max_blocks:
            blocks.append(context(t(N_("…and {count} more."), count=left)))
            break
        n = len(blocks)
        blocks.append(section(entry.line, block_id=f"{BLOCK_PREFIX}{n}"))
        if entry.buttons:
            blocks.append(actions(entry.buttons, block_id=f"{BLOCK_PREFIX}{n + 1}"))
    return blocks
