"""The agency changes a draft on its own: Edit, Withdraw and Reschedule on the author's copy, and
``/nexo draft edit|withdraw|reschedule REF …`` (Spanish: editar, retirar, reprogramar).

The commands are words of ``/nexo draft`` (:func:`bot.handlers.drafts.draft_command` hands them here
when the word after ``draft`` is one of :data:`VERBS` and the next looks like a reference).
"""

from __future__ import annotations

import re

from bot.approvals import blocks, changes, flows, ids, modals, service, spec
from bot.approvals.flows import Outcome
from bot.errors import UserError
from bot.handlers.handoff import hand_off_after_commit
from bot.i18n import N_
from bot.slack.listeners import Action, Registration, View
from bot.slack.request import Reply, Request

EDIT, WITHDRAW, RESCHEDULE = "edit", "withdraw", "reschedule"
VERBS = {
    "edit": EDIT,
    "editar": EDIT,
    "withdraw": WITHDRAW,
    "retirar": WITHDRAW,
    "reschedule": RESCHEDULE,
    "reprogramar": RESCHEDULE,
}
USAGE = N_(
    "Write `/nexo draft edit REF TEXT`, `/nexo draft withdraw REF` or `/nexo draft reschedule REF "
    "at:2026-12-01T10:00` (REF as in ACME-12)."
)
HELP = [
    (
        N_("/nexo draft edit REF [TEXT]"),
        N_("a new version of the post with that text (no text: the form), sent for approval again"),
    ),
    (N_("/nexo draft withdraw REF"), N_("take a post back: its cards close and the publishing tool is told")),
    (
        N_("/nexo draft reschedule REF at:2026-12-01T10:00"),
        N_("move a post's publish time; an approved post stays approved"),
    ),
]


def split_change(args: str) -> tuple[str, str, str] | None:
    """``edit ACME-12 New text`` -> (verb, reference, rest), or None when ``args`` is a new draft."""
    parts = re.split(r"\s+", args.strip(), maxsplit=2)
    if len(parts) < 2 or parts[0].lower() not in VERBS or not changes.looks_like_reference(parts[1]):
        return None
    return VERBS[parts[0].lower()], parts[1], parts[2] if len(parts) > 2 else ""


def opens_a_form(args: str) -> bool:
    """``/nexo draft edit REF`` without text opens the form (so it is not left to the worker)."""
    change = split_change(args)
    return change is not None and change[0] == EDIT and not change[2].strip()


# -- the commands ------------------------------------------------------------------------------------------
def change_command(req: Request, verb: str, reference: str, rest: str) -> Reply | None:
    """``/nexo draft edit|withdraw|reschedule REF …``: what changed, as the command's answer."""
    draft = changes.find_draft(req.session, req.actor, reference)
    if verb == WITHDRAW:
        outcome, closed = changes.withdraw(req.session, actor=req.actor, draft_id=draft.id, now=req.now)
        hand_off_after_commit(req, outcome)
        return Reply(text=blocks.withdrawn_reply(draft.reference, closed, bool(outcome.webhook_ids), req.t))
    _, plan = service.client_and_plan(req.session, draft)
    req.about(plan)
    if verb == RESCHEDULE:
        at = spec.split_command(f"x {rest}")[1].get("at") or rest.strip()
        if not at:
            raise UserError(USAGE)
        outcome = changes.reschedule(
            req.session,
            actor=req.actor,
            draft_id=draft.id,
            publish_at=spec.parse_publish_at(at, plan.timezone),
            now=req.now,
        )
        hand_off_after_commit(req, outcome)
        return Reply(text=rescheduled_text(req, outcome, plan.timezone))
    if not rest.strip():
        open_edit_form(req, draft.id, draft.current_version)
        return None
    draft, _, _, fields = changes.edit_fields(req.session, actor=req.actor, draft_id=draft.id, now=req.now)
    fields.text = spec.check_text(rest)
    outcome = changes.edit(
        req.session, actor=req.actor, draft_id=draft.id, version=draft.current_version, fields=fields, now=req.now
    )
    hand_off_after_commit(req, outcome)
    return Reply(text=flows.confirmation(outcome, plan.timezone, req.now, req.t, revised=outcome.draft.current_version))


def rescheduled_text(req: Request, outcome: Outcome, timezone: str) -> str:
    draft = outcome.draft
    assert draft.publish_at is not None
    return blocks.rescheduled_reply(
        draft.reference, draft.publish_at, outcome.due_at, timezone, bool(outcome.webhook_ids), req.t
    )


# -- the buttons on the author's copy ----------------------------------------------------------------------
def edit_clicked(req: Request) -> None:
    draft_id, version = service.parse_value(req.value)
    open_edit_form(req, draft_id, version)


def open_edit_form(req: Request, draft_id: int, version: int) -> None:
    """The draft form, prefilled with the current version (a stale copy's version is refused)."""
    draft, client, plan, fields = changes.edit_fields(req.session, actor=req.actor, draft_id=draft_id, now=req.now)
    service.require_current(draft, version)
    req.open_form(
        modals.draft_modal(
            req.t,
            client_name=client.name,
            timezone=plan.timezone,
            categories=plan.pre_approved_categories,
            fields=fields,
            edit=True,
            meta={"draft_id": draft.id, "version": version, "edit": True},
            reference=draft.reference,
        )
    )


def withdraw_clicked(req: Request) -> None:
    """Slack asked "are you sure?" first; the copy itself then says it was withdrawn."""
    draft_id, _ = service.parse_value(req.value)
    outcome, _ = changes.withdraw(req.session, actor=req.actor, draft_id=draft_id, now=req.now)
    hand_off_after_commit(req, outcome)


def reschedule_clicked(req: Request) -> None:
    draft_id, version = service.parse_value(req.value)
    draft, _, plan = changes.check_can_change(req.session, actor=req.actor, draft_id=draft_id, now=req.now)
    req.open_form(
        modals.reschedule_modal(
            req.t,
            reference=draft.reference,
            timezone=plan.timezone,
            publish_at=draft.publish_at,
            now=req.now,
            meta={"draft_id": draft.id, "version": version},
        )
    )


def reschedule_submitted(req: Request) -> None:
    """The new time (errors on the date field); confirmed by DM, since a form has no reply of its own."""
    draft_id, _ = service.parse_metadata(req.metadata)
    draft, _, plan = changes.check_can_change(req.session, actor=req.actor, draft_id=draft_id, now=req.now)
    at = modals.read_reschedule_modal(req.view, timezone=plan.timezone)
    outcome = changes.reschedule(req.session, actor=req.actor, draft_id=draft.id, publish_at=at, now=req.now)
    changes.tell(req.session, to=req.user_id, text=rescheduled_text(req, outcome, plan.timezone), now=req.now)
    hand_off_after_commit(req, outcome)


LISTENERS: list[Registration] = [
    Action(ids.EDIT, edit_clicked),
    Action(ids.WITHDRAW, withdraw_clicked, deferrable=True),
    Action(ids.RESCHEDULE, reschedule_clicked),
    View(ids.RESCHEDULE_MODAL, reschedule_submitted, fields=modals.RESCHEDULE_FIELDS),
]
