"""Who may do what: every action against every role, through real signed requests.

``yes``: it works and takes effect (the database and what Slack showed).  ``no``: refused politely, in the
person's language, only to them, with one "access refused" log line, and nothing in the database changes.
``blind``: it works, and shows nothing of Acme.  ``quiet``: not taken as an action at all (a reply in a
question's thread by someone who may not answer is just chat): nothing changes, nobody is told.

The roles, for the client Acme: Carla, Acme's community manager; Luis, its account lead; the agency admin
who set Acme up; Marta, an agency member on no client's plan (by default everyone in the agency's
workspace is agency staff); Ana, Acme's reference person and Bruno, her backup (Acme's own org, over
Slack Connect); Olga, the reference person of another client (Beta); Sam, from an unrelated org.
Drafts are written by Carla, questions asked by Carla, crises declared by Luis. Buttons are clicked on
the message they came in (Ana's approval card, Luis's page...), whoever the clicker is: Slack would show
most of them only to their addressee, so this is also what a forged click would get.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.approvals import ids as approval_ids
from bot.approvals.models import Draft, DraftDecision, DraftVersion
from bot.crises import ids as crisis_ids
from bot.crises.models import Crisis, CrisisEvent, CrisisHold, CrisisSettings, CrisisStep
from bot.i18n import translator
from bot.plans import ids as plan_ids
from bot.plans.models import Client, ClientStatus
from bot.tracking import ids as tracking_ids
from bot.tracking.models import Question, TrackedRequest
from tests.access.world import PLAN, Attempt, World, click, command, opened_view, submit, wait_until
from tests.support.people import ADMIN, BACKUP, CM, LEAD, MEMBER, OTHER_REF, REF, STRANGER

ROLES = {
    "cm": CM,
    "lead": LEAD,
    "admin": ADMIN,
    "member": MEMBER,
    "ref": REF,
    "backup": BACKUP,
    "other-ref": OTHER_REF,
    "stranger": STRANGER,
}
LANGUAGE = {CM: "es", LEAD: "en", ADMIN: "en", MEMBER: "es", REF: "es", BACKUP: "es", OTHER_REF: "es", STRANGER: "en"}

MATRIX = """
action                      cm    lead  admin member ref   backup other-ref stranger
client add                  yes   yes   yes   yes    no    no     no        no
client add (form)           yes   yes   yes   yes    no    no     no        no
client edit                 yes   yes   yes   yes    no    no     no        no
client edit (form)          yes   yes   yes   yes    no    no     no        no
client show                 yes   yes   yes   yes    yes   yes    no        no
client list                 yes   yes   yes   yes    yes   yes    blind     blind
client archive              yes   yes   yes   yes    no    no     no        no
client webhook              yes   yes   yes   yes    no    no     no        no
draft                       yes   yes   yes   yes    no    no     no        no
draft (form)                yes   yes   yes   yes    no    no     no        no
pending                     yes   yes   yes   yes    yes   yes    blind     blind
approve                     no    no    no    no     yes   no     no        no
request changes             no    no    no    no     yes   no     no        no
request changes (form)      no    no    no    no     yes   no     no        no
reject                      no    no    no    no     yes   no     no        no
reject (form)               no    no    no    no     yes   no     no        no
reassign                    no    no    no    no     yes   no     no        no
reassign (form)             no    no    no    no     yes   no     no        no
see full text               yes   yes   yes   yes    yes   yes    no        no
revise                      yes   yes   yes   yes    no    no     no        no
revise (form)               yes   yes   yes   yes    no    no     no        no
ask                         yes   yes   yes   yes    no    no     no        no
answer                      no    no    no    no     yes   yes    no        no
answer (form)               no    no    no    no     yes   yes    no        no
answer (thread reply)       quiet quiet quiet quiet  yes   yes    quiet     quiet
promise a time              no    no    no    no     yes   yes    no        no
promise a time (form)       no    no    no    no     yes   yes    no        no
crisis declare              yes   yes   yes   yes    yes   yes    no        no
crisis declare (shortcut)   yes   yes   yes   yes    yes   yes    no        no
crisis update               yes   yes   yes   yes    yes   yes    no        no
acknowledge                 yes   yes   yes   yes    yes   yes    no        no
step done                   yes   yes   yes   yes    yes   yes    no        no
resolve                     yes   yes   yes   yes    yes   yes    no        no
release held posts          yes   yes   yes   yes    no    no     no        no
keep posts held             yes   yes   yes   yes    no    no     no        no
crisis watch                yes   yes   yes   yes    no    no     no        no
report                      yes   yes   yes   yes    yes   yes    no        no
report (all clients)        yes   yes   yes   yes    yes   yes    blind     blind
report csv                  yes   yes   yes   yes    yes   yes    no        no
report audit                yes   yes   yes   yes    no    no     no        no
report crises               yes   yes   yes   yes    yes   yes    no        no
app home                    yes   yes   yes   yes    yes   yes    blind     blind
"""
# Why some cells read as they do: the author of a draft never approves it, and the agency doesn't decide
# for the client; Bruno stands in for Ana (decides on her card) only once her request escalates to him
# (tests/approvals/test_standins.py); Bruno can't hand a request over because Ana already has it;
# everyone on Acme's plan (and the agency) may act on its crises, only the agency releases held posts.


def parse_matrix(table: str) -> dict[tuple[str, str], str]:
    lines = [line for line in table.strip().splitlines() if line.strip()]
    roles = lines[0].split()[1:]
    cells = {}
    for line in lines[1:]:
        action, marks = re.split(r"\s{2,}", line.strip(), maxsplit=1)
        values = marks.split()
        assert len(values) == len(roles), line
        cells.update({(action, role): value for role, value in zip(roles, values, strict=True)})
    return cells


EXPECTED = parse_matrix(MATRIX)


# -- looking at the result ---------------------------------------------------------------------------------------
def shown_to(w: World, user: str) -> list[str]:
    return [d.content for d in w.deliveries() if user in d.audience]


def wait_shown(w: World, user: str, what: Callable[[str], bool] = bool, timeout: float = 10) -> str:
    found = wait_until(lambda: next((c for c in shown_to(w, user) if what(c)), None), timeout)
    assert found, f"nothing shown to {user}: {w.deliveries()}"
    return found


def view_opened_for(w: World, user: str, callback_id: str) -> None:
    wait_shown(w, user, lambda c: f'"callback_id": "{callback_id}"' in c)


def one(w: World, model: Any, *where: Any) -> Any:
    with w.bot.db.sessionmaker() as s:
        return s.scalars(select(model).where(*where)).first()


def eventually(w: World, model: Any, *where: Any) -> Any:
    return w.fake.wait_for(lambda: one(w, model, *where), timeout=10, message=f"{model.__name__} {where}")


# -- the actions ---------------------------------------------------------------------------------------------------
@dataclass
class Action:
    """``target(w)`` makes what the action works on; refusals share one, successes get their own
    (``fresh``), unless acting leaves it as it was. A form gets a fresh one every time (``form``): a
    refused submission replaces it. ``perform`` is the request; ``verify`` its effect."""

    target: Callable[[World], Any]
    perform: Callable[[World, str, Any], Attempt]
    verify: Callable[[World, str, Any, Attempt], None]
    fresh: bool = True
    form: bool = False


def acme(w: World) -> str:
    return "Acme"


def shared_card(w: World) -> Any:
    return w.shared("card", lambda: (lambda d: (d, w.card_of(d)))(w.new_draft()))


def fresh_card(w: World) -> Any:
    draft = w.new_draft()
    return draft, w.card_of(draft)


def fresh_form(button: str, modal: str) -> Callable[[World], Any]:
    """A new draft whose card Ana clicked: the form it opened for her."""

    def make(w: World) -> Any:
        draft, card = fresh_card(w)
        return draft, opened_view(w, REF, modal, lambda: click(w, card, REF, button))

    return make


def draft_status(w: World, draft: Any, status: str, user: str) -> None:
    w.fake.wait_for(lambda: one(w, Draft, Draft.id == draft.id, Draft.status == status), timeout=10)
    assert one(w, DraftDecision, DraftDecision.draft_id == draft.id, DraftDecision.reviewer == user)
    wait_shown(w, CM, lambda c: draft.reference in c)  # the author hears of it


def asked(w: World) -> Any:
    return w.shared("question", lambda: w.new_question())


def fresh_answer_form(w: World) -> Any:
    question_id, message = w.new_question()
    return question_id, opened_view(
        w, REF, tracking_ids.ANSWER_MODAL, lambda: click(w, message, REF, tracking_ids.ANSWER)
    )


def fresh_promise_form(w: World) -> Any:
    question_id, message = w.new_question()
    return question_id, opened_view(
        w, REF, tracking_ids.PROMISE_MODAL, lambda: click(w, message, REF, tracking_ids.PROMISE)
    )


def answered(w: World, question_id: int, user: str, via: str) -> None:
    question = eventually(w, Question, Question.id == question_id, Question.answered_by == user)
    assert question.answered_via == via
    wait_shown(w, CM, lambda c: question.reference in c)  # relayed to the asker


def acme_crisis(w: World) -> int:
    return w.shared("acme crisis", lambda: w.new_crisis("Acme"))


def fresh_crisis(w: World) -> int:
    return w.new_crisis(w.new_client())


def tick_step(w: World, user: str, crisis_id: int) -> Attempt:
    message, step = w.checklist(crisis_id)
    attempt = click(w, message, user, crisis_ids.STEP_DONE, value=str(step))
    attempt.extra["step"] = step
    return attempt


def held(w: World) -> int:
    """A crisis that held a scheduled post and was resolved: Luis is asked whether to release it."""
    name = w.new_client()
    w.new_draft(name, publish_in=timedelta(days=3))
    return w.new_crisis(name, resolve=True)


def crisis_event(w: World, crisis_id: int, kind: str, user: str) -> None:
    eventually(w, CrisisEvent, CrisisEvent.crisis_id == crisis_id, CrisisEvent.kind == kind, CrisisEvent.actor == user)


def declare_by_shortcut(w: World, user: str, name: str) -> Attempt:
    """The message shortcut on a post in #news, then the form it opens, submitted for ``name``."""
    post = w.shared("news post", lambda: w.fake.add_message("C0NEWS", STRANGER, "This brand is a scam!!"))
    before = {v["id"] for v in w.fake.views_opened(user)}
    r = w.slack.shortcut(crisis_ids.FLAG_SHORTCUT, post, "C0NEWS", user)
    assert r.status_code == 200, r.text
    wait_shown(w, user)  # the form, or a refusal
    view = next((v for v in w.fake.views_opened(user) if v["id"] not in before), None)
    if view is None:
        return Attempt(user, "click", r)  # refused before any form
    choice = {"text": {"type": "plain_text", "text": name}, "value": str(w.client_id(name))}  # forged if unseen
    return submit(w, view, user, {crisis_ids.CLIENT: choice, crisis_ids.DESCRIPTION: "Scam accusations spreading"})


