"""``/nexo crisis …``, the **Flag reputation issue** message shortcut and its form, the crisis buttons,
and the message listener that feeds crisis threads and detection."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackClientError
from sqlalchemy.orm import Session

from bot.approvals import webhook
from bot.blockkit import mentions, section
from bot.crises import blocks, detection, holds, ids, oncall, paging, report, service, timeline, timeline_blocks
from bot.crises import report_blocks as crisis_report_blocks
from bot.crises.models import Crisis, CrisisSource
from bot.db import row_id
from bot.delivery.outbox import enqueue_post
from bot.errors import NotAllowed, NotFound, UserError
from bot.i18n import N_, Translator
from bot.plans import service as plans
from bot.plans.durations import format_duration
from bot.plans.spec import split_words
from bot.slack.listeners import Action, Event, Registration, Shortcut, Subcommand, View
from bot.slack.request import Reply, Request

log = logging.getLogger(__name__)

SEVERITY = re.compile(r"^(?:sev|severity|gravedad)\s*[:=]?\s*([123])$", re.IGNORECASE)
SEVERITY_OPTION = re.compile(r"^(?:sev|severity|gravedad)\s*[:=]", re.IGNORECASE)  # "sev:9" is no description
SOURCE_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,30}$")
SOURCE_TS = re.compile(r"^\d{1,12}\.\d{1,8}$")


# -- /nexo crisis ----------------------------------------------------------------------------------
def crisis_command(req: Request) -> Reply | None:
    """``/nexo crisis VERB CLIENT …``, verb first as in ``/nexo client VERB NAME``; the older order
    ``/nexo crisis CLIENT VERB …`` is still understood. A first word that is a verb is read as one, so a
    client called "Update" is named in quotes or as ``/nexo crisis update "Update" …``."""
    if not req.args:
        _open_declare_form(req, client_id=None)
        return None
    verb, _, after = req.args.strip().partition(" ")
    if after.strip() and (verb.lower() in ACTIONS or verb.lower() in DECLARE):
        name, rest = _split_client(after)
        subcommand = ACTIONS.get(verb.lower(), crisis_declare)
        return subcommand(req, name, rest)
    name, rest = _split_client(req.args)
    action, _, tail = rest.partition(" ")
    verb_after = ACTIONS.get(action.lower())
    if verb_after is not None:
        return verb_after(req, name, tail.strip())
    return crisis_declare(req, name, rest)


def crisis_declare(req: Request, name: str, rest: str) -> Reply | None:
    severity, description = _severity_and_text(rest)
    client = plans.resolve_client(req.session, req.actor, name)
    req.about(client.current_plan)
    if not description:
        _open_declare_form(req, client_id=client.id)
        return None
    crisis = service.declare(
        req.session,
        actor=req.actor,
        client=client,
        severity=severity,
        description=description,
        now=req.now,
        source=CrisisSource.COMMAND,
        source_channel=req.channel_id or None,
    )
    tell_the_tool_after_commit(req, crisis.id)
    text = declared_text(req.session, crisis, client.name, req.t)
    return Reply(text=text, blocks=[section(text)])


def tell_the_tool_after_commit(req: Request, crisis_id: int) -> None:
    """What a crisis owes the publishing tool (holds, releases) is tried right after the commit, in the
    background; the webhook sweep retries whatever that leaves."""
    owed = holds.pending_news(req.session, crisis_id)
    if owed:
        db, clock = req.app.db, req.app.clock
        req.after_commit(lambda: webhook.first_attempt(db, clock, owed), background=True)


def declared_text(session: Session, crisis: Crisis, client_name: str, t: Translator) -> str:
    """The declarer's answer: who is paged now and next, and what was held where."""
    text = t(
        N_(
            "🚨 Crisis declared for *{client}* ({severity}). Paging now: {people}. Pages repeat every {repeat} "
            "until someone acknowledges."
        ),
        client=client_name,
        severity=blocks.severity(crisis.severity, t),
        people=mentions(crisis.recipients),
        repeat=format_duration(paging.repeat_interval(crisis)),
    )
    if len(crisis.chain) > 1:
        text += " " + t(
            N_("After {window} without an acknowledgement I also page {people}."),
            window=format_duration(paging.window(crisis)),
            people=mentions(crisis.chain[1]),
        )
    in_nexo, paused = holds.where_held(session, crisis.id)
    if in_nexo or paused:
        text += " " + t(N_("Scheduled posts: {where}."), where=blocks.where_held(in_nexo, paused, t))
    return text


