"""Translations (gettext catalogs built with Babel).

Every user-visible string goes through a :class:`Translator`; ``N_`` marks a
string for extraction without translating it (used for messages that are
translated later, e.g. :class:`bot.errors.UserError`).
"""

from __future__ import annotations

from bot.i18n.translator import (
    DEFAULT_LANGUAGE,
    N_,
    SUPPORTED_LANGUAGES,
    Translator,
    normalize_language,
    spoken_language,
    translator,
)

__all__ = [
    "DEFAULT_LANGUAGE",
    "N_",
    "SUPPORTED_LANGUAGES",
    "Translator",
    "normalize_language",
    "spoken_language",
    "translator",
]
