"""Plan values: defaults, validation, and the inline ``/nexo client add`` syntax.

Everything here works on plain dicts keyed by :class:`~bot.plans.models.Plan`
column names, so the inline command, the modal and edits share one set of
validators, and the history is a diff of two dicts. Every bad value raises a
:class:`~bot.errors.UserError` that quotes what was wrong.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.errors import UserError
from bot.i18n import N_, SUPPORTED_LANGUAGES
from bot.plans import hours as hours_mod
from bot.plans.calendar import validate_holidays, validate_timezone
from bot.plans.durations import format_duration, parse_duration

USER_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
CHANNEL_MENTION = re.compile(r"^<#([CG][A-Z0-9]+)(?:\|[^>]*)?>$")
RAW_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
NAME_MAX = 60

# Editable fields, in display order (Plan column names).
PLAN_FIELDS = (
    "reference_user",
    "backups",
    "account_lead",
    "community_managers",
    "channel",
    "language",
    "timezone",
    "hours",
    "holiday_country",
    "holiday_subdiv",
    "closed_dates",
    "response_window_minutes",
    "crisis_window_minutes",
    "remind_at_percent",
    "escalate_backups_percent",
    "escalate_lead_percent",
    "overdue_repeat_minutes",
    "overdue_repeat_limit",
    "publish_margin_minutes",
    "internal_review",
    "require_all_reviewers",
    "lead_can_decide",
    "pre_approved_categories",
    "crisis_manual",
    "crisis_extra_pages",
    "crisis_repeat_minutes",
    "note",
)

DEFAULT_HOURS = "mon-fri 09:00-18:00"


def default_values(*, language: str = "en", timezone: str = "UTC") -> dict[str, Any]:
    """A new plan's values before the user's choices (the common agency contract)."""
    return {
        "reference_user": None,
        "backups": [],
        "account_lead": None,
        "community_managers": [],
        "channel": None,
        "language": language if language in SUPPORTED_LANGUAGES else "en",
        "timezone": timezone,
        "hours": hours_mod.to_json(hours_mod.parse_hours(DEFAULT_HOURS)),
        "holiday_country": None,
        "holiday_subdiv": None,
        "closed_dates": [],
        "response_window_minutes": 240,
        "crisis_window_minutes": 30,
        "remind_at_percent": 75,
        "escalate_backups_percent": 0,
        "escalate_lead_percent": 50,
        "overdue_repeat_minutes": None,
        "overdue_repeat_limit": 3,
        "publish_margin_minutes": 60,
        "internal_review": False,
        "require_all_reviewers": False,
        "lead_can_decide": False,
        "pre_approved_categories": [],
        "crisis_manual": [],
        "crisis_extra_pages": [],
        "crisis_repeat_minutes": 5,
        "note": None,
    }


# -- single values ---------------------------------------------------------------------------------
def parse_user(raw: str, *, option: str) -> str:
    """A user id from an escaped mention (``<@U123|ana>``) or a raw id."""
    raw = raw.strip()
    m = USER_MENTION.match(raw)
    if m:
        return m.group(1)
    if RAW_ID.match(raw):
        return raw
    if raw.startswith("<!subteam^"):
        raise UserError(N_("{option}: “{value}” is a user group; name one person."), option=option, value=raw)
    if CHANNEL_MENTION.match(raw):
        raise UserError(N_("{option}: “{value}” is a channel; name one person."), option=option, value=raw)
    raise UserError(
        N_("{option}: “{value}” is not a Slack user. Pick the person from the @ menu so Slack makes it a mention."),
        option=option,
        value=raw[:60],
    )


def parse_users(raw: str, *, option: str) -> list[str]:
    parts = [p for p in re.split(r"[\s,]+", raw.strip()) if p]
    users: list[str] = []
    for part in parts:
        user = parse_user(part, option=option)
        if user not in users:
            users.append(user)
    return users


def parse_channel(raw: str) -> str | None:
    raw = raw.strip()
    if raw.lower() in ("", "none", "dm", "ninguno"):
        return None
    m = CHANNEL_MENTION.match(raw)
    if m:
        return m.group(1)
    if re.match(r"^[CG][A-Z0-9]{2,}$", raw):
        return raw
    raise UserError(
        N_("channel: “{value}” is not a channel. Type # and pick it so Slack makes it a link."), value=raw[:60]
    )


def parse_window_minutes(raw: str, *, option: str) -> int:
    try:
        minutes = int(parse_duration(raw).total_seconds() // 60)
    except UserError as e:
        raise UserError(N_("{option}: {problem}"), option=option, problem=e) from None
    if minutes < 1:
        raise UserError(N_("{option}: the window must be at least 1 minute."), option=option)
    return minutes


def parse_percent(raw: str, *, option: str, low: int, high: int) -> int:
    value = raw.strip().rstrip("%").strip()
    if not value.isdigit() or not low <= int(value) <= high:
        raise UserError(
            N_("{option}: “{value}” must be a whole number from {low} to {high}."),
            option=option,
            value=raw[:20],
            low=low,
            high=high,
        )
    return int(value)


# Bounds of the chase and paging settings (see README, "Plan settings").
OVERDUE_REPEAT_MIN, OVERDUE_REPEAT_MAX = 15, 5 * 24 * 60  # business minutes between overdue reminders
OVERDUE_LIMIT_MAX = 10  # overdue reminders after the first one
CRISIS_REPEAT_MIN, CRISIS_REPEAT_MAX = 1, 60  # minutes between crisis pages
WINDOW_WORDS = ("window", "ventana", "default", "")


def parse_overdue_repeat(raw: str, *, option: str = "overdue-repeat") -> int | None:
    """How often an overdue request is chased again: a duration, or ``window`` (None: one response window)."""
    if raw.strip().lower() in WINDOW_WORDS:
        return None
    return _bounded_minutes(raw, option=option, low=OVERDUE_REPEAT_MIN, high=OVERDUE_REPEAT_MAX)


def parse_crisis_repeat(raw: str, *, option: str = "crisis-repeat") -> int:
    """How often unacknowledged crisis pages ring again."""
    return _bounded_minutes(raw, option=option, low=CRISIS_REPEAT_MIN, high=CRISIS_REPEAT_MAX)


def _bounded_minutes(raw: str, *, option: str, low: int, high: int) -> int:
    minutes = parse_window_minutes(raw, option=option)
    if not low <= minutes <= high:
        raise UserError(
            N_("{option}: “{value}” must be from {low} to {high}."),
            option=option,
            value=raw[:20],
            low=format_duration(timedelta(minutes=low)),
            high=format_duration(timedelta(minutes=high)),
        )
    return minutes


def parse_count(raw: str, *, option: str, low: int, high: int) -> int:
    """A whole number of times, within bounds."""
    value = raw.strip()
    if not value.isdigit() or not low <= int(value) <= high:
        raise UserError(
            N_("{option}: “{value}” must be a whole number from {low} to {high}."),
            option=option,
            value=raw[:20],
            low=low,
            high=high,
        )
    return int(value)


def parse_language(raw: str) -> str:
    value = raw.strip().lower()
    aliases = {
        "es": "es",
        "spanish": "es",
        "español": "es",
        "espanol": "es",
        "en": "en",
        "english": "en",
        "inglés": "en",
        "ingles": "en",
    }
    if value not in aliases:
        raise UserError(N_("lang: “{value}” is not available; use es or en."), value=raw[:20])
    return aliases[value]


def parse_choice(raw: str, *, option: str, choices: dict[str, bool]) -> bool:
    """One of a few named choices (``review:internal``, ``reviewers:all``)."""
    value = raw.strip().lower()
    if value not in choices:
        raise UserError(
            N_("{option}: “{value}” is not one of {choices}."),
            option=option,
            value=raw[:20],
            choices=", ".join(choices),
        )
    return choices[value]


def parse_dates(raw: str) -> list[str]:
    out: list[str] = []
    for part in (p for p in re.split(r"[\s,;]+", raw.strip()) if p):
        try:
            out.append(date.fromisoformat(part).isoformat())
        except ValueError:
            raise UserError(N_("closed: “{value}” is not a date; write it as 2026-12-24."), value=part[:20]) from None
    return sorted(set(out))


def parse_lines(raw: str) -> list[str]:
    """One item per line (or separated by ``|``), blanks dropped."""
    items = [line.strip(" -•*\t") for line in re.split(r"[\n|]", raw)]
    return [i[:300] for i in items if i][:50]


def parse_categories(raw: str) -> list[str]:
    items = [c.strip() for c in re.split(r"[\n,|]", raw)]
    seen: dict[str, str] = {}
    for item in items:
        if item and item.lower() not in seen:
            seen[item.lower()] = item[:60]
    return list(seen.values())[:30]


def holiday_values(raw: str) -> dict[str, Any]:
    raw = raw.strip()
    if raw.lower() in ("", "none", "ninguno"):
        return {"holiday_country": None, "holiday_subdiv": None}
    country, subdiv = validate_holidays(raw)
    return {"holiday_country": country, "holiday_subdiv": subdiv}


def validate_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise UserError(N_("Give the client a name, e.g. `/nexo client add Acme ref:@ana`."), field="name")
    if len(name) > NAME_MAX:
        raise UserError(
            N_("The client name is too long ({length} characters; at most {limit})."),
            field="name",
            length=len(name),
            limit=NAME_MAX,
        )
    if any(ch in name for ch in "<>*`|"):
        raise UserError(N_("The client name “{name}” can't contain < > * ` or |."), field="name", name=name)
    return name


# -- the inline syntax ------------------------------------------------------------------------------
def option_values(option: str, raw: str) -> dict[str, Any]:
    """One option's raw text (``window``: "4h") as the plan columns it sets (canonical option names)."""
    if option == "ref":
        return {"reference_user": parse_user(raw, option="ref")}
    if option == "backup":
        return {"backups": parse_users(raw, option="backup")}
    if option == "lead":
        return {"account_lead": parse_user(raw, option="lead")}
    if option == "cm":
        return {"community_managers": parse_users(raw, option="cm")}
    if option == "channel":
        return {"channel": parse_channel(raw)}
    if option == "tz":
        return {"timezone": validate_timezone(raw.strip())}
    if option == "hours":
        return {"hours": hours_mod.to_json(hours_mod.parse_hours(raw))}
    if option == "holidays":
        return holiday_values(raw)
    if option == "closed":
        return {"closed_dates": parse_dates(raw)}
    if option == "window":
        return {"response_window_minutes": parse_window_minutes(raw, option="window")}
    if option == "crisis-window":
        return {"crisis_window_minutes": parse_window_minutes(raw, option="crisis-window")}
    if option == "remind":
        return {"remind_at_percent": parse_percent(raw, option="remind", low=1, high=99)}
    if option == "margin":
        return {"publish_margin_minutes": parse_window_minutes(raw, option="margin")}
    if option == "preapproved":
        return {"pre_approved_categories": parse_categories(raw)}
    if option == "lang":
        return {"language": parse_language(raw)}
    if option == "review":
        return {"internal_review": parse_choice(raw, option="review", choices={"internal": True, "none": False})}
    if option == "reviewers":
        return {"require_all_reviewers": parse_choice(raw, option="reviewers", choices={"all": True, "any": False})}
    if option == "lead-decides":
        return {"lead_can_decide": parse_choice(raw, option="lead-decides", choices=YES_NO)}
    if option == "overdue-repeat":
        return {"overdue_repeat_minutes": parse_overdue_repeat(raw)}
    if option == "overdue-limit":
        return {"overdue_repeat_limit": parse_count(raw, option="overdue-limit", low=0, high=OVERDUE_LIMIT_MAX)}
    if option == "crisis-repeat":
        return {"crisis_repeat_minutes": parse_crisis_repeat(raw)}
    raise AssertionError(option)


