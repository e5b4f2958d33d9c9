"""Block Kit for crises: pages, the crisis message, the checklist, notices, the declare modal.

Pure functions of domain objects and a translator, composed of :mod:`bot.blockkit`; no Slack
client here. Every message carries a ``text`` fallback for notifications.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.blockkit import (
    actions,
    button,
    context,
    date_token,
    fields,
    input_block,
    local_hhmm,
    mention,
    mentions,
    modal,
    plain,
    section,
    state_element,
    text_input,
    titled,
)
from bot.crises import ids
from bot.crises.models import Crisis, CrisisStatus, CrisisStep
from bot.db import row_id
from bot.i18n import N_, Translator
from bot.plans.durations import format_duration

SEVERITY_NAMES = {1: N_("SEV1 · critical"), 2: N_("SEV2 · major"), 3: N_("SEV3 · minor")}
MAX_STEPS_SHOWN = 45  # a message holds 50 blocks
HEADER_MAX = 150


def duration(delta: timedelta | None) -> str:
    return format_duration(max(delta, timedelta(0))) if delta is not None else "—"


def severity(value: int, t: Translator) -> str:
    return t(SEVERITY_NAMES.get(value, SEVERITY_NAMES[2]))


def safe(text: str) -> str:
    """User text shown in a message: no @channel / @here pings."""
    return text.replace("<!", "&lt;!")


def header(title: str) -> dict[str, Any]:
    return {"type": "header", "text": plain(title, HEADER_MAX)}


# -- the crisis card (pages and the crisis message) -----------------------------------------------
def crisis_card(
    crisis: Crisis, client_name: str, t: Translator, *, round: int | None = None, thread_hint: bool = False
) -> tuple[str, list[dict[str, Any]]]:
    """The crisis as a page or as the crisis message; its state line and buttons follow the status."""
    sev = severity(crisis.severity, t)
    title = t(N_("🚨 Reputation crisis: {client}"), client=client_name)
    facts = [
        titled(t(N_("Severity")), sev),
        titled(
            t(N_("Declared")),
            f"{mention(crisis.declared_by)}, "
            f"{date_token(crisis.declared_at or crisis.created_at, crisis.timezone, t.language)}",
        ),
    ]
    if crisis.source_link:
        original = t(N_("original message"))
        facts.append(titled(t(N_("Source")), f"<{crisis.source_link}|{original}>"))
    blocks: list[dict[str, Any]] = [header(title), section(safe(crisis.description)[:2900]), fields(facts)]
    state = state_line(crisis, t, round=round)
    blocks.append(context(state))
    if thread_hint:
        blocks.append(context(t(N_("The crisis manual's checklist and the timeline are in this thread."))))
    if buttons := page_buttons(crisis, t):
        blocks.append(actions(buttons, block_id=ids.PAGE_ACTIONS))
    text = (
        t(
            N_("🚨 Crisis for {client} ({severity}): {description}"),
            client=client_name,
            severity=sev,
            description=safe(crisis.description)[:200],
        )
        + " · "
        + state
    )
    return text, blocks


def page_buttons(crisis: Crisis, t: Translator) -> list[dict[str, Any]]:
    """The page's buttons for the crisis's status: Acknowledge and Resolve, then Resolve, then none."""
    value = str(crisis.id)
    if crisis.status == CrisisStatus.OPEN:
        return [
            button(t(N_("Acknowledge")), ids.ACKNOWLEDGE, value, style="primary"),
            button(t(N_("Resolve")), ids.RESOLVE, value),
        ]
    if crisis.status == CrisisStatus.ACKNOWLEDGED:
        return [button(t(N_("Resolve")), ids.RESOLVE, value)]
    return []


def paged_again(
    crisis: Crisis, client_name: str, t: Translator, *, thread_hint: bool = False
) -> tuple[str, list[dict[str, Any]]]:
    """An earlier page once a newer one went out: one line, no buttons (the newest page is the live one)."""
    text = t(N_("🚨 Crisis for *{client}*: paged again below."), client=client_name)
    if thread_hint:
        text += " " + t(N_("The checklist and the timeline stay in this thread."))
    return text, [context(text)]


def crisis_entry(crisis: Crisis, client_name: str, now: datetime, t: Translator) -> str:
    """One line of "waiting on you" (Home tab, ``/nexo pending``): the crisis and what it waits for."""
    sev, tz = severity(crisis.severity, t), crisis.timezone
    if crisis.status == CrisisStatus.ACKNOWLEDGED:
        state = t(
            N_("yours since {time}: resolve it when it is over"),
            time=date_token(crisis.acknowledged_at or now, tz, t.language),
        )
    else:
        state = "⚠️ " + t(
            N_("nobody has acknowledged it since {time}"),
            time=date_token(crisis.declared_at or crisis.created_at, tz, t.language),
        )
    return t(
        N_("🚨 *Crisis for {client}* ({severity}): {description} · {state}"),
        client=client_name,
        severity=sev,
        description=safe(" ".join(crisis.description.split()))[:200],
        state=state,
    )


def state_line(crisis: Crisis, t: Translator, *, round: int | None = None) -> str:
    tz = crisis.timezone
    if crisis.status == CrisisStatus.RESOLVED:
        return t(
            N_("✔️ Resolved by {who} at {time}."),
            who=mention(crisis.resolved_by),
            time=local_hhmm(crisis.resolved_at, tz),
        )
    if crisis.status == CrisisStatus.ACKNOWLEDGED:
        return t(
            N_("✅ Acknowledged by {who} at {time}. Pages stopped."),
            who=mention(crisis.acknowledged_by),
            time=local_hhmm(crisis.acknowledged_at, tz),
        )
    repeat = format_duration(timedelta(minutes=crisis.repeat_minutes))
    if round and round > 1:
        return t(
            N_("Page {round}: nobody has acknowledged yet. Pages repeat every {repeat} until someone does."),
            round=round,
            repeat=repeat,
        )
    return t(N_("Pages repeat every {repeat} until someone acknowledges."), repeat=repeat)


# -- checklist -------------------------------------------------------------------------------------
def checklist(
    crisis: Crisis, steps: list[CrisisStep], client_name: str, t: Translator
) -> tuple[str, list[dict[str, Any]]]:
    """The crisis manual as a checklist: one line per step with a Done button until ticked."""
    title = t(N_("Crisis manual: {client}"), client=client_name)
    blocks: list[dict[str, Any]] = [header(title)]
    open_for_ticks = crisis.status in (CrisisStatus.OPEN, CrisisStatus.ACKNOWLEDGED)
    for step in steps[:MAX_STEPS_SHOWN]:
        if step.done_at is not None:
            line = t(
                N_("✅ *{n}.* {step}\n_done by {who} at {time}_"),
                n=step.position,
                step=safe(step.text),
                who=mention(step.done_by),
                time=local_hhmm(step.done_at, crisis.timezone),
            )
            blocks.append(section(line, block_id=f"{ids.STEP_BLOCK}{step.id}"))
            continue
        block = section(f"⬜ *{step.position}.* {safe(step.text)}", block_id=f"{ids.STEP_BLOCK}{step.id}")
        if open_for_ticks:
            block["accessory"] = button(t(N_("Done")), ids.STEP_DONE, str(step.id))
        blocks.append(block)
    done = sum(1 for s in steps if s.done_at is not None)
    summary = t.ngettext("{done} of {n} step done", "{done} of {n} steps done", len(steps), done=done)
    blocks.append(context(summary))
    return f"{title}: {summary}", blocks


# -- notices ---------------------------------------------------------------------------------------
def acknowledged_notice(crisis: Crisis, client_name: str, t: Translator) -> str:
    return t(
        N_("✅ {who} acknowledged the crisis for *{client}* at {time}. Pages stopped."),
        who=mention(crisis.acknowledged_by),
        client=client_name,
        time=local_hhmm(crisis.acknowledged_at, crisis.timezone),
    )


def resolved_notice(crisis: Crisis, client_name: str, t: Translator) -> str:
    return t(
        N_("✔️ {who} resolved the crisis for *{client}* at {time}."),
        who=mention(crisis.resolved_by),
        client=client_name,
        time=local_hhmm(crisis.resolved_at, crisis.timezone),
    )


def escalated_notice(crisis: Crisis, client_name: str, added: list[str], t: Translator) -> str:
    return t(
        N_("⏫ Nobody acknowledged the crisis for *{client}* within {window}: now also paging {people}."),
        client=client_name,
        window=format_duration(timedelta(minutes=crisis.window_minutes)),
        people=mentions(added),
    )


def update_notice(
    crisis: Crisis, client_name: str, author: str, text: str, t: Translator
) -> tuple[str, list[dict[str, Any]]]:
    head = t(N_("📣 Status update on the crisis for *{client}* from {who}:"), client=client_name, who=mention(author))
    return f"{head} {safe(text)[:200]}", [section(head), section(safe(text)[:2900])]


def update_reminder(crisis: Crisis, client_name: str, t: Translator) -> str:
    """The lead's reminder to post news; the command it shows quotes a name with spaces."""
    since = local_hhmm(crisis.declared_at, crisis.timezone)
    client_key = f'"{client_name}"' if " " in client_name else client_name
    return t(
        N_(
            "⏰ The crisis for *{client}* is still open (since {since}). Post a status update for everyone "
            "paged: `/nexo crisis update {key} WHAT'S NEW`"
        ),
        client=client_name,
        since=since,
        key=client_key,
    )


