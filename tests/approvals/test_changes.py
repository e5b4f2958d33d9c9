"""The agency changes a draft on its own: Edit, Withdraw and Reschedule on the author's copy, and the same
as ``/nexo draft edit|withdraw|reschedule REF``. What the reviewers' cards, the author's copy and the
publishing tool show afterwards, in English and Spanish; and the polite refusals that save nothing."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from sqlalchemy import select

from bot.approvals import ids
from bot.approvals.models import DraftStatus
from bot.delivery import outbox
from bot.tracking.models import RequestKind, RequestState, TrackedRequest
from tests.approvals.test_webhook import SECRET, Receiver
from tests.support.people import BACKUP, CM, LEAD, MEMBER, REF
from tests.support.world import CM_EN, buttons, text_of, utc


@pytest.fixture
def receiver():
    r = Receiver(statuses=())
    yield r
    r.stop()


def with_tool(world, receiver, **plan) -> None:
    world.client(**plan)
    world.command(f"client webhook Acme webhook:{receiver.url} webhook-secret:{SECRET}", LEAD)


def tool_heard(receiver) -> list[dict]:
    """Every body the publishing tool received, each checked against its signature."""
    bodies = []
    for headers, body, _ in receiver.received:
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Nexo-Signature"], expected)
        bodies.append(json.loads(body))
    return bodies


def heard_events(world, receiver, count: int) -> list[dict]:
    world.fake.wait_for(lambda: len(receiver.received) >= count, message=f"{count} webhook requests")
    world.drain()
    return tool_heard(receiver)


def author_copy(world, ref: str) -> dict:
    """The author's copy of ``ref`` as their DM shows it now (found by the message the outbox posted)."""
    world.settle()
    draft = world.the_draft(ref)
    with world.db.sessionmaker() as s:
        notice = outbox.find_by_ref(s, ids.AUTHOR_COPY_REF.format(id=draft.id))
        channel, ts = notice.channel, notice.ts
    return now_shown(world, {"channel": channel, "ts": ts})


def now_shown(world, message: dict) -> dict:
    """``message`` as Slack shows it now (after the bot's edits)."""
    world.settle()
    return next(m for m in world.fake.messages(message["channel"]) if m["ts"] == message["ts"])


def approve(world, ref: str, version: int = 1, who: str = REF) -> None:
    world.click(
        world.card(who, ref, version),
        who,
        ids.APPROVE,
        until=lambda: any(d.version == version and d.reviewer == who for d in world.decisions(ref)),
    )


def answer(world, text: str, by: str = CM_EN) -> str:
    return world.slack.answer(world.command(text, by))


def requests_of(world, ref: str) -> list[TrackedRequest]:
    return [r for r in world.requests() if r.reference == ref]


