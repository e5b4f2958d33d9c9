"""/nexo ask: the question reaches the reference person, is answered by button or thread reply, and is relayed."""

from __future__ import annotations

from datetime import timedelta

from bot.tracking import ids
from bot.tracking.models import QuestionStatus, RequestKind, RequestState, WaitingOn
from tests.conftest import START
from tests.support.people import LEAD, REF, STRANGER
from tests.support.world import EBACKUP, ECM, EREF, GLOBEX_CHANNEL, buttons


def test_question_reaches_the_reference_person_with_answer_and_promise_buttons(fake_slack, world):
    world.globex()
    body = world.ask("Can we post the video on Friday?")
    assert "Sent GLOBEX-Q1 to <@U0EMMA> for *Globex*" in body["text"]
    message = fake_slack.wait_for(lambda: world.question_message())
    assert "<@U0ECARL> has a question for *Globex* (GLOBEX-Q1)" in message["text"]
    assert "Can we post the video on Friday?" in message["text"]
    assert buttons(message) == [ids.ANSWER, ids.PROMISE]

    question, request = world.the_question(), world.the_request()
    assert (question.asked_by, question.asked_to, question.status) == (ECM, EREF, QuestionStatus.OPEN)
    assert (request.kind, request.waiting_on, request.subject_type, request.subject_id) == (
        RequestKind.QUESTION,
        WaitingOn.CLIENT,
        "question",
        question.id,
    )
    assert request.notice_id == question.notice_id is not None
    assert request.opened_at == START
    assert request.due_at == START + timedelta(hours=4)  # 4 business hours, all on Monday
    assert request.next_action_at == START + timedelta(hours=3)  # the reminder, at 75 %
    assert fake_slack.rejections() == []


def test_a_plan_with_a_client_channel_asks_there_mentioning_the_reference_person(fake_slack, world):
    world.globex(channel=True)
    world.ask("Which logo for the banner?")
    message = fake_slack.wait_for(lambda: fake_slack.messages(GLOBEX_CHANNEL))[0]
    assert message["text"].startswith("<@U0EMMA>, <@U0ECARL> has a question for *Globex* (GLOBEX-Q1)")
    assert fake_slack.dm_messages(EREF) == []


def test_only_the_agency_asks(slack, world):
    world.globex()
    body = slack.command("ask Globex Are you there?", user_id=EREF).json()  # the client's own reference person
    assert body["text"] == "Only agency members can ask clients questions."
    assert "I don't know a client called “Globex”" in slack.command("ask Globex hi", user_id=STRANGER).json()["text"]
    assert "What's the question?" in slack.command("ask Globex", user_id=ECM).json()["text"]
    assert world.the_question() is None


def test_answer_by_button_closes_the_request_and_relays_the_answer(bot, slack, fake_slack, world):
    world.globex()
    world.ask()
    message = fake_slack.wait_for(lambda: world.question_message())
    bot.clock.advance(timedelta(minutes=50))
    slack.click(message, EREF, action_id=ids.ANSWER)
    view = fake_slack.wait_for(lambda: slack.last_view(EREF))
    assert view["callback_id"] == ids.ANSWER_MODAL
    r = slack.submit_view(view, EREF, values={ids.ANSWER_TEXT: "Yes, Friday at 10:00 works."})
    assert r.status_code == 200 and "errors" not in r.text

    relay = fake_slack.wait_for(lambda: [m for m in fake_slack.dm_messages(ECM) if "answered" in m["text"]])[0]
    assert "<@U0EMMA> answered your question GLOBEX-Q1 for *Globex*" in relay["text"]
    assert "Yes, Friday at 10:00 works." in relay["text"]
    fake_slack.wait_for(lambda: "Answered by <@U0EMMA>" in world.question_message()["text"])
    assert buttons(world.question_message()) == []  # the buttons are gone

    question, request = world.the_question(), world.the_request()
    assert (question.status, question.answered_by, question.answered_via) == (QuestionStatus.ANSWERED, EREF, "button")
    assert question.answer == "Yes, Friday at 10:00 works."
    assert (request.state, request.answered_by, request.outcome) == (RequestState.ANSWERED, EREF, "answered")
    assert request.answered_at == START + timedelta(minutes=50) and request.next_action_at is None

    world.at(START + timedelta(hours=8))  # past the reminder and the due time: nothing more is sent
    assert world.replies(world.question_message()) == []
    assert fake_slack.rejections() == []