YES_NO = {"yes": True, "no": False, "si": True, "sí": True, "on": True, "off": False}
OPTIONS = (
    "ref",
    "backup",
    "lead",
    "cm",
    "channel",
    "tz",
    "hours",
    "holidays",
    "closed",
    "window",
    "crisis-window",
    "remind",
    "margin",
    "preapproved",
    "lang",
    "review",
    "reviewers",
    "lead-decides",
    "overdue-repeat",
    "overdue-limit",
    "crisis-repeat",
)
ALIASES = {
    "reference": "ref",
    "backups": "backup",
    "cms": "cm",
    "chan": "channel",
    "timezone": "tz",
    "holiday": "holidays",
    "crisis": "crisis-window",
    "crisiswindow": "crisis-window",
    "pre-approved": "preapproved",
    "language": "lang",
    # Spanish
    "suplente": "backup",
    "responsable": "lead",
    "canal": "channel",
    "zona": "tz",
    "horario": "hours",
    "festivos": "holidays",
    "cerrado": "closed",
    "ventana": "window",
    "ventana-crisis": "crisis-window",
    "recordar": "remind",
    "margen": "margin",
    "preaprobadas": "preapproved",
    "idioma": "lang",
    "revision": "review",
    "revisión": "review",
    "revisores": "reviewers",
    "repetir": "overdue-repeat",
    "repeticiones": "overdue-limit",
    "repetir-crisis": "crisis-repeat",
    "responsable-decide": "lead-decides",
}
LIST_OPTIONS = {"backup", "cm", "closed"}
_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'"})


