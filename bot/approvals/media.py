"""Images and videos in drafts: which files a draft may carry, how a revision changed them, and the
copies each card's conversation gets.

A CM attaches Slack files of their own (the **Send for approval** shortcut on a message with files, or
the draft form's file input). Each is checked before anything is saved, and a refusal names the file:
one the bot cannot read (not shared with it, deleted, withheld by another organization), one over
:data:`MAX_BYTES`, one that is not a picture or video, or not one a target network takes
(:data:`TYPES`). Files are read with the bot token and never made public; each conversation a card goes
to gets its own copy (:func:`owe_copies`, the design is in :mod:`bot.delivery.shares`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.approvals import networks
from bot.approvals.models import Draft, DraftMedia, MediaKind
from bot.delivery import shares
from bot.errors import UserError
from bot.i18n import N_, Translator

FILES_MAX = 10  # Slack's file_input takes at most 10; a carousel rarely needs more
# Nexo copies each file into every conversation a card goes to, holding it in memory while it does;
# Slack's own limit per file is 1 GB, and a form's file input takes at most 10 MB (docs/slack-files.md).
MAX_BYTES = 200 * 1024 * 1024
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif"})  # what an image block shows
VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime"})
# What each network takes (a starting point, like the limits in bot.approvals.networks; sources in
# docs/slack-files.md). A network left out takes every type above.
TYPES: dict[str, frozenset[str]] = {
    "instagram": frozenset({"image/jpeg", "image/png", "video/mp4", "video/quicktime"}),  # no GIF
    "tiktok": frozenset({"image/jpeg", "image/png", "video/mp4", "video/quicktime"}),
}
FILE_INPUT_TYPES = ["jpg", "jpeg", "png", "gif", "mp4", "mov"]  # the form's file_input filetypes


class SlackFileLike(Protocol):
    id: str
    name: str
    mimetype: str
    size: int
    user: str
    duration_ms: int | None


class LookupLike(Protocol):
    id: str
    name: str
    error: str | None

    @property
    def file(self) -> SlackFileLike | None: ...


@dataclass(frozen=True)
class MediaItem:
    """One checked file, as a version keeps it."""

    file_id: str
    name: str
    mimetype: str
    size: int
    kind: MediaKind
    duration_ms: int | None = None


UNREADABLE = {
    "file_deleted": N_(
        "I can't use “{name}”: it was deleted. Share it again and send the draft once more. Nothing was saved."
    ),
    "access_denied": N_(
        "I can't use “{name}”: its owner's organization doesn't let me read it. Upload it "
        "yourself and send the draft once more. Nothing was saved."
    ),
    "file_not_found": N_(
        "I can't read “{name}”: it isn't shared with me. Share it in a conversation with me "
        "(or attach it in the form) and send the draft once more. Nothing was saved."
    ),
}


def check_files(found: Sequence[LookupLike], *, owner: str, target: Iterable[str]) -> list[MediaItem]:
    """The files of a new version, checked in order; the first problem is refused, naming the file (and
    the network that does not take it). Nothing is saved when one is refused."""
    target = list(target)
    if len(found) > FILES_MAX:
        raise UserError(
            N_("Too many files ({count}; at most {limit})."), field="files", count=len(found), limit=FILES_MAX
        )
    items = []
    for lookup in found:
        file = lookup.file
        if file is None:
            raise UserError(
                UNREADABLE.get(lookup.error or "", UNREADABLE["file_not_found"]), field="files", name=lookup.name[:80]
            )
        name = file.name[:80]
        if file.user != owner:
            raise UserError(
                N_("“{name}” was shared by someone else: attach only files you shared yourself. Nothing was saved."),
                field="files",
                name=name,
            )
        if file.size > MAX_BYTES:
            raise UserError(
                N_("“{name}” is too large ({size} MB; at most {limit} MB). Nothing was saved."),
                field="files",
                name=name,
                size=round(file.size / 1_048_576),
                limit=MAX_BYTES // 1_048_576,
            )
        kind = check_type(file.name, file.mimetype, target)
        items.append(MediaItem(file.id, file.name, file.mimetype, file.size, kind, file.duration_ms))
    return items


def check_type(name: str, mimetype: str, target: Iterable[str]) -> MediaKind:
    """The kind of a file every ``target`` network takes; refused (naming the file and the network) otherwise."""
    kind = kind_of(mimetype)
    if kind is None:
        raise UserError(
            N_(
                "“{name}” ({type}) is not a picture or a video a social network takes (use JPEG, "
                "PNG, GIF, MP4 or MOV). Nothing was saved."
            ),
            field="files",
            name=name[:80],
            type=mimetype[:60],
        )
    for network in target:
        if mimetype not in TYPES.get(network, IMAGE_TYPES | VIDEO_TYPES):
            raise UserError(
                N_("{network} does not take “{name}” ({type}). Nothing was saved."),
                field="files",
                network=networks.label(network),
                name=name[:80],
                type=mimetype[:60],
            )
    return kind


def combine(kept: Sequence[MediaItem], added: Sequence[MediaItem], *, target: Iterable[str]) -> list[MediaItem]:
    """A revision's files: those it keeps (re-checked against its networks, which may have changed), then
    the new ones; a file given twice counts once."""
    target = list(target)
    for item in kept:
        check_type(item.name, item.mimetype, target)
    chosen = list({item.file_id: item for item in [*kept, *added]}.values())
    if len(chosen) > FILES_MAX:
        raise UserError(
            N_("Too many files ({count}; at most {limit})."), field="files", count=len(chosen), limit=FILES_MAX
        )
    return chosen


def kind_of(mimetype: str) -> MediaKind | None:
    if mimetype in IMAGE_TYPES:
        return MediaKind.IMAGE
    if mimetype in VIDEO_TYPES:
        return MediaKind.VIDEO
    return None


# -- stored -------------------------------------------------------------------------------------------
def save(session: Session, draft: Draft, version: int, items: Sequence[MediaItem]) -> None:
    """The files of ``version``, in order."""
    for position, item in enumerate(items):
        session.add(
            DraftMedia(
                draft_id=draft.id,
                version=version,
                position=position,
                file_id=item.file_id,
                name=item.name,
                mimetype=item.mimetype,
                size=item.size,
                kind=item.kind,
                duration_ms=item.duration_ms,
            )
        )
    session.flush()


def of_version(session: Session, draft_id: int, version: int) -> list[DraftMedia]:
    return list(
        session.scalars(
            select(DraftMedia)
            .where(DraftMedia.draft_id == draft_id, DraftMedia.version == version)
            .order_by(DraftMedia.position)
        )
    )


def as_items(rows: Iterable[DraftMedia]) -> list[MediaItem]:
    """Stored files as items (a revision that keeps them)."""
    return [MediaItem(r.file_id, r.name, r.mimetype, r.size, r.kind, r.duration_ms) for r in rows]


@dataclass(frozen=True)
class MediaDiff:
    """How a revision changed the files: by Slack file; a new file with the name of one it drops replaces it."""

    added: list[str]
    removed: list[str]
    replaced: list[str]

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.replaced)


def diff(old: Sequence[Any], new: Sequence[Any]) -> MediaDiff:
    old_ids, new_ids = {m.file_id for m in old}, {m.file_id for m in new}
    gone = [m.name for m in old if m.file_id not in old_ids & new_ids]
    came = [m.name for m in new if m.file_id not in old_ids & new_ids]
    replaced = [name for name in came if name in gone]
    return MediaDiff(
        added=[n for n in came if n not in replaced], removed=[n for n in gone if n not in replaced], replaced=replaced
    )


# -- on the card ------------------------------------------------------------------------------------------
def source(item: DraftMedia) -> str:
    """What a copy is a copy of (bot.delivery.shares): the CM's file."""
    return f"media:{item.file_id}"


def owe_copies(
    session: Session,
    rows: Sequence[DraftMedia],
    *,
    reference: str,
    version: int,
    to: str,
    now: datetime,
    not_before: datetime | None,
    t: Translator,
) -> None:
    """A copy of each file shared in ``to`` (where a card is about to go) before the card, once per file
    and conversation."""
    if not rows:
        return
    comment = t(N_("The files of {ref} (version {version}), for the card below."), ref=reference, version=version)
    shares.owe_copies(
        session,
        now=now,
        to=to,
        comment=comment,
        not_before=not_before,
        files=[
            {"source": source(r), "file": r.file_id, "name": r.name, "title": f"{reference} · {r.name}"[:250]}
            for r in rows
        ],
    )


def duration(ms: int | None) -> str | None:
    """``m:ss`` (or ``h:mm:ss``) of a video, when Slack gave its length."""
    if not ms:
        return None
    seconds = round(ms / 1000)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
