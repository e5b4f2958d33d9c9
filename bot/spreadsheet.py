"""CSV for people who open it in a spreadsheet: Excel reads the accents, and no cell runs as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

# Excel takes a CSV without a byte order mark for the local code page (cp1252 in much of Europe and the
# Americas) and shows "Ã©" for "é"; with it, UTF-8. Other tools (LibreOffice, Numbers, Python's utf-8-sig)
# skip it.
BOM = "\ufeff"
# A cell starting with one of these is run as a formula (CSV injection, OWASP): = + - @, and a tab or
# carriage return, which some spreadsheets skip before looking for the others.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """``value`` as text that a spreadsheet shows as text: quoted with a leading ``'`` when it could run."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(columns: Sequence[str], rows: Iterable[Iterable[object]]) -> str:
    """A whole CSV file: the BOM, the header, then each row, every cell through :func:`safe_cell`."""
    out = io.StringIO()
    out.write(BOM)
    # CRLF between rows, as RFC 4180 has it: the writer then quotes any cell holding a CR or an LF, which a
    # bare-LF writer left unquoted for a lone CR (and readers took it for the end of the row).
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return out.getvalue()