def split_words(text: str) -> list[str]:
    """Shell-like split that also accepts the curly quotes phones and Macs type."""
    try:
        return shlex.split(text.translate(_SMART_QUOTES))
    except ValueError:
        raise UserError(N_("A quote is not closed in “{text}”."), text=text[:80]) from None


def _option_of(word: str) -> tuple[str, str] | None:
    if ":" not in word or word.startswith("<"):
        return None
    key, value = word.split(":", 1)
    key = key.lower()
    if not key or not re.match(r"^[a-záéíóúñ-]+$", key):
        return None
    return key, value


def parse_inline(text: str) -> tuple[str, dict[str, Any]]:
    """``NAME key:value ...`` -> (name, {column: value}). Raises UserError on the first bad value."""
    words = split_words(text)
    name_words: list[str] = []
    raw: dict[str, list[str]] = {}
    last_list: str | None = None
    for word in words:
        opt = _option_of(word)
        if opt is None:
            if raw and last_list and USER_MENTION.match(word):
                raw[last_list].append(word)  # backup:@a @b
                continue
            if raw:
                raise UserError(
                    N_("“{value}” doesn't belong to any option. Write it as option:value, e.g. backup:@name."),
                    value=word[:60],
                )
            name_words.append(word)
            continue
        key, value = opt
        canonical = ALIASES.get(key, key)
        if canonical not in OPTIONS:
            raise UserError(
                N_("Unknown option “{option}:”. Options: {options}."), option=key, options=", ".join(OPTIONS)
            )
        if canonical in raw and canonical not in LIST_OPTIONS:
            raise UserError(N_("The option “{option}:” is given twice."), option=canonical)
        raw.setdefault(canonical, []).append(value)
        last_list = canonical if canonical in LIST_OPTIONS else None
    values: dict[str, Any] = {}
    for option, parts in raw.items():
        values.update(option_values(option, " ".join(parts)))
    return " ".join(name_words), values


