"""An English-speaking client (Globex) and helpers to ask, tick and read what Slack received."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.delivery import outbox
from bot.delivery.models import OutboxNotice
from bot.plans.models import Client
from bot.tracking.models import Question, TrackedRequest
from tests.support.factories import add_client
from tests.support.people import LEAD

EREF = "U0EMMA"  # Emma, Globex's reference person (Globex's org, English)
EBACKUP = "U0EBEN"  # Ben, Globex's backup
ECM = "U0ECARL"  # Carl, an English-speaking community manager (agency)
GLOBEX_TEAM = "T_GLOBEX"
CHANNEL = "C0GLOBEX"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def add_english_people(fake) -> None:
    fake.add_user(EREF, "emma", team_id=GLOBEX_TEAM, tz="Europe/Madrid", locale="en-US")
    fake.add_user(EBACKUP, "ben", team_id=GLOBEX_TEAM, tz="Europe/Madrid", locale="en-US")
    fake.add_user(ECM, "carl", team_id="T_AGENCY", tz="Europe/Madrid", locale="en-GB")


def add_globex(slack, fake, *, channel: bool = False, extra: str = "") -> None:
    """Globex: Madrid, Mon-Fri 09:00-18:00, 4 h window, English; plan defaults for the chase."""
    add_english_people(fake)
    options = 'tz:Europe/Madrid hours:"mon-fri 09:00-18:00" window:4h lang:en ' + extra
    if channel:
        fake.add_channel(CHANNEL, "globex-agency", members=[EREF, EBACKUP, ECM, LEAD], is_ext_shared=True)
        options += f" channel:<#{CHANNEL}|globex-agency>"
    add_client(slack, "Globex", ref=EREF, backups=(EBACKUP,), lead=LEAD, cms=(ECM,), extra=options)


def ask(slack, text: str = "Can we post the video on Friday?", *, client: str = "Globex", by: str = ECM) -> dict:
    """``/nexo ask``; returns the ack's JSON, or {"text": …} from the worker's response_url reply."""
    r = slack.command(f"ask {client} {text}", user_id=by)
    assert r.status_code == 200, r.text
    return r.json() if r.content else {"text": slack.answer(r)}


def drain(bot, timeout: float = 5.0) -> None:
    """Run a tick, then wait until nothing sendable or in flight is left in the outbox (kicks run on threads)."""
    bot.tick()
    settle(bot, timeout)


def settle(bot, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with bot.db.sessionmaker() as s:
            # Every notice owed by now, including one waiting behind another in its conversation
            # (due_notice_ids leaves those out until the one before it is delivered).
            owed = s.scalar(select(func.count()).select_from(OutboxNotice).where(
                OutboxNotice.status.in_(outbox.OWED), OutboxNotice.next_attempt_at <= bot.clock.now()))
        if not owed:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{owed} notices still owed")
        time.sleep(0.02)
        bot.nexo.ctx.deliverer.sweep()


def at(bot, when: datetime) -> None:
    """Move the clock to ``when`` and run a tick there, waiting for what it sends."""
    bot.clock.set(when)
    drain(bot)


def question_message(fake, user: str = EREF) -> dict:
    """The (first) question message in ``user``'s DM."""
    return next(m for m in fake.dm_messages(user) if "has a question for" in m["text"] or "asked *" in m["text"])


def replies(fake, parent: dict) -> list[dict]:
    """Messages in the thread of ``parent``, oldest first."""
    return [m for m in fake.messages(parent["channel"])
            if m.get("thread_ts") == parent["ts"] and m["ts"] != parent["ts"]]


def top_level(fake, user: str) -> list[dict]:
    return [m for m in fake.dm_messages(user) if not m.get("thread_ts") or m["thread_ts"] == m["ts"]]


def the_request(db, reference: str = "GLOBEX-Q1") -> TrackedRequest:
    with db.sessionmaker() as s:
        return s.scalar(select(TrackedRequest).where(TrackedRequest.reference == reference))


def the_question(db, reference: str = "GLOBEX-Q1") -> Question:
    with db.sessionmaker() as s:
        return s.scalar(select(Question).where(Question.reference == reference))


def the_client(db, name: str = "globex") -> Client:
    with db.sessionmaker() as s:
        client = s.scalar(select(Client).where(Client.name_key == name))
        assert client is not None
        client.current_plan  # noqa: B018 - load it before the session closes
        return client


def action_ids(message: dict) -> list[str]:
    return [e.get("action_id") for b in message.get("blocks") or [] if b.get("type") == "actions"
            for e in b.get("elements") or []]
