"""``/nexo crisis ...``, the **Flag reputation issue** message shortcut and its modal."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.context import AppContext
from bot.delivery.outbox import enqueue_post
from bot.errors import NotAllowed, NotFound, UserError
from bot.escalations import blocks, detection, ids, oncall, paging, report, service
from bot.escalations.models import Crisis, CrisisSource
from bot.handlers.commands import CommandRequest, CommandRouter, Reply, agency_team_id
from bot.handlers.errors import polite_error
from bot.i18n import N_, Translator
from bot.plans import service as plans
from bot.plans.durations import format_duration
from bot.plans.models import Client
from bot.plans.spec import split_words

log = logging.getLogger(__name__)

SEVERITY = re.compile(r"^(?:sev|severity|gravedad)\s*[:=]?\s*([123])$", re.IGNORECASE)
SEVERITY_OPTION = re.compile(r"^(?:sev|severity|gravedad)\s*[:=]", re.IGNORECASE)  # "sev:9" is no description
SOURCE_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,30}$")
SOURCE_TS = re.compile(r"^\d{1,12}\.\d{1,8}$")


# -- helpers shared with crisis_actions ------------------------------------------------------------
def languages(ctx: AppContext, users: list[str]) -> dict[str, str]:
    """Each person's Slack language (looked up outside any transaction; unknown people are left out)."""
    found: dict[str, str] = {}
    for user_id in users:
        user = ctx.users.get(user_id)
        if user is not None:
            found[user_id] = user.language
    return found


def client_languages(ctx: AppContext, client_id: int) -> dict[str, str]:
    with ctx.db.transaction() as session:
        client = session.get(Client, client_id)
        people = paging.people_of(client.current_plan) if client and client.current_plan else []
    return languages(ctx, people)


def quoted(name: str) -> str:
    return f'"{name}"' if " " in name else name


def _split_client(args: str) -> tuple[str, str]:
    args = args.strip()
    if args[:1] in ('"', "“"):
        end = re.search(r'["”]', args[1:])
        if end:
            return args[1:end.start() + 1], args[end.start() + 2:].strip()
    word, _, rest = args.partition(" ")
    return word, rest.strip()


def _severity_and_text(rest: str) -> tuple[int, str]:
    words = rest.split(" ")
    severity = 2
    while words and SEVERITY.match(words[0]):
        severity = int(SEVERITY.match(words[0]).group(1))  # type: ignore[union-attr]
        words = words[1:]
    if words and SEVERITY_OPTION.match(words[0]):  # a mistyped severity must not page anyone
        raise UserError(N_("Severity must be 1, 2 or 3 (1 is the worst)."), field="severity")
    return severity, " ".join(words).strip()


def _client_id(req: CommandRequest, name: str) -> int:
    with req.app.db.transaction() as session:
        return plans.resolve_client(session, req.actor, name).id


# -- /nexo crisis ----------------------------------------------------------------------------------
def crisis_command(req: CommandRequest) -> Reply | None:
    if not req.args:
        _open_modal(req, client_id=None)
        return None
    name, rest = _split_client(req.args)
    action, _, tail = rest.partition(" ")
    handler = ACTIONS.get(action.lower())
    if handler is not None:
        return handler(req, name, tail.strip())
    return crisis_declare(req, name, rest)


def crisis_declare(req: CommandRequest, name: str, rest: str) -> Reply | None:
    severity, description = _severity_and_text(rest)
    client_id = _client_id(req, name)
    if not description:
        _open_modal(req, client_id=client_id)
        return None
    langs = client_languages(req.app, client_id)
    with req.app.db.transaction() as session:
        client = plans.resolve_client_by_id(session, req.actor, client_id)
        crisis = service.declare(session, actor=req.actor, client=client, severity=severity,
                                 description=description, now=req.app.clock.now(), language_of=langs.get,
                                 source=CrisisSource.COMMAND, source_channel=req.channel_id or None)
        text = declared_text(crisis, client.name, req.t)
    return Reply(text=text, blocks=[blocks.section(text)])


