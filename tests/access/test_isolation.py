"""A client's data never reaches another client's people.

Acme (Ana and Bruno, Acme's org) and Beta (Olga and Omar, another org) share the agency: the same CM and
account lead. Each client gets drafts (approved, changed and revised, scheduled and held), questions
(answered by button and in a thread, promised, left to be chased), a crisis (paged, acknowledged, updated,
resolved, its posts released), reports, Home tabs and the daily reminders. Then everything the fake Slack
showed each client's people (messages and their edits, ephemerals, response_url replies, modals, Home tabs,
uploaded files, and what the outbox still owes them) is searched for the other client's names, references,
people and texts. Naming the other client in a command must read exactly like naming no client at all.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.approvals import ids as approval_ids
from bot.crises import ids as crisis_ids
from bot.crises.models import Crisis
from bot.delivery.models import OutboxNotice
from bot.plans import service as plans
from bot.plans.models import Client
from bot.tracking import ids as tracking_ids
from bot.tracking.models import Question
from tests.access.world import AGENCY_ADMIN, Attempt, World, click, command, opened_view, submit
from tests.support.people import BACKUP, CM, LEAD, OTHER_REF, REF, STRANGER

OTHER_BACKUP = "U0OMAR"  # Omar, Beta's backup (Beta's org, English)


@dataclass(frozen=True)
class Side:
    name: str
    prefix: str
    ref: str
    backup: str
    marker: str  # a word only this client's texts contain

    @property
    def people(self) -> tuple[str, str]:
        return self.ref, self.backup

    def leaks(self) -> list[re.Pattern[str]]:
        """What would give this client away to someone else."""
        return [
            re.compile(rf"\b{self.name}\b", re.IGNORECASE),
            re.compile(rf"\b{self.prefix}-"),
            re.compile(self.marker),
            *(re.compile(rf"\b{user}\b") for user in self.people),
        ]


ACME = Side("Acme", "ACME", REF, BACKUP, "zebra")
BETA = Side("Beta", "BETA", OTHER_REF, OTHER_BACKUP, "koala")
SIDES = ((ACME, BETA), (BETA, ACME))
ANSWERS: dict[str, list[str]] = {}  # what each person's own requests got back (form errors live nowhere else)


@pytest.fixture(scope="module")
def played(world: World) -> World:
    """Both clients used in every domain, by the agency and by their own people; then a day of reminders."""
    w = world
    w.fake.add_user(OTHER_BACKUP, "omar", team_id="T_OTHER", tz="America/Mexico_City", locale="en-US")
    w.fake.add_channel("C0NEWS", "news", members=[REF, BACKUP, OTHER_REF, OTHER_BACKUP, CM, LEAD, STRANGER])
    with w.bot.db.transaction() as s:
        beta = s.scalars(select(Client).where(Client.name == "Beta")).one()
        plans.update_plan(s, actor=AGENCY_ADMIN, client=beta, now=w.now(), values={"backups": [OTHER_BACKUP]})
    ANSWERS.clear()
    for side, _ in SIDES:
        play(w, side)
    for hours in (3, 1.5, 2, 18):  # the reminder, overdue, escalations; the next morning's digest
        w.bot.clock.advance(timedelta(hours=hours))
        w.bot.tick()
        w.settle()
    for side, _ in SIDES:
        look(w, side)
    return w


def keep(w: World, attempt: Any) -> Any:
    """Remember what the request's own answer showed (a form's errors are not stored anywhere else)."""
    ANSWERS.setdefault(attempt.user, []).append(attempt.response.text)
    return attempt


def play(w: World, side: Side) -> None:
    name, ref, backup, marker = side.name, side.ref, side.backup, side.marker
    # Drafts: approved; changed and revised; scheduled (held by the crisis, then released).
    for text in (f"{marker} spring launch", f"{marker} second post", f"at:2026-11-27T10:00 {marker} black friday"):
        command(w, CM, f"draft {name} {text}")
    first, second = w.draft_ref(f"{side.prefix}-1"), w.draft_ref(f"{side.prefix}-2")
    keep(w, click(w, w.card_of(first, ref), ref, approval_ids.APPROVE))
    card = w.card_of(second, ref)
    form = opened_view(w, ref, approval_ids.COMMENT_MODAL, lambda: click(w, card, ref, approval_ids.REQUEST_CHANGES))
    keep(w, submit(w, form, ref, {approval_ids.COMMENT: f"{marker} make it shorter"}))
    notice = w.revise_notice(second)
    form = opened_view(w, CM, approval_ids.DRAFT_MODAL, lambda: click(w, notice, CM, approval_ids.REVISE))
    submit(w, form, CM, {approval_ids.TEXT: f"{marker} shorter post"})
    w.card_of(second, ref, version=2)

    # Questions: answered by button, in the thread, promised, and one left for the reminders.
    for n in range(1, 5):
        command(w, CM, f"ask {name} {marker} question {n}?")
    messages = [w.message(q.notice_id) for q in questions_of(w, name)]
    form = opened_view(w, ref, tracking_ids.ANSWER_MODAL, lambda: click(w, messages[0], ref, tracking_ids.ANSWER))
    keep(w, submit(w, form, ref, {tracking_ids.ANSWER_TEXT: f"{marker} yes"}))
    w.slack.message(backup, messages[1]["channel"], f"{marker} no", thread_ts=messages[1]["ts"])
    form = opened_view(w, ref, tracking_ids.PROMISE_MODAL, lambda: click(w, messages[3], ref, tracking_ids.PROMISE))
    keep(w, submit(w, form, ref))

    # A crisis: paged, acknowledged by the backup, news from the reference person, resolved, posts released.
    command(w, LEAD, f"crisis {name} sev:1 {marker} boycott call")
    crisis_id = crisis_of(w, name)
    keep(w, click(w, w.page(crisis_id, backup), backup, crisis_ids.ACKNOWLEDGE))
    w.settle()
    for text in (f"crisis {name} update {marker} statement ready", f"crisis {name} resolve"):
        keep(w, command(w, ref, text))
    click(w, w.release_question(crisis_id), LEAD, crisis_ids.RELEASE_HELD)


def look(w: World, side: Side) -> None:
    """Everything the client's people can look at."""
    name = side.name
    post = w.fake.add_message("C0NEWS", STRANGER, "Is this brand a scam?")
    for user in side.people:
        for text in (
            "client list",
            f"client show {name}",
            "pending",
            f"pending {name}",
            "report",
            f"report {name}",
            f"report {name} csv",
            f"report {name} crises",
            "crisis",
        ):
            keep(w, command(w, user, text))
        keep(w, home(w, user))
        before = len(w.fake.views_opened(user))
        w.slack.shortcut(crisis_ids.FLAG_SHORTCUT, post, "C0NEWS", user)
        w.fake.wait_for(lambda u=user, n=before: len(w.fake.views_opened(u)) > n)
    w.settle()