def suggestion(
    crisis: Crisis, client_name: str, count: int, channel: str, window_minutes: int, t: Translator
) -> tuple[str, list[dict[str, Any]]]:
    text = t(
        N_(
            "⚠️ {count} messages in <#{channel}> matched *{client}*'s crisis keywords within {window}. "
            "Is this a reputation crisis?"
        ),
        count=count,
        channel=channel,
        client=client_name,
        window=format_duration(timedelta(minutes=window_minutes)),
    )
    blocks = [
        section(text),
        section(f"> {safe(crisis.description)[:1500]}"),
        actions(
            [
                button(t(N_("Declare crisis")), ids.DECLARE_SUGGESTED, str(crisis.id), style="danger"),
                button(t(N_("Not a crisis")), ids.DISMISS_SUGGESTED, str(crisis.id)),
            ],
            block_id=ids.SUGGEST_ACTIONS,
        ),
    ]
    return text, blocks


def suggestion_closed(crisis: Crisis, client_name: str, t: Translator) -> tuple[str, list[dict[str, Any]]]:
    if crisis.status == CrisisStatus.DISMISSED:
        text = t(
            N_("Suggested crisis for *{client}* dismissed by {who}."),
            client=client_name,
            who=mention(crisis.resolved_by),
        )
    else:
        text = t(N_("Crisis for *{client}* declared by {who}."), client=client_name, who=mention(crisis.declared_by))
    return text, [section(text)]