def declared_text(crisis: Crisis, client_name: str, t: Translator) -> str:
    text = t(N_("🚨 Crisis declared for *{client}* ({severity}). Paging now: {people}. Pages repeat every {repeat} "
                "until someone acknowledges."), client=client_name, severity=blocks.severity(crisis.severity, t),
             people=", ".join(blocks.mention(u) for u in crisis.recipients),
             repeat=format_duration(paging.repeat_interval(crisis)))
    if len(crisis.chain) > 1:
        text += " " + t(N_("After {window} without an acknowledgement I also page {people}."),
                        window=format_duration(paging.window(crisis)),
                        people=", ".join(blocks.mention(u) for u in crisis.chain[1]))
    return text


def crisis_update(req: CommandRequest, name: str, rest: str) -> Reply:
    with req.app.db.transaction() as session:
        client = plans.resolve_client(session, req.actor, name)
        crisis = service.post_update(session, actor=req.actor, client=client, text=rest, now=req.app.clock.now())
        count = len(paging.everyone_paged(session, crisis))
    return Reply(text=req.t(N_("📣 Update sent to the {count} people paged for *{client}*."), count=count,
                            client=client.name))


def crisis_ack(req: CommandRequest, name: str, rest: str) -> Reply:
    with req.app.db.transaction() as session:
        client = plans.resolve_client(session, req.actor, name)
        crisis = service.require_active(session, client)
        service.acknowledge(session, actor=req.actor, crisis_id=crisis.id, now=req.app.clock.now())
    return Reply(text=req.t(N_("✅ You acknowledged the crisis for *{client}*. Pages stopped; everyone paged "
                               "knows you have it."), client=client.name))


def crisis_resolve(req: CommandRequest, name: str, rest: str) -> Reply:
    with req.app.db.transaction() as session:
        client = plans.resolve_client(session, req.actor, name)
        crisis = service.require_active(session, client)
        service.resolve(session, actor=req.actor, crisis_id=crisis.id, now=req.app.clock.now(), note=rest or None)
    return Reply(text=req.t(N_("✔️ The crisis for *{client}* is resolved. The post-crisis report is on its way to "
                               "the account lead."), client=client.name))


def crisis_release(req: CommandRequest, name: str, rest: str) -> Reply:
    with req.app.db.transaction() as session:
        client = plans.resolve_client(session, req.actor, name)
        crisis = service.last_with_holds(session, client)
        refs = service.release_holds(session, actor=req.actor, crisis_id=crisis.id, now=req.app.clock.now())
    return Reply(text=blocks.release_answer(client.name, refs, req.actor.user_id, True, req.t))


def crisis_watch(req: CommandRequest, name: str, rest: str) -> Reply:
    channel, keywords, threshold, window = detection.parse_watch(split_words(rest))
    with req.app.db.transaction() as session:
        client = plans.resolve_client(session, req.actor, name)
        detection.configure_watch(session, actor=req.actor, client=client, channel=channel, keywords=keywords,
                                  threshold=threshold, window_minutes=window, now=req.app.clock.now())
    if channel is None:
        return Reply(text=req.t(N_("I stopped listening for crises of *{client}*."), client=client.name))
    return Reply(text=req.t(N_("👂 Listening to <#{channel}> for *{client}*: {threshold} messages with “{keywords}” "
                               "within {window} suggest a crisis to the account lead."), channel=channel,
                            client=client.name, threshold=threshold, keywords=", ".join(keywords),
                            window=format_duration(timedelta(minutes=window))))


