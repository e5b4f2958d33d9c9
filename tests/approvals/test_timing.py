"""Deadlines: publish time minus the margin, missed publish times flagged once, business hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.approvals.models import DraftStatus
from tests.approvals.helpers import (
    CM_EN,
    cards,
    dm_texts,
    draft,
    events,
    get_draft,
    requests,
    setup_client,
    text_of,
    wait_card,
)
from tests.support.people import LEAD, REF


def test_the_answer_is_due_before_the_publish_time_minus_the_margin(slack, bot, fake_slack):
    setup_client(slack, extra="margin:45m")
    draft(slack, "Lunch offer", options="at:2026-11-23T11:30")  # 09:00 now in Madrid; window 4h would be 13:00
    card = wait_card(fake_slack, REF, "ACME-1")
    [request] = requests(bot.db)
    assert request.due_at == datetime(2026, 11, 23, 9, 45, tzinfo=UTC)  # 10:45 Madrid = 11:30 - 45m
    assert "2026-11-23 10:45" in text_of(card)


def test_a_missed_publish_time_is_flagged_once_to_the_cm_and_the_lead(slack, bot, fake_slack):
    setup_client(slack)
    draft(slack, "Flash sale", options="at:2026-11-23T12:00")
    wait_card(fake_slack, REF, "ACME-1")
    assert bot.tick()["approvals_missed_publish"] == 0
    bot.clock.advance(timedelta(hours=3, minutes=1))  # 12:01 Madrid
    assert bot.tick()["approvals_missed_publish"] == 1
    assert bot.tick()["approvals_missed_publish"] == 0
    bot.clock.advance(timedelta(hours=1))
    assert bot.tick()["approvals_missed_publish"] == 0
    for person in (CM_EN, LEAD):
        flagged = [t for t in dm_texts(fake_slack, person) if "ACME-1 was planned for 2026-11-23 12:00" in t]
        assert len(flagged) == 1, person
        assert f"@{REF}" in flagged[0]
    d = get_draft(bot.db, "ACME-1")
    assert d.status == DraftStatus.CLIENT_REVIEW and d.missed_flagged_at is not None  # never silently dropped
    assert events(bot.db, "ACME-1").count("missed_publish_time") == 1


def test_a_draft_written_at_night_reaches_the_reviewer_when_they_open(slack, bot, fake_slack):
    setup_client(slack)
    bot.clock.set(datetime(2026, 11, 23, 21, 0, tzinfo=UTC))  # 22:00 in Madrid
    reply = draft(slack, "Good morning, Madrid!")
    assert "reaches them at 2026-11-24 09:00" in reply
    bot.tick()
    assert cards(fake_slack, REF) == []
    [request] = requests(bot.db)
    assert request.due_at == datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # 4 business hours from 09:00
    bot.clock.set(datetime(2026, 11, 24, 8, 0, tzinfo=UTC))
    bot.tick()
    wait_card(fake_slack, REF, "ACME-1")
