"""Per-language translators over the compiled gettext catalogs."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "messages"
SUPPORTED_LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"


def N_(message: str) -> str:
    """Mark ``message`` for extraction; translation happens later."""
    return message


def spoken_language(locale: str | None) -> str | None:
    """The language Nexo speaks that a Slack locale (``es-ES``, ``es-LA``, ``en-US``...) names, or None
    when Slack gave none (people of another organization) or one Nexo does not speak (``fr-FR``)."""
    if not locale:
        return None
    short = locale.replace("_", "-").split("-", 1)[0].lower()
    return short if short in SUPPORTED_LANGUAGES else None


def normalize_language(value: str | None) -> str:
    """Map a Slack locale (``es-ES``, ``es-LA``, ``en-US``...) to a supported language."""
    if not value:
        return DEFAULT_LANGUAGE
    short = value.replace("_", "-").split("-", 1)[0].lower()
    return short if short in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Translator:
    """Translates for one language. ``t("Hello {name}", name=x)`` translates then formats."""

    language: str
    catalog: NullTranslations

    def __call__(self, message: str, /, **params: object) -> str:
        text = self.catalog.gettext(message)
        return text.format(**params) if params else text

    def gettext(self, message: str) -> str:
        return self.catalog.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int, /, **params: object) -> str:
        text = self.catalog.ngettext(singular, plural, n)
        return text.format(n=n, **params)


@functools.cache
def translator(language: str | None = None) -> Translator:
    """The translator for ``language`` (unknown languages fall back to English)."""
    lang = normalize_language(language)
    catalog = Translations.load(str(LOCALE_DIR), [lang], DOMAIN)
    return Translator(lang, catalog)
