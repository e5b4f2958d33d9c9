"""What the demo prints of each message Slack received: enough to follow the story, nothing twice.

- A card (a message with a header block) is printed in full the first time; later copies of it, to the
  same person or another, and edits of it are printed as the header and the lines that changed.
- An edit that changes nothing a reader would see is not printed.
- A quote (``> …``) already printed is left out: it is the question or post the reader just saw.
- Three or more consecutive lines all printed before (a report repeating figures, a timeline shown
  earlier) become one line saying so.
- Identical consecutive messages to several people are printed once, naming them all.
- ``brief``: the message in one line.
- A row of buttons goes at the end of the line above it when both fit in one line.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Entry = tuple[str, str, list[str]]  # (verb, to whom, lines)


BUTTONS = re.compile(r"^\s*(\[ [^\]]+ \](?: ↗)?\s*)+$")
WIDTH = 150  # a line with its buttons, at most
RUN = 3  # consecutive lines already printed that are worth collapsing
LONG = 20  # shorter lines (a row of buttons, a field) are never counted as "already printed"


def join_buttons(lines: list[str]) -> list[str]:
    """Each row of buttons at the end of the line above it, when the two fit in ``WIDTH``."""
    out: list[str] = []
    for line in lines:
        if (
            out
            and BUTTONS.match(line)
            and not BUTTONS.match(out[-1])
            and not out[-1].startswith("> ")
            and len(out[-1]) + len(line) <= WIDTH
        ):
            out[-1] = f"{out[-1]}  {line.strip()}"
        else:
            out.append(line)
    return out


def card_key(header: str) -> str:
    """A card's identity across versions: its header without a trailing "(V2)"-like part."""
    return re.sub(r"\s*\([^()]*\d[^()]*\)\s*$", "", header)


class Compactor:
    def __init__(self, as_above: Callable[[int], str]) -> None:
        self._as_above = as_above  # n -> "… n lines as above", in the reader's language
        self._printed: set[str] = set()
        self._card_of: dict[tuple[str, str], str] = {}  # (channel, ts) -> that message's card key
        self._shown: dict[tuple[str, str], list[str]] = {}  # (channel, ts) -> its lines as last printed
        self._card_in: dict[tuple[str, str], list[str]] = {}  # (channel, key) -> that card as last printed there
        self._card: dict[str, list[str]] = {}  # key -> the card as last printed anywhere
        self._quotes: set[str] = set()

    def message(
        self, channel: str, ts: str, lines: list[str], header: str | None, *, brief: bool = False
    ) -> list[str] | None:
        """The lines to print for a message posted (or edited) at ``channel``/``ts``; None: nothing."""
        key = self._card_of.get((channel, ts)) or (card_key(header) if header else None)
        previous = self._shown.get((channel, ts))
        self._shown[(channel, ts)] = lines
        if previous is not None:  # an edit of a message already printed
            changed = self._changed(lines, previous, header)
            if brief:
                changed = changed[:1]
            return changed if any(line != header for line in changed) else None
        if key is None:
            return self.finish(lines[:1] if brief else lines)
        self._card_of[(channel, ts)] = key
        before = self._card_in.get((channel, key)) or self._card.get(key)
        self._card_in[(channel, key)] = self._card[key] = lines
        if before is None:
            return self.finish(lines[:1] if brief else lines)
        return self._changed(lines, before, header)

    def finish(self, lines: list[str], keep: str | None = None) -> list[str]:
        """``lines`` as printed: no quote already printed, runs printed before collapsed (all but ``keep``)."""
        kept = [line for line in lines if not (line.startswith("> ") and line in self._quotes)]
        self._quotes.update(line for line in lines if line.startswith("> "))
        out: list[str] = []
        run: list[str] = []
        for line in [*kept, None]:
            if line is not None and line != keep and len(line) >= LONG and line in self._printed:
                run.append(line)
                continue
            out += [self._as_above(len(run))] if len(run) >= RUN else run
            run = []
            if line is not None:
                out.append(line)
        self._printed.update(line for line in kept if len(line) >= LONG)
        return join_buttons(out)

    def _changed(self, lines: list[str], before: list[str], header: str | None) -> list[str]:
        return self.finish([line for line in lines if line == header or line not in before], keep=header)


def merge(entries: list[Entry]) -> list[tuple[str, list[str], list[str], int]]:
    """Identical posts (or edits) to several people in one batch: one entry, where the first was, naming
    each of them once (the outbox sends per conversation, so their order across people is arbitrary).

    Returns (verb, people, lines, number of messages)."""
    merged: list[tuple[str, list[str], list[str]]] = []
    for verb, who, lines in entries:
        same = next((m for m in merged if m[0] == verb and m[2] == lines), None) if verb in ("post", "update") else None
        if same is not None:
            same[1].append(who)
        else:
            merged.append((verb, [who], lines))
    return [(verb, list(dict.fromkeys(whos)), lines, len(whos)) for verb, whos, lines in merged]