def check_plan(values: dict[str, Any]) -> dict[str, Any]:
    """Cross-field rules for a complete plan; returns the values tidied up."""
    if not values.get("reference_user"):
        raise UserError(N_("Every client needs a reference person: add ref:@name."), field="reference_user")
    ref = values["reference_user"]
    values["backups"] = [b for b in values.get("backups", []) if b != ref]
    if values["crisis_repeat_minutes"] > values["crisis_window_minutes"]:
        values["crisis_repeat_minutes"] = values["crisis_window_minutes"]
    if values["escalate_lead_percent"] < values["escalate_backups_percent"]:
        raise UserError(
            N_("The account lead is escalated to after the backups: their step can't come first."),
            field="escalate_lead_percent",
        )
    return values


# -- the publishing webhook ------------------------------------------------------------------------
# Set with ``webhook:`` on ``/nexo client add`` or with ``/nexo client webhook``. Not a plan value: it
# holds a secret, and a plan's history is shown to everyone who can see the plan.
WEBHOOK_URL_KEYS = ("webhook", "url")
WEBHOOK_SECRET_KEYS = ("webhook-secret", "webhook_secret", "secret")
WEBHOOK_OFF_WORDS = ("off", "none", "remove", "quitar", "ninguno")
_INLINE_WEBHOOK = re.compile(r"(?:^|\s)(webhook|webhook-secret|webhook_secret):(\S+)", re.IGNORECASE)


@dataclass
class WebhookOptions:
    """What a command says of the webhook: its address, its signing secret, or ``off``."""

    url: str | None = None
    secret: str | None = None
    off: bool = False


def split_webhook_options(text: str) -> tuple[str, WebhookOptions]:
    """Take ``webhook:`` and ``webhook-secret:`` out of a ``/nexo client add`` line (the plan parser
    does not know them: they are not part of the plan's history, which would leak the secret)."""
    options = WebhookOptions()
    for key, value in _INLINE_WEBHOOK.findall(text):
        if key.lower() == "webhook":
            options.url = value
        else:
            options.secret = value
    return _INLINE_WEBHOOK.sub(" ", text).strip(), options


def parse_webhook_command(text: str) -> tuple[str, WebhookOptions]:
    """``NAME [webhook:URL] [webhook-secret:S] | off`` -> (the client's name, the options)."""
    words: list[str] = []
    options = WebhookOptions()
    for word in split_words(text):
        key, sep, value = word.partition(":")
        if sep and key.lower() in WEBHOOK_URL_KEYS and value and not value.startswith("//"):
            options.url = value
        elif sep and key.lower() in WEBHOOK_SECRET_KEYS:
            options.secret = value
        elif word.lower().startswith(("https://", "http://")):
            options.url = word
        elif word.lower() in WEBHOOK_OFF_WORDS and words:
            options.off = True
        else:
            words.append(word)
    return " ".join(words), options
