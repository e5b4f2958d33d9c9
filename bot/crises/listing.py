"""Crises waiting on one person, for the Home tab and ``/nexo pending`` (see :mod:`bot.waiting`).

An open crisis waits on everyone paged so far (its frozen chain, up to the current level) until
someone acknowledges it; an acknowledged one waits on whoever acknowledged it, until resolved.
A client's person sees only the crises of clients they belong to.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.access import Actor
from bot.crises import blocks, paging
from bot.crises.models import ACTIVE, Crisis, CrisisStatus
from bot.i18n import Translator
from bot.plans.models import Client, ClientStatus
from bot.plans.service import visible_clients
from bot.waiting import Entry

LIMIT = 50


def waits_on(crisis: Crisis, user_id: str) -> bool:
    if crisis.status == CrisisStatus.OPEN:
        return user_id in crisis.recipients
    return crisis.status == CrisisStatus.ACKNOWLEDGED and crisis.acknowledged_by == user_id


def my_entries(
    session: Session, actor: Actor, now: datetime, t: Translator, *, client: Client | None = None
) -> list[Entry]:
    """The active crises waiting on the actor, with the page's Acknowledge / Resolve buttons; always first."""
    stmt = (
        select(Crisis, Client)
        .join(Client, Client.id == Crisis.client_id)
        .where(Crisis.status.in_(ACTIVE), Client.status == ClientStatus.ACTIVE)
        .order_by(Crisis.declared_at, Crisis.id)
        .limit(LIMIT)
    )
    if client is not None:
        stmt = stmt.where(Client.id == client.id)
    if not actor.is_agency:
        stmt = stmt.where(Client.id.in_([c.id for c in visible_clients(session, actor)]))
    entries = []
    for crisis, owner in session.execute(stmt):
        if not waits_on(crisis, actor.user_id):
            continue
        due = crisis.declared_at or crisis.created_at
        if crisis.status == CrisisStatus.OPEN:
            due = crisis.level_up_at or due + paging.window(crisis)
        entries.append(
            Entry(due, blocks.crisis_entry(crisis, owner.name, now, t), blocks.page_buttons(crisis, t), rank=0)
        )
    return entries