def declared(w: World, user: str, name: str, source: str) -> None:
    crisis = eventually(w, Crisis, Crisis.client_id == w.client_id(name), Crisis.declared_by == user)
    assert crisis.source == source
    for paged in (REF, BACKUP, LEAD):
        wait_shown(w, paged, lambda c: name in c)


def shows(*needles: str) -> Callable[[World, str, Any, Attempt], None]:
    """The answer (or what reached the user) mentions each needle."""

    def verify(w: World, user: str, target: Any, attempt: Attempt) -> None:
        for needle in needles:
            if needle not in attempt.ack_text():
                wait_shown(w, user, lambda c, n=needle: n in c)

    return verify


def file_for(prefix: str) -> Callable[[World, str, Any, Attempt], None]:
    """A file whose name starts with ``prefix`` was shared in the user's DM."""

    def verify(w: World, user: str, target: Any, attempt: Attempt) -> None:
        wait_shown(w, user, lambda c: f"file:{prefix}" in c, timeout=20)

    return verify


def client_created(w: World, user: str, name: str, attempt: Attempt) -> None:
    assert eventually(w, Client, Client.name == name, Client.created_by == user)


def plan_changed(w: World, user: str, target: Any, attempt: Attempt) -> None:
    name, _ = target
    client = one(w, Client, Client.name == name)
    with w.bot.db.sessionmaker() as s:
        plan = s.get(Client, client.id).current_plan
        assert (plan.version, plan.created_by, plan.response_window_minutes) == (2, user, 120)
    wait_shown(w, user, lambda c: name in c)


