"""The listener table, and the one place that attaches it to Bolt.

Every listener is a top-level function of one argument, a :class:`~bot.slack.request.Request`, and is
registered in its domain's table (``LISTENERS`` in each :mod:`bot.handlers` module)::

    LISTENERS = [
        Action(ids.APPROVE, approve, deferrable=True),
        View(ids.COMMENT_MODAL, comment_submitted, fields={"comment": ids.COMMENT}),
        Subcommand("draft", draft_command, help=[...], deferrable=draft_is_typed_in_full),
    ]

:func:`mount` gives every listener the same frame, so none of them opens a transaction or catches
an exception:

1. A Bolt middleware builds the request's :class:`Request` (``context["nexo"]``): the payload, the
   actor and their translator (looked up on first use), the clock's time.
2. The listener runs inside one unit of work: ``req.session`` commits when it returns and rolls back
   if it raises. Slack calls it asks for (``req.open_form``, ``req.after_commit``) run after the commit.
3. One error wrapper answers a failure on the surface it came from: a command gets an ephemeral reply,
   a form gets ``response_action=errors`` on the field the error is about (``View.fields``), a click
   gets a message only the clicker sees. An unexpected error becomes one polite message with a
   reference code, logged once (:func:`bot.slack.failures.polite_error`).
4. ``deferrable=True``: the click (or the typed command) is stored in the inbox before the ack and
   done from there exactly once, here right after the ack or by the worker
   (:mod:`bot.delivery.inbox`). The inbox key is the action id, or ``/nexo <subcommand>``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk.webhook import WebhookClient
from sqlalchemy.exc import SQLAlchemyError

from bot import messages
from bot.delivery.inbox import AlreadyDone, DeferredRun
from bot.delivery.outbox import enqueue_ephemeral, enqueue_post, enqueue_response
from bot.errors import UserError
from bot.i18n import N_, Translator, translator
from bot.slack.failures import REQUEST, describe, polite_error, response_url_usable, retry_later
from bot.slack.request import Reply, Request

if TYPE_CHECKING:
    from bot.context import AppContext

log = logging.getLogger(__name__)

Listener = Callable[[Request], Any]


# -- the table -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Action:
    """A button (or other block element). ``deferrable``: it opens no form, so it is stored before its
    ack and may be done by the worker."""

    action_id: str
    fn: Listener
    deferrable: bool = False


@dataclass(frozen=True)
class View:
    """A form's submission. ``fn`` returns None (close the form) or the ack's arguments (e.g. an
    ``update``). A :class:`UserError` whose ``field`` is in ``fields`` is shown on that input block;
    any other failure on ``fallback`` (a block id), or, without one, in place of the form."""

    callback_id: str
    fn: Listener
    fields: Mapping[str, str] = field(default_factory=dict)
    fallback: str | None = None
    # Asks Slack what the listener needs (say, files.info) before the unit of work opens, since no
    # Slack call is made while it holds its locks; it leaves what it found in ``req.prepared``.
    prepare: Listener | None = None


@dataclass(frozen=True)
class Shortcut:
    """A global or message shortcut (``callback_id`` as in ``manifest.json``)."""

    callback_id: str
    fn: Listener


@dataclass(frozen=True)
class Event:
    """An Events API event. Every listener of a type gets every event of it, in table order (each in
    its own unit of work), and decides from ``req.event`` whether it concerns it."""

    type: str
    fn: Listener


@dataclass(frozen=True)
class Subcommand:
    """``/nexo <name> …``. ``fn`` returns the :class:`Reply`. ``deferrable`` (or, given the arguments,
    ``deferrable(args)``): the web process may store it and leave it to the worker, because it opens no
    form (a trigger id lives 3 seconds) and its answer holds no secret (it would be stored)."""

    name: str
    fn: Listener
    help: Sequence[tuple[str, str]] = ()
    aliases: tuple[str, ...] = ()
    deferrable: bool | Callable[[str], bool] = True

    @property
    def key(self) -> str:
        """Its inbox key."""
        return f"{COMMAND} {self.name}"

    def defers(self, args: str) -> bool:
        return self.deferrable(args.strip()) if callable(self.deferrable) else self.deferrable


Registration = Action | View | Shortcut | Event | Subcommand
COMMAND = "/nexo"
HELP_WORDS = ("", "help", "ayuda", "?")
UNKNOWN_COMMAND = N_("I don't know the command “{name}”. Type `/nexo help` to see what I can do.")


@dataclass
class Commands:
    """The ``/nexo`` subcommands by name (and alias), with the usage lines of ``/nexo help``."""

    subcommands: list[Subcommand]

    def __post_init__(self) -> None:
        self.by_name: dict[str, Subcommand] = {}
        for sub in self.subcommands:
            for key in (sub.name, *sub.aliases):
                if key in self.by_name:
                    raise ValueError(f"/nexo {key} is registered twice")
                self.by_name[key] = sub

    @property
    def usage(self) -> list[tuple[str, str]]:
        return [line for sub in self.subcommands for line in sub.help]

    def find(self, name: str) -> Subcommand | None:
        return self.by_name.get(name.lower())

    def deferrable(self, name: str, args: str) -> bool:
        """Whether ``/nexo name args`` may be stored and left to the worker (help and unknown names
        are answered at once: they need no database)."""
        sub = self.find(name)
        return sub is not None and sub.defers(args)


def split_command(text: str) -> tuple[str, str]:
    name, _, args = (text or "").strip().partition(" ")
    return name, args.strip()


# -- attaching it to Bolt ---------------------------------------------------------------------------------
def mount(app: App, ctx: AppContext, table: Sequence[Registration]) -> Commands:
    """Register every listener of ``table`` on ``app`` (and its deferrable work in ``ctx.inbox``)."""
    commands = Commands([r for r in table if isinstance(r, Subcommand)])
    frame = _Frame(ctx, commands)
    app.middleware(frame.middleware)
    app.command(COMMAND)(frame.command_listener(commands))
    for sub in commands.subcommands:
        ctx.inbox.register(sub.key, frame.deferred_command(sub))
    events: dict[str, list[Event]] = {}
    for reg in table:
        if isinstance(reg, Action):
            app.action(reg.action_id)(frame.click_listener(reg.action_id, reg.fn, deferrable=reg.deferrable))
            if reg.deferrable:
                ctx.inbox.register(reg.action_id, frame.deferred_click(reg.action_id, reg.fn))
        elif isinstance(reg, View):
            app.view(reg.callback_id)(frame.form_listener(reg))
        elif isinstance(reg, Shortcut):
            app.shortcut(reg.callback_id)(frame.click_listener(reg.callback_id, reg.fn, deferrable=False))
        elif isinstance(reg, Event):
            events.setdefault(reg.type, []).append(reg)
    for kind, listeners in events.items():
        app.event(kind)(frame.event_listener(listeners))
    return commands


@contextlib.contextmanager
def _logged_as_deferred(body: dict[str, Any]) -> Iterator[None]:
    """While a deferred request runs, log lines name who sent it (as the web process had it)."""
    token = REQUEST.set({**describe(body), "deferred": True})
    try:
        yield
    finally:
        REQUEST.reset(token)


def agency_team_id(context: BoltContext) -> str | None:
    result = context.authorize_result
    return result.team_id if result is not None else context.team_id


class _Frame:
    """The middleware, unit of work and error wrapper every listener runs in."""

    def __init__(self, ctx: AppContext, commands: Commands) -> None:
        self.ctx = ctx
        self.commands = commands

    def request(self, body: dict[str, Any], agency_team: str | None, *, run: DeferredRun | None = None) -> Request:
        args = split_command(body.get("text") or "")[1] if "command" in body else ""
        req = Request(self.ctx, body, agency_team=agency_team, client=self.ctx.client, args=args, run=run)
        req.commands = self.commands
        return req

    def middleware(self, body: dict[str, Any], context: BoltContext, next: Callable[[], None]) -> None:
        context["nexo"] = self.request(body, agency_team_id(context))
        next()

    # -- the unit of work ---------------------------------------------------------------------------------
    def run(self, req: Request, fn: Listener, *, prepare: Listener | None = None) -> tuple[Any, BaseException | None]:
        """``prepare(req)`` (Slack calls), then ``fn(req)`` in one transaction, then its after-commit calls.
        Returns (result, failure)."""
        try:
            if req.user_id and req.event.get("type") != "message":
                # Who acts is looked up (users.info, remembered) before the transaction opens: Slack is
                # not called while this unit of work holds its locks. (Plain channel messages never need it.)
                req.actor  # noqa: B018
            if prepare is not None:
                prepare(req)
            with self.ctx.db.transaction() as session:
                req.begin(session)
                result = fn(req)
                if req.run is not None:
                    self.ctx.inbox.finish(session, req.run)
            req._session = None
            for follow_up in req._after_commit:
                follow_up()
            return result, None
        except AlreadyDone:
            raise
        except Exception as exc:
            return None, exc
        finally:
            req._session = None
            req._after_commit.clear()

    # -- clicks and shortcuts ----------------------------------------------------------------------------
    def click_listener(self, where: str, fn: Listener, *, deferrable: bool) -> Callable[..., None]:
        def listener(ack: Ack, nexo: Request) -> None:
            if not deferrable:
                ack()
                self.click(nexo, fn, where)
                return
            try:
                row_id = self.ctx.inbox.store(where, nexo.body, agency_team=nexo.agency_team)
            except Exception as exc:  # not stored (the database is unreachable): say so, do nothing
                ack()
                self.refuse(nexo, exc, where)
                return
            ack()  # only now: what is acked is stored
            if not self.ctx.inbox.hands_off:
                self.ctx.inbox.run_stored(row_id, where, nexo.body, agency_team=nexo.agency_team)

        return listener

    def deferred_click(self, where: str, fn: Listener) -> Callable[[dict[str, Any], str | None, DeferredRun], None]:
        def work(body: dict[str, Any], agency_team: str | None, run: DeferredRun) -> None:
            with _logged_as_deferred(body):
                self.click(self.request(body, agency_team, run=run), fn, where)

        return work

    def click(self, req: Request, fn: Listener, where: str) -> None:
        _, failure = self.run(req, fn)
        if failure is not None:
            self.refuse(req, failure, where)

    def refuse(self, req: Request, exc: BaseException, where: str) -> None:
        """Tell only the clicker why nothing happened (through the outbox, so a Slack hiccup loses
        nothing): to the response_url while it lives, else ephemeral in the channel, else by DM."""
        if retry_later(exc):
            raise exc  # the worker could not reach the database: the request stays in the inbox
        text = polite_error(exc, self.translator(req), where=where)

        def owe_refusal(r: Request) -> None:  # in its own unit of work, which also ends a deferred request
            channel = r.message[0] or r.channel_id
            now = self.ctx.clock.now()
            if r.response_url and response_url_usable(now):
                enqueue_response(r.session, now=now, response_url=r.response_url, text=text)
            elif channel:
                enqueue_ephemeral(r.session, now=now, channel=channel, user=r.user_id, text=text)
            else:
                enqueue_post(r.session, now=now, to=r.user_id, text=text)

        _, failure = self.run(req, owe_refusal)
        if failure is None:
            return
        if req.run is not None or not isinstance(failure, SQLAlchemyError):
            raise failure  # in the worker: the request stays in the inbox and is done (or refused) next run
        # The database is what failed (the text says so), so the outbox can't hold the answer either:
        # answer straight through the response_url, once, rather than leave the click unanswered.
        self.answer_directly(req, text)

    @staticmethod
    def answer_directly(req: Request, text: str) -> None:
        if not req.response_url:
            return
        try:
            WebhookClient(req.response_url, timeout=3).send(
                text=text, replace_original=False, response_type="ephemeral"
            )
        except Exception:  # the last resort failed too: logged, nothing else can be done
            log.warning("could not tell the user the database is down", exc_info=True)

    def translator(self, req: Request) -> Translator:
        """The actor's translator, or English when even finding out who they are failed."""
        try:
            return req.t
        except Exception:
            return translator("en")

    # -- forms ----------------------------------------------------------------------------------------------
    def form_listener(self, reg: View) -> Callable[..., None]:
        def listener(ack: Ack, nexo: Request) -> None:
            answer, failure = self.run(nexo, reg.fn, prepare=reg.prepare)
            if failure is None:
                ack(**answer) if answer else ack()
                return
            t = self.translator(nexo)
            text = polite_error(failure, t, where=reg.callback_id)
            block = reg.fields.get(failure.field or "") if isinstance(failure, UserError) else None
            block = block or reg.fallback
            if block:
                ack(response_action="errors", errors={block: text})
            else:
                ack(response_action="update", view=messages.notice_modal(t, text))

        return listener

    # -- events ---------------------------------------------------------------------------------------------
    def event_listener(self, listeners: list[Event]) -> Callable[..., None]:
        def listener(nexo: Request) -> None:
            for reg in listeners:
                _, failure = self.run(nexo, reg.fn)
                if isinstance(failure, UserError):
                    log.info("event not taken", extra={"event": reg.type, "reason": failure.message})
                elif failure is not None:
                    polite_error(failure, translator("en"), where=f"event {reg.type}")  # logs it, once

        return listener

    # -- /nexo --------------------------------------------------------------------------------------------
    def command_listener(self, commands: Commands) -> Callable[..., None]:
        def listener(ack: Ack, nexo: Request) -> None:
            name, args = split_command(nexo.body.get("text") or "")
            sub = commands.find(name)
            if sub is not None and self.ctx.inbox.hands_off and sub.defers(args):
                try:
                    self.ctx.inbox.store(sub.key, nexo.body, agency_team=nexo.agency_team)
                except Exception as exc:  # not stored: say so, and don't do it here either
                    ack(**Reply(polite_error(exc, self.translator(nexo), where=COMMAND)).ack_kwargs())
                    return
                ack()  # the answer follows through the response_url, from the worker
                return
            ack(**self.answer(nexo, commands, name).ack_kwargs())

        return listener

    def answer(self, req: Request, commands: Commands, name: str) -> Reply:
        """What ``/nexo name …`` answers, done here and now (its work has committed when this returns)."""
        if name.lower() in HELP_WORDS:
            text, blocks = messages.help_message(commands.usage, self.translator(req))
            return Reply(text=text, blocks=blocks)
        sub = commands.find(name)
        if sub is None:
            return Reply(self.translator(req)(UNKNOWN_COMMAND, name=name[:40]))
        reply, failure = self.run(req, sub.fn)
        if failure is not None:
            if retry_later(failure):
                raise failure
            return Reply(polite_error(failure, self.translator(req), where=f"{COMMAND} {sub.name}"))
        return reply or Reply(text="")

    def deferred_command(self, sub: Subcommand) -> Callable[[dict[str, Any], str | None, DeferredRun], None]:
        """In the worker: the same answer, sent through the command's response_url (via the outbox), or to
        the person's DM when the request waited so long that the response_url may have expired. The
        answer is owed in the work's own transaction, so it is sent exactly when the work is done."""

        def with_answer(req: Request) -> None:
            reply = sub.fn(req) or Reply(text="")
            self.owe_answer(req, reply)

        def work(body: dict[str, Any], agency_team: str | None, run: DeferredRun) -> None:
            with _logged_as_deferred(body):
                req = self.request(body, agency_team, run=run)
                _, failure = self.run(req, with_answer)
                if failure is None:
                    return
                if retry_later(failure):
                    raise failure
                refusal = Reply(polite_error(failure, self.translator(req), where=sub.key))
                _, failure = self.run(req, lambda r: self.owe_answer(r, refusal))  # also ends the request
                if failure is not None:
                    raise failure  # not even the refusal could be stored: the request stays in the inbox

        return work

    def owe_answer(self, req: Request, reply: Reply) -> None:
        if reply.empty:
            return
        now = self.ctx.clock.now()
        if req.response_url and response_url_usable(now):
            enqueue_response(
                req.session,
                now=now,
                response_url=req.response_url,
                text=reply.text,
                blocks=reply.blocks,
                in_channel=reply.in_channel,
            )
        else:
            enqueue_post(req.session, now=now, to=req.user_id, text=reply.text, blocks=reply.blocks)
