"""Slack adapters: parse the payload, call a service, render the answer. No SQL, no rules.

Each module is one domain's listeners, as top-level functions, and ends with its table,
``LISTENERS``. :data:`LISTENERS` is every table in order; :func:`bot.slack.listeners.mount` attaches
it to Bolt. To find the code a button runs, look its action id up in these tables (or grep it): the
function named next to it is the listener.
"""

from __future__ import annotations

from bot.handlers import approvals, clients, crises, draft_changes, drafts, home, questions, reports
from bot.slack.listeners import Registration

LISTENERS: list[Registration] = [
    *clients.LISTENERS,
    *drafts.LISTENERS,
    *draft_changes.LISTENERS,
    *approvals.LISTENERS,
    *questions.LISTENERS,
    *reports.LISTENERS,
    *crises.LISTENERS,
    *home.LISTENERS,
]
