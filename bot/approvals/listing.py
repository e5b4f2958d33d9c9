"""What waits on whom: ``/nexo pending`` and the App Home tab.

One query joins each open draft's current version to its open tracked request
(the approval round, or the revision the agency owes), ordered by due time, so
the most urgent comes first. People outside the agency see only their own
clients, and never a draft still in internal review.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from bot.access import Actor
from bot.approvals import ids, service
from bot.approvals.models import OPEN_STATUSES, Decision, Draft, DraftStatus, DraftVersion, Stage
from bot.approvals.text import escape, first_words
from bot.blockkit import button, context, date_token, divider, mentions, section
from bot.crises.holds import held_draft_ids
from bot.i18n import N_, Translator
from bot.plans.durations import format_duration
from bot.plans.models import Client, ClientStatus, Plan
from bot.plans.service import visible_clients
from bot.tracking.models import RequestState, TrackedRequest, WaitingOn
from bot.waiting import Entry, by_urgency, due_state, entry_blocks

LIMIT = 100
LINES_PER_SECTION = 10  # lines of ~250 characters: a section stays under 3000
MESSAGE_BLOCKS = 50  # Slack's limit for a message
MINE_BLOCKS = 30  # "waiting on you" in /nexo pending: up to 14 entries with their buttons, then "…and N more"
CLIENT_VISIBLE = (DraftStatus.CLIENT_REVIEW, DraftStatus.CLIENT_CHANGES)
TO_DECIDE = (DraftStatus.INTERNAL_REVIEW, DraftStatus.CLIENT_REVIEW)
TO_REVISE = (DraftStatus.INTERNAL_CHANGES, DraftStatus.CLIENT_CHANGES)


@dataclass
class Waiting:
    """One open draft as the lists show it: its current version, its open request and who it waits on."""

    draft: Draft
    client: Client
    plan: Plan
    version: DraftVersion
    request: TrackedRequest
    waiting_on: list[str]
    held: bool = False  # on hold while its client is in crisis (bot.crises.holds)


def waiting_items(session: Session, actor: Actor, *, client: Client | None = None) -> list[Waiting]:
    """Open drafts the actor may see, each with who it waits on, most urgent first."""
    stmt = (
        select(Draft, DraftVersion, TrackedRequest, Client)
        .join(DraftVersion, and_(DraftVersion.draft_id == Draft.id, DraftVersion.number == Draft.current_version))
        .join(
            TrackedRequest,
            and_(
                TrackedRequest.subject_type == service.SUBJECT,
                TrackedRequest.subject_id == DraftVersion.id,
                TrackedRequest.state == RequestState.OPEN,
            ),
        )
        .join(Client, Client.id == Draft.client_id)
        .where(Draft.status.in_(OPEN_STATUSES), Client.status == ClientStatus.ACTIVE)
        .order_by(TrackedRequest.due_at, Draft.id)
        .limit(LIMIT)
    )
    if client is not None:
        stmt = stmt.where(Draft.client_id == client.id)
    if not actor.is_agency:
        mine = [c.id for c in visible_clients(session, actor)]
        stmt = stmt.where(Draft.client_id.in_(mine), Draft.status.in_(CLIENT_VISIBLE))
    items = []
    held: dict[int, set[int]] = {}
    for draft, version, request, owner in session.execute(stmt):
        plan = owner.current_plan
        if plan is None:
            continue
        if owner.id not in held:
            held[owner.id] = held_draft_ids(session, owner.id)
        items.append(
            Waiting(
                draft,
                owner,
                plan,
                version,
                request,
                _waiting_on(session, draft, plan, request),
                held=draft.id in held[owner.id],
            )
        )
    return items


def _waiting_on(session: Session, draft: Draft, plan: Plan, request: TrackedRequest) -> list[str]:
    if draft.status == DraftStatus.CLIENT_REVIEW and plan.require_all_reviewers:
        latest = service.latest_by_reviewer(service.decisions_for(session, draft, draft.current_version, Stage.CLIENT))
        return [u for u in plan.client_side() if u not in latest or latest[u].decision != Decision.APPROVED]
    return [request.assignee]


def _line(item: Waiting, now: datetime, t: Translator) -> str:
    who = mentions(item.waiting_on)
    side = (
        t(N_("waiting on {who} (client)"), who=who)
        if item.request.waiting_on == WaitingOn.CLIENT
        else t(N_("waiting on {who} (agency)"), who=who)
    )
    if item.draft.status in (DraftStatus.CLIENT_CHANGES, DraftStatus.INTERNAL_CHANGES):
        side = t(N_("changes requested, revision by {who}"), who=who)
    elif item.draft.status == DraftStatus.INTERNAL_REVIEW:
        side = t(N_("internal review by {who}"), who=who)
    age = format_duration(max(now - item.request.opened_at, timedelta(0)))
    due = date_token(item.request.due_at, item.plan.timezone, t.language)
    when = t(N_("overdue since {time}"), time=due) if item.request.due_at <= now else t(N_("due {time}"), time=due)
    start = escape(first_words(item.version.text, 50))
    line = t(
        N_("• *{ref}* “{start}”: {side}; waiting {age}, {when}"),
        ref=item.draft.reference,
        start=start,
        side=side,
        age=age,
        when=("⚠️ " + when) if item.request.due_at <= now else when,
    )
    return line + " · " + t(N_("⏸️ held: the client is in a crisis")) if item.held else line


def _sections(lines: list[str], max_blocks: int) -> list[dict[str, Any]]:
    return [section("\n".join(lines[i : i + LINES_PER_SECTION])) for i in range(0, len(lines), LINES_PER_SECTION)][
        :max_blocks
    ]


def pending_message(
    items: list[Waiting], now: datetime, t: Translator, *, client: Client | None = None, mine: Sequence[Entry] = ()
) -> tuple[str, list[dict[str, Any]]]:
    """``/nexo pending``: first what waits on the reader, with the buttons to act (``mine``, see
    :mod:`bot.waiting`), then every open draft with who it waits on, age and due time. At most 50 blocks."""
    if not items and not mine:
        text = t(N_("Nothing is waiting: every draft is decided."))
        return text, [section(text)]
    blocks: list[dict[str, Any]] = []
    text_lines: list[str] = []
    if mine:
        head = t(N_("Waiting on you ({count})"), count=len(mine))
        blocks += [header(head), *entry_blocks(list(mine), t, max_blocks=MINE_BLOCKS)]
        text_lines += [head, *(e.line for e in by_urgency(list(mine))[:10])]
    if items:
        title = (
            t(N_("Waiting at {client} ({count})"), client=client.name, count=len(items))
            if client
            else t(N_("Waiting ({count})"), count=len(items))
        )
        lines = [_line(item, now, t) for item in items]
        blocks += [header(title), *_sections(lines, MESSAGE_BLOCKS - 2 - len(blocks))]
        text_lines += [title, *lines[:30]]
    blocks.append(context(t(N_("Most urgent first. Times are in each client's time zone."))))
    return "\n".join(text_lines), blocks


def header(title: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": title[:150]}}


def decision_buttons(value: str, t: Translator) -> list[dict[str, Any]]:
    """The approval card's Approve / Request changes / Reject (value: ``"<draft_id>:<version>"``)."""
    return [
        button(t(N_("Approve")), ids.APPROVE, value, style="primary"),
        button(t(N_("Request changes")), ids.REQUEST_CHANGES, value),
        button(t(N_("Reject")), ids.REJECT, value, style="danger"),
    ]


