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
from tests.support.world import EBACKUP, EREF, buttons, utc

H = timedelta(hours=1)


def chase_texts(world, message) -> list[str]:
    return [m["text"] for m in world.replies(message)]


def test_reminder_overdue_and_each_escalation_step_go_once(fake_slack, world):
    world.globex()
    world.ask("Can we post the video on Friday?")
    question = fake_slack.wait_for(lambda: world.question_message())

    world.at(START + 3 * H - timedelta(minutes=1))
    assert chase_texts(world, question) == []
    world.at(START + 3 * H)  # 75 % of the window
    [reminder] = world.replies(question)
    assert reminder["text"].startswith("<@U0EMMA>, a friendly reminder: GLOBEX-Q1 is due <!date^")
    assert buttons(reminder) == [ids.ANSWER, ids.PROMISE]
    assert fake_slack.dm_messages(EBACKUP) == [] and fake_slack.dm_messages(LEAD) == []

    world.at(START + 4 * H)  # due: overdue to Emma, and the backups step (0 % after due)
    overdue = chase_texts(world, question)[1]
    assert overdue.startswith("<@U0EMMA>, GLOBEX-Q1 was due <!date^") and "still waiting for your answer" in overdue
    [to_backup] = fake_slack.dm_messages(EBACKUP)
    assert to_backup["text"].startswith("GLOBEX-Q1 for *Globex* has been waiting on <@U0EMMA> since <!date^")
    assert "Can we post the video on Friday?" in str(to_backup["blocks"])
    assert buttons(to_backup) == [ids.ANSWER, ids.PROMISE]
    assert fake_slack.dm_messages(LEAD) == []

    world.at(START + 6 * H - timedelta(minutes=1))
    assert fake_slack.dm_messages(LEAD) == []
    world.at(START + 6 * H)  # the lead: 50 % of the window after due
    [to_lead] = fake_slack.dm_messages(LEAD)
    assert to_lead["text"].startswith("⚠️ GLOBEX-Q1 for *Globex* is overdue: waiting on <@U0EMMA> since <!date^")
    assert "Can we post the video on Friday?" in str(to_lead["blocks"])
    assert "Asked by <@U0ECARL>" in str(to_lead["blocks"])

    world.at(START + 6 * H)  # the same instant again: nothing twice
    assert len(world.replies(question)) == 2
    assert len(fake_slack.dm_messages(EBACKUP)) == 1 and len(fake_slack.dm_messages(LEAD)) == 1
    request = world.the_request()
    assert (request.reminders_sent, request.overdue_notices_sent) == (1, 1)
    assert (request.escalated_backups_at, request.escalated_lead_at) == (START + 4 * H, START + 6 * H)
    assert request.next_action_at == START + 8 * H  # the first repeat, one window after due
    assert fake_slack.rejections() == []


def test_overdue_reminders_repeat_every_window_up_to_the_limit_then_the_lead_takes_over(fake_slack, world):
    world.globex()
    world.ask()
    question = fake_slack.wait_for(lambda: world.question_message())
    repeats = [
        START + 8 * H,  # Mon 17:00 in Madrid
        utc(2026, 11, 24, 11),  # 1 h on Monday + 3 h on Tuesday: Tue 12:00
        utc(2026, 11, 24, 15),
    ]  # Tue 16:00
    for moment in [START + 3 * H, START + 4 * H, START + 6 * H, *repeats]:
        world.at(moment - timedelta(minutes=1))
        world.at(moment)
    texts = chase_texts(world, question)
    assert len(texts) == 5  # the reminder, the overdue notice, 3 repeats
    assert "reminder 2 of 4" in texts[2] and "reminder 3 of 4" in texts[3]
    assert "reminder 4 of 4" in texts[4]
    assert texts[4].endswith("This is my last reminder; <@U0LEAD> will follow up with you.")
    handover = fake_slack.dm_messages(LEAD)[-1]["text"]
    assert handover.startswith("I've sent <@U0EMMA> the last of 4 overdue reminders for GLOBEX-Q1 (*Globex*).")
    assert world.the_request().next_action_at is None

    for day in range(2, 5):  # Wed..Fri: persistent, never spammy
        world.at(utc(2026, 11, 23 + day, 9))
        world.at(utc(2026, 11, 23 + day, 16))
    assert len(world.replies(question)) == 5
    assert len(fake_slack.dm_messages(LEAD)) == 2  # the escalation and the handover
    assert world.the_request().overdue_notices_sent == 4


