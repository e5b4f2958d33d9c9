"""Withdrawing a question: the asker's copy has Cancel; the reference person's message says it was withdrawn,
the chase stops, reports count it as cancelled, and a late answer changes nothing.

Globex: Madrid, Mon-Fri 09:00-18:00, 4 h window; START is Monday 09:00 in Madrid.
"""

from __future__ import annotations

from datetime import timedelta

from bot.tracking import ids
from bot.tracking.models import QuestionStatus, RequestState
from bot.tracking.reports import client_figures
from tests.conftest import START
from tests.support.factories import add_client
from tests.support.people import LEAD, REF
from tests.support.world import EBACKUP, ECM, EREF, buttons, text_of

H = timedelta(hours=1)


def asker_copy(world, user=ECM):
    return world.fake.wait_for(
        lambda: next(
            (
                m
                for m in world.fake.dm_messages(user)
                if ids.CANCEL_QUESTION in buttons(m) or "withdrew" in m["text"] or "retiraste" in m["text"]
            ),
            None,
        ),
        message="the asker's copy",
    )


def test_the_asker_cancels_and_the_chase_stops(fake_slack, world):
    world.globex()
    world.ask("Can we post the video on Friday?")
    question = fake_slack.wait_for(lambda: world.question_message())
    copy = asker_copy(world)
    assert copy["text"].startswith("Your question GLOBEX-Q1 for *Globex* went to <@U0EMMA>; due <!date^")
    assert buttons(copy) == [ids.CANCEL_QUESTION]

    world.advance(30)
    world.click(copy, ECM, ids.CANCEL_QUESTION, until=lambda: world.the_question().status == QuestionStatus.CANCELLED)
    fake_slack.wait_for(lambda: "Withdrawn by @U0ECARL" in text_of(world.question_message()))
    assert buttons(world.question_message()) == []  # no Answer, no Promise a time
    fake_slack.wait_for(lambda: buttons(asker_copy(world)) == [])
    assert asker_copy(world)["text"].startswith("🚫 You withdrew GLOBEX-Q1 for *Globex*")

    q, request = world.the_question(), world.the_request()
    assert (q.status, q.cancelled_by, q.cancelled_at) == (QuestionStatus.CANCELLED, ECM, START + timedelta(minutes=30))
    assert (request.state, request.outcome, request.next_action_at) == (RequestState.CANCELLED, "withdrawn", None)

    for hours in (3, 4, 6, 8, 12, 30):  # reminder, overdue, backups, lead, repeats: none of them comes
        world.at(START + hours * H)
    assert world.replies(question) == []
    assert fake_slack.dm_messages(EBACKUP) == [] and fake_slack.dm_messages(LEAD) == []
    with world.db.sessionmaker() as s:
        figures = client_figures(s, world.the_client(), now=world.now())
    assert figures.client.answered == 0 and figures.overdue == []  # cancelled, not unanswered
    assert fake_slack.rejections() == []


def test_a_late_answer_to_a_withdrawn_question_changes_nothing(slack, fake_slack, world):
    world.globex()
    world.ask()
    question = fake_slack.wait_for(lambda: world.question_message())
    world.click(question, EREF, ids.ANSWER)  # Emma opens the form before the question is withdrawn
    form = fake_slack.wait_for(lambda: slack.last_view(EREF))
    copy = asker_copy(world)
    world.click(copy, ECM, ids.CANCEL_QUESTION, until=lambda: world.the_question().status == QuestionStatus.CANCELLED)

    r = slack.submit_view(form, EREF, values={ids.ANSWER_TEXT: "Yes, Friday works."})
    assert r.json()["errors"][ids.ANSWER_TEXT] == (
        "<@U0ECARL> withdrew GLOBEX-Q1, so it needs no answer any more. Thanks anyway!"
    )
    slack.message(EREF, question["channel"], "Friday is fine", thread_ts=question["ts"])
    reply = fake_slack.wait_for(lambda: [m for m in world.replies(question) if m.get("bot_id")])[0]
    assert reply["text"] == "<@U0EMMA>, <@U0ECARL> withdrew GLOBEX-Q1, so it needs no answer any more. Thanks anyway!"
    world.click(question, EREF, ids.PROMISE, value=str(world.the_request().id), forged=True)
    world.click(copy, ECM, ids.CANCEL_QUESTION, forged=True)  # a second click on the copy as it was
    world.settle()
    texts = world.seen_by(EREF).ephemerals + world.seen_by(ECM).ephemerals
    assert "GLOBEX-Q1 was withdrawn: nothing to promise." in texts
    assert "GLOBEX-Q1 is already withdrawn." in texts

    q, request = world.the_question(), world.the_request()
    assert (q.status, q.answer, q.answered_by) == (QuestionStatus.CANCELLED, None, None)
    assert (request.state, request.answered_by) == (RequestState.CANCELLED, ECM)
    assert not [m for m in fake_slack.dm_messages(ECM) if "answered your question" in m["text"]]


def test_only_the_asker_or_the_lead_withdraws(fake_slack, world):
    world.globex()
    world.ask()
    copy = asker_copy(world)
    world.click(copy, EREF, ids.CANCEL_QUESTION, forged=True)
    world.settle()
    assert "Only the person who asked this question can withdraw it." in world.seen_by(EREF).ephemerals
    assert world.the_question().status == QuestionStatus.OPEN
    world.click(
        copy,
        LEAD,
        ids.CANCEL_QUESTION,
        forged=True,
        until=lambda: world.the_question().status == QuestionStatus.CANCELLED,
    )
    assert world.the_question().cancelled_by == LEAD


def test_a_spanish_client_reads_the_withdrawal_and_the_late_answer_in_spanish(slack, fake_slack, world):
    add_client(slack, "Acme", extra="lang:es")
    world.ask("¿Publicamos el vídeo el viernes?", client="Acme", by=LEAD)
    question = fake_slack.wait_for(lambda: fake_slack.dm_messages(REF))[0]
    copy = asker_copy(world, LEAD)
    world.click(
        copy, LEAD, ids.CANCEL_QUESTION, until=lambda: world.the_question("ACME-Q1").status == QuestionStatus.CANCELLED
    )
    fake_slack.wait_for(lambda: "Retirada por @U0LEAD" in text_of(fake_slack.dm_messages(REF)[0]))
    slack.message(REF, question["channel"], "Sí, adelante", thread_ts=question["ts"])
    reply = fake_slack.wait_for(lambda: [m for m in world.replies(question) if m.get("bot_id")])[0]
    assert reply["text"] == (
        "<@U0REF>, <@U0LEAD> retiró ACME-Q1, así que ya no hace falta responder. ¡Gracias igualmente!"
    )
    assert world.the_question("ACME-Q1").answer is None
