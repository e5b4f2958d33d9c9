"""Slack adapters: parse the payload, call a service, render the answer. No SQL, no rules."""

from __future__ import annotations

from slack_bolt import App

from bot.context import AppContext
from bot.handlers import clients, commands, home
from bot.handlers.commands import CommandRouter


def register_all(app: App, ctx: AppContext) -> CommandRouter:
    """Attach every listener to ``app``; returns the ``/nexo`` router (for help and tests)."""
    router = CommandRouter()
    commands.register(app, ctx, router)
    clients.register(app, ctx, router)
    home.register(app, ctx, router)
    return router