def test_a_worker_down_for_a_day_catches_up_without_a_burst(fake_slack, world):
    world.globex()
    world.ask()
    question = fake_slack.wait_for(lambda: world.question_message())
    world.at(utc(2026, 11, 24, 14))  # the first tick since Monday 09:00: Tuesday 15:00 in Madrid
    texts = chase_texts(world, question)
    assert len(texts) == 1 and "was due" in texts[0]  # no stale reminder, one overdue notice, no repeats
    assert len(fake_slack.dm_messages(EBACKUP)) == 1
    assert len([m for m in fake_slack.dm_messages(LEAD) if "is overdue" in m["text"]]) == 1
    request = world.the_request()
    assert request.overdue_notices_sent == 1 and request.reminders_sent == 0
    # the next repeat is a full window after the catch-up: 3 h on Tuesday, 1 h on Wednesday
    assert request.next_action_at == utc(2026, 11, 25, 9)


def test_a_question_asked_at_night_goes_out_when_the_client_opens(bot, fake_slack, world):
    world.globex()
    bot.clock.set(START + 10 * H)  # Monday 19:00 in Madrid
    body = world.ask("Night question?")
    assert "*Globex* is closed now, so it goes out <!date^" in body["text"]
    world.at(utc(2026, 11, 24, 7, 59))
    assert fake_slack.dm_messages(EREF) == []
    world.at(utc(2026, 11, 24, 8))  # Tuesday 09:00
    question = fake_slack.wait_for(lambda: world.question_message())
    request = world.the_request()
    assert request.opened_at == START + 10 * H and request.due_at == utc(2026, 11, 24, 12)
    world.at(utc(2026, 11, 24, 11))
    assert len(world.replies(question)) == 1  # the reminder, 3 business hours after Tuesday's opening


def test_a_reminder_due_at_friday_closing_waits_for_monday_but_the_lead_hears_at_once(bot, fake_slack, world):
    world.globex()
    bot.clock.set(utc(2026, 11, 27, 14))  # Friday 15:00 in Madrid
    world.ask("Weekend question?")
    question = fake_slack.wait_for(lambda: world.question_message())
    request = world.the_request()
    assert request.due_at == utc(2026, 11, 30, 9)  # 3 h on Friday + 1 h on Monday: Monday 10:00

    world.at(utc(2026, 11, 27, 17))  # Friday 18:00: the reminder's moment, at closing time
    assert world.replies(question) == []
    with bot.db.sessionmaker() as s:
        owed = s.scalars(select(OutboxNotice).where(OutboxNotice.target_id == world.the_question().notice_id)).one()
    assert owed.status == NoticeStatus.PENDING and owed.next_attempt_at == utc(2026, 11, 30, 8)  # Monday 09:00
    world.at(utc(2026, 11, 28, 11))  # Saturday
    world.at(utc(2026, 11, 29, 20))  # Sunday night
    assert world.replies(question) == []
    world.at(utc(2026, 11, 30, 8))
    assert "a friendly reminder" in world.replies(question)[0]["text"]

    world.at(utc(2026, 11, 30, 9))  # due: overdue and backups; the lead 2 business hours later
    assert len(world.replies(question)) == 2 and len(fake_slack.dm_messages(EBACKUP)) == 1
    world.at(utc(2026, 11, 30, 11))
    assert len(fake_slack.dm_messages(LEAD)) == 1


def test_the_lead_is_told_at_once_even_after_the_client_closed(bot, fake_slack, world):
    world.globex()
    bot.clock.set(START + 3 * H)  # Monday 12:00: due 16:00, the lead's step at 18:00 (closing time)
    world.ask()
    fake_slack.wait_for(lambda: world.question_message())
    world.at(START + 7 * H)
    assert fake_slack.dm_messages(LEAD) == []
    world.at(START + 9 * H)  # 18:00 in Madrid: the client is closed, the agency is not
    [to_lead] = fake_slack.dm_messages(LEAD)
    assert "is overdue" in to_lead["text"]
