"""Set-up and look-ups shared by the crisis tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select

from bot.access import Actor
from bot.delivery import outbox
from bot.delivery.models import OutboxNotice
from bot.escalations.models import Crisis, CrisisEvent
from bot.plans import service as plans
from bot.plans.models import Client
from tests.support.factories import add_client
from tests.support.people import AGENCY_TEAM, LEAD

CHANNEL = "C0ACME"
EXTRA = "U0EXTRA"  # Elena, the agency's PR director: page 2 in every crisis
MANUAL = ["Pause all scheduled posts", "Draft a holding statement", "Call the client's CEO"]
AGENCY = Actor(LEAD, AGENCY_TEAM, "en", True)


def setup_client(bot, slack, fake, *, channel: str | None = CHANNEL, manual=tuple(MANUAL), extra=(EXTRA,),
                 name: str = "Acme", **values: Any) -> int:
    """Acme with a client channel, a crisis manual and an extra page (Elena); returns the client id."""
    fake.add_user(EXTRA, "elena", team_id=AGENCY_TEAM, tz="Europe/Madrid", locale="en-US")
    extra_opt = f" channel:<#{channel}|acme>" if channel else ""
    add_client(slack, name, extra='tz:Europe/Madrid hours:"mon-fri 09:00-18:00" window:4h' + extra_opt)
    with bot.db.transaction() as s:
        client = s.scalars(select(Client).where(Client.name == name)).one()
        plans.update_plan(s, actor=AGENCY, client=client, now=bot.clock.now(),
                          values={"crisis_manual": list(manual), "crisis_extra_pages": list(extra), **values})
        return client.id


def drain(bot, timeout: float = 5.0) -> None:
    """Run a tick, then wait until nothing sendable or in flight is left in the outbox (kicks run on threads)."""
    bot.tick()
    deadline = time.monotonic() + timeout
    while True:
        now = bot.clock.now()
        with bot.db.sessionmaker() as s:  # one statement: one snapshot (a delivery may finish in between two)
            owed = s.scalar(select(func.count()).select_from(OutboxNotice).where(
                or_(and_(*outbox._sendable(now)), OutboxNotice.claimed_until > now)))
        if not owed:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{owed} notices still owed")
        time.sleep(0.02)
        bot.nexo.ctx.deliverer.sweep()


def pages(fake, user: str) -> list[dict]:
    """Crisis pages in ``user``'s DM: messages whose header is the crisis card's (🚨), in any language."""
    return [m for m in fake.dm_messages(user) if _is_card(m)]


def _is_card(message: dict) -> bool:
    first = (message.get("blocks") or [{}])[0]
    return first.get("type") == "header" and first["text"]["text"].startswith("🚨")


def channel_messages(fake, channel: str = CHANNEL, *, thread_of: dict | None = None) -> list[dict]:
    msgs = [m for m in fake.messages(channel) if m.get("source") != "user"]
    if thread_of is None:
        return [m for m in msgs if not m.get("thread_ts") or m["thread_ts"] == m["ts"]]
    return [m for m in msgs if m.get("thread_ts") == thread_of["ts"] and m["ts"] != thread_of["ts"]]


def the_crisis(bot) -> Crisis:
    with bot.db.sessionmaker() as s:
        return s.scalars(select(Crisis).order_by(Crisis.id.desc())).first()


def event_kinds(bot, crisis_id: int) -> list[str]:
    with bot.db.sessionmaker() as s:
        return list(s.scalars(select(CrisisEvent.kind).where(CrisisEvent.crisis_id == crisis_id)
                              .order_by(CrisisEvent.id)))


def advance(bot, minutes: float) -> None:
    bot.clock.advance(timedelta(minutes=minutes))
    drain(bot)


def click(slack, bot, message: dict, user: str, action_id: str, *, until, value: str | None = None) -> None:
    """Click a button, wait for ``until()`` (listeners run after the ack, on Bolt's threads), then deliver."""
    r = slack.click(message, user, action_id=action_id, value=value)
    assert r.status_code == 200, r.text
    slack.fake.wait_for(until, message=f"after clicking {action_id}")
    drain(bot)


def status_is(bot, status) -> Callable[[], bool]:
    return lambda: the_crisis(bot).status == status


def has_event(bot, kind: str, count: int = 1) -> Callable[[], bool]:
    return lambda: event_kinds(bot, the_crisis(bot).id).count(kind) >= count


def declare(slack, bot, text: str = "sev:1 Fraud accusations trending on X", *, user: str = LEAD,
            client: str = "Acme") -> dict:
    r = slack.command(f"crisis {client} {text}", user_id=user)
    assert r.status_code == 200, r.text
    drain(bot)
    return r.json()
