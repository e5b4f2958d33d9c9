"""While a crisis is open the client's scheduled posts are held: listed as held, not handed off, released on request."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.approvals import ids as approval_ids
from bot.approvals.models import DeliveryStatus, Draft, WebhookDelivery
from bot.crises import holds, ids
from bot.crises.models import CrisisHold
from tests.approvals.test_webhook import SECRET, Receiver
from tests.support.people import AGENCY_TEAM, LEAD, REF
from tests.support.world import CM_EN


@pytest.fixture
def receiver():
    r = Receiver(statuses=())
    yield r
    r.stop()


@pytest.fixture(autouse=True)
def english_cm(fake_slack):
    fake_slack.add_user(CM_EN, "eric", team_id=AGENCY_TEAM, tz="Europe/Madrid", locale="en-US")


def draft_status(bot, reference: str) -> str:
    with bot.db.sessionmaker() as s:
        return str(s.scalars(select(Draft.status).where(Draft.reference == reference)).one())


def delivered(bot) -> list[WebhookDelivery]:
    with bot.db.sessionmaker() as s:
        return list(s.scalars(select(WebhookDelivery).where(WebhookDelivery.status == DeliveryStatus.DELIVERED)))


def test_scheduled_posts_are_held_while_open_and_released_on_request(bot, slack, fake_slack, receiver, world):
    client_id = world.client(channel=None, community_managers=[CM_EN])
    slack.command(f"client webhook Acme webhook:{receiver.url} webhook-secret:{SECRET}", user_id=LEAD)
    world.draft("Black Friday: 50% off everything!", options="at:2026-11-27T10:00")
    world.draft("Unscheduled thought", options="")
    card = world.card(REF, "ACME-1")
    world.declare()

    with bot.db.sessionmaker() as s:
        assert [h.reference for h in s.scalars(select(CrisisHold))] == ["ACME-1"]
        assert holds.held_draft_ids(s, client_id) == {1}
    told = [m["text"] for m in fake_slack.dm_messages(CM_EN) + fake_slack.dm_messages(LEAD) if "on hold" in m["text"]]
    assert len(told) == 2 and all("ACME-1" in t and "ACME-2" not in t for t in told)
    pending = slack.command("pending Acme", user_id=LEAD).json()["text"]
    acme1 = next(line for line in pending.split("\n") if "ACME-1" in line)
    assert "held: the client is in a crisis" in acme1
    assert "held" not in next(line for line in pending.split("\n") if "ACME-2" in line)

    # Approved during the crisis: still not handed off.
    world.click(card, REF, approval_ids.APPROVE, until=lambda: draft_status(bot, "ACME-1") == "approved")
    bot.clock.advance(timedelta(minutes=10))
    world.drain()
    assert receiver.received == [] and delivered(bot) == []

    world.click(world.pages(LEAD)[-1], LEAD, ids.RESOLVE, until=world.crisis_has("resolved"))
    question = fake_slack.wait_for(
        lambda: next(m for m in fake_slack.dm_messages(LEAD) if ids.RELEASE_HELD in str(m["blocks"]))
    )
    assert "These posts are still on hold: ACME-1" in question["text"]
    bot.clock.advance(timedelta(minutes=10))
    world.drain()
    assert receiver.received == []  # resolving releases nothing by itself

    world.click(question, LEAD, ids.RELEASE_HELD, until=world.crisis_has("released"))
    answered = fake_slack.wait_for(
        lambda: next(
            m
            for m in fake_slack.dm_messages(LEAD)
            if m["ts"] == question["ts"] and "released the held posts" in m["text"]
        )
    )
    assert ids.RELEASE_HELD not in str(answered["blocks"])
    bot.clock.advance(timedelta(seconds=1))
    world.drain()
    assert len(receiver.received) == 1 and len(delivered(bot)) == 1
    with bot.db.sessionmaker() as s:
        (hold,) = s.scalars(select(CrisisHold))
        assert hold.released_by == LEAD and holds.held_draft_ids(s, client_id) == set()
    report = next(m for m in fake_slack.dm_messages(LEAD) if m["text"].startswith("Post-crisis report"))
    assert "ACME-1: still held" in str(report["blocks"])  # the report was written at resolve time
    assert "released" in world.crisis_events(world.the_crisis().id)


def test_a_post_scheduled_during_the_crisis_is_held_too_and_can_stay_held(bot, slack, fake_slack, receiver, world):
    client_id = world.client(channel=None, community_managers=[CM_EN])
    slack.command(f"client webhook Acme webhook:{receiver.url} webhook-secret:{SECRET}", user_id=LEAD)
    world.declare()
    world.draft("New promo", options="at:2026-11-28T10:00")
    world.click(
        world.card(REF, "ACME-1"), REF, approval_ids.APPROVE, until=lambda: draft_status(bot, "ACME-1") == "approved"
    )
    assert receiver.received == []
    answer = slack.command("crisis Acme resolve", user_id=LEAD).json()["text"]
    assert "is resolved" in answer, answer
    world.drain()
    question = fake_slack.wait_for(
        lambda: next(m for m in fake_slack.dm_messages(LEAD) if ids.KEEP_HELD in str(m["blocks"]))
    )
    world.click(question, LEAD, ids.KEEP_HELD, until=world.crisis_has("kept_held"))
    bot.clock.advance(timedelta(hours=2))
    world.drain()
    assert receiver.received == []
    with bot.db.sessionmaker() as s:
        assert len(holds.held_draft_ids(s, client_id)) == 1
    assert "ACME-1" in slack.command("crisis Acme release", user_id=LEAD).json()["text"]
    bot.clock.advance(timedelta(seconds=1))
    world.drain()
    assert len(receiver.received) == 1


def test_only_the_agency_releases_held_posts(bot, slack, world):
    world.client(channel=None, community_managers=[CM_EN])
    world.draft("Scheduled", options="at:2026-11-27T10:00")
    world.declare()
    assert "resolve it before releasing" in slack.command("crisis Acme release", user_id=LEAD).json()["text"]
    slack.command("crisis Acme resolve", user_id=LEAD)
    slack.command("crisis Acme release", user_id=REF)
    with bot.db.sessionmaker() as s:
        assert s.scalars(select(CrisisHold)).one().released_at is None
