"""The approval card's buttons and the forms they open (comment, hand over, full text).

Every click is acknowledged first; then the domain re-checks, inside one
transaction, that the clicker may decide on that draft version now. Refusals go
only to the clicker (an ephemeral reply); the card itself is updated in place
through the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.access import Actor
from bot.approvals import decisions, ids, modals, service
from bot.approvals.flows import Outcome
from bot.context import AppContext
from bot.errors import UserError
from bot.handlers.commands import CommandRouter, agency_team_id
from bot.handlers.drafts import (
    action_value,
    after_commit,
    click_actor,
    clicker,
    defer_click,
    language_of,
    message_of,
    refuse,
)
from bot.handlers.errors import for_worker, polite_error

log = logging.getLogger(__name__)

CHANGES, REJECT = "changes", "reject"


def register(app: App, ctx: AppContext, router: CommandRouter) -> None:
    def on_click(where: str, work: Callable[[Actor, dict[str, Any], Any], None], *, deferrable: bool = False
                 ) -> Callable[..., None]:
        """``deferrable``: the work opens no form, so the worker may do it (stored before the ack)."""
        def run(body: dict[str, Any], agency_team: str | None, client: Any) -> None:
            actor = None
            try:
                actor = clicker(ctx, body, agency_team)
                work(actor, body, client)
            except Exception as exc:
                refuse(ctx, body, actor, exc, where=where)

        if deferrable:
            ctx.inbox.register(where, for_worker(lambda body, agency_team: run(body, agency_team, ctx.client)))

        def listener(ack: Ack, body: dict[str, Any], context: BoltContext, client: Any) -> None:
            if deferrable and defer_click(ctx, where, body, context):
                ack()
                return
            ack()
            run(body, agency_team_id(context), client)
        return listener

    def approve(actor: Actor, body: dict[str, Any], _client: Any) -> None:
        draft_id, version = action_value(body)
        with ctx.db.transaction() as session:
            service.require_card_matches(session, *message_of(body), draft_id)
            outcome = decisions.approve(session, actor=actor, draft_id=draft_id, version=version,
                                        now=ctx.clock.now(), lang_of=language_of(ctx))
        after_commit(ctx, outcome)

    def open_comment(decision: str) -> Callable[[Actor, dict[str, Any], Any], None]:
        def work(actor: Actor, body: dict[str, Any], client: Any) -> None:
            draft_id, version = action_value(body)
            with ctx.db.transaction() as session:
                service.require_card_matches(session, *message_of(body), draft_id)
                draft = decisions.check_can_decide(session, actor=actor, draft_id=draft_id, version=version,
                                                   now=ctx.clock.now(), changes_only=True)
                text = service.version_of(session, draft, version).text
                decisions.record_view(session, actor=actor, draft_id=draft_id, version=version, now=ctx.clock.now())
                view = modals.comment_modal(ctx.translator_for(actor.language), reference=draft.reference,
                                            version=version, start=text, reject=decision == REJECT,
                                            meta={"draft_id": draft_id, "version": version, "decision": decision})
            client.views_open(trigger_id=body["trigger_id"], view=view)
        return work

    def open_reassign(actor: Actor, body: dict[str, Any], client: Any) -> None:
        draft_id, version = action_value(body)
        with ctx.db.transaction() as session:
            service.require_card_matches(session, *message_of(body), draft_id)
            draft, candidates = decisions.reassign_candidates(session, actor=actor, draft_id=draft_id,
                                                              version=version, now=ctx.clock.now())
            decisions.record_view(session, actor=actor, draft_id=draft_id, version=version, now=ctx.clock.now())
            view = modals.reassign_modal(ctx.translator_for(actor.language), reference=draft.reference,
                                         candidates=candidates, meta={"draft_id": draft_id, "version": version})
        client.views_open(trigger_id=body["trigger_id"], view=view)

    def open_full_text(actor: Actor, body: dict[str, Any], client: Any) -> None:
        draft_id, version = action_value(body)
        with ctx.db.transaction() as session:
            service.require_card_matches(session, *message_of(body), draft_id)
            draft, shown = decisions.readable_version(session, actor=actor, draft_id=draft_id, version=version)
            decisions.record_view(session, actor=actor, draft_id=draft_id, version=version, now=ctx.clock.now())
            view = modals.full_text_modal(ctx.translator_for(actor.language), reference=draft.reference,
                                          version=version, text=shown.text)
        client.views_open(trigger_id=body["trigger_id"], view=view)

    app.action(ids.APPROVE)(on_click("approval_approve", approve, deferrable=True))
    app.action(ids.REQUEST_CHANGES)(on_click("approval_changes", open_comment(CHANGES)))
    app.action(ids.REJECT)(on_click("approval_reject", open_comment(REJECT)))
    app.action(ids.REASSIGN)(on_click("approval_reassign", open_reassign))
    app.action(ids.FULL_TEXT)(on_click("approval_full_text", open_full_text))

    def on_submit(where: str, error_block: str, work: Callable[[Actor, dict[str, Any]], Outcome]
                  ) -> Callable[..., None]:
        """A form submission: field errors stay in the form; anything else replaces it with the explanation."""
        def listener(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
            actor, outcome = None, None
            try:
                actor = click_actor(ctx, body, context)
                outcome = work(actor, view)
            except UserError as exc:
                t = ctx.translator_for(actor.language if actor else "en")
                if exc.field in ("comment", "assignee"):
                    ack(response_action="errors", errors={error_block: polite_error(exc, t, where=where)})
                else:
                    ack(response_action="update", view=modals.notice_modal(t, polite_error(exc, t, where=where)))
                return
            except Exception as exc:
                t = ctx.translator_for(actor.language if actor else "en")
                ack(response_action="update", view=modals.notice_modal(t, polite_error(exc, t, where=where)))
                return
            ack()
            after_commit(ctx, outcome)
        return listener

    def submit_comment(actor: Actor, view: dict[str, Any]) -> Outcome:
        meta = modals.metadata(view)
        draft_id, version = service.parse_value(f"{meta.get('draft_id')}:{meta.get('version')}")
        decide = decisions.reject if meta.get("decision") == REJECT else decisions.request_changes
        with ctx.db.transaction() as session:
            return decide(session, actor=actor, draft_id=draft_id, version=version,
                          comment=modals.read_value(view, ids.COMMENT), now=ctx.clock.now(),
                          lang_of=language_of(ctx))

    def submit_reassign(actor: Actor, view: dict[str, Any]) -> Outcome:
        meta = modals.metadata(view)
        draft_id, version = service.parse_value(f"{meta.get('draft_id')}:{meta.get('version')}")
        with ctx.db.transaction() as session:
            return decisions.reassign(session, actor=actor, draft_id=draft_id, version=version,
                                      to=str(modals.read_value(view, ids.ASSIGNEE) or ""), now=ctx.clock.now(),
                                      lang_of=language_of(ctx))

    app.view(ids.COMMENT_MODAL)(on_submit("approval_comment", ids.COMMENT, submit_comment))
    app.view(ids.REASSIGN_MODAL)(on_submit("approval_reassign", ids.ASSIGNEE, submit_reassign))
