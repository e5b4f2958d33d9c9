"""The approval card's buttons and the forms they open (comment, hand over, full text).

The domain re-checks, inside the click's unit of work, that the clicker may decide on that draft
version now; a refusal goes only to the clicker, and the card itself is updated in place through the
outbox. Approve opens no form, so it is stored before its ack and may be done by the worker.
"""

from __future__ import annotations

from bot.approvals import decisions, ids, modals, service, standins
from bot.blockkit import read
from bot.handlers.handoff import hand_off_after_commit
from bot.slack.listeners import Action, Registration, View
from bot.slack.request import Request

# The comment form's "decision" (private_metadata): what submitting it does.
CHANGES, REJECT = "changes", "reject"


def approve(req: Request) -> None:
    actor = req.actor
    draft_id, version = service.parse_value(req.value)
    service.require_card_matches(req.session, *req.message, draft_id)
    outcome = decisions.approve(
        req.session,
        actor=actor,
        draft_id=draft_id,
        version=version,
        now=req.now,
        standing_in_for=standins.card_stands_in_for(req.session, *req.message, req.user_id),
    )
    hand_off_after_commit(req, outcome)


def request_changes_clicked(req: Request) -> None:
    open_comment(req, CHANGES)


def reject_clicked(req: Request) -> None:
    open_comment(req, REJECT)


def open_comment(req: Request, decision: str) -> None:
    """The comment form of "Request changes" (comment optional) or "Reject" (required)."""
    actor = req.actor
    draft_id, version = service.parse_value(req.value)
    service.require_card_matches(req.session, *req.message, draft_id)
    standing_in_for = standins.card_stands_in_for(req.session, *req.message, req.user_id)
    draft, shown = decisions.start_comment(
        req.session, actor=actor, draft_id=draft_id, version=version, now=req.now, standing_in_for=standing_in_for
    )
    req.open_form(
        modals.comment_modal(
            req.t,
            reference=draft.reference,
            version=version,
            start=shown.text,
            reject=decision == REJECT,
            meta={"draft_id": draft_id, "version": version, "decision": decision, "for": standing_in_for},
        )
    )


def reassign_clicked(req: Request) -> None:
    actor = req.actor
    draft_id, version = service.parse_value(req.value)
    service.require_card_matches(req.session, *req.message, draft_id)
    draft, candidates = decisions.start_reassign(
        req.session, actor=actor, draft_id=draft_id, version=version, now=req.now
    )
    req.open_form(
        modals.reassign_modal(
            req.t, reference=draft.reference, candidates=candidates, meta={"draft_id": draft_id, "version": version}
        )
    )


def full_text_clicked(req: Request) -> None:
    actor = req.actor
    draft_id, version = service.parse_value(req.value)
    service.require_card_matches(req.session, *req.message, draft_id)
    draft, shown = decisions.read_in_full(req.session, actor=actor, draft_id=draft_id, version=version, now=req.now)
    req.open_form(modals.full_text_modal(req.t, reference=draft.reference, version=version, text=shown.text))


def comment_submitted(req: Request) -> None:
    actor, meta = req.actor, req.metadata
    draft_id, version = service.parse_metadata(meta)
    decide = decisions.reject if meta.get("decision") == REJECT else decisions.request_changes
    claimed = meta.get("for")  # untrusted: counts only if a stand-in card for that person is the actor's
    decide(
        req.session,
        actor=actor,
        draft_id=draft_id,
        version=version,
        comment=read(req.view, ids.COMMENT),
        now=req.now,
        standing_in_for=claimed if isinstance(claimed, str) else None,
    )


def reassign_submitted(req: Request) -> None:
    actor = req.actor
    draft_id, version = service.parse_metadata(req.metadata)
    decisions.reassign(
        req.session,
        actor=actor,
        draft_id=draft_id,
        version=version,
        to=str(read(req.view, ids.ASSIGNEE) or ""),
        now=req.now,
    )


LISTENERS: list[Registration] = [
    Action(ids.APPROVE, approve, deferrable=True),
    Action(ids.REQUEST_CHANGES, request_changes_clicked),
    Action(ids.REJECT, reject_clicked),
    Action(ids.REASSIGN, reassign_clicked),
    Action(ids.FULL_TEXT, full_text_clicked),
    View(ids.COMMENT_MODAL, comment_submitted, fields={"comment": ids.COMMENT}),
    View(ids.REASSIGN_MODAL, reassign_submitted, fields={"assignee": ids.ASSIGNEE}),
]