def client_form(w: World) -> Any:
    name = f"New{w.number()}"
    return name, opened_view(w, ADMIN, plan_ids.PLAN_MODAL, lambda: command(w, ADMIN, f"client add {name}"))


def edit_form(w: World) -> Any:
    name = w.new_client()
    return name, opened_view(w, LEAD, plan_ids.PLAN_MODAL, lambda: command(w, LEAD, f"client edit {name}"))


def revise_notice(w: World) -> Any:
    draft = w.new_draft()
    return draft, w.changes_requested(draft)


def revise_form(w: World) -> Any:
    draft, notice = revise_notice(w)
    return draft, opened_view(w, CM, approval_ids.DRAFT_MODAL, lambda: click(w, notice, CM, approval_ids.REVISE))


def revised(w: World, user: str, target: Any, attempt: Attempt) -> None:
    draft, _ = target
    version = eventually(w, DraftVersion, DraftVersion.draft_id == draft.id, DraftVersion.number == 2)
    assert version.created_by == user
    wait_shown(w, REF, lambda c: draft.reference in c and "(v2)" in c)


def home(w: World, user: str, target: Any) -> Attempt:
    shared_card(w)
    r = w.slack.event({"type": "app_home_opened", "user": user, "tab": "home", "channel": f"D{user}"})
    assert r.status_code == 200, r.text
    return Attempt(user, "event", r)


