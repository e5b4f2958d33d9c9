"""One place that turns any failure into a polite message in the user's language."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.errors import UserError
from bot.i18n import N_, Translator

log = logging.getLogger(__name__)

DATABASE_DOWN = N_("Nexo can't reach its database right now, so nothing was changed. Please try again in a minute.")
UNEXPECTED = N_(
    "Something went wrong on our side and nothing was changed. Please try again; "
    "if it keeps happening, give your Nexo admin this reference: {ref}."
)


def polite_error(exc: BaseException, t: Translator, *, where: str) -> str:
    """The text to show the user for ``exc``; bugs are logged with a reference they can quote."""
    if isinstance(exc, UserError):
        return exc.render(t.gettext)
    if isinstance(exc, OperationalError | PoolTimeout) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        log.warning("database unavailable", extra={"where": where, "error": type(exc).__name__})
        return t(DATABASE_DOWN)
    ref = uuid.uuid4().hex[:8]
    log.exception("unexpected error", extra={"where": where, "ref": ref})
    return t(UNEXPECTED, ref=ref)