def where_held(in_nexo: list[str], paused: list[str], t: Translator) -> str:
    """What was held and where: "2 posts held in Nexo (ACME-1, ACME-3), 1 already with the publishing tool
    asked to pause (ACME-2)"."""
    parts = []
    if in_nexo:
        parts.append(
            t.ngettext(
                "{n} post held in Nexo ({drafts})",
                "{n} posts held in Nexo ({drafts})",
                len(in_nexo),
                drafts=", ".join(in_nexo[:50]),
            )
        )
    if paused:
        parts.append(
            t.ngettext(
                "{n} already with the publishing tool asked to pause ({drafts})",
                "{n} already with the publishing tool asked to pause ({drafts})",
                len(paused),
                drafts=", ".join(paused[:50]),
            )
        )
    if len(parts) == 2:
        return t(N_("{in_nexo}, {with_tool}"), in_nexo=parts[0], with_tool=parts[1])
    return parts[0] if parts else "—"


def holds_notice(client_name: str, in_nexo: list[str], paused: list[str], t: Translator) -> str:
    return t(
        N_(
            "⏸️ The crisis for *{client}* put its scheduled posts on hold: {where}. They stay on hold until "
            "someone releases them."
        ),
        client=client_name,
        where=where_held(in_nexo, paused, t),
    )