def home_shown(w: World, user: str, target: Any, attempt: Attempt) -> None:
    view = wait_shown(w, user, lambda c: '"type": "home"' in c)
    draft, _ = shared_card(w)
    if user in (REF, CM):  # waits on Ana; Carla's draft in flight
        assert draft.reference in view
    if user == LEAD:  # the figures of the clients Luis leads
        assert "Acme" in view


def requested_watch(w: World, user: str, target: Any) -> Attempt:
    keyword = f"scam{w.number()}"
    attempt = command(w, user, f'crisis Acme watch <#C0WATCH|mentions> keywords:"{keyword}"')
    attempt.extra["keyword"] = keyword
    return attempt


def watching(w: World, user: str, target: Any, attempt: Attempt) -> None:
    settings = one(w, CrisisSettings, CrisisSettings.client_id == w.client_id("Acme"))
    assert (settings.watch_channel, settings.watch_keywords, settings.updated_by) == (
        "C0WATCH",
        [attempt.extra["keyword"]],
        user,
    )


ACTIONS: dict[str, Action] = {
    "client add": Action(
        lambda w: f"New{w.number()}",
        lambda w, user, name: command(w, user, f"client add {name} ref:<@{REF}|ana> {PLAN}"),
        lambda w, user, name, attempt: client_created(w, user, name, attempt),
    ),
    "client add (form)": Action(
        client_form,
        lambda w, user, target: submit(w, target[1], user, {plan_ids.REFERENCE: REF}),
        lambda w, user, target, attempt: client_created(w, user, target[0], attempt),
    ),
    "client edit": Action(
        acme,
        lambda w, user, name: command(w, user, f"client edit {name}"),
        lambda w, user, name, attempt: view_opened_for(w, user, plan_ids.PLAN_MODAL),
        fresh=False,
    ),
    "client edit (form)": Action(
        edit_form, lambda w, user, target: submit(w, target[1], user, {plan_ids.WINDOW: "2h"}), plan_changed
    ),
    "client show": Action(
        acme, lambda w, user, name: command(w, user, f"client show {name}"), shows("Acme"), fresh=False
    ),
    "client list": Action(acme, lambda w, user, name: command(w, user, "client list"), shows("Acme"), fresh=False),
    "client archive": Action(
        lambda w: w.new_client(),
        lambda w, user, name: command(w, user, f"client archive {name}"),
        lambda w, user, name, attempt: eventually(
            w, Client, Client.name == name, Client.status == ClientStatus.ARCHIVED
        ),
    ),
    "client webhook": Action(
        acme, lambda w, user, name: command(w, user, f"client webhook {name}"), shows("webhook"), fresh=False
    ),
    "draft": Action(
        lambda w: f"Autumn post {w.number()}",
        lambda w, user, text: command(w, user, f"draft Acme {text}"),
        lambda w, user, text, attempt: (
            eventually(w, DraftVersion, DraftVersion.created_by == user, DraftVersion.text == text),
            wait_shown(w, REF, lambda c: text in c),
        ),
    ),
    "draft (form)": Action(
        lambda w: opened_view(w, CM, approval_ids.DRAFT_MODAL, lambda: command(w, CM, "draft Acme")),
        lambda w, user, view: submit(w, view, user, {approval_ids.TEXT: f"Form post by {user}"}),
        lambda w, user, view, attempt: (
            eventually(w, DraftVersion, DraftVersion.created_by == user, DraftVersion.text == f"Form post by {user}"),
            wait_shown(w, REF, lambda c: f"Form post by {user}" in c),
        ),
        form=True,
    ),
    "pending": Action(
        lambda w: shared_card(w)[0],
        lambda w, user, draft: command(w, user, "pending"),
        lambda w, user, draft, attempt: shows(draft.reference)(w, user, draft, attempt),
        fresh=False,
    ),
    "approve": Action(
        fresh_card,
        lambda w, user, target: click(w, target[1], user, approval_ids.APPROVE),
        lambda w, user, target, attempt: draft_status(w, target[0], "approved", user),
    ),
    "request changes": Action(
        shared_card,
        lambda w, user, target: click(w, target[1], user, approval_ids.REQUEST_CHANGES),
        lambda w, user, target, attempt: view_opened_for(w, user, approval_ids.COMMENT_MODAL),
        fresh=False,
    ),
    "request changes (form)": Action(
        fresh_form(approval_ids.REQUEST_CHANGES, approval_ids.COMMENT_MODAL),
        lambda w, user, target: submit(w, target[1], user, {approval_ids.COMMENT: "Please shorten it"}),
        lambda w, user, target, attempt: draft_status(w, target[0], "client_changes", user),
        form=True,
    ),
    "reject": Action(
        shared_card,
        lambda w, user, target: click(w, target[1], user, approval_ids.REJECT),
        lambda w, user, target, attempt: view_opened_for(w, user, approval_ids.COMMENT_MODAL),
        fresh=False,
    ),
    "reject (form)": Action(
        fresh_form(approval_ids.REJECT, approval_ids.COMMENT_MODAL),
        lambda w, user, target: submit(w, target[1], user, {approval_ids.COMMENT: "Off brand"}),
        lambda w, user, target, attempt: draft_status(w, target[0], "rejected", user),
        form=True,
    ),
    "reassign": Action(
        shared_card,
        lambda w, user, target: click(w, target[1], user, approval_ids.REASSIGN),
        lambda w, user, target, attempt: view_opened_for(w, user, approval_ids.REASSIGN_MODAL),
        fresh=False,
    ),
    "reassign (form)": Action(
        fresh_form(approval_ids.REASSIGN, approval_ids.REASSIGN_MODAL),
        lambda w, user, target: submit(w, target[1], user, {approval_ids.ASSIGNEE: BACKUP}),
        lambda w, user, target, attempt: (
            eventually(
                w, TrackedRequest, TrackedRequest.reference == target[0].reference, TrackedRequest.assignee == BACKUP
            ),
            wait_shown(w, BACKUP, lambda c: target[0].reference in c),
        ),
        form=True,
    ),
    "see full text": Action(
        lambda w: w.shared("long card", lambda: (lambda d: (d, w.card_of(d)))(w.new_draft(text="Long " * 900))),
        lambda w, user, target: click(w, target[1], user, approval_ids.FULL_TEXT),
        lambda w, user, target, attempt: view_opened_for(w, user, approval_ids.FULL_TEXT_MODAL),
        fresh=False,
    ),
    "revise": Action(
        lambda w: w.shared("revise notice", lambda: revise_notice(w)),
        lambda w, user, target: click(w, target[1], user, approval_ids.REVISE),
        lambda w, user, target, attempt: view_opened_for(w, user, approval_ids.DRAFT_MODAL),
        fresh=False,
    ),
    "revise (form)": Action(
        revise_form,
        lambda w, user, target: submit(w, target[1], user, {approval_ids.TEXT: "A shorter post"}),
        revised,
        form=True,
    ),
    "ask": Action(
        lambda w: f"Question {w.number()} for Friday?",
        lambda w, user, text: command(w, user, f"ask Acme {text}"),
        lambda w, user, text, attempt: (
            eventually(w, Question, Question.asked_by == user, Question.text == text),
            wait_shown(w, REF, lambda c: text in c),
        ),
    ),
    "answer": Action(
        asked,
        lambda w, user, target: click(w, target[1], user, tracking_ids.ANSWER),
        lambda w, user, target, attempt: view_opened_for(w, user, tracking_ids.ANSWER_MODAL),
        fresh=False,
    ),
    "answer (form)": Action(
        fresh_answer_form,
        lambda w, user, target: submit(w, target[1], user, {tracking_ids.ANSWER_TEXT: "Yes, go ahead"}),
        lambda w, user, target, attempt: answered(w, target[0], user, "button"),
    ),
    "answer (thread reply)": Action(
        lambda w: w.new_question(),
        lambda w, user, target: Attempt(
            user, "event", w.slack.message(user, target[1]["channel"], "Yes, go ahead", thread_ts=target[1]["ts"])
        ),
        lambda w, user, target, attempt: answered(w, target[0], user, "thread"),
    ),
    "promise a time": Action(
        asked,
        lambda w, user, target: click(w, target[1], user, tracking_ids.PROMISE),
        lambda w, user, target, attempt: view_opened_for(w, user, tracking_ids.PROMISE_MODAL),
        fresh=False,
    ),
    "promise a time (form)": Action(
        fresh_promise_form,
        lambda w, user, target: submit(w, target[1], user),
        lambda w, user, target, attempt: w.fake.wait_for(
            lambda: one(
                w,
                TrackedRequest,
                TrackedRequest.subject_type == "question",
                TrackedRequest.subject_id == target[0],
                TrackedRequest.promised_at.is_not(None),
            ),
            timeout=10,
        ),
    ),
    "crisis declare": Action(
        lambda w: w.new_client(),
        lambda w, user, name: command(w, user, f"crisis {name} sev:2 Angry posts"),
        lambda w, user, name, attempt: declared(w, user, name, "command"),
    ),
    "crisis declare (shortcut)": Action(
        lambda w: w.new_client(),
        declare_by_shortcut,
        lambda w, user, name, attempt: declared(w, user, name, "shortcut"),
    ),
    "crisis update": Action(
        lambda w: acme_crisis(w),
        lambda w, user, crisis: command(w, user, f"crisis Acme update Update by {user}"),
        lambda w, user, crisis, attempt: crisis_event(w, crisis, "update", user),
        fresh=False,
    ),
    "acknowledge": Action(
        lambda w: (lambda c: (c, w.page(c)))(fresh_crisis(w)),
        lambda w, user, target: click(w, target[1], user, crisis_ids.ACKNOWLEDGE),
        lambda w, user, target, attempt: eventually(w, Crisis, Crisis.id == target[0], Crisis.acknowledged_by == user),
    ),
    "step done": Action(  # on Acme's crisis; each success ticks another step
        acme_crisis,
        tick_step,
        lambda w, user, crisis, attempt: eventually(
            w, CrisisStep, CrisisStep.id == attempt.extra["step"], CrisisStep.done_by == user
        ),
        fresh=False,
    ),
    "resolve": Action(
        lambda w: (lambda c: (c, w.page(c)))(fresh_crisis(w)),
        lambda w, user, target: click(w, target[1], user, crisis_ids.RESOLVE),
        lambda w, user, target, attempt: eventually(w, Crisis, Crisis.id == target[0], Crisis.resolved_by == user),
    ),
    "release held posts": Action(
        lambda w: (lambda c: (c, w.release_question(c)))(held(w)),
        lambda w, user, target: click(w, target[1], user, crisis_ids.RELEASE_HELD),
        lambda w, user, target, attempt: eventually(
            w, CrisisHold, CrisisHold.crisis_id == target[0], CrisisHold.released_by == user
        ),
    ),
    "keep posts held": Action(
        lambda w: (lambda c: (c, w.release_question(c)))(held(w)),
        lambda w, user, target: click(w, target[1], user, crisis_ids.KEEP_HELD),
        lambda w, user, target, attempt: crisis_event(w, target[0], "kept_held", user),
    ),
    "crisis watch": Action(acme, requested_watch, watching, fresh=False),
    "report": Action(
        acme,
        lambda w, user, name: command(w, user, f"report {name}"),
        lambda w, user, name, attempt: (
            shows("Acme")(w, user, name, attempt),
            file_for("response-times")(w, user, name, attempt),
        ),
        fresh=False,
    ),
    "report (all clients)": Action(acme, lambda w, user, name: command(w, user, "report"), shows("Acme"), fresh=False),
    "report csv": Action(
        acme, lambda w, user, name: command(w, user, f"report {name} csv"), file_for("nexo-requests-acme"), fresh=False
    ),
    "report audit": Action(
        acme, lambda w, user, name: command(w, user, f"report {name} audit"), file_for("nexo-audit-acme"), fresh=False
    ),
    "report crises": Action(
        lambda w: (acme_crisis(w), "Acme")[1],
        lambda w, user, name: command(w, user, f"report {name} crises"),
        shows("Acme"),
        fresh=False,
    ),
    "app home": Action(acme, home, home_shown, fresh=False),
}

