"""What a listener receives (:class:`Request`) and what a command listener returns (:class:`Reply`).

A :class:`Request` is built by the middleware for every payload (:mod:`bot.slack.listeners`). It
holds the payload, the unit of work's session (``req.session``, open for the listener's whole run
and committed when it returns), the acting person and their translator (looked up on first use, so a
click is acknowledged before Slack is asked who clicked), and the time the request is handled at.

Listeners never call Slack while the transaction is open: ``req.open_form(view)`` opens a modal right
after the commit, and ``req.after_commit(fn)`` runs any other follow-up then (in the background when
it may be slow).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from bot.access import Actor
from bot.blockkit import decode_metadata
from bot.i18n import Translator, translator
from bot.people import Audience, language_for

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from sqlalchemy.orm import Session

    from bot.context import AppContext
    from bot.delivery.inbox import DeferredRun
    from bot.people import Profile
    from bot.slack.listeners import Commands


@dataclass
class Reply:
    """A command's answer: shown to the person who typed it (or in the channel)."""

    text: str
    blocks: list[dict[str, Any]] | None = None
    in_channel: bool = False

    def ack_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"text": self.text, "response_type": "in_channel" if self.in_channel else "ephemeral"}
        if self.blocks:
            kwargs["blocks"] = self.blocks
        return kwargs

    @property
    def empty(self) -> bool:
        return not (self.text or self.blocks)


class Request:
    """One Slack request as a listener sees it."""

    def __init__(
        self,
        app: AppContext,
        body: dict[str, Any],
        *,
        agency_team: str | None,
        client: WebClient,
        args: str = "",
        run: DeferredRun | None = None,
    ) -> None:
        self.app = app
        self.body = body
        self.agency_team = agency_team
        self.client = client
        self.args = args  # a subcommand's arguments (after its name)
        self.run = run  # set when run from the inbox (after the ack, maybe by another process)
        self.commands: Commands | None = None  # the /nexo table (for help lines), set by the frame
        self.now: datetime = app.clock.now()
        self._session: Session | None = None
        self._after_commit: list[Callable[[], object]] = []
        self.prepared: dict[str, Any] = {}  # what a listener's ``prepare`` asked Slack (bot.slack.listeners.View)

    # -- who -------------------------------------------------------------------------------------
    @property
    def user_id(self) -> str:
        user = self.body.get("user")
        if isinstance(user, dict):
            return str(user.get("id") or "")
        return str(self.body.get("user_id") or (self.body.get("event") or {}).get("user") or "")

    @cached_property
    def actor(self) -> Actor:
        """The person acting (their language is their Slack locale, English when unknown)."""
        user = self.body.get("user")
        team = user.get("team_id") if isinstance(user, dict) else self.body.get("team_id")
        return self.app.actor(self.user_id, team, self.agency_team, session=self._session)

    def person(self, user_id: str) -> Profile | None:
        """Who ``user_id`` is, per Slack (remembered in the people table, through this unit of work)."""
        return self.app.users.get(user_id, session=self._session)

    @property
    def t(self) -> Translator:
        return translator(self.actor.language)

    def about(self, plan: Audience | None) -> None:
        """This request is about ``plan``'s client: an agency person whose Slack language Nexo does not
        speak reads the plan's language from now on (:func:`bot.people.language_for`)."""
        if plan is not None and self._session is not None:
            language = language_for(self._session, self.user_id, plan)
            if language != self.actor.language:
                self.__dict__["actor"] = dataclasses.replace(self.actor, language=language)

    # -- the unit of work --------------------------------------------------------------------------
    def begin(self, session: Session) -> None:
        """Open the unit of work: from now on the actor's language is the people layer's answer, read in
        this transaction (a client's person reads their client's plan language, whatever Slack says)."""
        self._session = session
        self.__dict__.pop("actor", None)  # computed again, through the session (the profile is cached)

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is not open (only listeners run inside it)")
        return self._session

    def after_commit(self, fn: Callable[[], object], *, background: bool = False) -> None:
        """Run ``fn`` once the listener's transaction has committed (never if it rolls back)."""
        if background:
            self._after_commit.append(
                lambda: threading.Thread(target=fn, name="nexo-after-commit", daemon=True).start()
            )
        else:
            self._after_commit.append(fn)

    def open_form(self, view: dict[str, Any]) -> None:
        """Open ``view`` as a modal right after the commit (a trigger id lives 3 seconds)."""
        trigger_id = self.trigger_id
        self.after_commit(lambda: self.client.views_open(trigger_id=trigger_id, view=view))

    # -- what was sent -----------------------------------------------------------------------------
    @property
    def value(self) -> str | None:
        """The clicked button's value (untrusted: parse it)."""
        actions = self.body.get("actions") or [{}]
        return actions[0].get("value")

    @property
    def message(self) -> tuple[str | None, str | None]:
        """The (channel, ts) of the message the clicked button sits on."""
        container = self.body.get("container") or {}
        return container.get("channel_id"), container.get("message_ts")

    @property
    def view(self) -> dict[str, Any]:
        return self.body.get("view") or {}

    @property
    def metadata(self) -> dict[str, Any]:
        """The submitted view's private_metadata (untrusted; malformed reads as empty)."""
        return decode_metadata(self.view)

    @property
    def event(self) -> dict[str, Any]:
        return self.body.get("event") or {}

    @property
    def channel_id(self) -> str:
        channel = self.body.get("channel")
        if isinstance(channel, dict):
            return str(channel.get("id") or "")
        return str(self.body.get("channel_id") or "")

    @property
    def trigger_id(self) -> str:
        return str(self.body.get("trigger_id") or "")

    @property
    def response_url(self) -> str | None:
        return self.body.get("response_url") or None
