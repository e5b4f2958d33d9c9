"""Stand-ins: when an approval escalates, backups (and the lead, when the plan lets them) get the card itself and
decide for the absent reviewer; the lead's late notice has Reassign; the trail says who stood in for whom.

Acme: Madrid, Mon-Fri 09:00-18:00, 4 h window. START is Monday 09:00 in Madrid: the card is due at 13:00, the
backups are brought in then, the lead two business hours later (plan defaults).
"""

from __future__ import annotations

import copy
from datetime import timedelta

from sqlalchemy import select

from bot.approvals import ids
from bot.approvals.models import AuditEvent, DraftStatus
from tests.conftest import START
from tests.support.people import BACKUP, LEAD, REF
from tests.support.world import CM_EN, buttons, text_of

H = timedelta(hours=1)
CARD_BUTTONS = [ids.APPROVE, ids.REQUEST_CHANGES, ids.REJECT]


def stand_in_card(world, user, ref="ACME-1"):
    """The newest card of ``ref`` in ``user``'s DM (backups and the lead get no other)."""
    return world.card(user, ref)


def audit_detail(world, event):
    with world.db.sessionmaker() as s:
        return [(e.actor, e.detail) for e in s.scalars(select(AuditEvent).where(AuditEvent.event == event))]


def test_a_backup_stands_in_once_escalated_and_decides_the_draft(fake_slack, world):
    world.client()
    world.draft("Black Friday: 20% off everything")
    ana_card = world.card(REF, "ACME-1")
    world.click(ana_card, BACKUP, ids.APPROVE)  # before the escalation Bruno is not standing in yet
    world.settle()
    assert any(
        "If they don't answer in time, I'll bring you in to stand in for them" in t  # Acme's language
        for t in world.seen_by(BACKUP).ephemerals
    )
    assert world.the_draft("ACME-1").status == DraftStatus.CLIENT_REVIEW and world.decisions("ACME-1") == []

    world.at(START + 4 * H)  # due: Bruno gets the card itself
    card = copy.deepcopy(stand_in_card(world, BACKUP))  # as Bruno saw it, to click it again later
    assert buttons(card) == CARD_BUTTONS
    assert f"waiting on @{REF} since" in text_of(card) and "You can stand in for them" in text_of(card)
    world.click(card, BACKUP, ids.APPROVE, until=lambda: world.the_draft("ACME-1").status == DraftStatus.APPROVED)

    [decision] = world.decisions("ACME-1")
    assert (decision.reviewer, decision.on_behalf_of) == (BACKUP, REF)
    assert audit_detail(world, "approved")[0] == (BACKUP, {"stage": "client", "as_is": False, "standing_in_for": REF})
    closed = f"Approved by @{BACKUP}, standing in for @{REF}, at"
    fake_slack.wait_for(lambda: closed in text_of(world.card(REF, "ACME-1")))  # every card closes with who decided
    fake_slack.wait_for(
        lambda: buttons(world.card(REF, "ACME-1")) == [] and buttons(stand_in_card(world, BACKUP)) == []
    )
    assert closed in text_of(stand_in_card(world, BACKUP))
    assert any(f"approved by @{BACKUP}, standing in for @{REF}" in t for t in world.seen_by(CM_EN).dms)

    world.click(card, BACKUP, ids.APPROVE, forged=True)  # the same card again: a polite answer, nothing changes
    fake_slack.wait_for(
        lambda: any(
            "ACME-1 was already approved by" in t  # in Acme's language, as the card
            for t in world.seen_by(BACKUP)
        ),
        timeout=15,
    )
    assert len(world.decisions("ACME-1")) == 1
    assert fake_slack.rejections() == []


def test_the_lead_reassigns_from_the_late_notice(slack, fake_slack, world):
    world.client()
    world.draft("Cyber Monday teaser")
    world.at(START + 6 * H)  # the lead's step
    notice = fake_slack.wait_for(lambda: next(m for m in fake_slack.dm_messages(LEAD) if "is overdue" in m["text"]))
    assert buttons(notice) == [ids.REASSIGN]
    world.click(notice, LEAD, ids.REASSIGN)
    form = fake_slack.wait_for(lambda: slack.last_view(LEAD))
    assert [o["value"] for o in form["blocks"][1]["element"]["options"]] == [BACKUP]
    r = slack.submit_view(form, LEAD, values={ids.ASSIGNEE: BACKUP})
    assert r.status_code == 200 and not r.content, r.text
    fake_slack.wait_for(lambda: world.requests()[0].assignee == BACKUP)
    fake_slack.wait_for(lambda: f"@{LEAD} handed this to @{BACKUP}" in text_of(world.card(BACKUP, "ACME-1")))


def test_a_lead_allowed_to_decide_gets_the_card_and_rejects_for_the_client(slack, fake_slack, world):
    world.client(options="lead-decides:yes")
    world.draft("Flash sale tonight")
    world.at(START + 6 * H)
    card = stand_in_card(world, LEAD)
    assert buttons(card) == [*CARD_BUTTONS, ids.REASSIGN]
    world.click(card, LEAD, ids.REJECT)
    form = fake_slack.wait_for(lambda: slack.last_view(LEAD))
    assert slack.submit_view(form, LEAD, values={ids.COMMENT: "Off brand"}).status_code == 200
    fake_slack.wait_for(lambda: world.the_draft("ACME-1").status == DraftStatus.REJECTED)
    [decision] = world.decisions("ACME-1")
    assert (decision.reviewer, decision.on_behalf_of, decision.decision) == (LEAD, REF, "rejected")
    fake_slack.wait_for(lambda: f"Rejected by @{LEAD}, standing in for @{REF}" in text_of(world.card(REF, "ACME-1")))


def test_when_all_must_approve_the_stand_in_approves_for_the_absent_reviewer(fake_slack, world):
    world.client()
    world.set_plan(require_all_reviewers=True)
    world.draft("Both of you, please")
    world.click(world.card(BACKUP, "ACME-1"), BACKUP, ids.APPROVE, until=lambda: len(world.decisions("ACME-1")) == 1)
    assert world.the_draft("ACME-1").status == DraftStatus.CLIENT_REVIEW
    world.at(START + 4 * H)
    card = fake_slack.wait_for(lambda: next(m for m in world.cards(BACKUP) if "stand in" in text_of(m)))
    world.click(card, BACKUP, ids.APPROVE, until=lambda: world.the_draft("ACME-1").status == DraftStatus.APPROVED)
    assert [(d.reviewer, d.on_behalf_of) for d in world.decisions("ACME-1")] == [(BACKUP, None), (BACKUP, REF)]
    assert audit_detail(world, "approved")[-1][1]["standing_in_for"] == REF


def test_a_plan_that_lets_nobody_stand_in_keeps_the_lead_out(fake_slack, world):
    world.client()
    world.draft("Lead, hands off")
    world.at(START + 6 * H)
    world.click(world.card(REF, "ACME-1"), LEAD, ids.APPROVE)
    world.settle()
    assert any("Only the client's reference person or their backups" in t for t in world.seen_by(LEAD).ephemerals)
    assert world.decisions("ACME-1") == []