def crisis_update(req: Request, name: str, rest: str) -> Reply:
    client = plans.resolve_client(req.session, req.actor, name)
    crisis = service.post_update(req.session, actor=req.actor, client=client, text=rest, now=req.now)
    count = len(paging.everyone_paged(req.session, crisis))
    return Reply(
        text=req.t.ngettext(
            "📣 Update sent to the person paged for *{client}*.",
            "📣 Update sent to the {n} people paged for *{client}*.",
            count,
            client=client.name,
        )
    )


def crisis_ack(req: Request, name: str, rest: str) -> Reply:
    client = plans.resolve_client(req.session, req.actor, name)
    crisis = service.require_active(req.session, client)
    service.acknowledge(req.session, actor=req.actor, crisis_id=crisis.id, now=req.now)
    return Reply(
        text=req.t(
            N_("✅ You acknowledged the crisis for *{client}*. Pages stopped; everyone paged knows you have it."),
            client=client.name,
        )
    )


def crisis_resolve(req: Request, name: str, rest: str) -> Reply:
    client = plans.resolve_client(req.session, req.actor, name)
    crisis = service.require_active(req.session, client)
    service.resolve(req.session, actor=req.actor, crisis_id=crisis.id, now=req.now, note=rest or None)
    return Reply(
        text=req.t(
            N_("✔️ The crisis for *{client}* is resolved. The post-crisis report is on its way to the account lead."),
            client=client.name,
        )
    )


def crisis_release(req: Request, name: str, rest: str) -> Reply:
    client = plans.resolve_client(req.session, req.actor, name)
    crisis = service.last_with_holds(req.session, client)
    refs = service.release_holds(req.session, actor=req.actor, crisis_id=crisis.id, now=req.now)
    tell_the_tool_after_commit(req, crisis.id)
    return Reply(text=blocks.release_answer(client.name, refs, req.actor.user_id, True, req.t))


def crisis_watch(req: Request, name: str, rest: str) -> Reply:
    channel, keywords, threshold, window = detection.parse_watch(split_words(rest))
    client = plans.resolve_client(req.session, req.actor, name)
    detection.configure_watch(
        req.session,
        actor=req.actor,
        client=client,
        channel=channel,
        keywords=keywords,
        threshold=threshold,
        window_minutes=window,
        now=req.now,
    )
    if channel is None:
        return Reply(text=req.t(N_("I stopped listening for crises of *{client}*."), client=client.name))
    return Reply(
        text=req.t(
            N_(
                "👂 Listening to <#{channel}> for *{client}*: {threshold} messages with “{keywords}” "
                "within {window} suggest a crisis to the account lead."
            ),
            channel=channel,
            client=client.name,
            threshold=threshold,
            keywords=", ".join(keywords),
            window=format_duration(timedelta(minutes=window)),
        )
    )


