"""A crisis reaches the publishing tool too: what it already has is paused (post.held) and resumed
(post.released); withdrawals and new times are news it hears the same way. Every request is signed,
has its own delivery id (the same on each retry) and is retried after a 500."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.approvals import ids as approval_ids
from bot.approvals import webhook
from bot.approvals.models import DeliveryStatus, Draft, WebhookDelivery
from bot.crises import ids
from tests.approvals.test_webhook import SECRET, Receiver
from tests.support.people import AGENCY_TEAM, CM, LEAD, REF
from tests.support.world import CM_EN


@pytest.fixture
def receiver():
    r = Receiver(statuses=())
    yield r
    r.stop()


@pytest.fixture(autouse=True)
def english_cm(fake_slack):
    fake_slack.add_user(CM_EN, "eric", team_id=AGENCY_TEAM, tz="Europe/Madrid", locale="en-US")


def received(receiver) -> list[tuple[str, str, int, dict]]:
    """(event, delivery id, status answered, body) of every request, each checked against its signature."""
    seen = []
    for headers, body, status in receiver.received:
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Nexo-Signature"], expected)
        payload = json.loads(body)
        assert headers["X-Nexo-Event"] == payload["event"] and headers["X-Nexo-Delivery"] == str(payload["delivery_id"])
        seen.append((payload["event"], headers["X-Nexo-Delivery"], status, payload))
    return seen


def rows(bot) -> list[WebhookDelivery]:
    with bot.db.sessionmaker() as s:
        return list(s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def approve(world, bot, reference: str) -> None:
    world.click(
        world.card(REF, reference),
        REF,
        approval_ids.APPROVE,
        until=lambda: world.the_draft(reference).status == "approved",
    )


def with_webhook(world, slack, receiver) -> None:
    world.client(channel=None, community_managers=[CM_EN, CM])
    slack.command(f"client webhook Acme webhook:{receiver.url} webhook-secret:{SECRET}", user_id=LEAD)


def test_a_crisis_pauses_what_the_tool_already_has_and_releasing_resumes_it(bot, slack, fake_slack, receiver, world):
    with_webhook(world, slack, receiver)
    world.draft("Handed off already", options="at:2026-11-27T10:00")  # ACME-1
    approve(world, bot, "ACME-1")
    fake_slack.wait_for(lambda: [r.status for r in rows(bot)] == [DeliveryStatus.DELIVERED])
    world.draft("Waiting for Ana", options="at:2026-11-28T10:00")  # ACME-2
    world.draft("Promo de invierno", by=CM, options="at:2026-11-29T10:00")  # ACME-3
    world.draft("No time set")  # ACME-4: nothing to hold
    receiver.statuses = [500]  # the tool stumbles on the pause request

    answer = world.declare()
    where = "2 posts held in Nexo (ACME-2, ACME-3), 1 already with the publishing tool asked to pause (ACME-1)"
    assert f"Scheduled posts: {where}." in answer["text"]
    lead_told = [m["text"] for m in fake_slack.dm_messages(LEAD) if "on hold" in m["text"]]
    assert lead_told == [
        f"⏸️ The crisis for *Acme* put its scheduled posts on hold: {where}. They stay on hold "
        "until someone releases them."
    ]
    carla_told = [m["text"] for m in fake_slack.dm_messages(CM) if "retenido" in m["text"]]
    assert carla_told == [
        "⏸️ Por la crisis de *Acme* he retenido sus publicaciones programadas: 2 retenidas en Nexo "
        "(ACME-2, ACME-3) y 1 que ya estaba en la herramienta de publicación, a la que he pedido "
        "que la pause (ACME-1). Siguen retenidas hasta que alguien las libere."
    ]
    fake_slack.wait_for(lambda: len(receiver.received) == 2)
    assert [(e, s) for e, _, s, _ in received(receiver)] == [("post.approved", 200), ("post.held", 500)]
    bot.clock.advance(timedelta(seconds=30))
    world.drain()
    events = received(receiver)
    assert [(e, s) for e, _, s, _ in events] == [("post.approved", 200), ("post.held", 500), ("post.held", 200)]
    assert events[1][1] == events[2][1] != events[0][1]  # a retry keeps its delivery id; each event has its own
    held = events[2][3]
    assert held["draft"]["reference"] == "ACME-1" and held["post"]["publish_at"] == "2026-11-27T09:00:00+00:00"
    assert held["crisis"] == {"id": world.the_crisis().id, "severity": 1}

    approve(world, bot, "ACME-2")  # approved during the crisis: Nexo keeps it
    bot.clock.advance(timedelta(minutes=10))
    world.drain()
    assert len(receiver.received) == 3

    world.click(world.pages(LEAD)[-1], LEAD, ids.RESOLVE, until=world.crisis_has("resolved"))
    question = fake_slack.wait_for(
        lambda: next(m for m in fake_slack.dm_messages(LEAD) if ids.RELEASE_HELD in str(m["blocks"]))
    )
    world.click(question, LEAD, ids.RELEASE_HELD, until=world.crisis_has("released"))
    fake_slack.wait_for(lambda: len(receiver.received) == 5, message="the release and the held hand-off")
    events = received(receiver)
    after = {(e, p["draft"]["reference"]) for e, _, _, p in events[3:]}
    assert after == {("post.released", "ACME-1"), ("post.approved", "ACME-2")}
    released = next(p for e, _, _, p in events if e == "post.released")
    assert released["released_by"] == LEAD and released["crisis"]["id"] == world.the_crisis().id
    assert len({d for _, d, _, _ in events}) == 4  # approved, held (twice), released, approved: 4 deliveries
    world.drain()
    assert len(receiver.received) == 5 and all(r.status == DeliveryStatus.DELIVERED for r in rows(bot))


def test_a_post_already_published_is_not_held(bot, slack, fake_slack, receiver, world):
    with_webhook(world, slack, receiver)
    world.draft("Out this morning", options="at:2026-11-23T10:00")
    approve(world, bot, "ACME-1")
    fake_slack.wait_for(lambda: [r.status for r in rows(bot)] == [DeliveryStatus.DELIVERED])
    world.at(bot.clock.now().replace(hour=12))  # 13:00 in Madrid: the tool has published it
    answer = world.declare()
    assert "Scheduled posts" not in answer["text"]
    assert [e for e, _, _, _ in received(receiver)] == ["post.approved"]


def test_withdrawn_and_rescheduled_posts_are_news_for_the_tool(bot, slack, fake_slack, receiver, world):
    with_webhook(world, slack, receiver)
    world.draft("Moving target", options="at:2026-11-27T10:00")
    approve(world, bot, "ACME-1")
    fake_slack.wait_for(lambda: [r.status for r in rows(bot)] == [DeliveryStatus.DELIVERED])
    receiver.statuses = [500]
    with bot.db.transaction() as s:
        draft = s.scalars(select(Draft).where(Draft.reference == "ACME-1")).one()
        before, draft.publish_at = draft.publish_at, draft.publish_at + timedelta(days=1)
        assert webhook.enqueue_event(
            s, draft, "post.rescheduled", previous_publish_at=before, rescheduled_by=CM_EN, now=bot.clock.now()
        )
    world.drain()
    assert [(e, s) for e, _, s, _ in received(receiver)] == [("post.approved", 200), ("post.rescheduled", 500)]
    bot.clock.advance(timedelta(seconds=30))
    world.drain()
    with bot.db.transaction() as s:
        draft = s.scalars(select(Draft).where(Draft.reference == "ACME-1")).one()
        assert webhook.enqueue_event(
            s, draft, "post.withdrawn", withdrawn_by=LEAD, now=bot.clock.now(), reason="Off brand"
        )
    world.drain()
    events = received(receiver)
    assert [(e, s) for e, _, s, _ in events] == [
        ("post.approved", 200),
        ("post.rescheduled", 500),
        ("post.rescheduled", 200),
        ("post.withdrawn", 200),
    ]
    assert events[2][3]["post"]["publish_at"] == "2026-11-28T09:00:00+00:00"
    assert events[2][3]["previous_publish_at"] == "2026-11-27T09:00:00+00:00"
    assert events[3][3]["withdrawn_by"] == LEAD and events[3][3]["reason"] == "Off brand"
    assert len({d for _, d, _, _ in events}) == 3


def test_a_post_withdrawn_before_its_hand_off_left_is_never_sent(bot, slack, fake_slack, receiver, world):
    with_webhook(world, slack, receiver)
    world.declare()
    world.draft("Held from the start", options="at:2026-11-27T10:00")
    approve(world, bot, "ACME-1")  # owed, but held by the crisis
    with bot.db.transaction() as s:
        draft = s.scalars(select(Draft).where(Draft.reference == "ACME-1")).one()
        assert webhook.enqueue_event(s, draft, "post.withdrawn", withdrawn_by=LEAD, now=bot.clock.now()) is None
    slack.command("crisis resolve Acme", user_id=LEAD)
    slack.command("crisis release Acme", user_id=LEAD)
    bot.clock.advance(timedelta(minutes=5))
    world.drain()
    assert receiver.received == [] and [r.status for r in rows(bot)] == [DeliveryStatus.CANCELLED]
