"""The ``/nexo`` slash command: split off the subcommand and hand it to its handler.

Subcommand handlers do their (fast, database-only) work and return a
:class:`Reply`, which goes back in the acknowledgement itself: no extra Slack
call, and the user sees the answer even when the Web API is slow. Anything
they owe other people goes through the outbox after the commit.

When the web process hands work to the worker (PostgreSQL ``serve``, see
:mod:`bot.delivery.inbox`), a subcommand that opens no form and holds no secret
(``CommandRouter.deferrable``) is stored and acked empty instead; the worker runs
the same handler and sends its :class:`Reply` through the command's response_url.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.request.payload_utils import is_slash_command
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient
from sqlalchemy.exc import SQLAlchemyError

from bot import messages
from bot.access import Actor
from bot.context import AppContext
from bot.delivery.inbox import current_run
from bot.delivery.outbox import enqueue_post, enqueue_response
from bot.errors import UserError
from bot.handlers.errors import for_worker, polite_error, response_url_usable
from bot.i18n import N_, Translator

log = logging.getLogger(__name__)


@dataclass
class Reply:
    text: str
    blocks: list[dict[str, Any]] | None = None
    in_channel: bool = False

    def ack_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"text": self.text, "response_type": "in_channel" if self.in_channel else "ephemeral"}
        if self.blocks:
            kwargs["blocks"] = self.blocks
        return kwargs


@dataclass
class CommandRequest:
    app: AppContext
    actor: Actor
    args: str
    channel_id: str
    trigger_id: str
    response_url: str
    client: WebClient
    t: Translator

    def open_modal(self, view: dict[str, Any]) -> None:
        """Open a modal now (a trigger_id lives 3 seconds, so never through the outbox)."""
        self.client.views_open(trigger_id=self.trigger_id, view=view)


Subcommand = Callable[[CommandRequest], Reply | None]


@dataclass
class CommandRouter:
    """Subcommands by name, with the usage line each contributes to ``/nexo help``."""

    handlers: dict[str, Subcommand] = field(default_factory=dict)
    usage: list[tuple[str, str]] = field(default_factory=list)
    inline_when: dict[str, Callable[[str], bool]] = field(default_factory=dict)

    def add(self, name: str, handler: Subcommand, *, help: list[tuple[str, str]], aliases: tuple[str, ...] = (),
            inline_when: Callable[[str], bool] | None = None) -> None:
        """Route ``name`` (and ``aliases``) to ``handler``; ``help`` holds (usage, summary) msgids.

        ``inline_when(args)`` says (cheaply, without the database) whether the web process must answer
        those arguments itself rather than hand them to the worker: they may open a form (a
        ``trigger_id`` lives 3 seconds), or the answer holds a secret (the ack is the one place it may
        go; handed over, it would be stored in the inbox and the outbox).
        """
        for key in (name, *aliases):
            self.handlers[key] = handler
            if inline_when is not None:
                self.inline_when[key] = inline_when
        self.usage.extend(help)

    def deferrable(self, name: str, args: str) -> bool:
        """Whether ``/nexo name args`` may be acked at once and worked on by the worker (bot.delivery.inbox)."""
        key = name.lower()
        if key not in self.handlers:
            return False  # help, or an unknown name: answered at once, with no database work
        inline_when = self.inline_when.get(key)
        return not (inline_when and inline_when(args.strip()))

    def dispatch(self, name: str, request: CommandRequest) -> Reply:
        if not name or name in ("help", "ayuda", "?"):
            return help_reply(self, request.t)
        handler = self.handlers.get(name.lower())
        if handler is None:
            raise UserError(N_("I don't know the command “{name}”. Type `/nexo help` to see what I can do."),
                            name=name[:40])
        return handler(request) or Reply(text="")


def help_reply(router: CommandRouter, t: Translator) -> Reply:
    text, blocks = messages.help_message(router.usage, t)
    return Reply(text=text, blocks=blocks)


def agency_team_id(context: BoltContext) -> str | None:
    result = context.authorize_result
    return result.team_id if result is not None else context.team_id


DEFERRED_COMMAND = "/nexo"


def register(app: App, ctx: AppContext, router: CommandRouter) -> None:
    def answer(command: dict[str, Any], agency_team: str | None, client: WebClient) -> Reply:
        name, _, args = (command.get("text") or "").strip().partition(" ")
        t = ctx.translator_for("en")
        try:
            actor = ctx.actor(command["user_id"], command.get("team_id"), agency_team)
            t = ctx.translator_for(actor.language)
            request = CommandRequest(ctx, actor, args.strip(), command.get("channel_id", ""),
                                     command.get("trigger_id", ""), command.get("response_url", ""), client, t)
            return router.dispatch(name, request)
        except Exception as exc:  # every failure becomes a polite ephemeral answer
            return Reply(text=polite_error(exc, t, where=f"/nexo {name[:20]}"))

    def nexo_command(ack: Ack, command: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        reply = answer(command, agency_team_id(context), client)
        ack(**reply.ack_kwargs())

    def deferred_command(command: dict[str, Any], agency_team: str | None) -> None:
        """In the worker: the same answer, sent through the command's response_url (via the outbox), or
        to the person's DM when the request waited so long that the response_url may have expired."""
        reply = answer(command, agency_team, ctx.client)
        if not (reply.text or reply.blocks):
            return
        url, now = command.get("response_url"), ctx.clock.now()
        try:
            with ctx.db.transaction() as session:  # also ends the inbox row, if the answer changed nothing
                if url and response_url_usable(now):
                    enqueue_response(session, now=now, response_url=url, text=reply.text, blocks=reply.blocks,
                                     in_channel=reply.in_channel)
                else:
                    enqueue_post(session, now=now, to=command["user_id"], text=reply.text, blocks=reply.blocks)
        except SQLAlchemyError:
            run = current_run()
            if run is None or not run.finished or not url:
                raise  # nothing was done yet: the request stays in the inbox for the next run
            # The work is done but its answer can't be stored: send it straight away, once.
            WebhookClient(url, timeout=3).send(text=reply.text, blocks=reply.blocks, replace_original=False,
                                               response_type="in_channel" if reply.in_channel else "ephemeral")

    ctx.inbox.register(DEFERRED_COMMAND, for_worker(deferred_command))

    def defer(body: dict[str, Any], context: BoltContext) -> bool:
        """Store a command the worker can answer (bot.delivery.inbox); False: answer it here."""
        if not ctx.inbox.enabled:
            return False
        name, _, args = (body.get("text") or "").strip().partition(" ")
        if not router.deferrable(name, args):
            return False
        return ctx.inbox.defer(DEFERRED_COMMAND, body, agency_team=agency_team_id(context))

    @app.middleware
    def answer_nexo_on_request_thread(req: BoltRequest, next: Callable[[], None]) -> BoltResponse | None:
        """``/nexo`` is stored for the worker (when handed over), or does its work before it acks (the
        reply is the ack), so it runs right here.

        As a Bolt listener it would run on Bolt's listener pool (5 threads) while the request's own
        thread polled for the ack every 10 ms (``process_before_response=False``), so each command
        held a server thread for a multiple of 10 ms and waited for a free listener thread under
        load. Buttons, views and events still go through listeners (ack first, then work).
        """
        body = req.body
        if not is_slash_command(body) or body.get("command") != "/nexo":
            return next()
        try:
            if defer(body, req.context):
                return BoltResponse(status=200, body="")  # the answer follows through the response_url
        except Exception as exc:
            # Not stored (the database is unreachable): say so, and don't do it here either, since the
            # store may have committed before the error, and then the worker does it.
            user = ctx.users.get(str(body.get("user_id") or ""))
            t = ctx.translator_for(user.language if user else "en")
            ack = Ack()
            ack(**Reply(text=polite_error(exc, t, where="/nexo")).ack_kwargs())
            return ack.response
        ack = Ack()
        nexo_command(ack, body, req.context, req.context.client)
        return ack.response
