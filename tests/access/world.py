"""One bot shared by many access checks: Acme and Beta set up through Slack, fresh objects on demand,
and what each person was shown (from the fake Slack's record of the bot's calls).

The set-up of a check may use the domain services (fast, no Slack round trip); the action under test is
always a real signed request to the bot.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.access import Actor
from bot.approvals import decisions, flows
from bot.approvals.models import Draft, DraftCard, Stage
from bot.approvals.spec import DraftFields
from bot.crises import service as crises
from bot.crises.models import Crisis, CrisisStep
from bot.delivery.models import OutboxNotice
from bot.fakeslack import render_view
from bot.models import Base
from bot.plans import service as plans
from bot.plans.models import Client, ClientStatus
from bot.plans.spec import default_values
from bot.tracking import questions
from tests.support.factories import add_client
from tests.support.people import (
    ADMIN,
    AGENCY_TEAM,
    BACKUP,
    CLIENT_TEAM,
    CM,
    LEAD,
    MEMBER,
    OTHER_REF,
    REF,
    STRANGER,
)
from tests.support.world import World as BaseWorld

EVERYONE = (CM, LEAD, ADMIN, MEMBER, REF, BACKUP, OTHER_REF, STRANGER)
MANUAL = [
    "Pause the ads",
    "Draft a holding statement",
    "Call the client",
    "Check the comments",
    "Brief the team",
    "Answer the press",
    "Review the ads",
    "Write the summary",
]
PLAN = 'tz:Europe/Madrid hours:"mon-fri 09:00-18:00" window:4h lang:es'  # both clients are Spanish-speaking
# Tables a refused request may touch: the outbox (its polite answer) and bookkeeping of the request itself.
NOT_STATE = {"outbox", "slack_events_seen", "sweep_timers", "people"}  # people: a cache of users.info
# Web API methods that show nothing to anyone (look-ups, or an upload not yet shared).
SILENT = {
    "auth.test",
    "users.info",
    "conversations.open",
    "conversations.info",
    "chat.getPermalink",
    "files.getUploadURLExternal",
    "upload",
    "usergroups.users.list",
    "conversations.replies",
    "conversations.history",
}

AGENCY_ADMIN = Actor(ADMIN, AGENCY_TEAM, "en", True)
AGENCY_CM = Actor(CM, AGENCY_TEAM, "es", True)
AGENCY_LEAD = Actor(LEAD, AGENCY_TEAM, "en", True)
CLIENT_REF = Actor(REF, CLIENT_TEAM, "es", False)


@dataclass(frozen=True)
class Delivery:
    """Something the bot showed: to whom, through which Slack method, and everything it said."""

    audience: frozenset[str]
    method: str
    content: str


@dataclass(frozen=True)
class DraftRef:
    id: int
    reference: str
    client: str


class World(BaseWorld):
    """The world of tests/support, shared by a module's checks: the objects they act on, made fresh on
    demand, and everything each person was shown."""

    def __init__(self, bot: Any) -> None:
        super().__init__(bot)
        self._numbers = itertools.count(1)
        self._shared: dict[str, Any] = {}
        self.made: list[str] = []  # clients made by new_client, in order

    # -- the base: Acme (with its own channel-less plan) and Beta, set up through Slack --------------------
    def build(self) -> None:
        add_client(self.slack, "Acme", ref=REF, backups=(BACKUP,), lead=LEAD, cms=(CM,), extra=PLAN, by=ADMIN)
        add_client(self.slack, "Beta", ref=OTHER_REF, backups=(), lead=LEAD, cms=(CM,), extra=PLAN, by=ADMIN)
        with self.bot.db.transaction() as s:
            for name in ("acme", "beta"):
                client = s.scalars(select(Client).where(Client.name_key == name)).one()
                plans.update_plan(
                    s, actor=AGENCY_ADMIN, client=client, now=self.now(), values={"crisis_manual": MANUAL}
                )
        self.settle()

    def shared(self, key: str, make: Any) -> Any:
        """One object for every check that leaves it as it was (refusals, reads)."""
        if key not in self._shared:
            self._shared[key] = make()
        return self._shared[key]

    def number(self) -> int:
        return next(self._numbers)

    # -- fresh objects ---------------------------------------------------------------------------------------
    def new_client(self, **values: Any) -> str:
        """A client with Acme's people (and a crisis manual); returns its name."""
        name = f"Acme{self.number()}"
        with self.bot.db.transaction() as s:
            plans.create_client(
                s,
                actor=AGENCY_ADMIN,
                name=name,
                now=self.now(),
                defaults=default_values(language="en", timezone="Europe/Madrid"),
                values={
                    "reference_user": REF,
                    "backups": [BACKUP],
                    "account_lead": LEAD,
                    "community_managers": [CM],
                    "crisis_manual": MANUAL,
                    **values,
                },
            )
        self.made.append(name)
        return name

    def archive(self, names: list[str]) -> None:
        """Put used clients away, so that lists, reports and Home tabs stay the size of Acme and Beta."""
        with self.bot.db.transaction() as s:
            for name in names:
                client = self._client(s, name)
                if client.status == ClientStatus.ACTIVE:
                    plans.archive_client(s, actor=AGENCY_ADMIN, client=client, now=self.now())

    def _client(self, s: Any, name: str) -> Client:
        return s.scalars(select(Client).where(Client.name == name)).one()

    def new_draft(
        self, client: str = "Acme", *, text: str | None = None, publish_in: timedelta | None = None
    ) -> DraftRef:
        """A draft by Carla (CM), on its way to the client's reference person."""
        fields = DraftFields(
            text=text or f"Post number {self.number()} for the autumn campaign",
            publish_at=self.now() + publish_in if publish_in else None,
        )
        with self.bot.db.transaction() as s:
            outcome = flows.create_draft(
                s, actor=AGENCY_CM, client=self._client(s, client), fields=fields, now=self.now()
            )
            return DraftRef(outcome.draft.id, outcome.draft.reference, client)

    def card_of(self, draft: DraftRef, to: str = REF, version: int = 1) -> dict[str, Any]:
        """The approval card ``to`` got for ``version``."""

        def notice_id() -> int | None:
            with self.bot.db.sessionmaker() as s:
                return s.scalar(
                    select(DraftCard.notice_id).where(
                        DraftCard.draft_id == draft.id,
                        DraftCard.version == version,
                        DraftCard.stage == Stage.CLIENT,
                        DraftCard.recipient == to,
                    )
                )

        return self.message(self.fake.wait_for(notice_id, message=f"card of {draft.reference}"))

    def draft_ref(self, reference: str) -> DraftRef:
        with self.bot.db.sessionmaker() as s:
            draft = s.scalars(select(Draft).where(Draft.reference == reference)).one()
            return DraftRef(draft.id, reference, s.get(Client, draft.client_id).name)

    def changes_requested(self, draft: DraftRef) -> dict[str, Any]:
        """Ana asks for changes; returns Carla's notice with the Revise button."""
        with self.bot.db.transaction() as s:
            decisions.request_changes(
                s, actor=CLIENT_REF, draft_id=draft.id, version=1, comment="Shorter, please", now=self.now()
            )
        return self.revise_notice(draft)

    def revise_notice(self, draft: DraftRef) -> dict[str, Any]:
        """Carla's notice that changes were asked for ``draft``: the one with the Revise button."""

        def notice_id() -> int | None:
            with self.bot.db.sessionmaker() as s:
                for notice in s.scalars(
                    select(OutboxNotice).where(OutboxNotice.conversation == CM).order_by(OutboxNotice.id.desc())
                ):
                    if f'"{draft.id}:1"' in json.dumps(notice.payload) and "draft_revise" in json.dumps(notice.payload):
                        return notice.id
            return None

        return self.message(self.fake.wait_for(notice_id, message=f"revise notice of {draft.reference}"))

    def new_question(self, client: str = "Acme") -> tuple[int, dict[str, Any]]:
        """Carla asks Ana a question; returns (question id, the question message)."""
        with self.bot.db.transaction() as s:
            asked = questions.ask(
                s,
                actor=AGENCY_CM,
                client=self._client(s, client),
                now=self.now(),
                text=f"Can we post video {self.number()} on Friday?",
            )
            question_id, notice = asked.question.id, asked.question.notice_id
        return question_id, self.message(notice)

    def new_crisis(self, client: str, *, resolve: bool = False) -> int:
        """Luis declares a crisis for ``client`` (and resolves it: ``resolve``); returns its id."""
        with self.bot.db.transaction() as s:
            crisis = crises.declare(
                s,
                actor=AGENCY_LEAD,
                client=self._client(s, client),
                severity=2,
                description="Angry posts about the new ad",
                now=self.now(),
            )
            crisis_id = crisis.id
        if resolve:
            self.settle()
            with self.bot.db.transaction() as s:
                crises.resolve(s, actor=AGENCY_LEAD, crisis_id=crisis_id, now=self.now())
        return crisis_id

    def page(self, crisis_id: int, user: str = LEAD) -> dict[str, Any]:
        return self.message_by_ref(f"crisis:{crisis_id}:page:1:{user}")

    def checklist(self, crisis_id: int) -> tuple[dict[str, Any], int]:
        """The checklist message and the id of its last step nobody ticked yet."""
        with self.bot.db.sessionmaker() as s:
            notice_id = s.get(Crisis, crisis_id).checklist_notice_id
            step = s.scalars(
                select(CrisisStep.id)
                .where(CrisisStep.crisis_id == crisis_id, CrisisStep.done_at.is_(None))
                .order_by(CrisisStep.position.desc())
            ).first()
        return self.message(notice_id), step

    def release_question(self, crisis_id: int) -> dict[str, Any]:
        return self.message_by_ref(f"crisis:{crisis_id}:release")

    # -- Slack messages ----------------------------------------------------------------------------------------
    def message(self, notice_id: int) -> dict[str, Any]:
        """The message an outbox notice became, once delivered (current content)."""

        def delivered() -> tuple[str, str] | None:
            with self.bot.db.sessionmaker() as s:
                notice = s.get(OutboxNotice, notice_id)
                if notice is not None and notice.ts:
                    return notice.channel, notice.ts
            self.ctx.deliverer.sweep()  # what a kick left behind (an older notice was in flight): the sweep sends
            return None

        try:
            channel, ts = self.fake.wait_for(delivered, timeout=15, message=f"notice {notice_id} delivered")
        except AssertionError:
            with self.bot.db.sessionmaker() as s:
                notice = s.get(OutboxNotice, notice_id)
                raise AssertionError(
                    f"notice {notice_id} not delivered: {notice.kind} {notice.status} "
                    f"{notice.conversation} {notice.payload} {notice.last_error}"
                ) from None
        return self.fake.current_message(channel, ts)

    def message_by_ref(self, ref_key: str) -> dict[str, Any]:
        def notice_id() -> int | None:
            with self.bot.db.sessionmaker() as s:
                return s.scalar(select(OutboxNotice.id).where(OutboxNotice.ref_key == ref_key))

        return self.message(self.fake.wait_for(notice_id, message=ref_key))

    def settle(self, timeout: float = 15) -> None:
        """As the base world's, with more time: a module's checks leave many deliveries behind."""
        super().settle(timeout)

    # -- what the database holds, and what people were shown -----------------------------------------------------
    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table that holds state (the outbox and request bookkeeping left out)."""
        with self.bot.db.engine.connect() as conn:  # raw rows: decoding JSON and times would be the slow part
            return {
                t.name: conn.exec_driver_sql(
                    f'SELECT * FROM "{t.name}" ORDER BY ' + ", ".join(f'"{c.name}"' for c in t.primary_key.columns)
                ).fetchall()
                for t in Base.metadata.sorted_tables
                if t.name not in NOT_STATE
            }

    def deliveries(self) -> list[Delivery]:
        """What the bot showed through the Web API and response URLs since the last ``fake.clear()``."""
        calls = [c for c in self.fake.calls() if c.method not in SILENT and c.response.get("ok", c.status == 200)]
        responses = {r["token"]: r.get("user") for r in self.fake.responses()} if calls else {}
        files = self.fake.uploaded_files() if any(c.method == "files.completeUploadExternal" for c in calls) else []
        return [
            Delivery(frozenset(self.audience(call, responses)), call.method, self.content(call, files))
            for call in calls
        ]

    def audience(self, call: Any, responses: dict[str, str | None]) -> set[str]:
        p = call.params
        if call.method == "response_url":
            return {responses[p["token"]]} - {None}  # type: ignore[return-value]
        if call.method == "chat.postEphemeral":
            return {p.get("user")}
        if call.method == "views.publish":
            return {p.get("user_id")}
        if call.method.startswith("views."):
            view_id = (call.response.get("view") or {}).get("id") or p.get("view_id")
            return {self.fake.view_user(view_id)}
        if call.method == "files.completeUploadExternal":
            channels = [c for c in str(p.get("channels") or "").split(",") if c] + [p.get("channel_id")]
            return set().union(*(self.members(c) for c in channels if c))
        return self.members(p.get("channel"))

    def members(self, channel: str | None) -> set[str]:
        if not channel:
            return set()
        if channel.startswith("U"):
            return {channel}
        info = self.fake.channel(channel) or {}
        return {m for m in info.get("members") or [] if m in EVERYONE} or {info.get("user")} - {None}

    def content(self, call: Any, files: list[dict[str, Any]]) -> str:
        text = json.dumps(call.params, ensure_ascii=False)
        if call.method == "files.completeUploadExternal":
            ids = {f.get("id") for f in call.params.get("files") or []}
            for stored in files:
                if stored["id"] in ids:
                    text += f" file:{stored['name']} " + stored["content"].decode("utf-8", "replace")
        return text


# -- requests: one signed request (or two: open a form, submit it) and where its answer shows ---------------------
@dataclass
class Attempt:
    user: str
    kind: str  # command | click | submit | event
    response: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def ack_text(self) -> str:
        """What the request's own answer showed: a command's reply, a form's errors or replacement view."""
        if self.kind == "command":
            return self.response.json().get("text") or ""
        if self.kind == "submit" and self.response.text not in ("", "{}"):
            body = self.response.json()
            if body.get("response_action") == "errors":
                return " ".join(body["errors"].values())
            if body.get("response_action") == "update":
                return render_view(body["view"])
        return ""


def command(w: World, user: str, text: str) -> Attempt:
    r = w.slack.command(text, user_id=user)
    assert r.status_code == 200, r.text
    return Attempt(user, "command", r)


def click(w: World, message: dict[str, Any], user: str, action_id: str, value: str | None = None) -> Attempt:
    r = w.slack.click(message, user_id=user, action_id=action_id, value=value)
    assert r.status_code == 200, r.text
    return Attempt(user, "click", r)


def submit(w: World, view: dict[str, Any], user: str, values: dict[str, Any] | None = None) -> Attempt:
    r = w.slack.submit_view(view, user, values or {})
    assert r.status_code == 200, r.text
    return Attempt(user, "submit", r)


def opened_view(w: World, user: str, callback_id: str, action: Callable[[], Any]) -> dict[str, Any]:
    """Run ``action`` (it opens a form for ``user``) and return the form."""
    before = {v["id"] for v in w.fake.views_opened(user)}
    action()
    return w.fake.wait_for(
        lambda: next(
            (v for v in w.fake.views_opened(user) if v["id"] not in before and v.get("callback_id") == callback_id),
            None,
        ),
        timeout=10,
        message=f"{callback_id} opened for {user}",
    )


def wait_until(predicate: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)