def my_entries(
    session: Session, actor: Actor, now: datetime, t: Translator, *, client: Client | None = None
) -> list[Entry]:
    """Drafts waiting on the actor: to decide (the card's buttons) or to revise (Revise), each with its due
    or overdue state. A client's person sees only their own clients' (see :func:`waiting_items`)."""
    entries = []
    for item in waiting_items(session, actor, client=client):
        if actor.user_id not in item.waiting_on:
            continue
        value = service.button_value(item.draft, item.version.number)
        if item.draft.status in TO_DECIDE:
            buttons, what = decision_buttons(value, t), t(N_("to decide"))
        elif item.draft.status in TO_REVISE:
            buttons, what = [button(t(N_("Revise")), ids.REVISE, value, style="primary")], t(N_("changes to make"))
        else:
            continue
        state = due_state(item.request.due_at, item.request.promised_at, item.plan.timezone, now, t)
        line = t(
            N_("📝 *{ref}* ({client}), {what}: “{start}” · {state}"),
            ref=item.draft.reference,
            client=escape(item.client.name),
            what=what,
            start=escape(first_words(item.version.text, 50)),
            state=state,
        )
        if item.held:
            line += " · " + t(N_("⏸️ held: the client is in a crisis"))
        entries.append(Entry(item.request.promised_at or item.request.due_at, line, buttons))
    return entries


def home_blocks(session: Session, actor: Actor, now: datetime, t: Translator) -> list[dict[str, Any]]:
    """The approvals part of a user's App Home below "Waiting on you": their drafts in flight, and
    what is overdue at the clients they lead."""
    items = waiting_items(session, actor)
    mine = actor.user_id
    in_flight = [i for i in items if i.draft.created_by == mine]
    overdue = [i for i in items if i.plan.account_lead == mine and i.request.due_at <= now]
    parts: list[dict[str, Any]] = []
    groups = ((N_("*Your drafts in flight*"), in_flight), (N_("*Overdue at your clients*"), overdue))
    for title, group in groups:
        if group:
            parts.append(section(t(title)))
            parts += _sections([_line(item, now, t) for item in group], 3)
    if parts:
        parts.append(divider())
    return parts
