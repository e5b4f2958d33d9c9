"""``/nexo draft``, the draft form (new and revised), the Revise button, ``/nexo pending``."""

from __future__ import annotations

import logging
import threading
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk.webhook import WebhookClient
from sqlalchemy.exc import SQLAlchemyError

from bot.access import Actor
from bot.approvals import flows, ids, listing, modals, service, spec, webhook
from bot.approvals.blocks import created_message
from bot.approvals.flows import Outcome
from bot.approvals.models import stage_of
from bot.approvals.people import LanguageOf, languages_from
from bot.context import AppContext
from bot.db import row_id
from bot.delivery.inbox import current_run
from bot.delivery.outbox import enqueue_ephemeral, enqueue_post, enqueue_response
from bot.errors import UserError
from bot.handlers.commands import CommandRequest, CommandRouter, Reply, agency_team_id
from bot.handlers.errors import polite_error, response_url_usable, retry_later
from bot.i18n import N_, Translator
from bot.plans import service as plans

log = logging.getLogger(__name__)


# -- shared by the interactive handlers ------------------------------------------------------------
def click_actor(ctx: AppContext, body: dict[str, Any], context: BoltContext) -> Actor:
    return clicker(ctx, body, agency_team_id(context))


def clicker(ctx: AppContext, body: dict[str, Any], agency_team: str | None) -> Actor:
    user = body.get("user") or {}
    return ctx.actor(user.get("id", ""), user.get("team_id"), agency_team)


def defer_click(ctx: AppContext, where: str, body: dict[str, Any], context: BoltContext) -> bool:
    """Store a click for the worker (bot.delivery.inbox), before its ack. False: work on it here.

    If it can't be stored (the database is unreachable) the clicker is told so, and it is not done
    here either: the store may have committed before the error, and then the worker does it.
    """
    if not ctx.inbox.enabled:
        return False
    try:
        return ctx.inbox.defer(where, body, agency_team=agency_team_id(context))
    except Exception as exc:
        try:
            actor = clicker(ctx, body, agency_team_id(context))  # for their language (Slack, not the database)
        except Exception:
            actor = None
        refuse(ctx, body, actor, exc, where=where)
        return True


def language_of(ctx: AppContext) -> LanguageOf:
    return languages_from(ctx.users)


def action_value(body: dict[str, Any]) -> tuple[int, int]:
    actions = body.get("actions") or [{}]
    return service.parse_value(actions[0].get("value"))


