"""A draft goes to the client, is approved, and everyone sees it."""

from __future__ import annotations

from sqlalchemy import select

from bot.approvals import ids
from bot.approvals.models import DraftStatus
from bot.tracking.models import RequestKind, RequestState, TrackedRequest, WaitingOn
from tests.approvals.helpers import (
    CM_EN,
    buttons,
    click,
    decisions,
    dm_texts,
    draft,
    events,
    get_draft,
    setup_client,
    text_of,
    wait_card,
)
from tests.support.people import REF


def test_draft_is_sent_approved_and_the_cm_told(slack, bot, fake_slack):
    setup_client(slack)
    reply = draft(slack, "Black Friday: 20% off everything this weekend!",
                  options="network:instagram,x at:2026-11-27T10:00 category:Promos")
    assert "ACME-1 created" in reply and f"<@{REF}>" in reply
    card = wait_card(fake_slack, REF, "ACME-1")
    shown = text_of(card)
    assert "Black Friday: 20% off everything this weekend!" in shown
    assert "Instagram, X" in shown and "2026-11-27 10:00" in shown
    assert buttons(card)[:3] == [ids.APPROVE, ids.REQUEST_CHANGES, ids.REJECT]
    with bot.db.sessionmaker() as s:
        request = s.scalars(select(TrackedRequest)).one()
        assert request.kind == RequestKind.APPROVAL and request.waiting_on == WaitingOn.CLIENT
        assert request.assignee == REF and request.notice_id is not None

    click(slack, card, REF)
    fake_slack.wait_for(lambda: get_draft(bot.db, "ACME-1").status == DraftStatus.APPROVED)
    fake_slack.wait_for(lambda: any("was approved by" in t for t in dm_texts(fake_slack, CM_EN)))
    updated = wait_card(fake_slack, REF, "ACME-1")
    fake_slack.wait_for(lambda: buttons(wait_card(fake_slack, REF, "ACME-1")) == [])
    assert "Approved by" in text_of(wait_card(fake_slack, REF, "ACME-1"))
    assert updated["ts"] == card["ts"]  # updated in place
    [decision] = decisions(bot.db, "ACME-1")
    assert decision.reviewer == REF and decision.version == 1
    with bot.db.sessionmaker() as s:
        request = s.scalars(select(TrackedRequest)).one()
        assert request.state == RequestState.ANSWERED and request.outcome == "approved"
    assert events(bot.db, "ACME-1") == ["created", "sent", "approved"]
