"""The world every test stands on: the bot under test, the fake Slack, the cast, and short verbs.

``World`` wraps the ``bot`` fixture (the real app over HTTP, with its frozen clock) and says what people
do (``w.client()``, ``w.draft()``, ``w.ask()``, ``w.declare()``, ``w.click()``), what time does
(``w.drain()``, ``w.at()``, ``w.advance()``) and what people see (``w.seen_by()``, ``w.card()``,
``w.pages()``), then reads the database (``w.the_draft()``, ``w.decisions()``, ``w.the_request()``...).
Every action is a real signed request to the bot; set-up that Slack's forms don't offer yet goes through
the domain services, as an admin would.

The same verbs exist as plain functions of a ``SlackRequests`` or a database, for tests whose bot runs
in another process (tests/faults).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select

from bot.access import Actor
from bot.approvals.models import AuditEvent, Draft, DraftDecision, DraftVersion
from bot.crises.models import Crisis, CrisisEvent, CrisisPage
from bot.delivery import outbox
from bot.delivery.models import OutboxNotice
from bot.fakeslack import render_message
from bot.plans import service as plans
from bot.plans.models import Client
from bot.tracking.models import Question, TrackedRequest
from tests.support.factories import add_client
from tests.support.people import AGENCY_TEAM, BACKUP, CM, LEAD, REF

# -- the cast beyond tests/support/people.py ------------------------------------------------------------------
CM_EN = "U0CMEN"  # Eric, an English-speaking community manager (agency)
EREF = "U0EMMA"  # Emma, Globex's reference person (Globex's org, English)
EBACKUP = "U0EBEN"  # Ben, Globex's backup
ECM = "U0ECARL"  # Carl, an English-speaking community manager (agency)
EXTRA = "U0EXTRA"  # Elena, the agency's PR director: page 2 in every crisis
GLOBEX_TEAM = "T_GLOBEX"
GLOBEX_CHANNEL = "C0GLOBEX"
ACME_CHANNEL = "C0ACME"
CRISIS_MANUAL = ["Pause all scheduled posts", "Draft a holding statement", "Call the client's CEO"]
HOURS = 'tz:Europe/Madrid hours:"mon-fri 09:00-18:00" window:4h'
AGENCY = Actor(LEAD, AGENCY_TEAM, "en", True)  # who changes plans behind the forms' back


def add_english_people(fake: Any) -> None:
    fake.add_user(CM_EN, "eric", team_id=AGENCY_TEAM, tz="Europe/Madrid", locale="en-US")
    fake.add_user(EREF, "emma", team_id=GLOBEX_TEAM, tz="Europe/Madrid", locale="en-US")
    fake.add_user(EBACKUP, "ben", team_id=GLOBEX_TEAM, tz="Europe/Madrid", locale="en-US")
    fake.add_user(ECM, "carl", team_id=AGENCY_TEAM, tz="Europe/Madrid", locale="en-GB")
    fake.add_user(EXTRA, "elena", team_id=AGENCY_TEAM, tz="Europe/Madrid", locale="en-US")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- what a message shows --------------------------------------------------------------------------------------
def buttons(message: dict[str, Any]) -> list[str]:
    """The action ids of a message's buttons, in order."""
    return [
        e.get("action_id")
        for b in message.get("blocks") or []
        if b.get("type") == "actions"
        for e in b.get("elements") or []
    ]


def text_of(message: dict[str, Any]) -> str:
    return render_message(message)


_CARD_TITLES = ("Approval request", "Internal review", "Solicitud", "Revisión")


def cards(fake: Any, user: str) -> list[dict[str, Any]]:
    """Approval cards in ``user``'s DM (any state), oldest first."""
    return [
        m
        for m in fake.dm_messages(user)
        if (m.get("blocks") or [{}])[0].get("type") == "header"
        and any(w in m["blocks"][0]["text"]["text"] for w in _CARD_TITLES)
    ]


