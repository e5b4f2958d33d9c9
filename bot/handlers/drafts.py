"""``/nexo draft``, the draft form (new, revised, edited), the **Send for approval** shortcut and its form,
the Revise button, ``/nexo pending``, ``/nexo calendar``.

``/nexo draft edit|withdraw|reschedule REF …`` are handed to :mod:`bot.handlers.draft_changes`."""

from __future__ import annotations

from typing import Any

from bot.approvals import content_calendar, flows, ids, listing, media, modals, service, spec
from bot.approvals.flows import DraftForm
from bot.blockkit import read
from bot.db import row_id
from bot.errors import UserError
from bot.handlers import draft_changes, home
from bot.handlers.handoff import hand_off_after_commit
from bot.i18n import N_
from bot.plans import service as plans
from bot.slack import files
from bot.slack.listeners import Action, Registration, Shortcut, Subcommand, View
from bot.slack.request import Reply, Request

DRAFT_USAGE = N_(
    "Write `/nexo draft CLIENT [network:instagram,x] [at:2026-12-01T10:00] [category:NAME] TEXT`, "
    "or `/nexo draft CLIENT` for a form."
)


# -- /nexo draft ----------------------------------------------------------------------------------------
def draft_command(req: Request) -> Reply | None:
    """Typed in full, the draft is sent at once; with only the client's name, the form opens. ``edit``,
    ``withdraw`` and ``reschedule`` followed by a reference change that draft instead."""
    actor = req.actor
    service.require_agency(actor)
    if (change := draft_changes.split_change(req.args)) is not None:
        return draft_changes.change_command(req, *change)
    name, options, text = spec.split_command(req.args)
    if not name:
        raise UserError(DRAFT_USAGE)
    client = plans.resolve_client(req.session, actor, name)
    plan = plans.current_plan(client)
    req.about(plan)
    if not options and not text:
        req.open_form(
            modals.draft_modal(
                req.t,
                client_name=client.name,
                timezone=plan.timezone,
                categories=plan.pre_approved_categories,
                meta={"client_id": client.id},
            )
        )
        return None
    if not text:
        raise UserError(DRAFT_USAGE)
    fields = spec.fields_from_command(options, text, tz=plan.timezone, now=req.now)
    outcome = flows.create_draft(req.session, actor=actor, client=client, fields=fields, now=req.now)
    hand_off_after_commit(req, outcome)
    return Reply(text=flows.confirmation(outcome, plan.timezone, req.now, req.t))


def draft_is_typed_in_full(args: str) -> bool:
    """Whether ``/nexo draft args`` may wait for the worker: everything but the client's name (which opens
    a form, and a trigger id lives 3 seconds) or a quote left open (answered at once)."""
    if draft_changes.split_change(args) is not None:
        return not draft_changes.opens_a_form(args)
    try:
        _, options, text = spec.split_command(args)
    except UserError:
        return False
    return bool(options or text)


# -- /nexo pending --------------------------------------------------------------------------------------
def pending_command(req: Request) -> Reply:
    """What waits on the reader, with the buttons to act, then what waits on whom (at one client, when
    named), most urgent first."""
    actor = req.actor
    client = plans.resolve_client(req.session, actor, req.args) if req.args else None
    items = listing.waiting_items(req.session, actor, client=client)
    text, blocks = listing.pending_message(
        items, req.now, req.t, client=client, mine=home.waiting_on(req, client=client)
    )
    return Reply(text=text, blocks=blocks)


# -- /nexo calendar -------------------------------------------------------------------------------------
def calendar_command(req: Request) -> Reply:
    """The scheduled posts per day (of one client, or of every client the person may see)."""
    name, period_word = content_calendar.split_args(req.args)
    client = plans.resolve_client(req.session, req.actor, name) if name else None
    period, posts = content_calendar.week_for(req.session, req.actor, client, period_word, req.now)
    text, blocks = content_calendar.calendar_message(posts, period, req.t, client=client)
    return Reply(text=text, blocks=blocks)


# -- the draft form -------------------------------------------------------------------------------------
def look_up_files(req: Request) -> None:
    """Before the form's unit of work: ``files.info`` on each file it names (the ids are untrusted), so
    the listener knows which the bot can read and whose they are."""
    kept, uploaded = modals.picked_files(req.view)
    refs = list(uploaded)
    if req.view.get("callback_id") == ids.SHORTCUT_MODAL:  # the message's files, ticked in the form
        shown = _option_names(req.view, ids.FILES_KEEP)
        refs = [(file_id, shown.get(file_id, file_id)) for file_id in kept] + refs
    req.prepared["files"] = files.look_up(req.client, refs)


def _option_names(view: dict[str, Any], block_id: str) -> dict[str, str]:
    """The names the form showed for its file options (the view comes back from Slack: untrusted)."""
    for block in view.get("blocks") or []:
        if isinstance(block, dict) and block.get("block_id") == block_id:
            options = (block.get("element") or {}).get("options") or []
            return {
                str(o.get("value")): str((o.get("text") or {}).get("text", ""))[:255]
                for o in options
                if isinstance(o, dict) and isinstance(o.get("text"), dict)
            }
    return {}