def crisis_oncall(req: CommandRequest, name: str, rest: str) -> Reply:
    words = split_words(rest)
    target = None
    if not words:
        raise UserError(N_("Give the on-call URL: `/nexo crisis CLIENT oncall URL key:KEY [type:pagerduty|webhook]`, "
                           "or `oncall off`."))
    if words[0].lower() not in ("off", "none", "apagar"):
        options = dict(w.split(":", 1) for w in words[1:] if ":" in w)
        target = oncall.parse_target(words[0], key=options.get("key"), kind=options.get("type"))
    with req.app.db.transaction() as session:
        client = plans.resolve_client(session, req.actor, name)
        oncall.configure(session, actor=req.actor, client=client, target=target, now=req.app.clock.now())
    if target is None:
        return Reply(text=req.t(N_("Crises of *{client}* no longer page an on-call service."), client=client.name))
    kind, url, key = target
    if kind == oncall.PAGERDUTY:
        return Reply(text=req.t(N_("Crises of *{client}* will also page PagerDuty ({url}) with dedup key "
                                   "nexo-crisis-ID."), client=client.name, url=url))
    return Reply(text=req.t(N_("Crises of *{client}* will also call {url}. Each request is signed: header "
                               "X-Nexo-Signature: sha256=HMAC-SHA256 of the body with this secret (shown once): "
                               "`{secret}`"), client=client.name, url=url, secret=key))


def crisis_history(req: CommandRequest, name: str, rest: str) -> Reply:
    return crises_report(req, name)


def crises_report_kind(req: CommandRequest, args: Any) -> Reply:
    """The ``crises`` kind of ``/nexo report`` (``args`` is a :class:`bot.handlers.reports.ReportArgs`)."""
    return crises_report(req, args.client_name)


def crises_report(req: CommandRequest, name: str) -> Reply:
    """``/nexo report CLIENT crises`` (the reports dispatcher calls this too)."""
    with req.app.db.transaction() as session:
        client = plans.resolve_client(session, req.actor, name)
        if not plans.can_view(req.actor, plans.current_plan(client)):
            raise NotFound(N_("That client no longer exists or isn't visible to you."))
        text, list_blocks = blocks.crises_list(client.name, report.past_crises(session, client.id), req.t)
    return Reply(text=text, blocks=list_blocks)


ACTIONS = {"update": crisis_update, "actualizar": crisis_update, "novedad": crisis_update,
           "ack": crisis_ack, "acknowledge": crisis_ack, "atender": crisis_ack,
           "resolve": crisis_resolve, "resolved": crisis_resolve, "resolver": crisis_resolve,
           "release": crisis_release, "liberar": crisis_release,
           "watch": crisis_watch, "vigilar": crisis_watch, "oncall": crisis_oncall, "guardia": crisis_oncall,
           "report": crisis_history, "history": crisis_history, "informe": crisis_history}


def _open_modal(req: CommandRequest, *, client_id: int | None) -> None:
    with req.app.db.transaction() as session:
        options = [(c.id, c.name) for c in plans.visible_clients(session, req.actor)]
        if client_id is None and req.channel_id:
            here = plans.client_for_channel(session, req.channel_id)
            client_id = here.id if here is not None else None
    if not options:
        raise NotAllowed(N_("You can't see any client, so there is nothing to flag."))
    req.open_modal(blocks.declare_modal(req.t, clients=options, selected=client_id, description="", permalink=None,
                                        metadata={"channel": req.channel_id}))


