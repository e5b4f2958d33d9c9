"""Errors the user should read, as opposed to bugs.

Domain code raises :class:`UserError` with a gettext *message id* (marked with
``N_`` so Babel extracts it) and named parameters. The Slack layer translates
it into the user's (or client's) language at the last moment, so the domain
never needs to know who is reading.
"""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    """A problem with what the user asked for; nothing was changed.

    ``message`` is an untranslated gettext msgid using ``str.format`` fields,
    e.g. ``N_("Unknown time zone “{tz}”.")`` with ``params={"tz": "Mars/Base"}``.
    """

    def __init__(self, message: str, /, *, field: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params
        # Which input the problem is about (a domain field name), so a form can point at it.
        self.field = field

    def render(self, gettext: Any) -> str:
        """Translate with ``gettext`` and fill in the parameters (nested errors translate too)."""
        params = {k: _rendered(v, gettext) for k, v in self.params.items()}
        return gettext(self.message).format(**params)


def _rendered(value: Any, gettext: Any) -> Any:
    """A nested error translated; a list of them translated and joined with semicolons."""
    if isinstance(value, UserError):
        return value.render(gettext)
    if isinstance(value, list | tuple) and value and all(isinstance(v, UserError) for v in value):
        return "; ".join(v.render(gettext) for v in value)
    return value


class NotAllowed(UserError):
    """The user may not do this (authorization refusal)."""


class NotFound(UserError):
    """The thing the user named does not exist (or is not visible to them)."""


class Conflict(UserError):
    """The state changed under the user (already decided, superseded...)."""


class Hidden(NotFound):
    """It exists, but the user may not see it. Reads exactly like :class:`NotFound`, so nothing leaks
    (not even that it exists); logged as an access refusal."""