def wait_card(fake: Any, user: str, ref: str, version: int = 1) -> dict[str, Any]:
    """The newest card of ``ref`` v``version`` in ``user``'s DM, once it is there."""

    def find() -> dict[str, Any] | None:
        for m in reversed(cards(fake, user)):
            if f"{ref} (v{version})" in m["blocks"][0]["text"]["text"]:  # ACME-1 is not ACME-12
                return m
        return None

    return fake.wait_for(find, message=f"card {ref} v{version} for {user}")


def dm_texts(fake: Any, user: str) -> list[str]:
    return [render_message(m) for m in fake.dm_messages(user)]


def ephemeral_texts(fake: Any, user: str) -> list[str]:
    """What only ``user`` was shown in reply to clicks (slash command answers left out)."""
    return [e.get("text") or "" for e in fake.ephemerals(user) if e.get("source") != "command_ack"]


@dataclass(frozen=True)
class Seen:
    """What one person sees: their DMs (rendered), the ephemerals shown to them, and the replies to
    their requests through a response_url."""

    dms: list[str]
    ephemerals: list[str]
    responses: list[str]

    def __iter__(self):
        return iter([*self.dms, *self.ephemerals, *self.responses])


# -- people's requests --------------------------------------------------------------------------------------------
def draft(slack: Any, text: str, *, client: str = "Acme", by: str = CM_EN, options: str = "") -> str:
    """``/nexo draft``; returns the answer (the ack's text, or the reply a worker sent to the response_url)."""
    r = slack.command(f"draft {client} {options} {text}".replace("  ", " "), user_id=by)
    assert r.status_code == 200, r.text
    return slack.answer(r)


def ask(
    slack: Any, text: str = "Can we post the video on Friday?", *, client: str = "Globex", by: str = ECM
) -> dict[str, Any]:
    """``/nexo ask``; returns the ack's JSON, or {"text": …} from the worker's response_url reply."""
    r = slack.command(f"ask {client} {text}", user_id=by)
    assert r.status_code == 200, r.text
    return r.json() if r.content else {"text": slack.answer(r)}


def click(
    slack: Any, message: dict[str, Any], who: str, action_id: str, value: str | None = None, *, forged: bool = False
):
    """``who`` clicks the ``action_id`` button of ``message`` (the one carrying ``value``, if given).
    ``forged``: the payload was tampered with, its button carries ``value`` whatever the message shows."""
    if forged:
        r = stale_click(slack, message, who, action_id, value)
    else:
        r = slack.click(message, user_id=who, action_id=action_id, value=value)
    assert r.status_code == 200, r.text
    return r


