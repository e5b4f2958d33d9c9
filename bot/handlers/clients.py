"""``/nexo client ...``, the plan form, and a client's publishing webhook."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bot.approvals import webhook
from bot.blockkit import section
from bot.delivery.outbox import enqueue_post
from bot.errors import UserError
from bot.i18n import N_
from bot.plans import blocks, ids, service
from bot.plans.models import Client
from bot.plans.spec import (
    WebhookOptions,
    default_values,
    parse_inline,
    parse_webhook_command,
    split_webhook_options,
)
from bot.slack.directory import can_open_dm
from bot.slack.listeners import Registration, Subcommand, View
from bot.slack.request import Reply, Request

PEOPLE_FIELDS = ("reference_user", "account_lead")
PEOPLE_LISTS = ("backups", "community_managers", "crisis_extra_pages")
# Domain field -> the form input that shows its error; any other error shows on the reference person.
FIELD_BLOCKS = {
    "name": ids.NAME,
    "reference_user": ids.REFERENCE,
    "escalate_lead_percent": ids.ESCALATE_LEAD,
    "people": ids.REFERENCE,
}


def check_people(req: Request, values: dict[str, Any]) -> None:
    """Every person named must be a real, active Slack user (not a bot). Looking them up also stores
    them in the people table, which is how the domain later knows the language of each of them."""
    people = [values[f] for f in PEOPLE_FIELDS if values.get(f)]
    people += [u for f in PEOPLE_LISTS for u in values.get(f) or []]
    for user_id in people:
        user = req.person(user_id)
        if user is None or user.deleted:
            raise UserError(
                N_("I can't find the Slack user <@{user}>. Pick people from the @ menu."), field="people", user=user_id
            )
        if user.is_bot:
            raise UserError(N_("<@{user}> is a bot; plans need people."), field="people", user=user_id)


def unreachable_people(req: Request, values: dict[str, Any]) -> list[str]:
    """The client's people (reference person, backups) Nexo cannot DM: of another organization and in no
    channel with Nexo, so Slack refuses the DM (Slack Connect). Asked of Slack at set-up, so the agency
    learns it at once rather than when the first card fails to go out."""
    people = dict.fromkeys(p for p in [values.get("reference_user"), *(values.get("backups") or [])] if p)
    unreachable = []
    for user_id in people:
        user = req.person(user_id)
        external = user is not None and user.team_id is not None and user.team_id != req.agency_team
        if external and can_open_dm(req.app.users.client, user_id) is False:  # the 2-second client: an ack waits
            unreachable.append(user_id)
    return unreachable


def unreachable_warning(req: Request, people: list[str], client: Client) -> str | None:
    """What to do about people Nexo cannot DM: invite Nexo to the Slack Connect channel and name it."""
    if not people:
        return None
    mentions = ", ".join(f"<@{p}>" for p in people)
    line = req.t.ngettext(
        "⚠️ I can't send direct messages to {people}: they're in another organization and share no channel "
        "with me. Invite me to the Slack Connect channel you share with {name} (`/invite @Nexo` there) and "
        "name it with `channel:` (`/nexo client edit {name}`).",
        "⚠️ I can't send direct messages to {people}: they're in another organization and share no channel "
        "with me. Invite me to the Slack Connect channel you share with {name} (`/invite @Nexo` there) and "
        "name it with `channel:` (`/nexo client edit {name}`).",
        len(people),
        people=mentions,
        name=client.name,
    )
    channel = service.current_plan(client).channel
    if channel:
        line += " " + req.t(N_("Until then, what is for them goes to <#{channel}> with a mention."), channel=channel)
    else:
        line += " " + req.t(N_("Until then, what is for them cannot reach them; I'll tell the account lead."))
    return line


def plan_defaults(req: Request, reference: str | None) -> dict[str, Any]:
    # A client's clock is usually its reference person's: start from their Slack time zone.
    user = req.person(reference) if reference else None
    return default_values(language=req.actor.language, timezone=(user.timezone if user and user.timezone else "UTC"))


# -- /nexo client ----------------------------------------------------------------------------------
def client_command(req: Request) -> Reply | None:
    action, _, rest = req.args.partition(" ")
    handler = ACTIONS.get(action.lower())
    if handler is None:
        raise UserError(
            N_(
                "Use `/nexo client add|edit|show|list|archive`. For example: "
                "`/nexo client add Acme ref:@ana window:4h`."
            )
        )
    return handler(req, rest.strip())


def client_add(req: Request, rest: str) -> Reply | None:
    service.require_agency(req.actor)
    rest, hook = split_webhook_options(rest)  # kept out of the plan (and its history): it holds a secret
    name, values = parse_inline(rest)
    if not values:  # only a name: the form asks for the rest
        req.open_form(blocks.plan_modal(req.t, values=plan_defaults(req, None), name=name, channel_id=req.channel_id))
        return None
    check_people(req, values)  # Slack look-ups, before this unit of work touches the database
    unreachable = unreachable_people(req, values)
    defaults = plan_defaults(req, values.get("reference_user"))
    client = service.create_client(
        req.session, actor=req.actor, name=name, values=values, now=req.now, defaults=defaults
    )
    _, card = blocks.plan_card(client, service.current_plan(client), req.t)
    line = set_webhook(req, client, hook)
    done = req.t(
        N_("Client *{name}* is set up. Drafts will be numbered {prefix}-1, {prefix}-2…"),
        name=client.name,
        prefix=client.ref_prefix,
    )
    if line:
        card.append(section(line))
    if warning := unreachable_warning(req, unreachable, client):  # said at once, before the plan
        return Reply(text=f"{done}\n{warning}", blocks=[section(done), section(warning), *card])
    return Reply(text=done, blocks=[section(done), *card])


def client_edit(req: Request, rest: str) -> None:
    service.require_agency(req.actor)
    client = service.resolve_client(req.session, req.actor, rest)
    plan = service.current_plan(client)
    req.open_form(
        blocks.plan_modal(
            req.t, values=service.plan_values(plan), client=client, version=plan.version, channel_id=req.channel_id
        )
    )


def client_show(req: Request, rest: str) -> Reply:
    client = service.resolve_client(req.session, req.actor, rest)
    plan = service.current_plan(client)
    service.require_view(req.actor, plan)
    text, card = blocks.plan_card(client, plan, req.t, versions=service.history(req.session, client, limit=5))
    masked = webhook.masked(webhook.get_webhook(req.session, client.id)) if req.actor.is_agency else None
    if masked:
        card.append(section(blocks.webhook_line(masked, None, req.t)))
    return Reply(text=text, blocks=card)


def client_list(req: Request, rest: str) -> Reply:
    text, list_blocks = blocks.client_list(service.visible_clients(req.session, req.actor), req.t)
    return Reply(text=text, blocks=list_blocks)


def client_archive(req: Request, rest: str) -> Reply:
    client = service.resolve_client(req.session, req.actor, rest)
    service.archive_client(req.session, actor=req.actor, client=client, now=req.now)
    return Reply(
        text=req.t(
            N_("*{name}* is archived: it no longer appears in lists or commands; its history is kept for reports."),
            name=client.name,
        )
    )


def client_webhook(req: Request, rest: str) -> Reply:
    """``/nexo client webhook NAME [webhook:URL] [webhook-secret:S] | off``."""
    service.require_agency(req.actor)
    name, options = parse_webhook_command(rest)
    client = service.resolve_client(req.session, req.actor, name)
    if options.off:
        removed = webhook.remove_webhook(req.session, actor=req.actor, client=client)
        text = blocks.webhook_removed(req.t, client.name) if removed else blocks.webhook_line(None, None, req.t)
    elif options.url or options.secret:
        text = set_webhook(req, client, options) or ""
    else:
        text = blocks.webhook_line(masked_webhook(req.session, client), None, req.t)
    return Reply(text=text)


def set_webhook(req: Request, client: Client, options: WebhookOptions) -> str | None:
    """Set the webhook a command gave; returns a line for the answer (with a generated secret, once)."""
    if not options.url:
        if options.secret:
            raise UserError(N_("webhook-secret: also give the address, as webhook:https://…"), field="webhook")
        return None
    generated = webhook.set_webhook(
        req.session, actor=req.actor, client=client, url=options.url, secret=options.secret, now=req.now
    )
    return blocks.webhook_line(masked_webhook(req.session, client), generated, req.t)


def masked_webhook(session: Session, client: Client) -> str | None:
    return webhook.masked(webhook.get_webhook(session, client.id))


ACTIONS = {
    "add": client_add,
    "new": client_add,
    "nuevo": client_add,
    "alta": client_add,
    "edit": client_edit,
    "editar": client_edit,
    "show": client_show,
    "ver": client_show,
    "list": client_list,
    "ls": client_list,
    "lista": client_list,
    "archive": client_archive,
    "archivar": client_archive,
    "webhook": client_webhook,
}


def client_deferrable(args: str) -> bool:
    """Whether the worker may answer ``/nexo client args``: not ``add`` or ``edit`` (they may open a
    form, whose trigger id lives 3 seconds) nor ``webhook`` (its answer may hold a signing secret,
    which must not be stored)."""
    action = (args.split(None, 1) or [""])[0].lower()
    return ACTIONS.get(action) not in (client_add, client_edit, client_webhook)


# -- the plan form ---------------------------------------------------------------------------------
def plan_submitted(req: Request) -> dict[str, Any] | None:
    name, values, errors = blocks.read_modal(req.view)
    if errors:
        return {"response_action": "errors", "errors": {k: e.render(req.t.gettext) for k, e in errors.items()}}
    client_id, version = blocks.form_target(req.metadata)
    check_people(req, values)  # Slack look-ups, before this unit of work touches the database
    unreachable = unreachable_people(req, values)
    if client_id is None:
        client = service.create_client(req.session, actor=req.actor, name=name, values=values, now=req.now)
        summary = req.t(N_("Client *{name}* is set up."), name=client.name)
    else:
        client = service.resolve_client_by_id(req.session, req.actor, client_id)
        changes = service.update_plan(
            req.session, actor=req.actor, client=client, values=values, now=req.now, expected_version=version
        )
        summary = (
            req.t(N_("Plan for *{name}* updated:"), name=client.name)
            + "\n"
            + (blocks.change_summary(changes, req.t) or req.t(N_("nothing changed.")))
        )
    _, card = blocks.plan_card(client, service.current_plan(client), req.t)
    head = [section(summary)]
    if warning := unreachable_warning(req, unreachable, client):
        summary, head = f"{summary}\n{warning}", [*head, section(warning)]
    enqueue_post(req.session, now=req.now, to=req.user_id, text=summary, blocks=[*head, *card])
    return None


LISTENERS: list[Registration] = [
    Subcommand(
        ids.COMMAND,
        client_command,
        aliases=("clients", "cliente", "clientes"),
        deferrable=client_deferrable,
        help=[
            (
                N_("/nexo client add NAME ref:@person [window:4h] [lang:es]"),
                N_("set up a client and its social media plan (only a name opens a form)"),
            ),
            (N_("/nexo client show|edit|list|archive NAME"), N_("see, change or archive a client's plan")),
            (
                N_("/nexo client webhook NAME webhook:URL [webhook-secret:S] | off"),
                N_("hand approved posts to a publishing tool (agency only)"),
            ),
        ],
    ),
    # A name error shows on the name input, which only the add form has; the edit form's errors are
    # never about the name (only creating a client checks it).
    View(ids.PLAN_MODAL, plan_submitted, fields=FIELD_BLOCKS, fallback=ids.REFERENCE),
]
