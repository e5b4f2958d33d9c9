"""Changes requested, a revision with its diff, approval of the new version; rejection needs a comment."""

from __future__ import annotations

from sqlalchemy import select

from bot import messages
from bot.approvals import ids
from bot.approvals.models import DraftStatus
from bot.tracking.models import RequestKind, RequestState, TrackedRequest
from tests.support.people import REF
from tests.support.world import CM_EN, buttons, text_of


def cm_notice(fake, needle: str):
    return fake.wait_for(
        lambda: next((m for m in reversed(fake.dm_messages(CM_EN)) if needle in m["text"]), None), message=needle
    )


def request_changes(world, card, comment: str):
    world.click(card, REF, ids.REQUEST_CHANGES)
    view = world.fake.wait_for(lambda: world.slack.last_view(REF))
    assert view["callback_id"] == ids.COMMENT_MODAL
    r = world.submit(view, REF, values={ids.COMMENT: comment})
    assert not r.content, r.text


def test_changes_then_revision_then_approval(slack, bot, fake_slack, world):
    world.client()
    world.draft("Black Friday: 20% off everything this weekend!", options="network:instagram")
    v1 = world.card(REF, "ACME-1")
    request_changes(world, v1, "Make it 30%, please")
    notice = cm_notice(fake_slack, "asked for changes to ACME-1")
    assert "Make it 30%, please" in text_of(notice)
    fake_slack.wait_for(lambda: buttons(world.card(REF, "ACME-1")) == [ids.APPROVE])
    assert "asked for changes" in text_of(world.card(REF, "ACME-1"))
    with bot.db.sessionmaker() as s:
        kinds = {(r.kind, r.state) for r in s.scalars(select(TrackedRequest))}
    assert kinds == {(RequestKind.APPROVAL, RequestState.ANSWERED), (RequestKind.REVISION, RequestState.OPEN)}

    world.click(notice, CM_EN, ids.REVISE)
    form = fake_slack.wait_for(lambda: slack.last_view(CM_EN))
    assert form["callback_id"] == ids.DRAFT_MODAL
    assert form["blocks"][1]["element"]["initial_value"] == "Black Friday: 20% off everything this weekend!"
    r = slack.submit_view(
        form, CM_EN, values={ids.TEXT: "Black Friday: 30% off everything this weekend!", ids.NETWORKS: ["instagram"]}
    )
    assert r.status_code == 200 and not r.content, r.text

    v2 = world.card(REF, "ACME-1", version=2)
    assert "~20%~ *30%*" in text_of(v2)
    fake_slack.wait_for(lambda: "Replaced by version 2" in text_of(world.card(REF, "ACME-1")))
    assert buttons(world.card(REF, "ACME-1")) == []
    world.click(v2, REF, ids.APPROVE)
    fake_slack.wait_for(lambda: world.the_draft("ACME-1").status == DraftStatus.APPROVED)
    d = world.the_draft("ACME-1")
    assert (d.decided_by, d.decided_version) == (REF, 2)
    assert [v.text for v in world.versions("ACME-1")][1] == "Black Friday: 30% off everything this weekend!"
    assert [(x.version, x.decision) for x in world.decisions("ACME-1")] == [(1, "changes_requested"), (2, "approved")]
    assert world.events("ACME-1") == ["created", "sent", "viewed", "commented", "revised", "sent", "approved"]
    with bot.db.sessionmaker() as s:
        revision = s.scalars(select(TrackedRequest).where(TrackedRequest.kind == RequestKind.REVISION)).one()
        assert revision.outcome == "revised" and revision.assignee == CM_EN


def test_approve_as_is_after_asking_for_changes_cancels_the_revision(bot, fake_slack, world):
    world.client()
    world.draft("Hello world")
    card = world.card(REF, "ACME-1")
    request_changes(world, card, "Maybe an emoji?")
    fake_slack.wait_for(lambda: buttons(world.card(REF, "ACME-1")) == [ids.APPROVE])
    world.click(world.card(REF, "ACME-1"), REF, ids.APPROVE)
    fake_slack.wait_for(lambda: world.the_draft("ACME-1").status == DraftStatus.APPROVED)
    with bot.db.sessionmaker() as s:
        revision = s.scalars(select(TrackedRequest).where(TrackedRequest.kind == RequestKind.REVISION)).one()
    assert (revision.state, revision.outcome) == (RequestState.CANCELLED, "approved_as_is")


