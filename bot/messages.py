"""Messages that belong to no single domain: help, welcome."""

from __future__ import annotations

from typing import Any

from bot.blockkit import modal, section
from bot.i18n import N_, Translator

HELP_TITLE = N_("Nexo: what I can do")
HELP_FOOTER = N_("Names of clients can be shortened to any unique prefix. Durations: `90m`, `4h`.")


def help_message(usage: list[tuple[str, str]], t: Translator) -> tuple[str, list[dict[str, Any]]]:
    """The ``/nexo help`` answer: one line per command, in ``t``'s language."""
    lines = [f"• `{t(u)}`: {t(summary)}" for u, summary in usage]
    lines.append("• `" + t(N_("/nexo help")) + "`: " + t(N_("this list")))
    body = "\n".join(lines)
    text = t(HELP_TITLE) + "\n" + body
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": t(HELP_TITLE)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": body[:3000]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": t(HELP_FOOTER)}]},
    ]
    return text, blocks


def home_view(usage: list[tuple[str, str]], t: Translator) -> dict[str, Any]:
    """The App Home tab until a domain has something waiting on the user."""
    _, blocks = help_message(usage, t)
    intro = {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": t(
                N_(
                    "Hi! I keep your agency and its clients in step: approvals, answers on time, and crises "
                    "handled fast."
                )
            ),
        },
    }
    return {"type": "home", "blocks": [intro, *blocks]}


NOTICE_MODAL = "nexo_notice_modal"  # read-only: it has no submit button, so no listener


def notice_modal(t: Translator, message: str) -> dict[str, Any]:
    """A read-only answer shown in place of a submitted form (e.g. someone else decided first)."""
    return modal(NOTICE_MODAL, "Nexo", [section(message)], close=t(N_("Close")))
