"""The daily digest (reference people, at the client's opening) and the weekly summary (leads, Monday)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.tracking.models import DigestSent
from tests.conftest import START
from tests.support.people import LEAD
from tests.support.world import EBACKUP, EREF, utc

H = timedelta(hours=1)


def digests(world, user: str = EREF) -> list[dict]:
    return [m for m in world.top_level(user) if m["text"].startswith("Good morning!")]


def weekly(fake, user: str = LEAD) -> list[dict]:
    return [m for m in fake.dm_messages(user) if m["text"].startswith("Your weekly summary")]


def marks(db) -> list[tuple[str, str, str, int]]:
    with db.sessionmaker() as s:
        return [(d.user_id, d.kind, d.period, d.items) for d in s.scalars(select(DigestSent).order_by(DigestSent.id))]


def test_daily_digest_lists_what_waits_and_goes_once_per_day(bot, slack, fake_slack, world):
    world.globex()
    world.ask("Video on Friday?")  # Monday 09:00: arrives at the opening, so not in Monday's digest
    world.at(START)
    bot.clock.set(START + H)
    world.ask("Which logo?")
    world.at(START + 2 * H)
    assert digests(world) == []

    world.at(utc(2026, 11, 24, 7, 59))
    assert digests(world) == []
    world.at(utc(2026, 11, 24, 8))  # Tuesday 09:00 in Madrid
    [digest] = digests(world)
    assert digest["text"].startswith("Good morning! Waiting on you (2):")
    body = str(digest["blocks"])
    assert "*GLOBEX-Q1* (Globex): Video on Friday?" in body and "*GLOBEX-Q2* (Globex): Which logo?" in body
    assert "⚠️" in body  # both overdue since Monday
    for moment in (utc(2026, 11, 24, 8, 5), utc(2026, 11, 24, 12), utc(2026, 11, 24, 20)):
        world.at(moment)
    assert len(digests(world)) == 1

    question = world.question_message()
    slack.message(EREF, question["channel"], "Yes", thread_ts=question["ts"])  # Q1 answered on Tuesday
    fake_slack.wait_for(lambda: any("answered" in m["text"] for m in fake_slack.dm_messages("U0ECARL")))
    world.at(utc(2026, 11, 25, 8))
    assert len(digests(world)) == 2
    assert "GLOBEX-Q1" not in str(digests(world)[-1]["blocks"])
    assert [m for m in marks(bot.db) if m[1] == "daily" and m[0] == EREF] == [
        (EREF, "daily", "2026-11-23", 0),
        (EREF, "daily", "2026-11-24", 2),
        (EREF, "daily", "2026-11-25", 1),
    ]
    # The backup, to whom both questions were escalated on Monday, hears of them too (a DM: no Home needed);
    # a day with nothing escalated to them leaves no mark.
    assert [m for m in marks(bot.db) if m[1] == "daily" and m[0] == EBACKUP] == [
        (EBACKUP, "daily", "2026-11-24", 2),
        (EBACKUP, "daily", "2026-11-25", 1),
    ]
    assert "*GLOBEX-Q2* (Globex)" in str(digests(world, EBACKUP)[-1]["blocks"])


def test_weekly_summary_reaches_the_lead_at_mondays_opening_once(bot, slack, fake_slack, world):
    world.globex()
    world.ask()
    world.at(START)
    assert weekly(fake_slack) == []  # nothing happened the week before
    question = world.question_message()
    bot.clock.set(START + H)
    slack.message(EREF, question["channel"], "Sure", thread_ts=question["ts"])
    fake_slack.wait_for(lambda: any("answered" in m["text"] for m in fake_slack.dm_messages("U0ECARL")))
    bot.clock.set(START + 2 * H)
    world.ask("Still waiting on this one")

    world.at(utc(2026, 11, 30, 7, 59))
    assert weekly(fake_slack) == []
    world.at(utc(2026, 11, 30, 8))  # next Monday 09:00 in Madrid
    [summary] = weekly(fake_slack)
    assert "Globex: 1 answered, median 1 h, 1 overdue" in summary["text"]
    world.at(utc(2026, 11, 30, 9))
    world.at(utc(2026, 12, 1, 8))
    assert len(weekly(fake_slack)) == 1
    assert (LEAD, "weekly", "2026-W49", 1) in marks(bot.db)
