"""Where a message for a client's person goes when Slack refuses the DM.

The client's people are usually in another organization (Slack Connect), and Slack lets the bot DM
them only while they share a channel with it. When a DM to the reference person or a backup is refused
for good (``invalid_user_combination``, ``channel_not_found``, ``cannot_dm_bot``...), the outbox
(:mod:`bot.delivery.sender`) asks this module where else to put it:

- the plan names a client channel: the same message goes there, once, after a line that mentions the
  person (in the plan's language), and the notice records the detour;
- it does not (or the channel refuses it too): the notice fails, and the account lead is told, once per
  person and client, how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.delivery.outbox import enqueue_post, find_by_ref
from bot.i18n import N_, translator
from bot.people import language_for
from bot.plans.models import Client, ClientStatus, PlanMember, Role


@dataclass(frozen=True)
class Detour:
    channel: str
    line: str  # the mention that goes before the message


def client_of(session: Session, user_id: str) -> Client | None:
    """The (oldest) active client this person decides or answers for."""
    return (
        session.scalars(
            select(Client)
            .join(PlanMember, PlanMember.plan_id == Client.current_plan_id)
            .where(
                PlanMember.user_id == user_id,
                PlanMember.role.in_((Role.REFERENCE, Role.BACKUP)),
                Client.status == ClientStatus.ACTIVE,
            )
            .order_by(Client.id)
            .limit(1)
        )
        .unique()
        .first()
    )


class ClientChannelDetours:
    """The outbox's answer to a refused DM (see the module docstring)."""

    def channel_for(self, session: Session, user_id: str) -> Detour | None:
        """Where a message for ``user_id`` goes instead of their DM: their client's channel, if any."""
        client = client_of(session, user_id)
        plan = client.current_plan if client is not None else None
        if plan is None or not plan.channel:
            return None
        t = translator(plan.language)
        return Detour(
            plan.channel, t(N_("<@{user}>, I can't send you direct messages, so this one is here:"), user=user_id)
        )

    def undeliverable(self, session: Session, user_id: str, *, now: datetime) -> bool:
        """Tell the account lead, once per person and client, that a message could not reach ``user_id``."""
        client = client_of(session, user_id)
        plan = client.current_plan if client is not None else None
        if client is None or plan is None or not plan.account_lead:
            return False
        key = f"undeliverable:{client.id}:{user_id}"
        if find_by_ref(session, key) is not None:
            return False
        t = translator(language_for(session, plan.account_lead, plan))
        text = t(
            N_(
                "⚠️ A message for <@{user}> ({client}) could not be delivered: Slack won't let me send them "
                "direct messages (they're probably in another organization and share no channel with me). "
                "Invite me to the Slack Connect channel you share with {client} and name it with `channel:` "
                "(`/nexo client edit {client}`): from then on, what I can't send them directly goes there "
                "with a mention."
            ),
            user=user_id,
            client=client.name,
        )
        enqueue_post(session, now=now, to=plan.account_lead, text=text, ref_key=key)
        return True