def crisis_oncall(req: Request, name: str, rest: str) -> Reply:
    words = split_words(rest)
    target = None
    if not words:
        raise UserError(
            N_(
                "Give the on-call URL: `/nexo crisis oncall CLIENT URL key:KEY [type:pagerduty|webhook]`, "
                "or `oncall off`."
            )
        )
    if words[0].lower() not in ("off", "none", "apagar"):
        options = dict(w.split(":", 1) for w in words[1:] if ":" in w)
        target = oncall.parse_target(
            words[0], key=options.get("key") or options.get("clave"), kind=options.get("type") or options.get("tipo")
        )
    client = plans.resolve_client(req.session, req.actor, name)
    oncall.configure(req.session, actor=req.actor, client=client, target=target, now=req.now)
    if target is None:
        return Reply(text=req.t(N_("Crises of *{client}* no longer page an on-call service."), client=client.name))
    kind, url, key = target
    if kind == oncall.PAGERDUTY:
        return Reply(
            text=req.t(
                N_("Crises of *{client}* will also page PagerDuty ({url}) with dedup key nexo-crisis-ID."),
                client=client.name,
                url=url,
            )
        )
    return Reply(
        text=req.t(
            N_(
                "Crises of *{client}* will also call {url}. Each request is signed: header "
                "X-Nexo-Signature: sha256=HMAC-SHA256 of the body with this secret (shown once): "
                "`{secret}`"
            ),
            client=client.name,
            url=url,
            secret=key,
        )
    )


def crisis_timeline(req: Request, name: str, rest: str) -> Reply:
    """``/nexo crisis timeline CLIENT``: the open (else the latest) crisis, event by event. Agency only."""
    if not req.actor.is_agency:
        raise NotAllowed(N_("Only agency members can read a crisis timeline."))
    client = plans.resolve_client(req.session, req.actor, name)
    crisis = timeline.shown_crisis(req.session, client.id)
    if crisis is None:
        raise NotFound(N_("*{client}* has had no crises. 🎉"), client=client.name)
    text, shown = timeline_blocks.timeline_message(crisis, client.name, timeline.events(req.session, crisis.id), req.t)
    return Reply(text=text, blocks=shown)


def crisis_history(req: Request, name: str, rest: str) -> Reply:
    return crises_report(req, name)


def crises_report(req: Request, name: str) -> Reply:
    """The client's past crises with their figures: ``/nexo report CLIENT crises`` (the reports command
    calls this) and ``/nexo crisis CLIENT report``."""
    client = plans.resolve_client(req.session, req.actor, name)
    if not plans.can_view(req.actor, plans.current_plan(client)):
        raise NotFound(N_("That client no longer exists or isn't visible to you."))
    text, list_blocks = crisis_report_blocks.crises_list(client.name, report.past_crises(req.session, client.id), req.t)
    return Reply(text=text, blocks=list_blocks)


CrisisVerb = Callable[[Request, str, str], Reply | None]  # (request, client name, the rest)
ACTIONS: dict[str, CrisisVerb] = {
    "update": crisis_update,
    "actualizar": crisis_update,
    "novedad": crisis_update,
    "ack": crisis_ack,
    "acknowledge": crisis_ack,
    "atender": crisis_ack,
    "resolve": crisis_resolve,
    "resolved": crisis_resolve,
    "resolver": crisis_resolve,
    "release": crisis_release,
    "liberar": crisis_release,
    "watch": crisis_watch,
    "vigilar": crisis_watch,
    "oncall": crisis_oncall,
    "guardia": crisis_oncall,
    "timeline": crisis_timeline,
    "cronologia": crisis_timeline,
    "cronología": crisis_timeline,
    "report": crisis_history,
    "history": crisis_history,
    "informe": crisis_history,
}
DECLARE = {"declare", "declarar"}


def _split_client(args: str) -> tuple[str, str]:
    args = args.strip()
    if args[:1] in ('"', "“"):
        end = re.search(r'["”]', args[1:])
        if end:
            return args[1 : end.start() + 1], args[end.start() + 2 :].strip()
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


def _declarable_clients(req: Request) -> list[tuple[int, str]]:
    options = [(c.id, c.name) for c in plans.visible_clients(req.session, req.actor)]
    if not options:
        raise NotAllowed(N_("You can't see any client, so there is nothing to flag."))
    return options


def _open_declare_form(req: Request, *, client_id: int | None) -> None:
    options = _declarable_clients(req)
    if client_id is None and req.channel_id:
        here = plans.client_for_channel(req.session, req.channel_id)
        client_id = here.id if here is not None else None
    req.open_form(
        blocks.declare_modal(
            req.t,
            clients=options,
            selected=client_id,
            description="",
            permalink=None,
            metadata=_source({"channel": req.channel_id}),
        )
    )


