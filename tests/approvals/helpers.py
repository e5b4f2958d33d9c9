"""Driving the approval workflow through the fake Slack, as people would."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.approvals import ids
from bot.approvals.models import AuditEvent, Draft, DraftDecision, DraftVersion
from bot.fakeslack import render_message
from tests.support.factories import add_client
from tests.support.people import BACKUP, CM, LEAD, REF

CM_EN = "U0CMEN"  # Eric, an English-speaking community manager (agency)
BASE = 'tz:Europe/Madrid hours:"mon-fri 09:00-18:00" window:4h'


def setup_client(slack, name: str = "Acme", *, extra: str = "", ref: str = REF, backups=(BACKUP,), lead=LEAD,
                 cms=(CM, CM_EN)) -> dict:
    return add_client(slack, name, ref=ref, backups=backups, lead=lead, cms=cms, extra=f"{BASE} {extra}".strip())


def draft(slack, text: str, *, client: str = "Acme", by: str = CM_EN, options: str = "") -> str:
    """``/nexo draft``; returns the answer (the ack's text, or the reply a worker sent to the response_url)."""
    r = slack.command(f"draft {client} {options} {text}".replace("  ", " "), user_id=by)
    assert r.status_code == 200, r.text
    return slack.answer(r)


def buttons(message: dict[str, Any]) -> list[str]:
    return [e.get("action_id") for b in message.get("blocks") or [] if b.get("type") == "actions"
            for e in b.get("elements") or []]


def cards(fake, user: str) -> list[dict[str, Any]]:
    """Approval cards in ``user``'s DM (any state), oldest first."""
    return [m for m in fake.dm_messages(user) if (m.get("blocks") or [{}])[0].get("type") == "header"
            and any(w in m["blocks"][0]["text"]["text"] for w in ("Approval request", "Internal review",
                                                                   "Solicitud", "Revisión"))]


def wait_card(fake, user: str, ref: str, version: int = 1) -> dict[str, Any]:
    def find():
        for m in reversed(cards(fake, user)):
            if ref in m["blocks"][0]["text"]["text"] and f"(v{version})" in m["blocks"][0]["text"]["text"]:
                return m
        return None
    return fake.wait_for(find, message=f"card {ref} v{version} for {user}")


def text_of(message: dict[str, Any]) -> str:
    return render_message(message)


def click(slack, message: dict[str, Any], user: str, action_id: str = ids.APPROVE):
    r = slack.click(message, user_id=user, action_id=action_id)
    assert r.status_code == 200, r.text
    return r


def get_draft(db, reference: str) -> Draft:
    with db.sessionmaker() as s:
        return s.scalars(select(Draft).where(Draft.reference == reference)).one()


def decisions(db, reference: str) -> list[DraftDecision]:
    with db.sessionmaker() as s:
        d = s.scalars(select(Draft).where(Draft.reference == reference)).one()
        return list(s.scalars(select(DraftDecision).where(DraftDecision.draft_id == d.id).order_by(DraftDecision.id)))


def versions(db, reference: str) -> list[DraftVersion]:
    with db.sessionmaker() as s:
        d = s.scalars(select(Draft).where(Draft.reference == reference)).one()
        return list(s.scalars(select(DraftVersion).where(DraftVersion.draft_id == d.id)
                              .order_by(DraftVersion.number)))


def events(db, reference: str | None = None) -> list[str]:
    with db.sessionmaker() as s:
        stmt = select(AuditEvent).order_by(AuditEvent.id)
        if reference:
            d = s.scalars(select(Draft).where(Draft.reference == reference)).one()
            stmt = stmt.where(AuditEvent.draft_id == d.id)
        return [e.event for e in s.scalars(stmt)]


def dm_texts(fake, user: str) -> list[str]:
    return [render_message(m) for m in fake.dm_messages(user)]


def forged_click(slack, message: dict[str, Any], user: str, action_id: str, value: str | None = None):
    """A click whose payload was tampered with: the button's value (and the message shown) are what we say."""
    from bot.fakeslack.interactions import button_action

    block, button = slack.find_button(message, action_id)
    action = button_action(block, {**button, "value": value if value is not None else button.get("value")})
    channel, ts = message["channel"], message["ts"]
    payload = slack._envelope(
        "block_actions", user, None, trigger_id=slack.fake.issue_trigger_id(user),
        response_url=slack.fake.new_response_url(channel=channel, user=user, message_ts=ts),
        container={"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
        channel={"id": channel, "name": "x"}, state={"values": {}}, actions=[action],
        message={k: v for k, v in message.items() if k in ("ts", "text", "blocks", "user", "type")})
    r = slack._interaction(payload)
    assert r.status_code == 200, r.text
    return r


def ephemeral_texts(fake, user: str) -> list[str]:
    """What only ``user`` was shown in reply to clicks (slash command answers left out)."""
    return [e.get("text") or "" for e in fake.ephemerals(user) if e.get("source") != "command_ack"]


def set_plan(db, clock, name: str = "Acme", **values) -> None:
    """Change plan fields the Slack forms don't offer yet (internal review, all reviewers)."""
    from bot.access import Actor
    from bot.plans import service as plans

    lead = Actor(LEAD, "T_AGENCY", "en", True)
    with db.transaction() as s:
        client = plans.resolve_client(s, lead, name)
        plans.update_plan(s, actor=lead, client=client, values=values, now=clock.now())


def requests(db) -> list:
    from bot.tracking.models import TrackedRequest

    with db.sessionmaker() as s:
        return list(s.scalars(select(TrackedRequest).order_by(TrackedRequest.id)))
