"""The chase, driven by the injected clock: reminder, overdue, escalations, repeats, business-hours deferral.

Globex: Madrid (UTC+1 in November), Mon-Fri 09:00-18:00, 4 h window, plan defaults (reminder at 75 %,
backups at the due time, lead 50 % of the window after it, repeats every window, 3 repeats).
START is Monday 2026-11-23 08:00 UTC = 09:00 in Madrid.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.delivery.models import NoticeStatus, OutboxNotice
from bot.tracking import ids
from tests.conftest import START
from tests.support.people import LEAD
from tests.tracking.helpers import (
    EBACKUP,
    EREF,
    action_ids,
    add_globex,
    ask,
    at,
    question_message,
    replies,
    the_request,
    utc,
)

H = timedelta(hours=1)


def chase_texts(fake, message) -> list[str]:
    return [m["text"] for m in replies(fake, message)]


def test_reminder_overdue_and_each_escalation_step_go_once(bot, slack, fake_slack):
    add_globex(slack, fake_slack)
    ask(slack, "Can we post the video on Friday?")
    question = fake_slack.wait_for(lambda: question_message(fake_slack))

    at(bot, START + 3 * H - timedelta(minutes=1))
    assert chase_texts(fake_slack, question) == []
    at(bot, START + 3 * H)  # 75 % of the window
    [reminder] = replies(fake_slack, question)
    assert reminder["text"].startswith("<@U0EMMA>, a friendly reminder: GLOBEX-Q1 is due <!date^")
    assert action_ids(reminder) == [ids.ANSWER, ids.PROMISE]
    assert fake_slack.dm_messages(EBACKUP) == [] and fake_slack.dm_messages(LEAD) == []

    at(bot, START + 4 * H)  # due: overdue to Emma, and the backups step (0 % after due)
    overdue = chase_texts(fake_slack, question)[1]
    assert overdue.startswith("<@U0EMMA>, GLOBEX-Q1 was due <!date^") and "still waiting for your answer" in overdue
    [to_backup] = fake_slack.dm_messages(EBACKUP)
    assert to_backup["text"].startswith("GLOBEX-Q1 for *Globex* has been waiting on <@U0EMMA> since <!date^")
    assert "Can we post the video on Friday?" in str(to_backup["blocks"])
    assert action_ids(to_backup) == [ids.ANSWER, ids.PROMISE]
    assert fake_slack.dm_messages(LEAD) == []

    at(bot, START + 6 * H - timedelta(minutes=1))
    assert fake_slack.dm_messages(LEAD) == []
    at(bot, START + 6 * H)  # the lead: 50 % of the window after due
    [to_lead] = fake_slack.dm_messages(LEAD)
    assert to_lead["text"].startswith("⚠️ GLOBEX-Q1 for *Globex* is overdue: waiting on <@U0EMMA> since <!date^")
    assert "Can we post the video on Friday?" in str(to_lead["blocks"])
    assert "Asked by <@U0ECARL>" in str(to_lead["blocks"])

    at(bot, START + 6 * H)  # the same instant again: nothing twice
    assert len(replies(fake_slack, question)) == 2
    assert len(fake_slack.dm_messages(EBACKUP)) == 1 and len(fake_slack.dm_messages(LEAD)) == 1
    request = the_request(bot.db)
    assert (request.reminders_sent, request.overdue_notices_sent) == (1, 1)
    assert (request.escalated_backups_at, request.escalated_lead_at) == (START + 4 * H, START + 6 * H)
    assert request.next_action_at == START + 8 * H  # the first repeat, one window after due
    assert fake_slack.rejections() == []


def test_overdue_reminders_repeat_every_window_up_to_the_limit_then_the_lead_takes_over(bot, slack, fake_slack):
    add_globex(slack, fake_slack)
    ask(slack)
    question = fake_slack.wait_for(lambda: question_message(fake_slack))
    repeats = [START + 8 * H,  # Mon 17:00 in Madrid
               utc(2026, 11, 24, 11),  # 1 h on Monday + 3 h on Tuesday: Tue 12:00
               utc(2026, 11, 24, 15)]  # Tue 16:00
    for moment in [START + 3 * H, START + 4 * H, START + 6 * H, *repeats]:
        at(bot, moment - timedelta(minutes=1))
        at(bot, moment)
    texts = chase_texts(fake_slack, question)
    assert len(texts) == 5  # the reminder, the overdue notice, 3 repeats
    assert "reminder 2 of 4" in texts[2] and "reminder 3 of 4" in texts[3]
    assert "reminder 4 of 4" in texts[4]
    assert texts[4].endswith("This is my last reminder; <@U0LEAD> will follow up with you.")
    handover = fake_slack.dm_messages(LEAD)[-1]["text"]
    assert handover.startswith("I've sent <@U0EMMA> the last of 4 overdue reminders for GLOBEX-Q1 (*Globex*).")
    assert the_request(bot.db).next_action_at is None

    for day in range(2, 5):  # Wed..Fri: persistent, never spammy
        at(bot, utc(2026, 11, 23 + day, 9))
        at(bot, utc(2026, 11, 23 + day, 16))
    assert len(replies(fake_slack, question)) == 5
    assert len(fake_slack.dm_messages(LEAD)) == 2  # the escalation and the handover
    assert the_request(bot.db).overdue_notices_sent == 4


def test_a_worker_down_for_a_day_catches_up_without_a_burst(bot, slack, fake_slack):
    add_globex(slack, fake_slack)
    ask(slack)
    question = fake_slack.wait_for(lambda: question_message(fake_slack))
    at(bot, utc(2026, 11, 24, 14))  # the first tick since Monday 09:00: Tuesday 15:00 in Madrid
    texts = chase_texts(fake_slack, question)
    assert len(texts) == 1 and "was due" in texts[0]  # no stale reminder, one overdue notice, no repeats
    assert len(fake_slack.dm_messages(EBACKUP)) == 1
    assert len([m for m in fake_slack.dm_messages(LEAD) if "is overdue" in m["text"]]) == 1
    request = the_request(bot.db)
    assert request.overdue_notices_sent == 1 and request.reminders_sent == 0
    # the next repeat is a full window after the catch-up: 3 h on Tuesday, 1 h on Wednesday
    assert request.next_action_at == utc(2026, 11, 25, 9)


def test_a_question_asked_at_night_goes_out_when_the_client_opens(bot, slack, fake_slack):
    add_globex(slack, fake_slack)
    bot.clock.set(START + 10 * H)  # Monday 19:00 in Madrid
    body = ask(slack, "Night question?")
    assert "*Globex* is closed now, so it goes out <!date^" in body["text"]
    at(bot, utc(2026, 11, 24, 7, 59))
    assert fake_slack.dm_messages(EREF) == []
    at(bot, utc(2026, 11, 24, 8))  # Tuesday 09:00
    question = fake_slack.wait_for(lambda: question_message(fake_slack))
    request = the_request(bot.db)
    assert request.opened_at == START + 10 * H and request.due_at == utc(2026, 11, 24, 12)
    at(bot, utc(2026, 11, 24, 11))
    assert len(replies(fake_slack, question)) == 1  # the reminder, 3 business hours after Tuesday's opening


def test_a_reminder_due_at_friday_closing_waits_for_monday_but_the_lead_hears_at_once(bot, slack, fake_slack):
    add_globex(slack, fake_slack)
    bot.clock.set(utc(2026, 11, 27, 14))  # Friday 15:00 in Madrid
    ask(slack, "Weekend question?")
    question = fake_slack.wait_for(lambda: question_message(fake_slack))
    request = the_request(bot.db)
    assert request.due_at == utc(2026, 11, 30, 9)  # 3 h on Friday + 1 h on Monday: Monday 10:00

    at(bot, utc(2026, 11, 27, 17))  # Friday 18:00: the reminder's moment, at closing time
    assert replies(fake_slack, question) == []
    with bot.db.sessionmaker() as s:
        owed = s.scalars(select(OutboxNotice).where(OutboxNotice.target_id == question_notice_id(bot))).one()
    assert owed.status == NoticeStatus.PENDING and owed.next_attempt_at == utc(2026, 11, 30, 8)  # Monday 09:00
    at(bot, utc(2026, 11, 28, 11))  # Saturday
    at(bot, utc(2026, 11, 29, 20))  # Sunday night
    assert replies(fake_slack, question) == []
    at(bot, utc(2026, 11, 30, 8))
    assert "a friendly reminder" in replies(fake_slack, question)[0]["text"]

    at(bot, utc(2026, 11, 30, 9))  # due: overdue and backups; the lead 2 business hours later
    assert len(replies(fake_slack, question)) == 2 and len(fake_slack.dm_messages(EBACKUP)) == 1
    at(bot, utc(2026, 11, 30, 11))
    assert len(fake_slack.dm_messages(LEAD)) == 1


def test_the_lead_is_told_at_once_even_after_the_client_closed(bot, slack, fake_slack):
    add_globex(slack, fake_slack)
    bot.clock.set(START + 3 * H)  # Monday 12:00: due 16:00, the lead's step at 18:00 (closing time)
    ask(slack)
    fake_slack.wait_for(lambda: question_message(fake_slack))
    at(bot, START + 7 * H)
    assert fake_slack.dm_messages(LEAD) == []
    at(bot, START + 9 * H)  # 18:00 in Madrid: the client is closed, the agency is not
    [to_lead] = fake_slack.dm_messages(LEAD)
    assert "is overdue" in to_lead["text"]


def question_notice_id(bot) -> int:
    from tests.tracking.helpers import the_question

    return the_question(bot.db).notice_id
