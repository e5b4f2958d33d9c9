"""A draft goes to the client, is approved, and everyone sees it."""

from __future__ import annotations

from sqlalchemy import select

from bot.approvals import ids
from bot.approvals.models import DraftStatus
from bot.tracking.models import RequestKind, RequestState, TrackedRequest, WaitingOn
from tests.support.people import REF
from tests.support.world import CM_EN, buttons, text_of


def test_draft_is_sent_approved_and_the_cm_told(bot, fake_slack, world):
    world.client()
    reply = world.draft(
        "Black Friday: 20% off everything this weekend!",
        options="network:instagram,x at:2026-11-27T10:00 category:Promos",
    )
    assert "ACME-1 created" in reply and f"<@{REF}>" in reply
    card = world.card(REF, "ACME-1")
    shown = text_of(card)
    assert "Black Friday: 20% off everything this weekend!" in shown
    assert "Instagram, X" in shown and "Fri 27 Nov, 10:00" in shown
    assert buttons(card)[:3] == [ids.APPROVE, ids.REQUEST_CHANGES, ids.REJECT]
    with bot.db.sessionmaker() as s:
        request = s.scalars(select(TrackedRequest)).one()
        assert request.kind == RequestKind.APPROVAL and request.waiting_on == WaitingOn.CLIENT
        assert request.assignee == REF and request.notice_id is not None

    world.click(card, REF, ids.APPROVE)
    fake_slack.wait_for(lambda: world.the_draft("ACME-1").status == DraftStatus.APPROVED)
    fake_slack.wait_for(lambda: any("was approved by" in t for t in world.seen_by(CM_EN).dms))
    updated = world.card(REF, "ACME-1")
    fake_slack.wait_for(lambda: buttons(world.card(REF, "ACME-1")) == [])
    assert "Approved by" in text_of(world.card(REF, "ACME-1"))
    assert updated["ts"] == card["ts"]  # updated in place
    [decision] = world.decisions("ACME-1")
    assert decision.reviewer == REF and decision.version == 1
    with bot.db.sessionmaker() as s:
        request = s.scalars(select(TrackedRequest)).one()
        assert request.state == RequestState.ANSWERED and request.outcome == "approved"
    assert world.events("ACME-1") == ["created", "sent", "approved"]