CELLS = [(action, role) for action, role in EXPECTED]
assert {a for a, _ in CELLS} == set(ACTIONS), set(ACTIONS) ^ {a for a, _ in CELLS}


def cell_id(cell: tuple[str, str]) -> str:
    action, role = cell
    return f"{action.replace(' ', '-').replace('(', '').replace(')', '')}-by-{role}"


@pytest.fixture(scope="module")
def channels(world: World) -> World:
    everyone = list(ROLES.values())
    world.fake.add_channel("C0NEWS", "news", members=everyone)
    world.fake.add_channel("C0WATCH", "mentions", members=[CM, LEAD, ADMIN, MEMBER])
    return world


@pytest.mark.parametrize("cell", CELLS, ids=[cell_id(c) for c in CELLS])
def test_access(channels: World, cell: tuple[str, str], caplog: pytest.LogCaptureFixture) -> None:
    w, (action_name, role) = channels, cell
    action, expected, user = ACTIONS[action_name], EXPECTED[cell], ROLES[role]
    made = len(w.made)
    if action.form or (expected == "yes" and action.fresh):
        target = action.target(w)
    else:
        target = w.shared(f"target of {action_name}", lambda: action.target(w))
        made = len(w.made)  # a shared target's client stays for the next cells
    try:
        check(w, action, expected, user, target, caplog)
    finally:
        w.archive(w.made[made:])


