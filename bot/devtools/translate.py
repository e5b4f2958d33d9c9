"""Fill in catalog translations from a Python dict file (``ES = {msgid: msgstr}``).

    python -m bot.devtools.translate es path/to/es.py

Only empty ``msgstr`` entries are filled; existing translations are kept.
Run ``scripts/i18n`` afterwards to compile.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

from bot.i18n.translator import LOCALE_DIR


def fill(language: str, source: Path) -> int:
    table = next(v for k, v in runpy.run_path(str(source)).items() if k.isupper() and isinstance(v, dict))
    po_path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as f:
        catalog = read_po(f, locale=language)
    filled = 0
    for message in catalog:
        if message.id and not message.string and message.id in table:
            message.string = table[message.id]
            filled += 1
    with po_path.open("wb") as f:
        write_po(f, catalog, omit_header=False, sort_output=True, width=0)
    return filled


if __name__ == "__main__":
    print(f"filled {fill(sys.argv[1], Path(sys.argv[2]))} messages")