def release_question(
    crisis: Crisis, client_name: str, references: list[str], t: Translator
) -> tuple[str, list[dict[str, Any]]]:
    text = t(
        N_(
            "The crisis for *{client}* is resolved. These posts are still on hold: {drafts}. Release them "
            "to publish as planned, or keep them held?"
        ),
        client=client_name,
        drafts=", ".join(references[:50]),
    )
    blocks = [
        section(text),
        actions(
            [
                button(t(N_("Release held posts")), ids.RELEASE_HELD, str(crisis.id), style="primary"),
                button(t(N_("Keep them held")), ids.KEEP_HELD, str(crisis.id)),
            ],
            block_id=ids.HOLD_ACTIONS,
        ),
    ]
    return text, blocks


def release_answer(client_name: str, references: list[str], who: str, released: bool, t: Translator) -> str:
    if released:
        return t(
            N_("▶️ {who} released the held posts of *{client}*: {drafts}."),
            who=mention(who),
            client=client_name,
            drafts=", ".join(references[:50]) or "—",
        )
    return t(
        N_("⏸️ {who} kept the posts of *{client}* on hold. Release them later with `/nexo crisis release {client}`."),
        who=mention(who),
        client=client_name,
    )


# -- the declare modal -----------------------------------------------------------------------------
def declare_modal(
    t: Translator,
    *,
    clients: list[tuple[int, str]],
    selected: int | None,
    description: str,
    permalink: str | None,
    metadata: dict[str, Any],
) -> dict[str, Any]:
    """Flag a reputation issue. ``private_metadata`` (source channel, ts, link) is untrusted on return."""
    options = [{"text": plain(name, 75), "value": str(cid)} for cid, name in clients[:100]]
    client_el: dict[str, Any] = {
        "type": "static_select",
        "options": options,
        "placeholder": plain(t(N_("Pick a client")), 150),
    }
    chosen = next((o for o in options if o["value"] == str(selected)), None)
    if chosen:
        client_el["initial_option"] = chosen
    sev_options = [{"text": plain(severity(n, t), 75), "value": str(n)} for n in (1, 2, 3)]
    blocks: list[dict[str, Any]] = []
    if permalink:
        blocks.append(context(t(N_("Source: <{link}|the flagged message>"), link=permalink)))
    blocks += [
        input_block(ids.CLIENT, t(N_("Client")), client_el),
        input_block(
            ids.SEVERITY,
            t(N_("Severity")),
            {"type": "static_select", "options": sev_options, "initial_option": sev_options[1]},
        ),
        text_input(ids.DESCRIPTION, t(N_("What is happening?")), description, multiline=True, max_length=3000),
        context(
            t(
                N_(
                    "Declaring pages the client's reference person, backups and account lead right away, "
                    "around the clock, until someone acknowledges."
                )
            )
        ),
    ]
    return modal(
        ids.DECLARE_MODAL,
        t(N_("Flag reputation issue")),
        blocks,
        close=t(N_("Cancel")),
        submit=t(N_("Declare crisis")),
        metadata=metadata,
    )


def read_modal(view: dict[str, Any]) -> tuple[int | None, int, str]:
    """(client id, severity, description) from a submitted declare modal (untrusted)."""
    client_value = (state_element(view, ids.CLIENT).get("selected_option") or {}).get("value") or ""
    sev_value = (state_element(view, ids.SEVERITY).get("selected_option") or {}).get("value") or "2"
    sev = int(sev_value) if sev_value in ("1", "2", "3") else 2
    return row_id(client_value), sev, (state_element(view, ids.DESCRIPTION).get("value") or "").strip()


STATUS_NAMES = {
    CrisisStatus.OPEN: N_("status: open"),
    CrisisStatus.ACKNOWLEDGED: N_("status: acknowledged"),
    CrisisStatus.RESOLVED: N_("status: resolved"),
    CrisisStatus.DISMISSED: N_("status: dismissed"),
    CrisisStatus.SUGGESTED: N_("status: suggested"),
}


def status_name(crisis: Crisis, t: Translator) -> str:
    return t(STATUS_NAMES[crisis.status])