def message_of(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """The (channel, ts) of the message a button sits on."""
    container = body.get("container") or {}
    return container.get("channel_id"), container.get("message_ts")


def refuse(ctx: AppContext, body: dict[str, Any], actor: Actor | None, exc: BaseException, *, where: str) -> None:
    """Tell only the clicker why nothing happened, in their language (nothing was changed)."""
    if retry_later(exc):
        raise exc
    t = ctx.translator_for(actor.language if actor else "en")
    text = polite_error(exc, t, where=where)
    user = (body.get("user") or {}).get("id", "")
    channel, _ = message_of(body)
    try:
        with ctx.db.transaction() as session:
            now = ctx.clock.now()
            if body.get("response_url") and response_url_usable(now):
                enqueue_response(session, now=now, response_url=body["response_url"], text=text,
                                 replace_original=False)
            elif channel:
                enqueue_ephemeral(session, now=now, channel=channel, user=user, text=text)
            else:
                enqueue_post(session, now=now, to=user, text=text)
    except SQLAlchemyError:
        if current_run() is not None:
            raise  # in the worker: the click stays in the inbox and is done (or refused) on the next run
        # The database is what failed (the text says so), so the outbox can't hold the answer either:
        # answer straight through the response_url, once, rather than leave the click unanswered.
        if body.get("response_url"):
            try:
                WebhookClient(body["response_url"], timeout=3).send(text=text, replace_original=False,
                                                                    response_type="ephemeral")
            except Exception:
                log.warning("could not tell the user the database is down", exc_info=True)


def after_commit(ctx: AppContext, outcome: Outcome | None) -> None:
    """Work that must wait for the commit: the first webhook attempt, off the listener threads
    (a slow publishing tool must not hold up clicks). If it dies, the sweep retries the row."""
    if outcome is None or not outcome.webhook_ids:
        return
    ids_ = list(outcome.webhook_ids)

    def first_attempt() -> None:
        try:
            webhook.deliver_now(ctx, ids_)
        except Exception:
            log.exception("immediate webhook attempt failed; the sweep retries it")

    threading.Thread(target=first_attempt, name="nexo-webhook", daemon=True).start()


def _confirmation(outcome: Outcome, plan_tz: str, now: Any, t: Translator, *, revised: int | None = None) -> str:
    return created_message(outcome.draft.reference, stage=outcome.stage, sent_to=outcome.sent_to,
                           due_at=outcome.due_at, deliver_at=outcome.deliver_at, now=now, timezone=plan_tz, t=t,
                           revised=revised)


# -- /nexo draft -------------------------------------------------------------------------------------
DRAFT_USAGE = N_("Write `/nexo draft CLIENT [network:instagram,x] [at:2026-12-01T10:00] [category:NAME] TEXT`, "
                 "or `/nexo draft CLIENT` for a form.")


def draft_command(req: CommandRequest) -> Reply | None:
    service.require_agency(req.actor)
    name, options, text = spec.split_command(req.args)
    if not name:
        raise UserError(DRAFT_USAGE)
    now = req.app.clock.now()
    with req.app.db.transaction() as session:
        client = plans.resolve_client(session, req.actor, name)
        plan = plans.current_plan(client)
        if not options and not text:
            view = modals.draft_modal(req.t, client_name=client.name, timezone=plan.timezone,
                                      categories=plan.pre_approved_categories, meta={"client_id": client.id})
        else:
            if not text:
                raise UserError(DRAFT_USAGE)
            fields = spec.fields_from_command(options, text, tz=plan.timezone, now=now)
            outcome = flows.create_draft(session, actor=req.actor, client=client, fields=fields, now=now,
                                         lang_of=language_of(req.app))
            reply = _confirmation(outcome, plan.timezone, now, req.t)
    if not options and not text:
        req.open_modal(view)
        return None
    after_commit(req.app, outcome)
    return Reply(text=reply)


def draft_opens_form(args: str) -> bool:
    """Only the client's name (or a quote left open, answered at once) opens the draft form."""
    try:
        _, options, text = spec.split_command(args)
    except UserError:
        return True
    return not options and not text


def pending_command(req: CommandRequest) -> Reply:
    now = req.app.clock.now()
    with req.app.db.transaction() as session:
        client = plans.resolve_client(session, req.actor, req.args) if req.args.strip() else None
        items = listing.waiting_items(session, req.actor, client=client)
        text, blocks = listing.pending_message(items, now, req.t, client=client)
    return Reply(text=text, blocks=blocks)


# -- the draft form ----------------------------------------------------------------------------------
def submit_draft(ctx: AppContext, actor: Actor, view: dict[str, Any]) -> tuple[dict[str, Any] | None, Outcome | None]:
    """Create or revise from the form. Returns (ack kwargs when it must not simply close, outcome)."""
    t = ctx.translator_for(actor.language)
    meta = modals.metadata(view)
    now = ctx.clock.now()
    revising = meta.get("draft_id") is not None
    try:
        with ctx.db.transaction() as session:
            if revising:
                draft_id, version = service.parse_value(f"{meta.get('draft_id')}:{meta.get('version')}")
                _, plan = service.client_and_plan(session, service.get_draft(session, draft_id))
            else:
                client = plans.resolve_client_by_id(session, actor, row_id(meta.get("client_id")))
                plan = plans.current_plan(client)
            fields, errors = modals.read_draft_modal((view.get("state") or {}).get("values") or {},
                                                     timezone=plan.timezone, now=now)
            if fields is None:
                return {"response_action": "errors",
                        "errors": {k: e.render(t.gettext) for k, e in errors.items()}}, None
            if revising:
                outcome = flows.revise(session, actor=actor, draft_id=draft_id, version=version, fields=fields,
                                       now=now, lang_of=language_of(ctx))
            else:
                outcome = flows.create_draft(session, actor=actor, client=client, fields=fields, now=now,
                                             lang_of=language_of(ctx))
            text = _confirmation(outcome, plan.timezone, now, t, revised=version + 1 if revising else None)
            enqueue_post(session, now=now, to=actor.user_id, text=text)
    except UserError as exc:
        block = modals.FIELD_BLOCKS.get(exc.field or "")
        text = polite_error(exc, t, where="draft_modal")
        if block is not None:
            return {"response_action": "errors", "errors": {block: text}}, None
        return {"response_action": "update", "view": modals.notice_modal(t, text)}, None
    return None, outcome


def open_revision(ctx: AppContext, actor: Actor, body: dict[str, Any], web: Any) -> None:
    """The Revise button: the form prefilled with the version the reviewer commented on."""
    t = ctx.translator_for(actor.language)
    draft_id, version = action_value(body)
    with ctx.db.transaction() as session:
        service.require_agency(actor)
        draft = service.get_draft(session, draft_id)
        client, plan = service.client_and_plan(session, draft)
        service.require_current(draft, version)
        if stage_of(draft.status) is None:
            raise service.decided_error(session, draft, plan, ctx.clock.now())
        current = service.version_of(session, draft, version)
        fields = spec.DraftFields(text=current.text, networks=list(current.networks), publish_at=current.publish_at,
                                  category=current.category, media_links=list(current.media_links),
                                  internal_note=current.internal_note)
        view = modals.draft_modal(t, client_name=client.name, timezone=plan.timezone,
                                  categories=plan.pre_approved_categories,
                                  meta={"draft_id": draft.id, "version": version}, fields=fields,
                                  reference=draft.reference)
    web.views_open(trigger_id=body["trigger_id"], view=view)


def register(app: App, ctx: AppContext, router: CommandRouter) -> None:
    router.add("draft", draft_command, aliases=("borrador", "post"), help=[
        (N_("/nexo draft CLIENT [network:x] [at:2026-12-01T10:00] [category:NAME] TEXT"),
         N_("send a post to the client for approval (only the client opens a form)")),
    ], inline_when=draft_opens_form)
    router.add("pending", pending_command, aliases=("pendientes", "pendiente"), help=[
        (N_("/nexo pending [CLIENT]"), N_("what waits on whom, most urgent first")),
    ])

    @app.view(ids.DRAFT_MODAL)
    def draft_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
        actor, outcome = None, None
        try:
            actor = click_actor(ctx, body, context)
            answer, outcome = submit_draft(ctx, actor, view)
        except Exception as exc:
            t = ctx.translator_for(actor.language if actor else "en")
            answer = {"response_action": "errors", "errors": {ids.TEXT: polite_error(exc, t, where="draft_modal")}}
        if answer:
            ack(**answer)
        else:
            ack()
        after_commit(ctx, outcome)

    @app.action(ids.REVISE)
    def revise_clicked(ack: Ack, body: dict[str, Any], context: BoltContext, client: Any) -> None:
        ack()
        actor = None
        try:
            actor = click_actor(ctx, body, context)
            open_revision(ctx, actor, body, client)
        except Exception as exc:
            refuse(ctx, body, actor, exc, where="draft_revise")
