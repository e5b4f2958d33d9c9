"""The crisis timeline as Slack shows it: one line per event (local time, who, what), oldest first.

Shown by ``/nexo crisis timeline CLIENT`` and at the end of the post-crisis report. A long crisis (a
page every five minutes for hours) would cross Block Kit's limits, so lines are packed into sections
of at most :data:`SECTION_BUDGET` characters, at most ``max_sections`` of them; what does not fit is
left out of the middle (the start and the end matter most) and counted in one line.
"""

from __future__ import annotations

from typing import Any

from bot.blockkit import context, date_token, mention, mentions, section
from bot.crises.blocks import header, safe, severity, status_name, where_held
from bot.crises.models import Crisis, CrisisEvent
from bot.crises.timeline import EventKind
from bot.i18n import N_, Translator

SECTION_BUDGET = 2900  # a section holds 3,000 characters
LINE_MAX = 400
TAIL = 5  # events always shown at the end, however long the crisis
ONCALL_ACTIONS = {"trigger": N_("alert"), "acknowledge": N_("acknowledgement"), "resolve": N_("resolution")}


def event_line(crisis: Crisis, event: CrisisEvent, t: Translator) -> str:
    """One event: "<time> · ✅ Acknowledged by @luis"."""
    d, who = event.detail or {}, mention(event.actor)
    kind = event.kind
    if kind == EventKind.DECLARED:
        what = t(N_("🚨 Declared by {who} ({severity})"), who=who, severity=severity(int(d.get("severity", 2)), t))
    elif kind == EventKind.SUGGESTED:
        what = t.ngettext(
            "🔎 Suggested: {n} matching message in <#{channel}>",
            "🔎 Suggested: {n} matching messages in <#{channel}>",
            int(d.get("count", 0)),
            channel=d.get("channel", "?"),
        )
    elif kind == EventKind.DISMISSED:
        what = t(N_("Dismissed by {who}"), who=who)
    elif kind == EventKind.PAGED:
        what = t(
            N_("📟 Page {round}, level {level}: {people}"),
            round=d.get("round", 1),
            level=d.get("level", 1),
            people=mentions(list(d.get("users") or [])),
        )
    elif kind == EventKind.ESCALATED:
        what = t(
            N_("⏫ Escalated to level {level}: {people}"),
            level=d.get("level", "?"),
            people=mentions(list(d.get("users") or [])),
        )
    elif kind == EventKind.ACKNOWLEDGED:
        what = t(N_("✅ Acknowledged by {who}"), who=who)
    elif kind == EventKind.STEP_DONE:
        what = t(
            N_("☑️ Step {n} done by {who}: {step}"),
            n=d.get("step", "?"),
            who=who,
            step=safe(str(d.get("text", "")))[:200],
        )
    elif kind == EventKind.UPDATE:
        what = t(N_("📣 Status update from {who}: {text}"), who=who, text=_quote(d.get("text")))
    elif kind == EventKind.MESSAGE:
        what = t(N_("💬 {who} in the crisis thread: {text}"), who=who, text=_quote(d.get("text")))
    elif kind == EventKind.HELD:
        paused = list(d.get("paused") or [])
        in_nexo = [r for r in d.get("drafts") or [] if r not in paused]
        what = t(N_("⏸️ Held: {where}"), where=where_held(in_nexo, paused, t))
    elif kind == EventKind.RELEASED:
        what = t(N_("▶️ Released by {who}: {drafts}"), who=who, drafts=", ".join(d.get("drafts") or []) or "—")
        if d.get("resumed"):
            what += " " + t.ngettext(
                "({n} resumed in the publishing tool)", "({n} resumed in the publishing tool)", len(d["resumed"])
            )
    elif kind == EventKind.KEPT_HELD:
        what = t(
            N_("⏸️ {who} kept the posts on hold: {drafts}"), who=who, drafts=", ".join(d.get("drafts") or []) or "—"
        )
    elif kind == EventKind.ONCALL:
        action = ONCALL_ACTIONS.get(str(d.get("action")))
        action_name = t(action) if action else str(d.get("action", "?"))
        what = (
            t(N_("📡 The on-call service took the event ({action})"), action=action_name)
            if d.get("outcome") == "accepted"
            else t(
                N_("📡 The on-call service refused the event ({action}): {error}"),
                action=action_name,
                error=str(d.get("error", "?"))[:100],
            )
        )
    elif kind == EventKind.RESOLVED:
        what = t(N_("✔️ Resolved by {who}"), who=who)
        if d.get("note"):
            what += f": {_quote(d['note'])}"
    else:
        what = kind
    return f"{date_token(event.at, crisis.timezone, t.language)} · {what}"[:LINE_MAX]


def _quote(text: Any) -> str:
    text = safe(str(text or "")).replace("\n", " ")
    return f"“{text[:200]}…”" if len(text) > 200 else f"“{text}”"


def timeline_sections(
    crisis: Crisis, events: list[CrisisEvent], t: Translator, *, max_sections: int
) -> list[dict[str, Any]]:
    """The events as sections (each within Slack's 3,000 characters), at most ``max_sections`` of them plus
    one context line saying how many events were left out."""
    lines = [event_line(crisis, e, t) for e in events]
    packed = _pack(lines, max_sections)
    if packed is not None:
        return packed
    tail = lines[-TAIL:]
    head: list[str] = []
    for line in lines[:-TAIL]:
        if _pack([*head, line], max_sections - 2) is None:  # one section left for the tail
            break
        head.append(line)
    left_out = len(lines) - len(head) - len(tail)
    more = t.ngettext("… {n} more event …", "… {n} more events …", left_out)
    return [*(_pack(head, max_sections - 2) or []), context(more), *(_pack(tail, 1) or [])]


def _pack(lines: list[str], max_sections: int) -> list[dict[str, Any]] | None:
    """``lines`` in as few sections as fit; None when they need more than ``max_sections``."""
    sections: list[list[str]] = []
    size = 0
    for line in lines:
        if not sections or size + len(line) + 1 > SECTION_BUDGET:
            sections.append([])
            size = 0
        sections[-1].append(line)
        size += len(line) + 1
    if len(sections) > max_sections:
        return None
    return [section("\n".join(chunk)) for chunk in sections]


def timeline_message(
    crisis: Crisis, client_name: str, events: list[CrisisEvent], t: Translator
) -> tuple[str, list[dict[str, Any]]]:
    """``/nexo crisis timeline CLIENT``: a header, the crisis's status, then its events (50 blocks at most)."""
    title = t(N_("Crisis timeline: {client}"), client=client_name)
    status = status_name(crisis, t)
    summary = t.ngettext("{status} · {n} event", "{status} · {n} events", len(events), status=status)
    blocks = [header(title), context(summary), *timeline_sections(crisis, events, t, max_sections=45)]
    return f"{title} ({summary})", blocks
