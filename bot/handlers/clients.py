"""``/nexo client ...`` and the plan modal."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.context import AppContext
from bot.db import row_id
from bot.delivery.outbox import enqueue_post
from bot.errors import UserError
from bot.handlers.client_webhooks import apply_options, client_webhook, masked_line, split_webhook_options
from bot.handlers.commands import CommandRequest, CommandRouter, Reply, agency_team_id
from bot.handlers.errors import polite_error
from bot.i18n import N_
from bot.plans import blocks, ids, service
from bot.plans.spec import default_values, parse_inline

log = logging.getLogger(__name__)

PEOPLE_FIELDS = ("reference_user", "account_lead")
# Domain field -> the modal input that shows its error.
FIELD_BLOCKS = {"name": ids.NAME, "reference_user": ids.REFERENCE, "escalate_lead_percent": ids.ESCALATE_LEAD,
                "people": ids.REFERENCE}
PEOPLE_LISTS = ("backups", "community_managers", "crisis_extra_pages")


def check_people(ctx: AppContext, values: dict[str, Any]) -> None:
    """Every person named must be a real, active Slack user (not a bot)."""
    people = [values[f] for f in PEOPLE_FIELDS if values.get(f)]
    people += [u for f in PEOPLE_LISTS for u in values.get(f) or []]
    for user_id in people:
        user = ctx.users.get(user_id)
        if user is None or user.deleted:
            raise UserError(N_("I can't find the Slack user <@{user}>. Pick people from the @ menu."),
                            field="people", user=user_id)
        if user.is_bot:
            raise UserError(N_("<@{user}> is a bot; plans need people."), field="people", user=user_id)


def _defaults(ctx: AppContext, request_language: str, reference: str | None) -> dict[str, Any]:
    # A client's clock is usually its reference person's: start from their Slack time zone.
    user = ctx.users.get(reference) if reference else None
    return default_values(language=request_language, timezone=(user.tz if user and user.tz else "UTC"))


def client_command(req: CommandRequest) -> Reply | None:
    action, _, rest = req.args.partition(" ")
    action = action.lower()
    handler = ACTIONS.get(action)
    if handler is None:
        raise UserError(N_("Use `/nexo client add|edit|show|list|archive`. For example: "
                           "`/nexo client add Acme ref:@ana window:4h`."))
    return handler(req, rest.strip())


def client_add(req: CommandRequest, rest: str) -> Reply | None:
    service.require_agency(req.actor)
    rest, hook = split_webhook_options(rest)  # kept out of the plan (and its history): it holds a secret
    name, values = parse_inline(rest)
    if not values:  # only a name: the modal asks for the rest
        defaults = _defaults(req.app, req.actor.language, None)
        req.open_modal(blocks.plan_modal(req.t, values=defaults, name=name, channel_id=req.channel_id))
        return None
    check_people(req.app, values)
    defaults = _defaults(req.app, req.actor.language, values.get("reference_user"))
    with req.app.db.transaction() as session:
        client = service.create_client(session, actor=req.actor, name=name, values=values,
                                       now=req.app.clock.now(), defaults=defaults)
        _, card = blocks.plan_card(client, service.current_plan(client), req.t)
        webhook_line = apply_options(session, req, client, hook)
    done = req.t(N_("Client *{name}* is set up. Drafts will be numbered {prefix}-1, {prefix}-2…"),
                 name=client.name, prefix=client.ref_prefix)
    if webhook_line:
        card.append(blocks.section(webhook_line))
    return Reply(text=done, blocks=[blocks.section(done), *card])


def client_edit(req: CommandRequest, rest: str) -> Reply | None:
    service.require_agency(req.actor)
    with req.app.db.transaction() as session:
        client = service.resolve_client(session, req.actor, rest)
        plan = service.current_plan(client)
        view = blocks.plan_modal(req.t, values=service.plan_values(plan), client=client, version=plan.version,
                                 channel_id=req.channel_id)
    req.open_modal(view)
    return None


def client_show(req: CommandRequest, rest: str) -> Reply:
    with req.app.db.transaction() as session:
        client = service.resolve_client(session, req.actor, rest)
        plan = service.current_plan(client)
        if not service.can_view(req.actor, plan):
            raise service.NotAllowed(N_("Only the agency and the client's reference people can see this plan."))
        text, card = blocks.plan_card(client, plan, req.t, versions=service.history(session, client, limit=5))
        webhook_line = masked_line(session, client, req.t) if req.actor.is_agency else None
    if webhook_line:
        card.append(blocks.section(webhook_line))
    return Reply(text=text, blocks=card)


def client_list(req: CommandRequest, rest: str) -> Reply:
    with req.app.db.transaction() as session:
        text, list_blocks = blocks.client_list(service.visible_clients(session, req.actor), req.t)
    return Reply(text=text, blocks=list_blocks)


def client_archive(req: CommandRequest, rest: str) -> Reply:
    with req.app.db.transaction() as session:
        client = service.resolve_client(session, req.actor, rest)
        service.archive_client(session, actor=req.actor, client=client, now=req.app.clock.now())
        name = client.name
    return Reply(text=req.t(N_("*{name}* is archived: it no longer appears in lists or commands; its history is "
                               "kept for reports."), name=name))


ACTIONS = {"add": client_add, "new": client_add, "nuevo": client_add, "alta": client_add,
           "edit": client_edit, "editar": client_edit, "show": client_show, "ver": client_show,
           "list": client_list, "ls": client_list, "lista": client_list,
           "archive": client_archive, "archivar": client_archive,
           "webhook": client_webhook}


def register(app: App, ctx: AppContext, router: CommandRouter) -> None:
    router.add("client", client_command, aliases=("clients", "cliente", "clientes"),
               # add/edit may open a form; webhook answers with a signing secret shown only once
               inline_when=lambda args: ACTIONS.get((args.split(None, 1) or [""])[0].lower())
               in (client_add, client_edit, client_webhook),
               help=[
        (N_("/nexo client add NAME ref:@person [window:4h] [lang:es]"),
         N_("set up a client and its social media plan (only a name opens a form)")),
        (N_("/nexo client show|edit|list|archive NAME"), N_("see, change or archive a client's plan")),
        (N_("/nexo client webhook NAME webhook:URL [webhook-secret:S] | off"),
         N_("hand approved posts to a publishing tool (agency only)")),
    ])

    @app.view(ids.PLAN_MODAL)
    def plan_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
        user = body["user"]["id"]
        t = ctx.translator_for("en")
        try:
            actor = ctx.actor(user, body["user"].get("team_id"), agency_team_id(context))
            t = ctx.translator_for(actor.language)
            name, values, errors = blocks.read_modal(view.get("state", {}).get("values", {}))
            if errors:
                ack(response_action="errors", errors={k: e.render(t.gettext) for k, e in errors.items()})
                return
            meta = _metadata(view)
            check_people(ctx, values)
            with ctx.db.transaction() as session:
                now = ctx.clock.now()
                if meta.get("client_id") is None:
                    client = service.create_client(session, actor=actor, name=name, values=values, now=now)
                    summary = t(N_("Client *{name}* is set up."), name=client.name)
                else:
                    client = service.resolve_client_by_id(session, actor, meta.get("client_id"))
                    changes = service.update_plan(session, actor=actor, client=client, values=values, now=now,
                                                  expected_version=meta.get("version"))
                    summary = t(N_("Plan for *{name}* updated:"), name=client.name) + "\n" + (
                        blocks.change_summary(changes, t) or t(N_("nothing changed.")))
                _, card = blocks.plan_card(client, service.current_plan(client), t)
                enqueue_post(session, now=now, to=user, text=summary, blocks=[blocks.section(summary), *card])
        except UserError as exc:
            block = FIELD_BLOCKS.get(exc.field or "", ids.REFERENCE)
            if block == ids.NAME and not meta_is_new(view):
                block = ids.REFERENCE  # the edit form has no name input
            ack(response_action="errors", errors={block: polite_error(exc, t, where="plan_modal")})
            return
        except Exception as exc:
            ack(response_action="errors", errors={ids.REFERENCE: polite_error(exc, t, where="plan_modal")})
            return
        ack()


def _metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except (ValueError, RecursionError):
        meta = {}
    if not isinstance(meta, dict):
        meta = {}
    # Numbers only: "7" is not an id here (the form wrote an int), and neither is true, 1e9 or 2**70.
    return {key: row_id(value) if isinstance(value, int) else None
            for key, value in (("client_id", meta.get("client_id")), ("version", meta.get("version")))}


def meta_is_new(view: dict[str, Any]) -> bool:
    return _metadata(view).get("client_id") is None
