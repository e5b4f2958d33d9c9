"""Deadlines: publish time minus the margin, missed publish times flagged once, business hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.approvals.models import DraftStatus
from bot.fakeslack.transcript import resolve_mentions
from tests.support.people import LEAD, REF
from tests.support.world import CM_EN, text_of


def test_the_answer_is_due_before_the_publish_time_minus_the_margin(world):
    world.client(options="margin:45m")
    world.draft("Lunch offer", options="at:2026-11-23T11:30")  # 09:00 now in Madrid; window 4h would be 13:00
    card = world.card(REF, "ACME-1")
    [request] = world.requests()
    assert request.due_at == datetime(2026, 11, 23, 9, 45, tzinfo=UTC)  # 10:45 Madrid = 11:30 - 45m
    assert "Mon 23 Nov, 10:45" in text_of(card)


def test_a_missed_publish_time_is_flagged_once_to_the_cm_and_the_lead(bot, world):
    world.client()
    world.draft("Flash sale", options="at:2026-11-23T12:00")
    world.card(REF, "ACME-1")
    assert bot.tick()["approvals_missed_publish"] == 0
    bot.clock.advance(timedelta(hours=3, minutes=1))  # 12:01 Madrid
    assert bot.tick()["approvals_missed_publish"] == 1
    assert bot.tick()["approvals_missed_publish"] == 0
    bot.clock.advance(timedelta(hours=1))
    assert bot.tick()["approvals_missed_publish"] == 0
    for person in (CM_EN, LEAD):
        flagged = [t for t in world.seen_by(person).dms if "ACME-1 was planned for Mon 23 Nov, 12:00" in t]
        assert len(flagged) == 1, person
        assert f"@{REF}" in flagged[0]
    d = world.the_draft("ACME-1")
    assert d.status == DraftStatus.CLIENT_REVIEW and d.missed_flagged_at is not None  # never silently dropped
    assert world.events("ACME-1").count("missed_publish_time") == 1


def test_a_draft_written_at_night_reaches_the_reviewer_when_they_open(bot, world):
    world.client()
    bot.clock.set(datetime(2026, 11, 23, 21, 0, tzinfo=UTC))  # 22:00 in Madrid
    reply = resolve_mentions(world.draft("Good morning, Madrid!"))  # a date token shows its fallback here
    assert "reaches them at Tue 24 Nov, 09:00" in reply
    bot.tick()
    assert world.cards(REF) == []
    [request] = world.requests()
    assert request.due_at == datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # 4 business hours from 09:00
    bot.clock.set(datetime(2026, 11, 24, 8, 0, tzinfo=UTC))
    bot.tick()
    world.card(REF, "ACME-1")
