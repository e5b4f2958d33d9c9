"""Slack adapters: parse the payload, call a service, render the answer. No SQL, no rules."""

from __future__ import annotations

from slack_bolt import App

from bot.context import AppContext
from bot.handlers import (
    approval_actions,
    clients,
    commands,
    crisis,
    crisis_actions,
    drafts,
    home,
    payload_shape,
    questions,
    reports,
    tracking_actions,
)
from bot.handlers.commands import CommandRouter


def register_all(app: App, ctx: AppContext) -> CommandRouter:
    """Attach every listener to ``app``; returns the ``/nexo`` router (for help and tests)."""
    router = CommandRouter()
    app.middleware(payload_shape.refuse_malformed)  # first: every listener below may trust the shape
    commands.register(app, ctx, router)
    clients.register(app, ctx, router)
    home.register(app, ctx, router)
    drafts.register(app, ctx, router)
    approval_actions.register(app, ctx, router)
    reports.register(app, ctx, router)
    questions.register(app, ctx, router)
    tracking_actions.register(app, ctx, router)
    crisis.register(app, ctx, router)
    crisis_actions.register(app, ctx, router)
    # Last: message events no listener above claimed are acknowledged (an unhandled one is a 404,
    # and Slack retries it and eventually turns event delivery off).
    app.event("message")(_unclaimed_message)
    return router


def _unclaimed_message() -> None:
    pass
