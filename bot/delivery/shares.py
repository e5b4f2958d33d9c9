"""Copies of Slack files shared into a conversation, and messages that show them.

Why copies: an ``image`` block shows a Slack file only to people who can see that file, and a reviewer
in another organization (a Slack Connect channel, or a DM with them) may not see a file that was shared
only inside the agency's workspace (docs/slack-files.md). So before a message that shows a file goes to
a conversation, the outbox owes an upload of a copy of the file into that same conversation
(:func:`owe_copies`), and the message refers to the copy by what it is a copy of (:func:`image_ref`,
:func:`link_ref`), not by a file id, which nobody knows until Slack has taken the upload.

The design rests on the outbox's order per conversation: the upload is written first, to the same
conversation, so the message waits until the upload is delivered (or has failed for good). Just before
sending, the sender puts the copy's id into the message (:func:`resolve`); a copy that could not be made
shows as a line naming the file instead, so a card is never stuck behind a file. A copy is made once per
file and conversation, and later messages (a card's edits, a revision's card) reuse it.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.delivery.models import NoticeKind, OutboxNotice, SharedFile
from bot.delivery.outbox import add_notice

SHARE = "nexo_share"  # in an image block's slack_file: the source key of the copy to show
SHARE_LINK = "nexo_share_link"  # on a section: {"key", "label"}: a link to the copy goes after its text


def share_key(source: str, conversation: str) -> str:
    return f"{source}@{conversation}"[:160]


def image_ref(source: str, *, name: str) -> dict[str, Any]:
    """An image block showing the copy of ``source`` in whatever conversation the message goes to."""
    return {
        "type": "image",
        "slack_file": {SHARE: source},
        "alt_text": name[:2000] or "image",
        "title": {"type": "plain_text", "text": name[:2000] or "image"},
    }


def link_ref(section: dict[str, Any], source: str, *, label: str) -> dict[str, Any]:
    """``section`` with a link to the copy of ``source`` appended to its text once it exists."""
    return {**section, SHARE_LINK: {"key": source, "label": label}}


def owe_copies(
    session: Session,
    *,
    now: datetime,
    to: str,
    comment: str,
    files: list[dict[str, str]],
    not_before: datetime | None = None,
) -> OutboxNotice | None:
    """Owe copies of ``files`` (each ``{"source", "file", "name", "title"}``: a stable source key and the
    Slack file to copy) shared in ``to`` (a user id for a DM, or a channel), in one upload. Files already
    copied there (or owed) are left out; None when nothing is left."""
    wanted = [f for f in files if session.get(SharedFile, share_key(f["source"], to)) is None]
    wanted = list({f["source"]: f for f in wanted}.values())
    if not wanted:
        return None
    payload: dict[str, Any] = {
        "to": to,
        "comment": comment,
        "copies": wanted,
        # what _find_posted recognises an earlier try by: the first file's name and title
        "filename": wanted[0]["name"],
        "title": wanted[0]["title"],
    }
    notice = add_notice(
        session,
        OutboxNotice(
            kind=NoticeKind.UPLOAD,
            conversation=to,
            payload=payload,
            created_at=now,
            next_attempt_at=max(now, not_before) if not_before else now,
        ),
    )
    for f in wanted:
        session.add(SharedFile(key=share_key(f["source"], to), conversation=to, notice_id=notice.id, created_at=now))
    session.flush()
    return notice


def record_copies(session: Session, notice: OutboxNotice, files: list[dict[str, Any]], now: datetime) -> None:
    """Slack took the upload: remember each copy's id and permalink (``files`` in the order uploaded)."""
    for wanted, shared in zip(notice.payload.get("copies") or [], files, strict=False):
        row = session.get(SharedFile, share_key(wanted["source"], notice.conversation))
        if row is not None:
            row.file_id, row.permalink, row.shared_at = shared.get("id"), shared.get("permalink"), now


def needs_resolving(blocks: Any) -> bool:
    return isinstance(blocks, list) and any(
        isinstance(b, dict) and (SHARE_LINK in b or SHARE in (b.get("slack_file") or {})) for b in blocks
    )


def resolve(session: Session, conversation: str, blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``blocks`` as Slack must get them in ``conversation``: each reference to a copy replaced by the
    copy's id (or link); a copy that does not exist becomes a line that names the file."""
    keys = {share_key(source, conversation) for source in map(_source, blocks) if source}
    rows = {r.key: r for r in session.scalars(select(SharedFile).where(SharedFile.key.in_(keys)))} if keys else {}
    out = []
    for block in blocks:
        source = _source(block)
        if not source:
            out.append(block)
            continue
        row = rows.get(share_key(source, conversation))
        block = copy.deepcopy(block)
        if SHARE_LINK in block:
            link = block.pop(SHARE_LINK)
            if row is not None and row.permalink:
                block["text"]["text"] += f" <{row.permalink}|{link['label']}>"
            out.append(block)
        elif row is not None and row.file_id:
            block["slack_file"] = {"id": row.file_id}
            out.append(block)
        else:
            name = str(block.get("alt_text") or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            out.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"🖼 {name or '—'}"}]})
    return out


def _source(block: Any) -> str | None:
    if not isinstance(block, dict):
        return None
    if SHARE_LINK in block:
        return str(block[SHARE_LINK].get("key") or "") or None
    ref = block.get("slack_file")
    return str(ref.get(SHARE) or "") or None if isinstance(ref, dict) else None