# -- the shortcut and the modal --------------------------------------------------------------------
def register(app: App, ctx: AppContext, router: CommandRouter) -> None:
    # Most forms of /nexo crisis can open a form, and a crisis is rare and urgent: always handled here.
    router.add("crisis", crisis_command, inline_when=lambda args: True, help=[
        (N_("/nexo crisis CLIENT [sev:1|2|3] WHAT IS HAPPENING"),
         N_("declare a reputation crisis: page the client's people until someone acknowledges")),
        (N_("/nexo crisis CLIENT update TEXT | ack | resolve | release"),
         N_("post news on the open crisis, take it, close it, release the posts it held")),
        (N_("/nexo crisis CLIENT watch #channel keywords:\"a,b\" threshold:5/10m | watch off"),
         N_("suggest a crisis when a client's keywords spike in a channel")),
        (N_("/nexo crisis CLIENT oncall URL key:KEY [type:pagerduty|webhook] | oncall off"),
         N_("also page an on-call service (PagerDuty or a signed webhook)")),
        (N_("/nexo report CLIENT crises"), N_("past crises: time to acknowledge and to resolve, steps, held posts")),
    ])

    @app.shortcut(ids.FLAG_SHORTCUT)
    def flag_issue(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
                   ) -> None:
        ack()
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id") or ""
        message = body.get("message") or {}
        ts = str(message.get("ts") or body.get("message_ts") or "")
        t = ctx.translator_for("en")
        try:
            actor = ctx.actor(user, body["user"].get("team_id"), agency_team_id(context))
            t = ctx.translator_for(actor.language)
            with ctx.db.transaction() as session:
                options = [(c.id, c.name) for c in plans.visible_clients(session, actor)]
                here = plans.client_for_channel(session, channel) if channel else None
            if not options:
                raise NotAllowed(N_("You can't see any client, so there is nothing to flag."))
            meta = {"channel": channel, "ts": ts}
            args = {"clients": options, "selected": here.id if here else None,
                    "description": message.get("text") or ""}
            # The trigger lives 3 seconds: open the modal first, fetch the permalink after.
            opened = client.views_open(trigger_id=body["trigger_id"], view=blocks.declare_modal(
                t, permalink=None, metadata=meta, **args))["view"]
        except Exception as exc:
            respond(text=polite_error(exc, t, where="flag"), response_type="ephemeral", replace_original=False)
            return
        try:
            link = client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"]
            client.views_update(view_id=opened["id"], hash=opened.get("hash"), view=blocks.declare_modal(
                t, permalink=link, metadata={**meta, "link": link}, **args))
        except SlackClientError:
            log.info("permalink not added to the crisis modal", extra={"channel": channel})

    @app.view(ids.DECLARE_MODAL)
    def declare_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
        user = body["user"]["id"]
        t = ctx.translator_for("en")
        block = ids.DESCRIPTION
        try:
            actor = ctx.actor(user, body["user"].get("team_id"), agency_team_id(context))
            t = ctx.translator_for(actor.language)
            client_id, severity, description = blocks.read_modal(view.get("state", {}).get("values", {}))
            if client_id is None:
                block = ids.CLIENT
                raise UserError(N_("Pick the client this is about."))
            meta = _metadata(view)
            if meta["channel"] and meta["ts"] and not meta["link"]:
                meta["link"] = _permalink(ctx, meta["channel"], meta["ts"])
            langs = client_languages(ctx, client_id)
            with ctx.db.transaction() as session:
                block = ids.CLIENT
                client = plans.resolve_client_by_id(session, actor, client_id)
                block = ids.DESCRIPTION
                now = ctx.clock.now()
                crisis = service.declare(
                    session, actor=actor, client=client, severity=severity, description=description, now=now,
                    language_of=langs.get, source=CrisisSource.SHORTCUT if meta["ts"] else CrisisSource.COMMAND,
                    source_link=meta["link"], source_channel=meta["channel"], source_ts=meta["ts"])
                text = declared_text(crisis, client.name, t)
                enqueue_post(session, now=now, to=user, text=text, blocks=[blocks.section(text)])
        except UserError as exc:
            ack(response_action="errors", errors={block: polite_error(exc, t, where="crisis_modal")})
            return
        except Exception as exc:
            ack(response_action="errors", errors={ids.DESCRIPTION: polite_error(exc, t, where="crisis_modal")})
            return
        ack()


def _metadata(view: dict[str, Any]) -> dict[str, str | None]:
    """The modal's private_metadata, checked: it comes back from the client."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except (ValueError, RecursionError):
        meta = {}
    meta = meta if isinstance(meta, dict) else {}
    channel, ts, link = (str(meta.get(k) or "") for k in ("channel", "ts", "link"))
    return {
        "channel": channel if SOURCE_CHANNEL.match(channel) else None,
        "ts": ts if SOURCE_TS.match(ts) else None,
        "link": link if link.startswith("https://") and len(link) <= 500 and " " not in link else None,
    }


def _permalink(ctx: AppContext, channel: str, ts: str) -> str | None:
    try:
        link = ctx.client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"]
    except (SlackApiError, SlackClientError):
        return None
    return link if isinstance(link, str) and link.startswith("https://") else None
