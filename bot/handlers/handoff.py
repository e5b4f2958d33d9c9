"""What a listener does after its commit when a post is owed to the publishing tool."""

from __future__ import annotations

from bot.approvals import webhook
from bot.approvals.flows import Outcome
from bot.slack.request import Request


def hand_off_after_commit(req: Request, outcome: Outcome) -> None:
    """Whatever the transition owed the publishing tool (a hand-off, a withdrawal, a new time) is first
    tried right after the commit, in the background (:func:`bot.approvals.webhook.first_attempt`); the
    sweep retries whatever that leaves."""
    if outcome.webhook_ids:
        db, clock, owed = req.app.db, req.app.clock, list(outcome.webhook_ids)
        req.after_commit(lambda: webhook.first_attempt(db, clock, owed), background=True)
