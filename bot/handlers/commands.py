"""The ``/nexo`` slash command: split off the subcommand and hand it to its handler.

Subcommand handlers do their (fast, database-only) work and return a
:class:`Reply`, which goes back in the acknowledgement itself: no extra Slack
call, and the user sees the answer even when the Web API is slow. Anything
they owe other people goes through the outbox after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.request.payload_utils import is_slash_command
from slack_sdk import WebClient

from bot import messages
from bot.access import Actor
from bot.context import AppContext
from bot.errors import UserError
from bot.handlers.errors import polite_error
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

    def add(self, name: str, handler: Subcommand, *, help: list[tuple[str, str]], aliases: tuple[str, ...] = ()
            ) -> None:
        """Route ``name`` (and ``aliases``) to ``handler``; ``help`` holds (usage, summary) msgids."""
        for key in (name, *aliases):
            self.handlers[key] = handler
        self.usage.extend(help)

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


def register(app: App, ctx: AppContext, router: CommandRouter) -> None:
    def nexo_command(ack: Ack, command: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        name, _, args = (command.get("text") or "").strip().partition(" ")
        t = ctx.translator_for("en")
        try:
            actor = ctx.actor(command["user_id"], command.get("team_id"), agency_team_id(context))
            t = ctx.translator_for(actor.language)
            request = CommandRequest(ctx, actor, args.strip(), command.get("channel_id", ""),
                                     command.get("trigger_id", ""), command.get("response_url", ""), client, t)
            reply = router.dispatch(name, request)
        except Exception as exc:  # every failure becomes a polite ephemeral answer
            reply = Reply(text=polite_error(exc, t, where=f"/nexo {name[:20]}"))
        ack(**reply.ack_kwargs())

    @app.middleware
    def answer_nexo_on_request_thread(req: BoltRequest, next: Callable[[], None]) -> BoltResponse | None:
        """``/nexo`` does its work before it acks (the reply is the ack), so it runs right here.

        As a Bolt listener it would run on Bolt's listener pool (5 threads) while the request's own
        thread polled for the ack every 10 ms (``process_before_response=False``), so each command
        held a server thread for a multiple of 10 ms and waited for a free listener thread under
        load. Buttons, views and events still go through listeners (ack first, then work).
        """
        body = req.body
        if not is_slash_command(body) or body.get("command") != "/nexo":
            return next()
        ack = Ack()
        nexo_command(ack, body, req.context, req.context.client)
        return ack.response
