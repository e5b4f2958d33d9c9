"""Who reviews: pre-approved categories, internal review first, any or all reviewers, handing over."""

from __future__ import annotations

from bot.approvals import ids
from bot.approvals.models import DraftStatus
from bot.tracking.models import RequestKind, RequestState, WaitingOn
from tests.approvals.helpers import (
    CM_EN,
    buttons,
    cards,
    click,
    decisions,
    dm_texts,
    draft,
    ephemeral_texts,
    events,
    get_draft,
    requests,
    set_plan,
    setup_client,
    text_of,
    wait_card,
)
from tests.support.people import BACKUP, LEAD, REF


def test_a_pre_approved_category_skips_the_client_and_is_recorded_as_such(slack, bot, fake_slack):
    setup_client(slack, extra="preapproved:Promos,Holidays")
    reply = draft(slack, "Merry Christmas from all of us", options="category:holidays")
    assert "pre-approved" in reply
    d = get_draft(bot.db, "ACME-1")
    assert (d.status, d.pre_approved, d.decided_version) == (DraftStatus.APPROVED, True, 1)
    assert events(bot.db, "ACME-1") == ["created", "pre_approved"]
    assert requests(bot.db) == []
    bot.tick()
    assert cards(fake_slack, REF) == []
    draft(slack, "A normal post", options="category:news")
    wait_card(fake_slack, REF, "ACME-2")


def test_internal_review_comes_first_then_the_client(slack, bot, fake_slack):
    setup_client(slack)
    set_plan(bot.db, bot.clock, internal_review=True)
    reply = draft(slack, "Needs the lead's eye", options='note:"Check the discount with finance"')
    assert "internal review" in reply
    internal = wait_card(fake_slack, LEAD, "ACME-1")
    assert "Internal review" in internal["blocks"][0]["text"]["text"]
    assert "Check the discount with finance" in text_of(internal)
    assert cards(fake_slack, REF) == []
    [request] = requests(bot.db)
    assert (request.waiting_on, request.assignee) == (WaitingOn.AGENCY, LEAD)
    click(slack, internal, REF)  # the client can't skip the agency's review
    fake_slack.wait_for(lambda: ephemeral_texts(fake_slack, REF))
    click(slack, internal, LEAD)
    client_card = wait_card(fake_slack, REF, "ACME-1")
    assert "Check the discount with finance" not in text_of(client_card)  # the note is agency-only
    fake_slack.wait_for(lambda: "Approved internally" in text_of(wait_card(fake_slack, LEAD, "ACME-1")))
    assert buttons(wait_card(fake_slack, LEAD, "ACME-1")) == []
    fake_slack.wait_for(lambda: any("approved ACME-1 internally" in t for t in dm_texts(fake_slack, CM_EN)))
    click(slack, client_card, REF)
    fake_slack.wait_for(lambda: get_draft(bot.db, "ACME-1").status == DraftStatus.APPROVED)
    assert [(d.stage, d.reviewer) for d in decisions(bot.db, "ACME-1")] == [("internal", LEAD), ("client", REF)]
    assert [r.state for r in requests(bot.db)] == [RequestState.ANSWERED, RequestState.ANSWERED]


def test_when_all_reviewers_must_approve_one_approval_is_not_enough(slack, bot, fake_slack):
    setup_client(slack)
    set_plan(bot.db, bot.clock, require_all_reviewers=True)
    draft(slack, "Both of you, please")
    ref_card, backup_card = wait_card(fake_slack, REF, "ACME-1"), wait_card(fake_slack, BACKUP, "ACME-1")
    assert ids.REASSIGN not in buttons(ref_card)
    click(slack, ref_card, REF)
    fake_slack.wait_for(lambda: "Approved so far by" in text_of(wait_card(fake_slack, BACKUP, "ACME-1")))
    assert get_draft(bot.db, "ACME-1").status == DraftStatus.CLIENT_REVIEW
    click(slack, ref_card, REF)  # again: no second approval counted
    fake_slack.wait_for(lambda: ephemeral_texts(fake_slack, REF))
    assert len(decisions(bot.db, "ACME-1")) == 1
    pending = slack.command("pending", user_id=LEAD).json()["text"]
    assert f"<@{BACKUP}>" in pending and f"<@{REF}>" not in pending
    click(slack, backup_card, BACKUP)
    fake_slack.wait_for(lambda: get_draft(bot.db, "ACME-1").status == DraftStatus.APPROVED)
    assert sorted(d.reviewer for d in decisions(bot.db, "ACME-1")) == sorted([REF, BACKUP])
    fake_slack.wait_for(lambda: any("was approved by" in t for t in dm_texts(fake_slack, CM_EN)))
    assert sum("was approved by" in t for t in dm_texts(fake_slack, CM_EN)) == 1


