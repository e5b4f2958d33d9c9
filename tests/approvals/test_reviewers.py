"""Who reviews: pre-approved categories, internal review first, any or all reviewers, handing over."""

from __future__ import annotations

from bot.approvals import ids
from bot.approvals.models import DraftStatus
from bot.tracking.models import RequestKind, RequestState, WaitingOn
from tests.support.people import BACKUP, LEAD, REF
from tests.support.world import CM_EN, buttons, text_of


def test_a_pre_approved_category_skips_the_client_and_is_recorded_as_such(bot, world):
    world.client(options="preapproved:Promos,Holidays")
    reply = world.draft("Merry Christmas from all of us", options="category:holidays")
    assert "pre-approved" in reply
    d = world.the_draft("ACME-1")
    assert (d.status, d.pre_approved, d.decided_version) == (DraftStatus.APPROVED, True, 1)
    assert world.events("ACME-1") == ["created", "pre_approved"]
    assert world.requests() == []
    bot.tick()
    assert world.cards(REF) == []
    world.draft("A normal post", options="category:news")
    world.card(REF, "ACME-2")


def test_internal_review_comes_first_then_the_client(fake_slack, world):
    world.client()
    world.set_plan(internal_review=True)
    reply = world.draft("Needs the lead's eye", options='note:"Check the discount with finance"')
    assert "internal review" in reply
    internal = world.card(LEAD, "ACME-1")
    assert "Internal review" in internal["blocks"][0]["text"]["text"]
    assert "Check the discount with finance" in text_of(internal)
    assert world.cards(REF) == []
    [request] = world.requests()
    assert (request.waiting_on, request.assignee) == (WaitingOn.AGENCY, LEAD)
    world.click(internal, REF, ids.APPROVE)  # the client can't skip the agency's review
    fake_slack.wait_for(lambda: world.seen_by(REF).ephemerals)
    world.click(internal, LEAD, ids.APPROVE)
    client_card = world.card(REF, "ACME-1")
    assert "Check the discount with finance" not in text_of(client_card)  # the note is agency-only
    fake_slack.wait_for(lambda: "Approved internally" in text_of(world.card(LEAD, "ACME-1")))
    assert buttons(world.card(LEAD, "ACME-1")) == []
    fake_slack.wait_for(lambda: any("approved ACME-1 internally" in t for t in world.seen_by(CM_EN).dms))
    world.click(client_card, REF, ids.APPROVE)
    fake_slack.wait_for(lambda: world.the_draft("ACME-1").status == DraftStatus.APPROVED)
    assert [(d.stage, d.reviewer) for d in world.decisions("ACME-1")] == [("internal", LEAD), ("client", REF)]
    assert [r.state for r in world.requests()] == [RequestState.ANSWERED, RequestState.ANSWERED]


def test_when_all_reviewers_must_approve_one_approval_is_not_enough(slack, fake_slack, world):
    world.client()
    world.set_plan(require_all_reviewers=True)
    world.draft("Both of you, please")
    ref_card, backup_card = world.card(REF, "ACME-1"), world.card(BACKUP, "ACME-1")
    assert ids.REASSIGN not in buttons(ref_card)
    world.click(ref_card, REF, ids.APPROVE)
    fake_slack.wait_for(lambda: "Approved so far by" in text_of(world.card(BACKUP, "ACME-1")))
    assert world.the_draft("ACME-1").status == DraftStatus.CLIENT_REVIEW
    world.click(ref_card, REF, ids.APPROVE)  # again: no second approval counted
    fake_slack.wait_for(lambda: world.seen_by(REF).ephemerals)
    assert len(world.decisions("ACME-1")) == 1
    pending = slack.command("pending", user_id=LEAD).json()["text"]
    assert f"<@{BACKUP}>" in pending and f"<@{REF}>" not in pending
    world.click(backup_card, BACKUP, ids.APPROVE)
    fake_slack.wait_for(lambda: world.the_draft("ACME-1").status == DraftStatus.APPROVED)
    assert sorted(d.reviewer for d in world.decisions("ACME-1")) == sorted([REF, BACKUP])
    fake_slack.wait_for(lambda: any("was approved by" in t for t in world.seen_by(CM_EN).dms))
    assert sum("was approved by" in t for t in world.seen_by(CM_EN).dms) == 1


def test_a_reviewer_hands_the_request_to_a_backup(slack, fake_slack, world):
    world.client()
    world.draft("Ana is on holiday")
    card = world.card(REF, "ACME-1")
    world.click(card, REF, ids.REASSIGN)
    form = fake_slack.wait_for(lambda: slack.last_view(REF))
    assert form["callback_id"] == ids.REASSIGN_MODAL
    assert [o["value"] for o in form["blocks"][1]["element"]["options"]] == [BACKUP]
    r = slack.submit_view(form, REF, values={ids.ASSIGNEE: BACKUP})
    assert r.status_code == 200 and not r.content, r.text
    backup_card = world.card(BACKUP, "ACME-1")
    assert f"@{REF} handed this to @{BACKUP}" in text_of(backup_card)
    [request] = world.requests()
    assert request.assignee == BACKUP and request.kind == RequestKind.APPROVAL
    assert world.events("ACME-1") == ["created", "sent", "viewed", "reassigned"]
    world.click(backup_card, BACKUP, ids.APPROVE)
    fake_slack.wait_for(lambda: world.the_draft("ACME-1").status == DraftStatus.APPROVED)
    fake_slack.wait_for(lambda: buttons(world.card(REF, "ACME-1")) == [])
    fake_slack.wait_for(lambda: buttons(world.card(BACKUP, "ACME-1")) == [])


def test_a_draft_written_in_the_form(slack, fake_slack, world):
    world.client(options="preapproved:Promos")
    r = slack.command("draft Acme", user_id=CM_EN)
    assert r.status_code == 200
    form = fake_slack.wait_for(lambda: slack.last_view(CM_EN))
    assert form["callback_id"] == ids.DRAFT_MODAL
    bad = slack.submit_view(
        form, CM_EN, values={ids.TEXT: "From the form", ids.PUBLISH_DATE: "2026-11-20", ids.PUBLISH_TIME: "10:00"}
    )
    assert bad.json()["response_action"] == "errors" and ids.PUBLISH_DATE in bad.json()["errors"]
    ok = slack.submit_view(
        form,
        CM_EN,
        values={
            ids.TEXT: "From the form",
            ids.NETWORKS: ["instagram", "tiktok"],
            ids.PUBLISH_DATE: "2026-11-25",
            ids.PUBLISH_TIME: "18:30",
            ids.MEDIA: "https://cdn.example.com/a.jpg\nhttps://cdn.example.com/b.mp4",
            ids.NOTE: "Client loves TikTok",
        },
    )
    assert ok.status_code == 200 and not ok.content, ok.text
    card = world.card(REF, "ACME-1")
    shown = text_of(card)
    assert "Instagram, TikTok" in shown and "Wed 25 Nov, 18:30" in shown and "b.mp4" in shown
    assert "Client loves TikTok" not in shown
    fake_slack.wait_for(lambda: any("ACME-1 created" in t for t in world.seen_by(CM_EN).dms))
    refused = slack.command("draft Acme Hello", user_id=REF).json()["text"]
    assert "ACME" not in refused and world.the_draft("ACME-1").number == 1
