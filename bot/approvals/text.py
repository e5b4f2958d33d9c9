"""A post's text as Slack shows it: escaped, fitted to Block Kit limits, and compared word by word.

Slack counts the characters of the escaped string against each limit (section
text 3000), so fitting works on escaped text and never cuts an ``&amp;`` in two.
"""

from __future__ import annotations

import difflib
import re

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_TOKENS = re.compile(r"^\s+|\S+\s*")  # words with the space after them
CONTEXT_WORDS = 6  # unchanged words kept on each side of a change in a compact diff


def escape(text: str) -> str:
    """Show ``text`` literally in mrkdwn (no accidental mentions or links)."""
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def _escaped_prefix(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` once escaped."""
    used = 0
    for i, ch in enumerate(text):
        used += len(_ESCAPES.get(ch, ch))
        if used > limit:
            return i
    return len(text)


def fit(text: str, limit: int) -> tuple[str, bool]:
    """(escaped text of at most ``limit`` characters, whether it was shortened).

    Shortened text ends at a word boundary when one is near, followed by an ellipsis.
    """
    if len(text) <= limit // 5 or len(escape(text)) <= limit:
        return escape(text), False
    cut = _escaped_prefix(text, limit - 1)
    space = max(text.rfind(" ", 0, cut), text.rfind("\n", 0, cut))
    if space > cut - 200:
        cut = space
    return escape(text[:cut]).rstrip() + "…", True


def chunks(text: str, limit: int) -> list[str]:
    """``text`` escaped and split into pieces of at most ``limit`` characters, preferring line and word breaks."""
    pieces: list[str] = []
    rest = text
    while rest:
        cut = _escaped_prefix(rest, limit)
        if cut < len(rest):
            brk = max(rest.rfind("\n", 0, cut), rest.rfind(" ", 0, cut))
            if brk > cut - 300 and brk > 0:
                cut = brk + 1
        pieces.append(escape(rest[:cut]))
        rest = rest[cut:]
    return pieces


def first_words(text: str, limit: int = 60) -> str:
    """The start of a text on one line, for lists and notification fallbacks (not escaped)."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line.rfind(" ", 0, limit)
    return line[: cut if cut > limit // 2 else limit].rstrip() + "…"


def word_diff(old: str, new: str, limit: int) -> tuple[str, bool]:
    """What changed from ``old`` to ``new``: ~removed~ and *added* words, long unchanged runs elided.

    Returns (mrkdwn of at most ``limit`` characters, whether it was shortened).
    """
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    matcher = difflib.SequenceMatcher(a=[t.strip() for t in a], b=[t.strip() for t in b], autojunk=False)
    parts: list[str] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            parts.append(_elide(b[j1:j2], first=not parts, last=j2 == len(b)))
            continue
        if op in ("delete", "replace"):
            parts.append(_marked(a[i1:i2], "~", keep_trailing=op == "delete"))
        if op in ("insert", "replace"):
            parts.append(_marked(b[j1:j2], "*", keep_trailing=True))
    rendered = _join(parts).strip()
    if len(rendered) <= limit:
        return rendered, False
    cut = rendered.rfind(" ", 0, limit - 1)
    return rendered[: cut if cut > limit - 200 else limit - 1] + "…", True


def _join(parts: list[str]) -> str:
    """Concatenate, putting a space between two parts that would otherwise run together."""
    out = ""
    for part in parts:
        if out and part and not out[-1].isspace() and not part[0].isspace():
            out += " "
        out += part
    return out


def _marked(tokens: list[str], mark: str, *, keep_trailing: bool) -> str:
    """The words wrapped in ``mark``, line by line (mrkdwn wants the marks against non-space characters)."""
    words = "".join(tokens)
    core = words.strip()
    lead = words[: len(words) - len(words.lstrip())]
    trail = words[len(words.rstrip()) :] if keep_trailing else ""
    lines = [f"{mark}{escape(' '.join(line.split()))}{mark}" for line in core.split("\n") if line.strip()]
    return lead + "\n".join(lines) + trail


def _elide(tokens: list[str], *, first: bool, last: bool) -> str:
    """Unchanged words, keeping only a few next to each change."""
    keep_head = 0 if first else CONTEXT_WORDS
    keep_tail = 0 if last else CONTEXT_WORDS
    if len(tokens) <= keep_head + keep_tail + 2:
        return escape("".join(tokens))
    head = escape("".join(tokens[:keep_head]))
    tail = escape("".join(tokens[len(tokens) - keep_tail :])) if keep_tail else ""
    return f"{head.rstrip()} … {tail.lstrip()}" if head or tail else " … "
