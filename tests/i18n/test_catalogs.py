"""Every user-visible string exists in English and Spanish, compiled, with the same placeholders."""

from __future__ import annotations

import string
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from bot.i18n import translator
from bot.i18n.translator import LOCALE_DIR

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"N_": None, "t": None, "ngettext": (1, 2)}


def code_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(ROOT / "bot"), method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        found.update([message] if isinstance(message, str) else [m for m in message if m])
    return found


def catalog(lang: str):
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=lang)


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def forms(value) -> list[str]:
    """A message's id or string as a list: one form, or a plural's singular and plural forms."""
    return list(value) if isinstance(value, (tuple, list)) else [value]


def test_every_string_in_the_code_is_in_the_catalogs():
    missing = code_messages() - {form for m in catalog("es") if m.id for form in forms(m.id)}
    assert not missing, f"run scripts/i18n and translate: {sorted(missing)[:10]}"


def test_every_spanish_translation_is_filled_and_keeps_placeholders():
    for message in catalog("es"):
        if not message.id:
            continue
        assert all(forms(message.string)), f"untranslated: {message.id!r}"
        assert not message.fuzzy, f"fuzzy: {message.id!r}"
        # Every form keeps the placeholders ({n} may be left out of a singular: "una publicación").
        expected = set().union(*(fields(f) for f in forms(message.id)))
        for form in forms(message.string):
            assert fields(form) | {"n"} >= expected and fields(form) <= expected, message.id


def test_compiled_catalogs_match_the_sources():
    for lang in ("en", "es"):
        with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.mo").open("rb") as f:
            compiled = {tuple(forms(m.id)): tuple(forms(m.string)) for m in read_mo(f) if m.id}
        source = {tuple(forms(m.id)): tuple(forms(m.string)) for m in catalog(lang) if m.id and any(forms(m.string))}
        # An untranslated plural is compiled with its English forms (a single string is left out).
        source |= {
            tuple(forms(m.id)): tuple(forms(m.id)) for m in catalog(lang) if m.pluralizable and not any(forms(m.string))
        }
        assert compiled == source, f"{lang}: run scripts/i18n to recompile"


def test_translator_falls_back_to_english():
    assert translator("es")("Save") == "Guardar"
    assert translator("es-ES")("Save") == "Guardar"
    assert translator("fr")("Save") == "Save"
    assert translator(None)("Save") == "Save"