def labels(message: dict) -> list[str]:
    return [e["text"]["text"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


# -- the author's copy ---------------------------------------------------------------------------------------
def test_the_author_keeps_a_copy_with_edit_reschedule_and_withdraw_in_their_language(world):
    world.client()
    world.draft("Winter sale starts Friday", options="at:2026-11-27T10:00")
    world.draft("No date for this one yet")
    world.draft("Rebajas de invierno", by=CM)

    dated = author_copy(world, "ACME-1")
    assert buttons(dated) == [ids.EDIT, ids.RESCHEDULE, ids.WITHDRAW]
    assert dated["text"].startswith(f"📝 ACME-1 created. Sent to <@{REF}> for approval; answer due")
    assert "Winter sale starts Friday" in text_of(dated)
    withdraw = next(
        e for b in dated["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == ids.WITHDRAW
    )
    assert withdraw["confirm"]["title"]["text"] == "Withdraw ACME-1?"  # Slack asks before it is sent
    assert buttons(author_copy(world, "ACME-2")) == [ids.EDIT, ids.WITHDRAW]  # no time: nothing to reschedule
    spanish = author_copy(world, "ACME-3")
    assert labels(spanish) == ["Editar", "Retirar"]
    assert spanish["text"].startswith(f"📝 ACME-3 creado. Enviado a <@{REF}> para su aprobación")
    world.draft("Winter sale starts Friday!", options="at:2026-11-27T10:00")
    world.click(world.card(REF, "ACME-4"), REF, ids.REQUEST_CHANGES)
    world.submit(world.fake.wait_for(lambda: world.slack.last_view(REF)), REF, {ids.COMMENT: "No exclamation"})
    world.fake.wait_for(lambda: "changes were requested" in author_copy(world, "ACME-4")["text"])
    assert buttons(author_copy(world, "ACME-4")) == [ids.EDIT, ids.RESCHEDULE, ids.WITHDRAW]


def test_the_help_lists_the_changes_in_each_language(world):
    english = answer(world, "help")
    assert "/nexo draft withdraw REF" in english and "/nexo draft reschedule REF at:2026-12-01T10:00" in english
    spanish = answer(world, "ayuda", by=CM)
    assert "/nexo borrador retirar REF" in spanish and "/nexo borrador reprogramar REF fecha:" in spanish


# -- edit --------------------------------------------------------------------------------------------------
def test_edit_makes_a_new_version_whose_reviewers_see_the_diff_and_the_old_approvals_end(world, slack):
    world.client(require_all_reviewers=True)
    world.draft("Black Friday: 20% off everything", options="network:instagram")
    approve(world, "ACME-1", who=REF)  # one of two: it still waits on Bruno

    world.click(author_copy(world, "ACME-1"), CM_EN, ids.EDIT)
    form = world.fake.wait_for(lambda: slack.last_view(CM_EN))
    assert form["callback_id"] == ids.DRAFT_MODAL and form["title"]["text"] == "Edit ACME-1"
    assert form["blocks"][1]["element"]["initial_value"] == "Black Friday: 20% off everything"
    r = world.submit(form, CM_EN, {ids.TEXT: "Black Friday: 30% off everything"})
    assert not r.content, r.text

    for reviewer in (REF, BACKUP):
        v2 = world.card(reviewer, "ACME-1", version=2)
        assert "What changed since version 1" in text_of(v2) and "~20%~ *30%*" in text_of(v2)
        assert buttons(v2)[:3] == [ids.APPROVE, ids.REQUEST_CHANGES, ids.REJECT]
        world.fake.wait_for(lambda r=reviewer: "Replaced by version 2" in text_of(world.card(r, "ACME-1")))
        assert buttons(world.card(reviewer, "ACME-1")) == []
    approve(world, "ACME-1", version=2, who=REF)
    assert world.the_draft("ACME-1").status == DraftStatus.CLIENT_REVIEW  # Ana's v1 approval ended with v1
    approve(world, "ACME-1", version=2, who=BACKUP)
    world.fake.wait_for(lambda: world.the_draft("ACME-1").status == DraftStatus.APPROVED)
    assert [(d.version, d.reviewer) for d in world.decisions("ACME-1")] == [(1, REF), (2, REF), (2, BACKUP)]
    first = requests_of(world, "ACME-1")[0]
    assert (first.state, first.outcome) == (RequestState.CANCELLED, "superseded")
    assert any("ACME-1 revised (version 2)" in t for t in world.seen_by(CM_EN).dms)
    assert "ACME-1 (version 2) for Acme is approved" in author_copy(world, "ACME-1")["text"]


def test_an_approved_post_edited_goes_back_for_approval_and_the_tool_hears_each_step(world, receiver):
    with_tool(world, receiver)
    world.draft("Ready to publish", options="network:linkedin at:2026-11-27T10:00")
    approve(world, "ACME-1")
    assert [b["event"] for b in heard_events(world, receiver, 1)] == ["post.approved"]

    said = answer(world, "draft edit ACME-1 Ready to publish, with a link")
    assert "ACME-1 revised (version 2)" in said and "Sent to" in said
    withdrawn = heard_events(world, receiver, 2)[1]
    assert (withdrawn["event"], withdrawn["reason"], withdrawn["version"]) == ("post.withdrawn", "edited", 1)
    assert world.the_draft("ACME-1").status == DraftStatus.CLIENT_REVIEW
    v2 = world.card(REF, "ACME-1", version=2)
    assert "What changed since version 1" in text_of(v2)
    assert "Replaced by version 2" in text_of(world.card(REF, "ACME-1"))
    assert f"waits on <@{REF}>" in author_copy(world, "ACME-1")["text"]

    approve(world, "ACME-1", version=2)
    events = heard_events(world, receiver, 3)
    assert [b["event"] for b in events] == ["post.approved", "post.withdrawn", "post.approved"]
    assert events[2]["version"] == 2 and events[2]["post"]["text"] == "Ready to publish, with a link"
    assert world.events("ACME-1").count("revised") == 1


# -- withdraw ----------------------------------------------------------------------------------------------
def test_withdraw_closes_every_card_cancels_the_request_and_tells_the_tool(world, receiver):
    with_tool(world, receiver)
    world.draft("Going out Friday", options="at:2026-11-27T10:00")
    world.draft("Also this week", options="at:2026-11-26T10:00")
    approve(world, "ACME-1")
    heard_events(world, receiver, 1)
    card = world.card(REF, "ACME-1")

    world.click(
        author_copy(world, "ACME-1"),
        CM_EN,
        ids.WITHDRAW,
        until=lambda: world.the_draft("ACME-1").status == DraftStatus.WITHDRAWN,
    )
    events = heard_events(world, receiver, 2)
    assert [b["event"] for b in events] == ["post.approved", "post.withdrawn"]
    assert events[1]["withdrawn_by"] == CM_EN and events[1]["draft"]["reference"] == "ACME-1"
    closed = now_shown(world, card)
    assert closed["text"].startswith(f"🗑️ ACME-1 was withdrawn by <@{CM_EN}>") and buttons(closed) == []
    assert len(closed["blocks"]) == 1
    copy = author_copy(world, "ACME-1")
    assert f"ACME-1 was withdrawn by <@{CM_EN}>" in copy["text"] and buttons(copy) == []
    calendar = answer(world, "calendar Acme from:2026-11-23")
    assert "ACME-2" in calendar and "ACME-1" not in calendar
    assert world.events("ACME-1")[-2:] == ["withdrawn", "publishing_tool_told"]

    open_card = world.card(REF, "ACME-2")
    answer(world, "draft withdraw ACME-2")
    world.click(open_card, REF, ids.APPROVE, forged=True, until=lambda: world.seen_by(REF).ephemerals)  # stale
    assert world.seen_by(REF).ephemerals[-1].startswith("The agency withdrew ACME-2 at ")
    assert world.decisions("ACME-2") == [] and len(receiver.received) == 2


def test_a_draft_in_review_withdrawn_by_the_lead_stops_its_reminders_and_spanish_readers_read_why(world, receiver):
    with_tool(world, receiver, options="lang:es")
    world.draft("Campaña de Navidad", by=CM)
    card = world.card(REF, "ACME-1")

    said = answer(world, "borrador retirar acme-1", by=LEAD)  # Spanish words, an English-speaking lead
    assert said == "🗑️ ACME-1 withdrawn: its 1 card is closed and its reminders stopped."
    [request] = requests_of(world, "ACME-1")
    assert (request.state, request.outcome, request.next_action_at) == (RequestState.CANCELLED, "withdrawn", None)
    closed = now_shown(world, card)
    assert closed["text"].startswith(f"🗑️ <@{LEAD}> retiró ACME-1 el ") and buttons(closed) == []
    assert "no tienes nada pendiente" in closed["text"]
    assert f"<@{LEAD}> retiró ACME-1" in author_copy(world, "ACME-1")["text"]  # Carla's copy, in Spanish
    world.advance(24 * 60)
    assert receiver.received == []  # the tool never had it
    assert not any("ACME-1" in t for t in world.seen_by(REF).dms if "recordatorio" in t or "reminder" in t)


# -- reschedule --------------------------------------------------------------------------------------------
def test_reschedule_from_the_form_re_times_the_request_and_refuses_the_past(world, slack):
    world.client()
    world.draft("Next week's launch", options="at:2026-11-30T10:00")
    [request] = requests_of(world, "ACME-1")
    assert request.due_at == utc(2026, 11, 23, 12, 0)  # the 4 h window: the launch is far away

    world.click(author_copy(world, "ACME-1"), CM_EN, ids.RESCHEDULE)
    form = world.fake.wait_for(lambda: slack.last_view(CM_EN))
    assert form["callback_id"] == ids.RESCHEDULE_MODAL
    date_input = next(b for b in form["blocks"] if b.get("block_id") == ids.RESCHEDULE_DATE)["element"]
    assert date_input["initial_date"] == "2026-11-30"
    past = world.submit(form, CM_EN, {ids.RESCHEDULE_DATE: "2026-11-20", ids.RESCHEDULE_TIME: "10:00"}).json()
    assert past["response_action"] == "errors" and list(past["errors"]) == [ids.RESCHEDULE_DATE]
    assert "already passed" in past["errors"][ids.RESCHEDULE_DATE]
    assert world.the_draft("ACME-1").publish_at == utc(2026, 11, 30, 9, 0)

    r = world.submit(form, CM_EN, {ids.RESCHEDULE_DATE: "2026-11-23", ids.RESCHEDULE_TIME: "11:30"})
    assert not r.content, r.text
    world.settle()
    moved = utc(2026, 11, 23, 10, 30)
    assert world.the_draft("ACME-1").publish_at == moved and world.versions("ACME-1")[0].publish_at == moved
    [request] = requests_of(world, "ACME-1")
    assert request.state == RequestState.OPEN and request.due_at == utc(2026, 11, 23, 9, 30)  # minus the margin
    assert request.next_action_at is not None and request.next_action_at <= request.due_at
    card = json.dumps(world.card(REF, "ACME-1"))
    assert f"<!date^{int(moved.timestamp())}^" in card and f"<!date^{int(request.due_at.timestamp())}^" in card
    assert any("ACME-1 now publishes at" in t and "The answer is now due" in t for t in world.seen_by(CM_EN).dms)
    assert len(world.versions("ACME-1")) == 1 and world.events("ACME-1")[-1] == "rescheduled"


def test_an_approved_post_rescheduled_in_spanish_stays_approved_and_the_tool_hears_the_new_time(world, receiver):
    with_tool(world, receiver)
    world.draft("Publicación del viernes", options="at:2026-11-27T10:00", by=CM)
    approve(world, "ACME-1")
    heard_events(world, receiver, 1)

    said = answer(world, "borrador reprogramar ACME-1 fecha:2026-11-28T12:00", by=CM)
    assert said.startswith("🗓️ ACME-1 se publica ahora el ")
    assert said.endswith("Aviso a la herramienta de publicación de la nueva hora.")
    events = heard_events(world, receiver, 2)
    assert events[1]["event"] == "post.rescheduled" and events[1]["rescheduled_by"] == CM
    assert events[1]["post"]["publish_at"] == "2026-11-28T11:00:00+00:00"
    assert events[1]["previous_publish_at"] == "2026-11-27T09:00:00+00:00"
    draft = world.the_draft("ACME-1")
    assert (draft.status, draft.decided_version, draft.current_version) == (DraftStatus.APPROVED, 1, 1)
    assert "Approved by" in text_of(world.card(REF, "ACME-1"))


# -- refusals ----------------------------------------------------------------------------------------------
def test_posts_that_are_decided_withdrawn_or_published_are_refused_by_name_and_nothing_is_saved(world, slack):
    world.client()
    world.draft("Off brand")
    world.click(world.card(REF, "ACME-1"), REF, ids.REJECT)
    view = world.fake.wait_for(lambda: slack.last_view(REF))
    world.submit(view, REF, {ids.COMMENT: "Not our tone"})
    world.fake.wait_for(lambda: world.the_draft("ACME-1").status == DraftStatus.REJECTED)
    assert answer(world, "draft edit ACME-1 A softer tone").startswith(f"ACME-1 was rejected by <@{REF}> at ")
    assert buttons(author_copy(world, "ACME-1")) == []

    world.draft("Take it back")
    answer(world, "draft withdraw ACME-2")
    assert answer(world, "draft reschedule ACME-2 at:2026-12-01T10:00").startswith(
        f"ACME-2 was already withdrawn by <@{CM_EN}> at "
    )

    world.draft("Lunch special", options="at:2026-11-23T12:00")
    approve(world, "ACME-3")
    copy = author_copy(world, "ACME-3")
    world.at(utc(2026, 11, 23, 11, 30))  # 12:30 in Madrid: it went out half an hour ago
    assert answer(world, "draft edit ACME-3 Dinner special").startswith("ACME-3 was published at 12:00")
    world.click(
        copy,
        CM_EN,
        ids.WITHDRAW,
        until=lambda: any("ACME-3 was published" in e for e in world.seen_by(CM_EN).ephemerals),
    )

    assert answer(world, "draft withdraw ACME-99").startswith("I don't know a post called “ACME-99”")
    world.draft("Soon", options="at:2026-11-24T10:00")
    assert "already passed" in answer(world, "draft reschedule ACME-4 at:2026-11-20T10:00")
    assert [d.status for d in map(world.the_draft, ("ACME-1", "ACME-2", "ACME-3", "ACME-4"))] == [
        DraftStatus.REJECTED,
        DraftStatus.WITHDRAWN,
        DraftStatus.APPROVED,
        DraftStatus.CLIENT_REVIEW,
    ]
    assert [len(world.versions(r)) for r in ("ACME-1", "ACME-3")] == [1, 1]
    assert world.the_draft("ACME-4").publish_at == utc(2026, 11, 24, 9, 0)


def test_only_the_author_the_clients_cms_or_its_lead_may_change_a_draft(world):
    world.client()
    world.draft("Ours to change")
    refused = answer(world, "borrador retirar ACME-1", by=MEMBER)  # an agency member on no plan, in Spanish
    assert (
        refused == "Solo quien escribió ACME-1, los community managers del cliente o su responsable de cuenta "
        "pueden cambiarla."
    )
    world.click(
        author_copy(world, "ACME-1"), REF, ids.WITHDRAW, forged=True, until=lambda: world.seen_by(REF).ephemerals
    )
    assert world.seen_by(REF).ephemerals == ["Only the agency can edit, withdraw or reschedule a post."]
    assert answer(world, "draft reschedule ACME-1 at:2026-12-01T10:00", by=CM).startswith(
        "🗓️ ACME-1 se publica ahora el "
    )  # another CM of the client
    assert world.the_draft("ACME-1").status == DraftStatus.CLIENT_REVIEW
    with world.db.sessionmaker() as s:
        assert s.scalars(select(TrackedRequest.kind)).all() == [RequestKind.APPROVAL]