# -- the shortcut and its form ---------------------------------------------------------------------
def flag_issue(req: Request) -> None:
    """The message shortcut: the form, prefilled with the message and the channel's client."""
    message = req.body.get("message") or {}
    channel, ts = req.channel_id, str(message.get("ts") or req.body.get("message_ts") or "")
    options = _declarable_clients(req)
    here = plans.client_for_channel(req.session, channel) if channel else None
    form = {"clients": options, "selected": here.id if here else None, "description": message.get("text") or ""}
    source = _source({"channel": channel, "ts": ts})
    t = req.t
    req.after_commit(lambda: _open_then_link(req, t, form, source, channel, ts))


def _open_then_link(
    req: Request, t: Translator, form: dict[str, Any], source: dict[str, str | None], channel: str, ts: str
) -> None:
    """The trigger lives 3 seconds: open the form first, then add the message's permalink to it (the
    inputs keep what the person typed meanwhile)."""
    opened = req.client.views_open(
        trigger_id=req.trigger_id, view=blocks.declare_modal(t, permalink=None, metadata=source, **form)
    )["view"]
    try:
        link = req.client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"]
        req.client.views_update(
            view_id=opened["id"],
            hash=opened.get("hash"),
            view=blocks.declare_modal(t, permalink=link, metadata={**source, "link": link}, **form),
        )
    except SlackClientError:
        log.info("permalink not added to the crisis modal", extra={"channel": channel})


def declare_submitted(req: Request) -> None:
    client_id, severity, description = blocks.read_modal(req.view)
    source = _source(req.metadata)
    if client_id is not None and source["channel"] and source["ts"] and not source["link"]:
        # Submitted before the permalink was added. Asked before the first query, so no database
        # transaction has begun yet (the session begins lazily).
        source["link"] = _permalink(req, source["channel"], source["ts"])
    client = service.client_to_declare_for(req.session, req.actor, client_id)
    crisis = service.declare(
        req.session,
        actor=req.actor,
        client=client,
        severity=severity,
        description=description,
        now=req.now,
        source=CrisisSource.SHORTCUT if source["ts"] else CrisisSource.COMMAND,
        source_link=source["link"],
        source_channel=source["channel"],
        source_ts=source["ts"],
    )
    tell_the_tool_after_commit(req, crisis.id)
    text = declared_text(req.session, crisis, client.name, req.t)
    enqueue_post(req.session, now=req.now, to=req.user_id, text=text, blocks=[section(text)])


def _source(meta: dict[str, Any]) -> dict[str, str | None]:
    """The flagged message (channel, ts, permalink) from the form's metadata, checked: it comes back
    from the client."""
    channel, ts, link = (str(meta.get(k) or "") for k in ("channel", "ts", "link"))
    return {
        "channel": channel if SOURCE_CHANNEL.match(channel) else None,
        "ts": ts if SOURCE_TS.match(ts) else None,
        "link": link if link.startswith("https://") and len(link) <= 500 and " " not in link else None,
    }


def _permalink(req: Request, channel: str, ts: str) -> str | None:
    try:
        link = req.client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"]
    except SlackClientError:
        return None
    return link if isinstance(link, str) and link.startswith("https://") else None


# -- buttons (value: a crisis id, or a step id for Done) -------------------------------------------
def acknowledge(req: Request) -> None:
    actor = req.actor  # before the first query: finding out who clicked may write to the people table
    paging.require_live_page(req.session, *req.message)  # not a page that a newer one replaced
    service.acknowledge(req.session, actor=actor, crisis_id=row_id(req.value), now=req.now)


def resolve(req: Request) -> None:
    actor = req.actor
    paging.require_live_page(req.session, *req.message)
    service.resolve(req.session, actor=actor, crisis_id=row_id(req.value), now=req.now)


def step_done(req: Request) -> None:
    service.tick_step(req.session, actor=req.actor, step_id=row_id(req.value), now=req.now)