def test_others_cannot_answer_and_a_second_answer_is_refused(slack, fake_slack, world):
    world.globex()
    world.ask()
    message = fake_slack.wait_for(lambda: world.question_message())
    slack.click(message, ECM, action_id=ids.ANSWER)  # the asker is not the client
    refusal = fake_slack.wait_for(lambda: fake_slack.responses())[-1]
    assert "Only the client's reference people can answer this question." in refusal["body"]["text"]
    assert fake_slack.views_opened(ECM) == []

    slack.click(message, EREF, action_id=ids.ANSWER)
    first = fake_slack.wait_for(lambda: slack.last_view(EREF))
    slack.click(message, EBACKUP, action_id=ids.ANSWER)  # the backup may answer too
    second = fake_slack.wait_for(lambda: slack.last_view(EBACKUP))
    assert slack.submit_view(first, EREF, values={ids.ANSWER_TEXT: "Yes"}).text in ("", "{}")
    r = slack.submit_view(second, EBACKUP, values={ids.ANSWER_TEXT: "No"})
    assert r.json()["errors"][ids.ANSWER_TEXT] == "GLOBEX-Q1 was already answered by <@U0EMMA>."
    assert world.the_question().answer == "Yes"


def test_answer_by_thread_reply_and_what_is_not_an_answer(slack, fake_slack, world):
    world.globex()
    world.ask()
    message = fake_slack.wait_for(lambda: world.question_message())
    channel, ts = message["channel"], message["ts"]
    assert slack.message(EREF, channel, "Top-level chat is not an answer").status_code == 200
    assert slack.message(LEAD, channel, "Not Emma", thread_ts=ts).status_code == 200
    bot_reply = {
        "type": "message",
        "channel": channel,
        "user": "U0SOMEBOT",
        "bot_id": "B0OTHER",
        "text": "beep",
        "ts": fake_slack.next_ts(),
        "thread_ts": ts,
    }
    assert slack.event(bot_reply).status_code == 200
    world.settle()
    assert world.the_question().status == QuestionStatus.OPEN

    assert slack.message(EREF, channel, "Friday is fine, go ahead.", thread_ts=ts).status_code == 200
    fake_slack.wait_for(lambda: world.the_question().status == QuestionStatus.ANSWERED)
    question = world.the_question()
    assert (question.answer, question.answered_via, question.answered_by) == (
        "Friday is fine, go ahead.",
        "thread",
        EREF,
    )
    thanks = fake_slack.wait_for(lambda: [m for m in world.replies(message) if m.get("bot_id")])[0]
    assert thanks["text"] == "Thanks <@U0EMMA>, I've passed your answer to <@U0ECARL>."
    relay = fake_slack.wait_for(lambda: [m for m in fake_slack.dm_messages(ECM) if "answered" in m["text"]])[0]
    assert "Friday is fine, go ahead." in relay["text"]
    assert world.the_request().state == RequestState.ANSWERED

    slack.message(EREF, channel, "One more thing", thread_ts=ts)  # already answered: just chat
    world.settle()
    assert world.the_question().answer == "Friday is fine, go ahead."
    assert len([m for m in fake_slack.dm_messages(ECM) if "answered" in m["text"]]) == 1


def test_a_backup_answers_in_the_client_channel_thread(slack, fake_slack, world):
    world.globex(channel=True)
    world.ask("Which logo for the banner?")
    message = fake_slack.wait_for(lambda: fake_slack.messages(GLOBEX_CHANNEL))[0]
    slack.message(EBACKUP, GLOBEX_CHANNEL, "The blue one.", thread_ts=message["ts"])
    fake_slack.wait_for(lambda: world.the_question().status == QuestionStatus.ANSWERED)
    assert world.the_question().answered_by == EBACKUP
    assert world.the_request().answered_by == EBACKUP


def test_spanish_people_get_the_question_in_their_language_structure(bot, slack, fake_slack):
    from tests.support.factories import add_client

    add_client(slack, "Acme")
    body = slack.command("ask Acme ¿Publicamos el vídeo el viernes?", user_id=LEAD).json()
    assert "ACME-Q1" in body["text"]
    message = fake_slack.wait_for(lambda: fake_slack.dm_messages(REF))[0]
    assert "ACME-Q1" in message["text"] and buttons(message) == [ids.ANSWER, ids.PROMISE]
