"""A client's publishing webhook: ``/nexo client webhook NAME webhook:URL [webhook-secret:S]``,
also accepted inline by ``/nexo client add``. Shown masked; a generated secret is shown once."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.approvals import webhook
from bot.errors import UserError
from bot.handlers.commands import CommandRequest, Reply
from bot.i18n import N_, Translator
from bot.plans import service as plans
from bot.plans.models import Client
from bot.plans.spec import split_words

URL_KEYS = ("webhook", "url")
SECRET_KEYS = ("webhook-secret", "webhook_secret", "secret")
OFF_WORDS = ("off", "none", "remove", "quitar", "ninguno")
_INLINE = re.compile(r"(?:^|\s)(webhook|webhook-secret|webhook_secret):(\S+)", re.IGNORECASE)


@dataclass
class WebhookOptions:
    url: str | None = None
    secret: str | None = None


def split_webhook_options(text: str) -> tuple[str, WebhookOptions]:
    """Take ``webhook:`` and ``webhook-secret:`` out of a ``/nexo client add`` line (the plan parser
    does not know them: they are not part of the plan's history, which would leak the secret)."""
    options = WebhookOptions()
    for key, value in _INLINE.findall(text):
        if key.lower() == "webhook":
            options.url = value
        else:
            options.secret = value
    return _INLINE.sub(" ", text).strip(), options


def apply_options(session: Session, req: CommandRequest, client: Client, options: WebhookOptions) -> str | None:
    """Set the webhook given inline; returns a line for the answer (with a generated secret, once)."""
    if not options.url:
        if options.secret:
            raise UserError(N_("webhook-secret: also give the address, as webhook:https://…"), field="webhook")
        return None
    generated = webhook.set_webhook(session, actor=req.actor, client=client, url=options.url, secret=options.secret,
                                    now=req.app.clock.now())
    return describe(webhook.masked(webhook.get_webhook(session, client.id)), generated, req.t)


def describe(masked: str | None, generated: str | None, t: Translator) -> str:
    if masked is None:
        return t(N_("No publishing webhook: approved posts are not handed to any tool."))
    line = t(N_("Publishing webhook: {webhook}"), webhook=masked)
    if generated:
        line += "\n" + t(N_("Signing secret, shown only this once: `{secret}`. Paste it into the publishing tool."),
                         secret=generated)
    return line


def client_webhook(req: CommandRequest, rest: str) -> Reply:
    """``/nexo client webhook NAME [webhook:URL] [webhook-secret:S] | off``."""
    plans.require_agency(req.actor)
    words: list[str] = []
    options, off = WebhookOptions(), False
    for word in split_words(rest):
        key, sep, value = word.partition(":")
        if sep and key.lower() in URL_KEYS and value and not value.startswith("//"):
            options.url = value
        elif sep and key.lower() in SECRET_KEYS:
            options.secret = value
        elif word.lower().startswith(("https://", "http://")):
            options.url = word
        elif word.lower() in OFF_WORDS and words:
            off = True
        else:
            words.append(word)
    with req.app.db.transaction() as session:
        client = plans.resolve_client(session, req.actor, " ".join(words))
        if off:
            removed = webhook.remove_webhook(session, actor=req.actor, client=client)
            text = (t_removed(req.t, client.name) if removed else describe(None, None, req.t))
        elif options.url or options.secret:
            text = apply_options(session, req, client, options) or ""
        else:
            text = describe(webhook.masked(webhook.get_webhook(session, client.id)), None, req.t)
    return Reply(text=text)


def t_removed(t: Translator, name: str) -> str:
    return t(N_("The publishing webhook of {client} is removed."), client=name)


def masked_line(session: Session, client: Client, t: Translator) -> str | None:
    """For ``/nexo client show``: the webhook line, agency only (the caller checks)."""
    masked = webhook.masked(webhook.get_webhook(session, client.id))
    return describe(masked, None, t) if masked else None
