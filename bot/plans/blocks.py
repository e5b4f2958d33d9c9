"""Block Kit for plans: the summary card, the client list, the add/edit modal, the webhook line.

Pure functions of domain objects and a translator, built with :mod:`bot.blockkit`; no Slack client here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.blockkit import (
    context,
    date_token,
    fields,
    input_block,
    mention,
    mentions,
    modal,
    plain,
    section,
    state_element,
    text_input,
    titled,
)
from bot.db import row_id
from bot.errors import UserError
from bot.i18n import N_, Translator
from bot.plans import ids
from bot.plans import spec as s
from bot.plans.durations import format_duration
from bot.plans.hours import format_hours, from_json
from bot.plans.models import Client, Plan

LANG_NAMES = {"en": "English", "es": "Español"}
FIELD_LABELS = {
    "reference_user": N_("Reference person"),
    "backups": N_("Backups"),
    "account_lead": N_("Account lead"),
    "community_managers": N_("Community managers"),
    "channel": N_("Client channel"),
    "language": N_("Language"),
    "timezone": N_("Time zone"),
    "hours": N_("Business hours"),
    "holiday_country": N_("Holidays"),
    "holiday_subdiv": N_("Holiday region"),
    "closed_dates": N_("Extra closed dates"),
    "response_window_minutes": N_("Response window"),
    "crisis_window_minutes": N_("Crisis window"),
    "remind_at_percent": N_("Reminder"),
    "escalate_backups_percent": N_("Escalate to backups"),
    "escalate_lead_percent": N_("Escalate to account lead"),
    "overdue_repeat_minutes": N_("Repeat while overdue"),
    "overdue_repeat_limit": N_("Repeat limit"),
    "publish_margin_minutes": N_("Safety margin before publishing"),
    "internal_review": N_("Internal review first"),
    "require_all_reviewers": N_("All reviewers must approve"),
    "lead_can_decide": N_("Account lead may decide when escalated"),
    "pre_approved_categories": N_("Pre-approved categories"),
    "crisis_manual": N_("Crisis manual"),
    "crisis_extra_pages": N_("Also page in a crisis"),
    "crisis_repeat_minutes": N_("Crisis page repeat"),
    "note": N_("Note"),
}


def minutes(value: int | None) -> str:
    """A number of minutes as a duration ("4h", "1h 30m"), a dash for none."""
    return format_duration(timedelta(minutes=value)) if value else "—"


def format_value(field: str, value: Any, t: Translator) -> str:
    """One plan value as a person reads it."""
    if value in (None, [], ""):
        return "—"
    if field in ("reference_user", "account_lead"):
        return mention(value)
    if field in ("backups", "community_managers", "crisis_extra_pages"):
        return mentions(value)
    if field == "channel":
        return f"<#{value}>"
    if field == "language":
        return LANG_NAMES.get(value, value)
    if field == "hours":
        return format_hours(from_json(value))
    if field.endswith("_minutes"):
        return minutes(value)
    if field.endswith("_percent"):
        return f"{value}%"
    if isinstance(value, bool):
        return t(N_("yes")) if value else t(N_("no"))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def plan_card(
    client: Client, plan: Plan, t: Translator, *, versions: list[Plan] | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """``/nexo client show``: the whole plan, then its recent history."""
    holidays = "—"
    if plan.holiday_country:
        holidays = plan.holiday_country + (f"-{plan.holiday_subdiv}" if plan.holiday_subdiv else "")
    window = minutes(plan.response_window_minutes)
    people = [
        (N_("Reference person"), mention(plan.reference_user)),
        (N_("Backups"), mentions(plan.backups)),
        (N_("Account lead"), mention(plan.account_lead)),
        (N_("Community managers"), mentions(plan.community_managers)),
        (N_("Client channel"), f"<#{plan.channel}>" if plan.channel else t(N_("direct messages"))),
        (N_("Language"), LANG_NAMES.get(plan.language, plan.language)),
    ]
    timing = [
        (N_("Time zone"), plan.timezone),
        (N_("Business hours"), format_hours(plan.weekly_hours)),
        (N_("Holidays"), holidays + (f" + {', '.join(plan.closed_dates)}" if plan.closed_dates else "")),
        (N_("Response window"), t(N_("{window} of business time"), window=window)),
        (N_("Reminder"), t(N_("at {percent}% of the window"), percent=plan.remind_at_percent)),
        (
            N_("Escalation"),
            t(
                N_("backups at due + {b}%, account lead at due + {l}%"),
                b=plan.escalate_backups_percent,
                l=plan.escalate_lead_percent,
            ),
        ),
        (
            N_("Repeat while overdue"),
            t(
                N_("every {every}; repeats: {count}"),
                every=minutes(plan.overdue_repeat_minutes or plan.response_window_minutes),
                count=plan.overdue_repeat_limit,
            ),
        ),
        (N_("Crisis window"), t(N_("{window}, around the clock"), window=minutes(plan.crisis_window_minutes))),
        (N_("Crisis page repeat"), minutes(plan.crisis_repeat_minutes)),
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"{client.name} ({client.ref_prefix})"[:150]}},
        fields([titled(t(label), value) for label, value in people]),
        fields([titled(t(label), value) for label, value in timing]),
    ]
    categories = ", ".join(plan.pre_approved_categories) or t(N_("none: every post needs approval"))
    blocks.append(section(titled(t(N_("Pre-approved categories")), categories)))
    manual = "\n".join(f"{i}. {step}" for i, step in enumerate(plan.crisis_manual, 1)) or t(N_("no steps yet"))
    blocks.append(section(titled(t(N_("Crisis manual")), manual)))
    blocks.append(context("\n".join(_history_line(p, t) for p in (versions or [plan])[:5])))
    text = t(N_("Plan for {client}, version {version}"), client=client.name, version=plan.version)
    return text, blocks


def _history_line(plan: Plan, t: Translator) -> str:
    when = date_token(plan.created_at, plan.timezone, t.language)
    if not plan.changes:
        return t(
            N_("v{version}: created by {who} on {when}"), version=plan.version, who=mention(plan.created_by), when=when
        )
    changed = ", ".join(t(FIELD_LABELS.get(c["field"], c["field"])) for c in plan.changes)
    return t(
        N_("v{version}: {who} changed {fields} on {when}"),
        version=plan.version,
        who=mention(plan.created_by),
        fields=changed,
        when=when,
    )


def change_summary(changes: list[Any], t: Translator) -> str:
    """What an edit changed, one line per field: ``Response window: 4h → 2h``."""
    return "\n".join(
        f"• {t(FIELD_LABELS.get(c.field, c.field))}: {format_value(c.field, c.old, t)} → "
        f"{format_value(c.field, c.new, t)}"
        for c in changes
    )


def client_list(clients: list[Client], t: Translator) -> tuple[str, list[dict[str, Any]]]:
    """``/nexo client list``: every client the reader may see, with its reference person and window."""
    if not clients:
        text = t(N_("No clients yet. Add one with `/nexo client add NAME ref:@person`."))
        return text, [section(text)]
    lines = []
    for c in clients[:200]:
        plan = c.current_plan
        who = mention(plan.reference_user) if plan else "—"
        window = minutes(plan.response_window_minutes) if plan else "—"
        lines.append(
            t(
                N_("• *{name}* ({prefix}): reference {who}, window {window}"),
                name=c.name,
                prefix=c.ref_prefix,
                who=who,
                window=window,
            )
        )
    title = t(N_("Clients ({count})"), count=len(clients))
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": title}}]
    blocks += [section("\n".join(lines[i : i + 25])) for i in range(0, len(lines), 25)][:45]
    return title + "\n" + "\n".join(lines[:50]), blocks


# -- the modal -------------------------------------------------------------------------------------
def plan_modal(
    t: Translator,
    *,
    values: dict[str, Any],
    client: Client | None = None,
    name: str = "",
    version: int | None = None,
    channel_id: str = "",
) -> dict[str, Any]:
    """Add (``client`` None) or edit a plan. ``private_metadata`` is untrusted on return."""
    hours = format_hours(from_json(values["hours"]))
    holidays = values["holiday_country"] or ""
    if holidays and values["holiday_subdiv"]:
        holidays += f"-{values['holiday_subdiv']}"
    blocks: list[dict[str, Any]] = []
    if client is None:
        blocks.append(text_input(ids.NAME, t(N_("Client name")), name, placeholder="Acme"))
    blocks += [
        _users_input(ids.REFERENCE, t(N_("Reference person (answers and approves)")), values["reference_user"]),
        _users_input(ids.BACKUPS, t(N_("Backups, in order")), values["backups"], multi=True, optional=True),
        _users_input(ids.LEAD, t(N_("Account lead (agency)")), values["account_lead"], optional=True),
        _users_input(
            ids.CMS, t(N_("Community managers (agency)")), values["community_managers"], multi=True, optional=True
        ),
        _channel_input(
            ids.CHANNEL, t(N_("Client channel for shared notices (empty: direct messages)")), values["channel"]
        ),
        _language_input(t, values["language"]),
        text_input(ids.TIMEZONE, t(N_("Time zone")), values["timezone"], placeholder="Europe/Madrid"),
        text_input(
            ids.HOURS,
            t(N_("Business hours")),
            hours,
            placeholder="mon-fri 09:00-14:00,16:00-19:00",
            hint=t(N_("Days and times, e.g. “mon-fri 09:00-18:00” or “24/7”. Split days with ;")),
        ),
        text_input(
            ids.HOLIDAYS,
            t(N_("Holiday calendar (country or country-region)")),
            holidays,
            placeholder="ES-MD",
            optional=True,
        ),
        text_input(
            ids.CLOSED,
            t(N_("Extra closed dates")),
            ", ".join(values["closed_dates"]),
            placeholder="2026-12-24, 2026-12-31",
            optional=True,
        ),
        text_input(
            ids.WINDOW,
            t(N_("Response window (business time)")),
            minutes(values["response_window_minutes"]),
            placeholder="4h",
        ),
        text_input(
            ids.CRISIS_WINDOW,
            t(N_("Crisis window (around the clock)")),
            minutes(values["crisis_window_minutes"]),
            placeholder="30m",
        ),
        text_input(
            ids.REMIND, t(N_("Remind at (% of the window)")), str(values["remind_at_percent"]), placeholder="75"
        ),
        text_input(
            ids.ESCALATE_BACKUPS,
            t(N_("Escalate to backups (% of the window after due)")),
            str(values["escalate_backups_percent"]),
            placeholder="0",
        ),
        text_input(
            ids.ESCALATE_LEAD,
            t(N_("Escalate to account lead (% of the window after due)")),
            str(values["escalate_lead_percent"]),
            placeholder="50",
        ),
        text_input(
            ids.OVERDUE_REPEAT,
            t(N_("Repeat overdue reminders every (business time)")),
            minutes(values["overdue_repeat_minutes"]) if values["overdue_repeat_minutes"] else "",
            placeholder="4h",
            optional=True,
            hint=t(N_("Empty: one response window. From 15m to 5d.")),
        ),
        text_input(
            ids.OVERDUE_LIMIT,
            t(N_("Overdue reminders after the first one")),
            str(values["overdue_repeat_limit"]),
            placeholder="3",
            hint=t(N_("From 0 to {most}; after the last one the account lead takes over."), most=s.OVERDUE_LIMIT_MAX),
        ),
        text_input(
            ids.CRISIS_REPEAT,
            t(N_("Repeat crisis pages every")),
            minutes(values["crisis_repeat_minutes"]),
            placeholder="5m",
            hint=t(N_("From 1m to 1h, never longer than the crisis window.")),
        ),
        _rules_input(t, values),
        text_input(
            ids.PREAPPROVED,
            t(N_("Pre-approved categories (one per line)")),
            "\n".join(values["pre_approved_categories"]),
            multiline=True,
            optional=True,
        ),
        text_input(
            ids.MANUAL,
            t(N_("Crisis manual (one step per line)")),
            "\n".join(values["crisis_manual"]),
            multiline=True,
            optional=True,
        ),
        _users_input(
            ids.CRISIS_PAGES, t(N_("Also page in a crisis")), values["crisis_extra_pages"], multi=True, optional=True
        ),
    ]
    title = t(N_("New client")) if client is None else t(N_("Edit plan"))
    meta = {"client_id": client.id if client else None, "version": version, "channel": channel_id}
    return modal(ids.PLAN_MODAL, title, blocks, submit=t(N_("Save")), close=t(N_("Cancel")), metadata=meta)


def _users_input(
    block_id: str, label: str, value: Any, *, multi: bool = False, optional: bool = False
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "multi_users_select" if multi else "users_select"}
    if multi and value:
        element["initial_users"] = list(value)
    elif not multi and value:
        element["initial_user"] = value
    return input_block(block_id, label, element, optional=optional)


def _channel_input(block_id: str, label: str, value: str | None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "conversations_select",
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
    }
    if value:
        element["initial_conversation"] = value
    return input_block(block_id, label, element, optional=True)


RULE_FIELDS = ("internal_review", "require_all_reviewers", "lead_can_decide")


def _rules_input(t: Translator, values: dict[str, Any]) -> dict[str, Any]:
    labels = {
        "internal_review": t(N_("Account lead reviews first")),
        "require_all_reviewers": t(N_("Every reviewer (reference and backups) must approve")),
        "lead_can_decide": t(N_("Account lead may decide when a request is escalated")),
    }
    options: list[dict[str, Any]] = [{"text": plain(labels[f], 75), "value": f} for f in RULE_FIELDS]
    element: dict[str, Any] = {"type": "checkboxes", "options": options}
    chosen = [o for o in options if values.get(o["value"])]
    if chosen:
        element["initial_options"] = chosen
    return input_block(ids.RULES, t(N_("Approval rules")), element, optional=True)


def _language_input(t: Translator, value: str) -> dict[str, Any]:
    options = [{"text": plain(LANG_NAMES[code]), "value": code} for code in ("es", "en")]
    element = {
        "type": "static_select",
        "options": options,
        "initial_option": next(o for o in options if o["value"] == value),
    }
    return input_block(ids.LANGUAGE, t(N_("Language of messages to this client")), element)


def form_target(meta: dict[str, Any]) -> tuple[int | None, int | None]:
    """(client id, plan version) from the form's decoded ``private_metadata``: (None, None) for a new
    client. Numbers only: "7" is not an id here (the form wrote an int), and neither is true, 1e9 or 2**70."""
    client_id, version = meta.get("client_id"), meta.get("version")
    return (
        row_id(client_id) if isinstance(client_id, int) else None,
        row_id(version) if isinstance(version, int) else None,
    )


def read_modal(view: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, UserError]]:
    """(name, values, errors by block id) from a submitted plan form.

    Errors are untranslated :class:`UserError` objects rendered by the caller.
    """

    def raw(block_id: str) -> dict[str, Any]:
        return state_element(view, block_id)

    def text(block_id: str) -> str:
        return (raw(block_id).get("value") or "").strip()

    values: dict[str, Any] = {}
    errors: dict[str, UserError] = {}

    def attempt(block_id: str, fn: Any) -> None:
        try:
            values.update(fn())
        except UserError as e:
            errors[block_id] = e

    name = text(ids.NAME)
    reference = raw(ids.REFERENCE).get("selected_user")
    if reference:
        values["reference_user"] = reference
    values["backups"] = list(raw(ids.BACKUPS).get("selected_users") or [])
    values["account_lead"] = raw(ids.LEAD).get("selected_user")
    values["community_managers"] = list(raw(ids.CMS).get("selected_users") or [])
    values["crisis_extra_pages"] = list(raw(ids.CRISIS_PAGES).get("selected_users") or [])
    values["channel"] = raw(ids.CHANNEL).get("selected_conversation")
    language = (raw(ids.LANGUAGE).get("selected_option") or {}).get("value") or "en"
    attempt(ids.LANGUAGE, lambda: {"language": s.parse_language(language)})
    attempt(ids.TIMEZONE, lambda: {"timezone": s.validate_timezone(text(ids.TIMEZONE))})
    attempt(ids.HOURS, lambda: s.option_values("hours", text(ids.HOURS)))
    attempt(ids.HOLIDAYS, lambda: s.holiday_values(text(ids.HOLIDAYS)))
    attempt(ids.CLOSED, lambda: {"closed_dates": s.parse_dates(text(ids.CLOSED))})
    attempt(ids.WINDOW, lambda: s.option_values("window", text(ids.WINDOW)))
    attempt(ids.CRISIS_WINDOW, lambda: s.option_values("crisis-window", text(ids.CRISIS_WINDOW)))
    attempt(ids.REMIND, lambda: s.option_values("remind", text(ids.REMIND)))
    attempt(
        ids.ESCALATE_BACKUPS,
        lambda: {
            "escalate_backups_percent": s.parse_percent(text(ids.ESCALATE_BACKUPS), option="backups", low=0, high=1000)
        },
    )
    attempt(
        ids.ESCALATE_LEAD,
        lambda: {"escalate_lead_percent": s.parse_percent(text(ids.ESCALATE_LEAD), option="lead", low=0, high=1000)},
    )
    attempt(ids.OVERDUE_REPEAT, lambda: s.option_values("overdue-repeat", text(ids.OVERDUE_REPEAT)))
    attempt(ids.OVERDUE_LIMIT, lambda: s.option_values("overdue-limit", text(ids.OVERDUE_LIMIT)))
    attempt(ids.CRISIS_REPEAT, lambda: s.option_values("crisis-repeat", text(ids.CRISIS_REPEAT)))
    rules = {o.get("value") for o in raw(ids.RULES).get("selected_options") or []}
    values.update({field: field in rules for field in RULE_FIELDS})
    values["pre_approved_categories"] = s.parse_categories(text(ids.PREAPPROVED))
    values["crisis_manual"] = s.parse_lines(text(ids.MANUAL))
    return name, values, errors


# -- the publishing webhook ------------------------------------------------------------------------
def webhook_line(masked: str | None, generated: str | None, t: Translator) -> str:
    """The client's publishing webhook as the agency reads it (masked), with a generated signing
    secret shown this once."""
    if masked is None:
        return t(N_("No publishing webhook: approved posts are not handed to any tool."))
    line = t(N_("Publishing webhook: {webhook}"), webhook=masked)
    if generated:
        line += "\n" + t(
            N_("Signing secret, shown only this once: `{secret}`. Paste it into the publishing tool."), secret=generated
        )
    return line


def webhook_removed(t: Translator, name: str) -> str:
    return t(N_("The publishing webhook of {client} is removed."), client=name)