def test_a_reviewer_hands_the_request_to_a_backup(slack, bot, fake_slack):
    setup_client(slack)
    draft(slack, "Ana is on holiday")
    card = wait_card(fake_slack, REF, "ACME-1")
    click(slack, card, REF, ids.REASSIGN)
    form = fake_slack.wait_for(lambda: slack.last_view(REF))
    assert form["callback_id"] == ids.REASSIGN_MODAL
    assert [o["value"] for o in form["blocks"][1]["element"]["options"]] == [BACKUP]
    r = slack.submit_view(form, REF, values={ids.ASSIGNEE: BACKUP})
    assert r.status_code == 200 and not r.content, r.text
    backup_card = wait_card(fake_slack, BACKUP, "ACME-1")
    assert f"@{REF} handed this to @{BACKUP}" in text_of(backup_card)
    [request] = requests(bot.db)
    assert request.assignee == BACKUP and request.kind == RequestKind.APPROVAL
    assert events(bot.db, "ACME-1") == ["created", "sent", "viewed", "reassigned"]
    click(slack, backup_card, BACKUP)
    fake_slack.wait_for(lambda: get_draft(bot.db, "ACME-1").status == DraftStatus.APPROVED)
    fake_slack.wait_for(lambda: buttons(wait_card(fake_slack, REF, "ACME-1")) == [])
    fake_slack.wait_for(lambda: buttons(wait_card(fake_slack, BACKUP, "ACME-1")) == [])


def test_a_draft_written_in_the_form(slack, bot, fake_slack):
    setup_client(slack, extra="preapproved:Promos")
    r = slack.command("draft Acme", user_id=CM_EN)
    assert r.status_code == 200
    form = fake_slack.wait_for(lambda: slack.last_view(CM_EN))
    assert form["callback_id"] == ids.DRAFT_MODAL
    bad = slack.submit_view(form, CM_EN, values={ids.TEXT: "From the form", ids.PUBLISH_DATE: "2026-11-20",
                                                 ids.PUBLISH_TIME: "10:00"})
    assert bad.json()["response_action"] == "errors" and ids.PUBLISH_DATE in bad.json()["errors"]
    ok = slack.submit_view(form, CM_EN, values={
        ids.TEXT: "From the form", ids.NETWORKS: ["instagram", "tiktok"], ids.PUBLISH_DATE: "2026-11-25",
        ids.PUBLISH_TIME: "18:30", ids.MEDIA: "https://cdn.example.com/a.jpg\nhttps://cdn.example.com/b.mp4",
        ids.NOTE: "Client loves TikTok"})
    assert ok.status_code == 200 and not ok.content, ok.text
    card = wait_card(fake_slack, REF, "ACME-1")
    shown = text_of(card)
    assert "Instagram, TikTok" in shown and "2026-11-25 18:30" in shown and "b.mp4" in shown
    assert "Client loves TikTok" not in shown
    fake_slack.wait_for(lambda: any("ACME-1 created" in t for t in dm_texts(fake_slack, CM_EN)))
    refused = slack.command("draft Acme Hello", user_id=REF).json()["text"]
    assert "ACME" not in refused and get_draft(bot.db, "ACME-1").number == 1