def home(w: World, user: str) -> Attempt:
    return Attempt(
        user, "event", w.slack.event({"type": "app_home_opened", "user": user, "tab": "home", "channel": f"D{user}"})
    )


def questions_of(w: World, name: str) -> list[Question]:
    with w.bot.db.sessionmaker() as s:
        client = s.scalars(select(Client).where(Client.name == name)).one()
        return list(s.scalars(select(Question).where(Question.client_id == client.id).order_by(Question.number)))


def crisis_of(w: World, name: str) -> int:
    with w.bot.db.sessionmaker() as s:
        client = s.scalars(select(Client).where(Client.name == name)).one()
        return s.scalars(select(Crisis.id).where(Crisis.client_id == client.id)).one()


def shown_to(w: World, user: str) -> list[str]:
    """Everything Slack showed ``user``, or the bot still owes them, as JSON text."""
    dm = w.fake.dm_channel(user)
    shown = [json.dumps(m, ensure_ascii=False) for m in w.fake.messages(dm, include_deleted=True)]
    shown += [json.dumps(e, ensure_ascii=False) for e in w.fake.ephemerals(user)]
    shown += [json.dumps(r["body"], ensure_ascii=False) for r in w.fake.responses() if r.get("user") == user]
    for call in w.fake.calls():
        if call.method.startswith("views.") and call.response.get("ok"):
            view_id = (call.response.get("view") or {}).get("id")
            if call.params.get("user_id") == user or (view_id and w.fake.view_user(view_id) == user):
                shown.append(json.dumps(call.params, ensure_ascii=False))
    for f in w.fake.uploaded_files():
        if dm in f["channels"]:
            shown.append(
                f"{f['name']} {f['title']} {f.get('initial_comment')} " + f["content"].decode("utf-8", "replace")
            )
    with w.bot.db.sessionmaker() as s:
        for notice in s.scalars(select(OutboxNotice)):
            p = notice.payload
            if user in (p.get("to"), p.get("user"), p.get("channel")) or notice.conversation in (user, dm):
                shown.append(json.dumps(p, ensure_ascii=False))  # also a chart's series, drawn at delivery
    shown += ANSWERS.get(user, [])
    return shown


def product_examples_removed(text: str) -> str:
    """Nexo's own help and examples name "Acme" (`/nexo client add Acme ...`, a form's placeholder)."""
    text = re.sub(r"`/nexo[^`]*`", "", text)
    return re.sub(r'"placeholder": \{[^}]*\}', "", text)


@pytest.mark.parametrize(("side", "other"), SIDES, ids=["acme-people", "beta-people"])
def test_a_clients_people_see_nothing_of_another_client(played: World, side: Side, other: Side) -> None:
    for user in side.people:
        shown = shown_to(played, user)
        assert len(shown) > 30, f"too little reached {user} to prove anything"
        assert any(side.marker in text for text in shown), f"{user} never saw their own client's data"
        for text in shown:
            clean = product_examples_removed(text)
            leaked = [p.pattern for p in other.leaks() if p.search(clean)]
            assert not leaked, f"{other.name}'s {leaked} reached {user}: {text[:500]}"


PROBES = (
    "client show {}",
    "client edit {}",
    "client webhook {}",
    "client archive {}",
    "draft {} Hello",
    "pending {}",
    "ask {} Anything?",
    "report {}",
    "report {} csv",
    "report {} crises",
    "report {} audit",
    "crisis {} sev:1 Fire",
    "crisis {} update News",
    "crisis {} ack",
    "crisis {} resolve",
    "crisis {} release",
    'crisis {} watch <#C0NEWS|news> keywords:"scam"',
)


@pytest.mark.parametrize(("side", "other"), SIDES, ids=["acme-people", "beta-people"])
def test_naming_another_client_reads_like_naming_no_client(played: World, side: Side, other: Side) -> None:
    w = played
    before = w.snapshot()
    for user in side.people:
        for probe in PROBES:
            aimed = command(w, user, probe.format(other.name)).response.json()["text"]
            unknown = command(w, user, probe.format("Zulu")).response.json()["text"]
            assert aimed.replace(other.name, "Zulu") == unknown, (probe, aimed, unknown)
    w.settle()
    assert w.snapshot() == before
