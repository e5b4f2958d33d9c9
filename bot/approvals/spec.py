"""A draft's fields: validation, and the inline ``/nexo draft CLIENT [opt:value ...] TEXT`` syntax.

The inline command and the modal share these validators; each bad value raises a
:class:`~bot.errors.UserError` naming the field it is about, so a modal can point
at the right input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.approvals import networks
from bot.errors import UserError
from bot.i18n import N_

if TYPE_CHECKING:
    from bot.approvals.media import MediaItem

TEXT_MAX = 40_000  # as long as a Slack message
CATEGORY_MAX = 60
LINKS_MAX = 20
NOTE_MAX = 2_000
# Known networks, their names and aliases: the table in bot.approvals.networks (re-exported for the forms).
NETWORKS = networks.NAMES
NETWORK_LABELS = networks.LABELS
OPTION_KEYS = {
    "network": "network",
    "networks": "network",
    "red": "network",
    "redes": "network",
    "at": "at",
    "when": "at",
    "publish": "at",
    "fecha": "at",
    "cuando": "at",
    "cuándo": "at",
    "category": "category",
    "cat": "category",
    "categoria": "category",
    "categoría": "category",
    "media": "media",
    "link": "media",
    "links": "media",
    "enlace": "media",
    "enlaces": "media",
    "note": "note",
    "nota": "note",
}
# Phones and Macs type curly quotes: a quoted client name or option value may use either kind.
_CLOSING_QUOTE = {'"': '"', "“": "”", "«": "»"}
_OPTION = re.compile(r'([A-Za-záéíóúñ]+):("[^"]*"|“[^”]*”|\S+)')
_URL = re.compile(r"^https?://[^\s<>\"]+$")


@dataclass
class DraftFields:
    """What a CM writes: the same shape for a new draft and a revision."""

    text: str
    networks: list[str] = field(default_factory=list)
    publish_at: datetime | None = None
    category: str | None = None
    media_links: list[str] = field(default_factory=list)
    internal_note: str | None = None
    media: list[MediaItem] = field(default_factory=list)  # Slack files, checked (bot.approvals.media)


def check_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise UserError(N_("The post needs some text."), field="text")
    if len(text) > TEXT_MAX:
        raise UserError(
            N_("The text is too long ({length} characters; at most {limit})."),
            field="text",
            length=len(text),
            limit=TEXT_MAX,
        )
    return text


def parse_networks(raw: str) -> list[str]:
    """``instagram,linkedin`` (commas, slashes or spaces; names or aliases such as ``twitter``) -> canonical
    names; an unknown name is refused, naming it and listing the known ones."""
    chosen: list[str] = []
    for part in (p.strip().lower() for p in re.split(r"[,|/\s]+", raw) if p.strip()):
        name = networks.canonical(part)
        if name is None:
            raise UserError(
                N_("network: “{value}” is not a network I know. Use: {networks}."),
                field="networks",
                value=part[:30],
                networks=", ".join(NETWORKS),
            )
        if name not in chosen:
            chosen.append(name)
    return chosen


def parse_publish_at(raw: str, tz: str) -> datetime:
    """``2026-12-01T10:00`` (or with a space) in the client's time zone, as aware UTC."""
    text = raw.strip().strip('"').replace(" ", "T", 1)
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(
            N_("at: “{value}” is not a date and time; write it like 2026-12-01T10:00 (the client's time zone)."),
            field="publish_at",
            value=raw[:40],
        ) from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=ZoneInfo(tz))
    return local.astimezone(ZoneInfo("UTC"))


def publish_at_from_pickers(day: str | None, clock: str | None, tz: str) -> datetime | None:
    """The modal's date and time pickers (both in the client's time zone), or None when both are empty."""
    if not day and not clock:
        return None
    if not day or not clock:
        raise UserError(N_("Pick both a date and a time for publishing, or neither."), field="publish_at")
    try:
        local = datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), tzinfo=ZoneInfo(tz))
    except ValueError:
        raise UserError(
            N_("at: “{value}” is not a date and time; write it like 2026-12-01T10:00 (the client's time zone)."),
            field="publish_at",
            value=f"{day} {clock}"[:40],
        ) from None
    return local.astimezone(ZoneInfo("UTC"))


def check_publish_at(publish_at: datetime | None, now: datetime) -> datetime | None:
    if publish_at is not None and publish_at <= now:
        raise UserError(N_("The publish time has already passed; pick a time in the future."), field="publish_at")
    return publish_at


def parse_category(raw: str | None) -> str | None:
    value = " ".join((raw or "").strip().strip('"').split())
    if len(value) > CATEGORY_MAX:
        raise UserError(
            N_("The category is too long (at most {limit} characters)."), field="category", limit=CATEGORY_MAX
        )
    return value or None


def parse_links(raw: str | None) -> list[str]:
    links: list[str] = []
    for part in (p for p in re.split(r"[\s,]+", (raw or "").strip()) if p):
        part = part.strip("<>")
        if not _URL.match(part) or len(part) > 2000:
            raise UserError(
                N_("“{value}” is not a link; paste links starting with https://."), field="media", value=part[:60]
            )
        if part not in links:
            links.append(part)
    if len(links) > LINKS_MAX:
        raise UserError(
            N_("Too many media links ({count}; at most {limit})."), field="media", count=len(links), limit=LINKS_MAX
        )
    return links


def parse_note(raw: str | None) -> str | None:
    value = (raw or "").strip().strip('"')
    if len(value) > NOTE_MAX:
        raise UserError(N_("The internal note is too long (at most {limit} characters)."), field="note", limit=NOTE_MAX)
    return value or None


# -- the inline command -----------------------------------------------------------------------------
def split_command(args: str) -> tuple[str, dict[str, str], str]:
    """``CLIENT [opt:value ...] TEXT`` -> (client, {option: raw value}, text).

    The client is one word or a quoted name; options are recognised only while they
    lead, so the text itself may contain colons; the text keeps its line breaks.
    """
    rest = args.strip()
    if rest[:1] in _CLOSING_QUOTE:
        end = rest.find(_CLOSING_QUOTE[rest[0]], 1)
        if end < 0:
            raise UserError(N_("A quote is not closed in “{text}”."), text=rest[:80])
        client, rest = rest[1:end], rest[end + 1 :]
    else:
        client = re.split(r"\s", rest, maxsplit=1)[0]
        rest = rest[len(client) :]
    options: dict[str, str] = {}
    while True:
        stripped = rest.lstrip()
        match = _OPTION.match(stripped)
        if match is None or match.group(1).lower() not in OPTION_KEYS:
            break
        key = OPTION_KEYS[match.group(1).lower()]
        if key in options:
            raise UserError(N_("The option “{option}:” is given twice."), option=key)
        options[key] = match.group(2).strip('"“”')
        rest = stripped[match.end() :]
    return client.strip(), options, rest.strip()


def fields_from_command(options: dict[str, str], text: str, *, tz: str, now: datetime) -> DraftFields:
    """Validated fields of an inline ``/nexo draft``."""
    publish_at = parse_publish_at(options["at"], tz) if "at" in options else None
    return DraftFields(
        text=check_text(text),
        networks=parse_networks(options.get("network", "")),
        publish_at=check_publish_at(publish_at, now),
        category=parse_category(options.get("category")),
        media_links=parse_links(options.get("media")),
        internal_note=parse_note(options.get("note")),
    )