def declare_suggested(req: Request) -> None:
    crisis = service.confirm_suggestion(req.session, actor=req.actor, crisis_id=row_id(req.value), now=req.now)
    tell_the_tool_after_commit(req, crisis.id)


def dismiss_suggested(req: Request) -> None:
    service.dismiss_suggestion(req.session, actor=req.actor, crisis_id=row_id(req.value), now=req.now)


def release_held(req: Request) -> None:
    service.release_holds(req.session, actor=req.actor, crisis_id=row_id(req.value), now=req.now)
    tell_the_tool_after_commit(req, row_id(req.value) or 0)


def keep_held(req: Request) -> None:
    service.keep_holds(req.session, actor=req.actor, crisis_id=row_id(req.value), now=req.now)


# -- messages --------------------------------------------------------------------------------------
def observe_for_crises(req: Request) -> None:
    """Every message event: a person's reply in a crisis thread goes on its timeline, and a message in a
    listening channel is counted for detection. Anything else (bots, edits, joins) is left alone."""
    event = req.event
    user, channel, ts = event.get("user"), event.get("channel"), event.get("ts")
    if event.get("bot_id") or event.get("subtype") not in (None, "thread_broadcast") or not (user and channel and ts):
        return
    text = str(event.get("text") or "")
    thread_ts = event.get("thread_ts")
    if thread_ts and thread_ts != ts:
        timeline.record_thread_message(
            req.session, channel=channel, thread_ts=thread_ts, ts=ts, user=user, text=text, now=req.now
        )
    detection.record_message(req.session, channel=channel, ts=ts, text=text, now=req.now)


LISTENERS: list[Registration] = [
    # Most forms of /nexo crisis can open a form, and a crisis is rare and urgent: always done at once.
    Subcommand(
        "crisis",
        crisis_command,
        deferrable=False,
        help=[
            (
                N_("/nexo crisis [declare] CLIENT [sev:1|2|3] WHAT IS HAPPENING"),
                N_("declare a reputation crisis: page the client's people until someone acknowledges"),
            ),
            (
                N_("/nexo crisis update CLIENT TEXT | ack CLIENT | resolve CLIENT | release CLIENT"),
                N_("post news on the open crisis, take it, close it, release the posts it held"),
            ),
            (
                N_("/nexo crisis timeline CLIENT"),
                N_(
                    "the open or latest crisis event by event: pages, acknowledgement, steps, updates, holds "
                    "(agency only)"
                ),
            ),
            (
                N_('/nexo crisis watch CLIENT #channel keywords:"a,b" threshold:5/10m | watch CLIENT off'),
                N_("suggest a crisis when a client's keywords spike in a channel"),
            ),
            (
                N_("/nexo crisis oncall CLIENT URL key:KEY [type:pagerduty|webhook] | oncall CLIENT off"),
                N_("also page an on-call service (PagerDuty or a signed webhook)"),
            ),
            (
                N_("/nexo report CLIENT crises"),
                N_("past crises: time to acknowledge and to resolve, steps, held posts"),
            ),
        ],
    ),
    Shortcut(ids.FLAG_SHORTCUT, flag_issue),
    View(
        ids.DECLARE_MODAL,
        declare_submitted,
        fields={"client": ids.CLIENT, "description": ids.DESCRIPTION},
        fallback=ids.DESCRIPTION,
    ),
    Action(ids.ACKNOWLEDGE, acknowledge, deferrable=True),
    Action(ids.RESOLVE, resolve, deferrable=True),
    Action(ids.STEP_DONE, step_done, deferrable=True),
    Action(ids.DECLARE_SUGGESTED, declare_suggested, deferrable=True),
    Action(ids.DISMISS_SUGGESTED, dismiss_suggested, deferrable=True),
    Action(ids.RELEASE_HELD, release_held, deferrable=True),
    Action(ids.KEEP_HELD, keep_held, deferrable=True),
    Event("message", observe_for_crises),
]