def stale_click(slack: Any, message: dict[str, Any], who: str, action_id: str, value: str | None = None):
    """A click on ``message`` as it was shown, whatever Slack shows now: a second device that had not
    refreshed, a double click (with ``value``: a tampered button)."""
    from bot.fakeslack.interactions import button_action

    block, button = slack.find_button(message, action_id)
    action = button_action(block, {**button, "value": value if value is not None else button.get("value")})
    channel, ts = message["channel"], message["ts"]
    payload = slack.envelope(
        "block_actions",
        who,
        trigger_id=slack.fake.issue_trigger_id(who),
        response_url=slack.fake.new_response_url(channel=channel, user=who, message_ts=ts),
        container={"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
        channel={"id": channel, "name": "x"},
        state={"values": {}},
        actions=[action],
        message={k: v for k, v in message.items() if k in ("ts", "text", "blocks", "user", "type")},
    )
    return slack.send_interaction(payload)


# -- what the database holds -------------------------------------------------------------------------------------
def the_draft(db: Any, reference: str) -> Draft:
    with db.sessionmaker() as s:
        return s.scalars(select(Draft).where(Draft.reference == reference)).one()


def decisions(db: Any, reference: str) -> list[DraftDecision]:
    with db.sessionmaker() as s:
        d = s.scalars(select(Draft).where(Draft.reference == reference)).one()
        return list(s.scalars(select(DraftDecision).where(DraftDecision.draft_id == d.id).order_by(DraftDecision.id)))


def versions(db: Any, reference: str) -> list[DraftVersion]:
    with db.sessionmaker() as s:
        d = s.scalars(select(Draft).where(Draft.reference == reference)).one()
        return list(s.scalars(select(DraftVersion).where(DraftVersion.draft_id == d.id).order_by(DraftVersion.number)))


def events(db: Any, reference: str | None = None) -> list[str]:
    """The audit trail of ``reference`` (of every draft if None), oldest first."""
    with db.sessionmaker() as s:
        stmt = select(AuditEvent).order_by(AuditEvent.id)
        if reference:
            d = s.scalars(select(Draft).where(Draft.reference == reference)).one()
            stmt = stmt.where(AuditEvent.draft_id == d.id)
        return [e.event for e in s.scalars(stmt)]


def owed_notices(db: Any, now: datetime) -> int:
    """Notices that may be sent at ``now`` or are being sent: one statement, one snapshot (a delivery may
    finish in between two)."""
    with db.sessionmaker() as s:
        return s.scalar(
            select(func.count())
            .select_from(OutboxNotice)
            .where(or_(and_(*outbox.sendable(now)), OutboxNotice.claimed_until > now))
        )


# -- the world ------------------------------------------------------------------------------------------------------
class World:
    """The bot under test, its fake Slack and the cast. Domain folders set the defaults their stories
    share (``cm``: who drafts and asks; ``cms``, ``channel``, ``plan``: what ``client()`` sets up)."""

    def __init__(self, bot: Any) -> None:
        self.bot, self.slack = bot, bot.requests
        self.fake = self.slack.fake
        self.db, self.clock, self.ctx = bot.db, bot.clock, bot.nexo.ctx
        self.cm = CM_EN
        self.cms: tuple[str, ...] = (CM,)
        self.channel: str | None = None
        self.plan: dict[str, Any] = {}
        add_english_people(self.fake)

    def now(self) -> datetime:
        return self.clock.now()

    # -- set-up ------------------------------------------------------------------------------------------------
    def client(
        self,
        name: str = "Acme",
        *,
        ref: str = REF,
        backups: Iterable[str] = (BACKUP,),
        lead: str | None = LEAD,
        cms: Iterable[str] | None = None,
        options: str = "",
        channel: str | None = "",
        by: str = LEAD,
        **plan: Any,
    ) -> int:
        """``/nexo client add`` in business hours (Madrid, Mon-Fri 09:00-18:00, 4 h window) plus
        ``options``, with a client ``channel`` (the world's own by default); then ``plan`` values the
        Slack forms don't offer (a crisis manual, internal review, ...). Returns the client's id."""
        channel = self.channel if channel == "" else channel
        name_shown = name.strip('"')  # '"Acme Foods"': a name with a space, quoted on the command line
        extra = f"{HOURS} {options}".strip() + (f" channel:<#{channel}|{name_shown.lower()}>" if channel else "")
        add_client(
            self.slack,
            name,
            ref=ref,
            backups=tuple(backups),
            lead=lead,
            cms=tuple(self.cms if cms is None else cms),
            extra=extra,
            by=by,
        )
        if values := {**self.plan, **plan}:
            self.set_plan(name_shown, **values)
        return self.client_id(name_shown)

    def globex(self, *, channel: bool = False, options: str = "") -> None:
        """Globex: English people and plan, Madrid, Mon-Fri 09:00-18:00, 4 h window, defaults for the chase."""
        if channel:
            self.fake.add_channel(
                GLOBEX_CHANNEL, "globex-agency", members=[EREF, EBACKUP, ECM, LEAD], is_ext_shared=True
            )
        self.client(
            "Globex",
            ref=EREF,
            backups=(EBACKUP,),
            cms=(ECM,),
            options=f"lang:en {options}".strip(),
            channel=f"{GLOBEX_CHANNEL}" if channel else None,
        )

    def set_plan(self, name: str = "Acme", **values: Any) -> None:
        """Change plan fields the Slack forms don't offer yet (internal review, all reviewers, crisis manual)."""
        with self.db.transaction() as s:
            client = plans.resolve_client(s, AGENCY, name)
            plans.update_plan(s, actor=AGENCY, client=client, values=values, now=self.now())

    def client_id(self, name: str = "Acme") -> int:
        with self.db.sessionmaker() as s:
            return s.scalars(select(Client.id).where(Client.name == name)).one()

    # -- people's requests ---------------------------------------------------------------------------------------
    def command(self, text: str, by: str) -> Any:
        r = self.slack.command(text, user_id=by)
        assert r.status_code == 200, r.text
        return r

    def draft(self, text: str, *, client: str = "Acme", by: str | None = None, options: str = "") -> str:
        """``/nexo draft``; returns what its author was told."""
        return draft(self.slack, text, client=client, by=by or self.cm, options=options)

    def ask(
        self, text: str = "Can we post the video on Friday?", *, client: str = "Globex", by: str = ECM
    ) -> dict[str, Any]:
        """``/nexo ask``; returns the ack's JSON, or {"text": …} from the reply to the response_url."""
        return ask(self.slack, text, client=client, by=by)

    def declare(
        self, text: str = "sev:1 Fraud accusations trending on X", *, by: str = LEAD, client: str = "Acme"
    ) -> dict[str, Any]:
        """``/nexo crisis``, then everything it owes delivered; returns the ack's JSON."""
        r = self.command(f"crisis {client} {text}", by)
        self.drain()
        return r.json()

    def click(
        self,
        message: dict[str, Any],
        who: str,
        action_id: str,
        value: str | None = None,
        *,
        forged: bool = False,
        until: Callable[[], Any] | None = None,
    ):
        """``who`` clicks a button (see :func:`click`); ``until``: wait for it to hold (listeners run after
        the ack), then deliver what is owed."""
        r = click(self.slack, message, who, action_id, value, forged=forged)
        if until is not None:
            self.fake.wait_for(until, message=f"after clicking {action_id}")
            self.drain()
        return r

    def submit(self, view: dict[str, Any] | str, who: str, values: dict[str, Any] | None = None):
        r = self.slack.submit_view(view, who, values or {})
        assert r.status_code == 200, r.text
        return r

    # -- time -------------------------------------------------------------------------------------------------------
    def drain(self, timeout: float = 5.0) -> None:
        """A scheduler tick at the clock's time, then everything owed delivered."""
        self.bot.tick()
        self.settle(timeout)

    def settle(self, timeout: float = 5.0) -> None:
        """Wait until the listeners are done and everything owed by now has been sent (listeners run
        after their ack, deliveries on their own threads)."""
        assert self.bot.nexo.wait_idle(timeout), "listeners still running"
        deadline = time.monotonic() + timeout
        while left := owed_notices(self.db, self.now()):
            assert time.monotonic() < deadline, f"{left} notices still owed"
            time.sleep(0.02)
            self.ctx.deliverer.sweep()  # what a kick left behind (an older notice was in flight)

    def at(self, when: datetime) -> None:
        """Move the clock to ``when`` and run a tick there, waiting for what it sends."""
        self.clock.set(when)
        self.drain()

    def advance(self, minutes: float) -> None:
        self.clock.advance(timedelta(minutes=minutes))
        self.drain()

    # -- what people see --------------------------------------------------------------------------------------------
    def seen_by(self, user: str) -> Seen:
        responses = [
            str((r.get("body") or {}).get("text") or "") for r in self.fake.responses() if r.get("user") == user
        ]
        return Seen(dm_texts(self.fake, user), ephemeral_texts(self.fake, user), responses)

    def cards(self, user: str) -> list[dict[str, Any]]:
        return cards(self.fake, user)

    def card(self, user: str, ref: str, version: int = 1) -> dict[str, Any]:
        self.settle()  # what is owed by now is sent (a card queued behind one in flight waits for a sweep)
        return wait_card(self.fake, user, ref, version)

    def question_message(self, user: str = EREF) -> dict[str, Any]:
        """The (first) question message in ``user``'s DM."""
        return next(
            m for m in self.fake.dm_messages(user) if "has a question for" in m["text"] or "asked *" in m["text"]
        )

    def replies(self, parent: dict[str, Any]) -> list[dict[str, Any]]:
        """Messages in the thread of ``parent``, oldest first."""
        return [
            m
            for m in self.fake.messages(parent["channel"])
            if m.get("thread_ts") == parent["ts"] and m["ts"] != parent["ts"]
        ]

    def top_level(self, user: str) -> list[dict[str, Any]]:
        return [m for m in self.fake.dm_messages(user) if not m.get("thread_ts") or m["thread_ts"] == m["ts"]]

    def pages(self, user: str) -> list[dict[str, Any]]:
        """Crisis pages in ``user``'s DM, oldest first: the live card and the earlier ones, collapsed to one line."""
        with self.db.sessionmaker() as s:
            sent = set(
                s.scalars(
                    select(OutboxNotice.ts)
                    .join(CrisisPage, CrisisPage.notice_id == OutboxNotice.id)
                    .where(CrisisPage.recipient == user)
                )
            )
        return [m for m in self.fake.dm_messages(user) if m["ts"] in sent]

    def live_pages(self, user: str) -> list[dict[str, Any]]:
        """The pages in ``user``'s DM that show the whole crisis card (its 🚨 header), in any language."""
        return [m for m in self.pages(user) if _is_crisis_card(m)]

    def channel_messages(
        self, channel: str = ACME_CHANNEL, *, thread_of: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """The bot's messages in ``channel``: top level, or in the thread of ``thread_of``."""
        msgs = [m for m in self.fake.messages(channel) if m.get("source") != "user"]
        if thread_of is None:
            return [m for m in msgs if not m.get("thread_ts") or m["thread_ts"] == m["ts"]]
        return [m for m in msgs if m.get("thread_ts") == thread_of["ts"] and m["ts"] != thread_of["ts"]]

    # -- what the database holds -------------------------------------------------------------------------------------
    def the_draft(self, reference: str) -> Draft:
        return the_draft(self.db, reference)

    def decisions(self, reference: str) -> list[DraftDecision]:
        return decisions(self.db, reference)

    def versions(self, reference: str) -> list[DraftVersion]:
        return versions(self.db, reference)

    def events(self, reference: str | None = None) -> list[str]:
        return events(self.db, reference)

    def requests(self) -> list[TrackedRequest]:
        with self.db.sessionmaker() as s:
            return list(s.scalars(select(TrackedRequest).order_by(TrackedRequest.id)))

    def the_request(self, reference: str = "GLOBEX-Q1") -> TrackedRequest:
        with self.db.sessionmaker() as s:
            return s.scalar(select(TrackedRequest).where(TrackedRequest.reference == reference))

    def the_question(self, reference: str = "GLOBEX-Q1") -> Question:
        with self.db.sessionmaker() as s:
            return s.scalar(select(Question).where(Question.reference == reference))

    def the_client(self, name: str = "globex") -> Client:
        with self.db.sessionmaker() as s:
            client = s.scalar(select(Client).where(Client.name_key == name))
            assert client is not None
            client.current_plan  # noqa: B018 - load it before the session closes
            return client

    def the_crisis(self) -> Crisis:
        """The newest crisis."""
        with self.db.sessionmaker() as s:
            return s.scalars(select(Crisis).order_by(Crisis.id.desc())).first()

    def crisis_events(self, crisis_id: int) -> list[str]:
        with self.db.sessionmaker() as s:
            return list(
                s.scalars(select(CrisisEvent.kind).where(CrisisEvent.crisis_id == crisis_id).order_by(CrisisEvent.id))
            )

    def crisis_is(self, status: Any) -> Callable[[], bool]:
        return lambda: self.the_crisis().status == status

    def crisis_has(self, kind: str, count: int = 1) -> Callable[[], bool]:
        return lambda: self.crisis_events(self.the_crisis().id).count(kind) >= count


def _is_crisis_card(message: dict[str, Any]) -> bool:
    first = (message.get("blocks") or [{}])[0]
    return first.get("type") == "header" and first["text"]["text"].startswith("🚨")
