"""“I'll reply by …”: the chase moves to the promised time; the report keeps the due time and counts promises."""

from __future__ import annotations

from datetime import timedelta

from bot.tracking import ids
from bot.tracking.reports import client_figures
from tests.conftest import START
from tests.support.people import LEAD
from tests.support.world import EBACKUP, ECM, EREF, utc

H = timedelta(hours=1)


def promise(slack, fake, message: dict, user: str, day: str, time: str):
    slack.click(message, user, action_id=ids.PROMISE)
    view = fake.wait_for(lambda: [v for v in fake.open_views(user) if v["callback_id"] == ids.PROMISE_MODAL])[-1]
    return view, slack.submit_view(view, user, values={ids.PROMISE_DATE: day, ids.PROMISE_TIME: time})


def test_a_promise_moves_reminders_and_escalations_to_the_promised_time(bot, slack, fake_slack, world):
    world.globex()
    world.ask()
    question = fake_slack.wait_for(lambda: world.question_message())
    bot.clock.advance(timedelta(minutes=30))
    view, r = promise(slack, fake_slack, question, EREF, "2026-11-24", "12:00")  # Tuesday noon in Madrid
    assert r.status_code == 200 and "errors" not in r.text, r.text
    date_input = next(b for b in view["blocks"] if b.get("block_id") == ids.PROMISE_DATE)["element"]
    time_input = next(b for b in view["blocks"] if b.get("block_id") == ids.PROMISE_TIME)["element"]
    assert (date_input["initial_date"], time_input["initial_time"]) == ("2026-11-23", "13:00")  # the due time
    assert time_input["timezone"] == "Europe/Madrid"

    request = world.the_request()
    assert request.promised_at == utc(2026, 11, 24, 11)
    assert request.due_at == request.original_due_at == START + 4 * H  # the report keeps the due time
    assert request.promises_made == 1 and request.next_action_at == utc(2026, 11, 24, 11)
    noted = fake_slack.wait_for(lambda: world.replies(question))[0]
    assert noted["text"].startswith("Noted: you'll reply to GLOBEX-Q1 by <!date^")
    told = fake_slack.wait_for(lambda: [m for m in fake_slack.dm_messages(ECM) if "will reply" in m["text"]])[0]
    assert told["text"].startswith("<@U0EMMA> (Globex) will reply to GLOBEX-Q1 by <!date^")

    for moment in (START + 3 * H, START + 4 * H, START + 6 * H, utc(2026, 11, 24, 8)):
        world.at(moment)  # the reminder, the due time, the lead's step: all held until the promise
    assert len(world.replies(question)) == 1
    assert fake_slack.dm_messages(EBACKUP) == [] and fake_slack.dm_messages(LEAD) == []

    world.at(utc(2026, 11, 24, 11))
    chased = world.replies(question)[-1]["text"]
    assert chased.startswith("<@U0EMMA>, you said you'd reply to GLOBEX-Q1 by <!date^")
    assert len(fake_slack.dm_messages(EBACKUP)) == 1  # backups: at the promised time + 0 %
    world.at(utc(2026, 11, 24, 13))
    assert len(fake_slack.dm_messages(LEAD)) == 1  # lead: 50 % of the window after it


def test_promises_kept_and_broken_in_the_figures(bot, slack, fake_slack, world):
    world.globex()
    world.ask("First question")
    first = fake_slack.wait_for(lambda: world.question_message())
    world.ask("Second question")
    second = fake_slack.wait_for(lambda: [m for m in fake_slack.dm_messages(EREF) if "GLOBEX-Q2" in m["text"]])[0]

    promise(slack, fake_slack, first, EREF, "2026-11-24", "12:00")
    promise(slack, fake_slack, second, EREF, "2026-11-23", "17:00")  # never kept
    world.at(utc(2026, 11, 24, 11))  # Q1's promise passes unanswered...
    _, r = promise(slack, fake_slack, first, EREF, "2026-11-24", "16:00")  # ...so a new one breaks it
    assert "errors" not in r.text
    request = world.the_request()
    assert (request.promises_made, request.promises_broken) == (2, 1)
    assert request.overdue_notices_sent == 0 and request.next_action_at == utc(2026, 11, 24, 15)

    bot.clock.set(utc(2026, 11, 24, 14))  # Tuesday 15:00: Q1 answered before its new promise
    slack.message(EREF, first["channel"], "Done!", thread_ts=first["ts"])
    fake_slack.wait_for(lambda: world.the_request().answered_at is not None)

    with bot.db.sessionmaker() as s:
        figures = client_figures(s, s.merge(world.the_client()), now=bot.clock.now())
    assert (figures.promises_kept, figures.promises_broken) == (1, 2)
    assert figures.client.answered == 1 and figures.client.within_window == 0.0  # late against the due time
    assert [o.reference for o in figures.overdue] == ["GLOBEX-Q2"]


def test_a_promise_in_the_past_or_by_someone_else_is_refused(slack, fake_slack, world):
    world.globex()
    world.ask()
    question = fake_slack.wait_for(lambda: world.question_message())
    _, r = promise(slack, fake_slack, question, EREF, "2026-11-23", "08:00")
    assert r.json()["errors"][ids.PROMISE_TIME] == "Pick a time in the future."
    slack.click(question, ECM, action_id=ids.PROMISE)
    refusal = fake_slack.wait_for(lambda: fake_slack.responses())[-1]
    assert refusal["body"]["text"] == "Only the client's reference people can promise a reply time."
    assert world.the_request().promised_at is None
