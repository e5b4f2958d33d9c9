"""One place that turns any failure into a polite message in the user's language."""

from __future__ import annotations

import logging
import uuid
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.delivery.inbox import current_run
from bot.errors import Hidden, NotAllowed, UserError
from bot.i18n import N_, Translator

log = logging.getLogger(__name__)

# Who sent the Slack request being handled and what it was ({"user", "team", "kind", "what"}): set per
# request by ``bot.app.NexoBolt.dispatch`` (and for a deferred run, by bot.slack.listeners) and carried
# onto Bolt's listener threads, so a refusal is logged with who was refused without every listener
# passing it along.
REQUEST: ContextVar[dict[str, Any] | None] = ContextVar("nexo_request", default=None)


def describe(body: dict[str, Any], *, user: str | None = None, team: str | None = None) -> dict[str, Any]:
    """Who sent a Slack payload and what it is, for :data:`REQUEST`."""
    kind = body.get("type") or ("command" if "command" in body else "unknown")
    actions = body.get("actions") or []
    what = (
        body.get("command")
        or (actions[0].get("action_id") if actions else None)
        or (body.get("view") or {}).get("callback_id")
        or (body.get("event") or {}).get("type")
        or body.get("callback_id")
    )
    who: dict[str, Any] = body["user"] if isinstance(body.get("user"), dict) else {}
    return {
        "kind": kind,
        "what": what,
        "user": user or who.get("id") or body.get("user_id"),
        "team": team or who.get("team_id") or body.get("team_id"),
    }


DATABASE_DOWN = N_("Nexo can't reach its database right now, so nothing was changed. Please try again in a minute.")
# Slack gives a click 3 seconds to open a form (the trigger id expires); on a swamped server that can pass.
FORM_TOO_LATE = N_("Slack didn't let me open the form in time, so nothing was changed. Please click again.")
UNEXPECTED = N_(
    "Something went wrong on our side and nothing was changed. Please try again; "
    "if it keeps happening, give your Nexo admin this reference: {ref}."
)


# How long after its ack a deferred request is still answered through its response_url (Slack keeps one
# 30 minutes); later, the answer goes to the person's DM.
RESPONSE_URL_LIFE = timedelta(minutes=25)


def database_down(exc: BaseException) -> bool:
    """The database could not be reached (as opposed to refusing what was asked)."""
    return isinstance(exc, OperationalError | PoolTimeout) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def retry_later(exc: BaseException) -> bool:
    """In the worker, a deferred request that failed because the database was unreachable is neither
    refused nor answered: its inbox row stays and the next worker run does it (bot.delivery.inbox).
    Telling the user "nothing was changed" and then doing it would contradict ourselves."""
    return current_run() is not None and database_down(exc)


def response_url_usable(now: datetime) -> bool:
    """Whether an answer may still go through the request's response_url (always, unless deferred long ago)."""
    run = current_run()
    return run is None or now - run.received_at < RESPONSE_URL_LIFE


def polite_error(exc: BaseException, t: Translator, *, where: str) -> str:
    """The text to show the user for ``exc``; bugs are logged with a reference they can quote."""
    if isinstance(exc, UserError):
        if isinstance(exc, NotAllowed | Hidden):
            # The msgid, never its parameters: they can hold names or text the log has no need for.
            log.info("access refused", extra={**(REQUEST.get() or {}), "where": where, "error": exc.message})
        return exc.render(t.gettext)
    if database_down(exc):
        log.warning("database unavailable", extra={"where": where, "error": type(exc).__name__})
        return t(DATABASE_DOWN)
    if (
        isinstance(exc, SlackApiError)
        and isinstance(exc.response.data, dict)
        and exc.response.data.get("error") == "expired_trigger_id"
    ):
        log.warning("form opened too late", extra={"where": where})
        return t(FORM_TOO_LATE)
    ref = uuid.uuid4().hex[:8]
    log.error("unexpected error", exc_info=exc, extra={"where": where, "ref": ref})
    return t(UNEXPECTED, ref=ref)