def draft_submitted(req: Request) -> dict[str, Any] | None:
    """Create or revise from the form. Every invalid field is pointed at in the form itself."""
    actor = req.actor
    form = flows.draft_form(req.session, actor=actor, meta=req.metadata)
    fields, errors = modals.read_draft_modal(req.view, timezone=form.plan.timezone, now=req.now)
    if fields is None:
        return {"response_action": "errors", "errors": {block: e.render(req.t.gettext) for block, e in errors.items()}}
    added = media.check_files(req.prepared.get("files", []), owner=actor.user_id, target=fields.networks)
    fields.media = flows.form_media(
        req.session, form=form, kept=modals.picked_files(req.view)[0], added=added, target=fields.networks
    )
    outcome = flows.submit_draft_form(req.session, actor=actor, form=form, fields=fields, now=req.now, t=req.t)
    hand_off_after_commit(req, outcome)
    return None


# -- the Send for approval shortcut ---------------------------------------------------------------------
def send_for_approval(req: Request) -> None:
    """The message shortcut on a CM's own message: its text is the copy, its files the media; the form
    asks for the client, the networks and the time."""
    actor = req.actor
    service.require_agency(actor)
    message = req.body.get("message") or {}
    if message.get("user") != actor.user_id:
        raise UserError(N_("“Send for approval” works on your own messages: the text and files you wrote."))
    clients = [(c.id, c.name) for c in plans.visible_clients(req.session, actor)]
    if not clients:
        raise UserError(N_("There is no client you can write drafts for yet. Add one with `/nexo client add`."))
    shared = [
        (str(f["id"]), str(f.get("name") or f.get("title") or f["id"]))
        for f in message.get("files") or []
        if isinstance(f, dict) and f.get("id")
    ]
    req.open_form(
        modals.shortcut_modal(
            req.t, clients=clients, text=str(message.get("text") or ""), files=shared, meta={"from": "shortcut"}
        )
    )


def shortcut_submitted(req: Request) -> None:
    """The shortcut's form: a new draft for the client picked, with the message's files ticked."""
    actor = req.actor
    client = plans.resolve_client_by_id(req.session, actor, row_id(read(req.view, ids.CLIENT)))
    plan = plans.current_plan(client)
    req.about(plan)
    fields, errors = modals.read_draft_modal(req.view, timezone=plan.timezone, now=req.now)
    if fields is None:
        raise next(iter(errors.values()))
    fields.media = media.check_files(req.prepared.get("files", []), owner=actor.user_id, target=fields.networks)
    outcome = flows.submit_draft_form(
        req.session, actor=actor, form=DraftForm(plan, client=client), fields=fields, now=req.now, t=req.t
    )
    hand_off_after_commit(req, outcome)


def revise_clicked(req: Request) -> None:
    """The Revise button: the form, prefilled with the version the reviewer commented on."""
    actor = req.actor
    draft_id, version = service.parse_value(req.value)
    draft, client, plan, fields = flows.revision_fields(
        req.session, actor=actor, draft_id=draft_id, version=version, now=req.now
    )
    req.open_form(
        modals.draft_modal(
            req.t,
            client_name=client.name,
            timezone=plan.timezone,
            categories=plan.pre_approved_categories,
            meta={"draft_id": draft.id, "version": version},
            fields=fields,
            reference=draft.reference,
        )
    )


LISTENERS: list[Registration] = [
    Subcommand(
        "draft",
        draft_command,
        aliases=("borrador", "post"),
        help=[
            (
                N_("/nexo draft CLIENT [network:x] [at:2026-12-01T10:00] [category:NAME] TEXT"),
                N_("send a post to the client for approval (only the client opens a form)"),
            ),
            *draft_changes.HELP,
        ],
        deferrable=draft_is_typed_in_full,
    ),
    Subcommand(
        "pending",
        pending_command,
        aliases=("pendientes", "pendiente"),
        help=[
            (N_("/nexo pending [CLIENT]"), N_("what waits on whom, most urgent first")),
        ],
    ),
    Subcommand(
        "calendar",
        calendar_command,
        aliases=("calendario", "cal"),
        help=[
            (
                N_("/nexo calendar [CLIENT] [week|month|from:2026-12-07]"),
                N_("the scheduled posts per day, with their state and a link to their card"),
            ),
        ],
    ),
    View(ids.DRAFT_MODAL, draft_submitted, fields=modals.FIELD_BLOCKS, prepare=look_up_files),
    Shortcut(ids.SEND_FOR_APPROVAL, send_for_approval),
    View(ids.SHORTCUT_MODAL, shortcut_submitted, fields=modals.SHORTCUT_FIELD_BLOCKS, prepare=look_up_files),
    Action(ids.REVISE, revise_clicked),
]
