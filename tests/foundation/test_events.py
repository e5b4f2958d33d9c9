"""Slack's retries of an event are processed once."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.delivery.events import SeenEvent, forget_old_events


def test_a_retried_event_is_processed_once(slack, bot, fake_slack):
    event = {"type": "app_home_opened", "user": "U0LEAD", "tab": "home", "channel": "D0HOME"}
    assert slack.event(event, event_id="Ev0001").status_code == 200
    fake_slack.wait_for(lambda: len(fake_slack.home_views("U0LEAD")) == 1)
    for n in (1, 2, 3):
        r = slack.event(event, event_id="Ev0001", retry_num=n, retry_reason="http_timeout")
        assert r.status_code == 200
    slack.event(event, event_id="Ev0002")  # a genuinely new event still goes through
    fake_slack.wait_for(lambda: len(fake_slack.home_views("U0LEAD")) == 2)
    bot.nexo.ctx.deliverer.sweep()
    assert len(fake_slack.home_views("U0LEAD")) == 2


def test_old_sightings_are_forgotten(bot):
    from datetime import timedelta

    from bot.delivery.events import first_sighting

    assert first_sighting(bot.db, "EvOld", bot.clock.now())
    assert not first_sighting(bot.db, "EvOld", bot.clock.now())
    assert forget_old_events(bot.db, bot.clock.now() + timedelta(days=3)) == 1
    with bot.db.sessionmaker() as s:
        assert s.scalar(select(func.count()).select_from(SeenEvent)) == 0