def test_reject_needs_a_comment_and_is_final(slack, fake_slack, world):
    world.client()
    world.draft("Controversial post")
    card = world.card(REF, "ACME-1")
    world.click(card, REF, ids.REJECT)
    view = fake_slack.wait_for(lambda: slack.last_view(REF))
    r = slack.submit_view(view, REF, values={ids.COMMENT: "   "})
    assert r.json()["response_action"] == "errors" and ids.COMMENT in r.json()["errors"]
    assert world.the_draft("ACME-1").status == DraftStatus.CLIENT_REVIEW
    r = slack.submit_view(view, REF, values={ids.COMMENT: "Not our tone"})
    assert r.status_code == 200 and not r.content
    fake_slack.wait_for(lambda: world.the_draft("ACME-1").status == DraftStatus.REJECTED)
    notice = cm_notice(fake_slack, "rejected ACME-1")
    assert "Not our tone" in text_of(notice) and buttons(notice) == []
    fake_slack.wait_for(lambda: buttons(world.card(REF, "ACME-1")) == [])
    assert "Rejected by" in text_of(world.card(REF, "ACME-1"))


def test_a_form_submitted_after_someone_decided_explains_instead_of_deciding(slack, fake_slack, world):
    world.client()
    world.draft("Race me")
    card = world.card(REF, "ACME-1")
    world.click(card, REF, ids.REJECT)
    view = fake_slack.wait_for(lambda: slack.last_view(REF))
    world.click(card, REF, ids.APPROVE)  # approved from the card while the form is open
    fake_slack.wait_for(lambda: world.the_draft("ACME-1").status == DraftStatus.APPROVED)
    r = slack.submit_view(view, REF, values={ids.COMMENT: "No!"})
    answer = r.json()
    assert answer["response_action"] == "update" and answer["view"]["callback_id"] == messages.NOTICE_MODAL
    assert "ACME-1" in str(answer["view"]["blocks"])
    assert world.the_draft("ACME-1").status == DraftStatus.APPROVED
    assert [d.decision for d in world.decisions("ACME-1")] == ["approved"]


def test_the_lead_asks_for_changes_before_the_client_sees_anything(slack, bot, fake_slack, world):
    from tests.support.people import LEAD

    world.client()
    world.set_plan(internal_review=True)
    world.draft("Draft for the lead")
    internal = world.card(LEAD, "ACME-1")
    world.click(internal, LEAD, ids.REQUEST_CHANGES)
    view = fake_slack.wait_for(lambda: slack.last_view(LEAD))
    slack.submit_view(view, LEAD, values={ids.COMMENT: "Shorter"})
    notice = cm_notice(fake_slack, "asked for changes to ACME-1")
    world.click(notice, CM_EN, ids.REVISE)
    form = fake_slack.wait_for(lambda: slack.last_view(CM_EN))
    slack.submit_view(form, CM_EN, values={ids.TEXT: "Draft, shorter"})
    v2 = world.card(LEAD, "ACME-1", version=2)
    assert "Internal review" in v2["blocks"][0]["text"]["text"]
    assert world.the_draft("ACME-1").status == DraftStatus.INTERNAL_REVIEW
    assert fake_slack.dm_messages(REF) == []
    assert "ACME-1" not in slack.command("pending", user_id=REF).json()["text"]  # not the client's business yet
    assert "What changed since version 1" in text_of(v2)  # the lead sees the diff of the internal round
    world.click(v2, LEAD, ids.APPROVE)
    client_card = world.card(REF, "ACME-1", version=2)
    assert "What changed" not in text_of(client_card)  # the client never saw version 1: no diff against it
    world.click(internal, LEAD, ids.APPROVE, forged=True)  # a stale copy of the first internal card
    fake_slack.wait_for(
        lambda: any(
            "ACME-1" in e.get("text", "") for e in fake_slack.ephemerals(LEAD) if e.get("source") != "command_ack"
        )
    )