def check(w: World, action: Action, expected: str, user: str, target: Any, caplog: pytest.LogCaptureFixture) -> None:
    w.settle()
    assert w.fake.rejections() == [], "Slack rejected what the bot sent"
    w.fake.clear()
    before = w.snapshot()
    attempt = action.perform(w, user, target)

    if expected in ("yes", "blind"):
        if expected == "yes":
            action.verify(w, user, target, attempt)
        w.settle()
        assert refusals(caplog, user) == []
        if expected == "blind":
            seen = [attempt.ack_text(), *shown_to(w, user)]
            assert seen and not any("acme" in text.lower() for text in seen), seen
        return

    if expected == "no":
        answer = attempt.ack_text() or wait_shown(w, user)
        [record] = wait_until(lambda: refusals(caplog, user)) or [None]
        assert record is not None, f"no 'access refused' log line for {user}"
        assert record.where and record.what and record.error, record.__dict__
        assert_in_language(answer, record.error, LANGUAGE[user])
        if user in (OTHER_REF, STRANGER):  # not even a refusal tells an outsider about Acme
            assert "acme" not in re.sub(r"“[^”]*”", "", answer).lower(), answer  # (bar the name they typed)
    w.settle()
    assert w.snapshot() == before, "a refused request changed the database"
    others = [d for d in w.deliveries() if d.audience - {user}]
    assert others == [], f"a refusal was shown to someone else: {others}"
    if expected == "quiet":
        assert w.deliveries() == [] and refusals(caplog, user) == []


def refusals(caplog: pytest.LogCaptureFixture, user: str) -> list[Any]:
    return [r for r in caplog.records if r.getMessage() == "access refused" and getattr(r, "user", None) == user]


def assert_in_language(answer: str, msgid: str, language: str) -> None:
    """``answer`` shows the refusal ``msgid`` as translated for ``language`` (placeholders filled in)."""
    template = translator(language).gettext(msgid)
    if language != "en":
        assert template != msgid, f"no {language} translation of {msgid!r}"
    pattern = re.escape(template)
    pattern = re.sub(r"\\\{[a-z_]+\\\}", ".+?", pattern)
    flat = answer.replace("\n", " ")
    assert re.search(pattern, flat, re.DOTALL), f"{answer!r} is not {template!r}"
