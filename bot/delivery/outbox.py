"""Writing notices to the outbox and claiming them for delivery.

Nothing here talks to Slack: domain flows call ``enqueue_*`` inside their
transaction, and :mod:`bot.delivery.sender` sends what is owed. Claiming is a
conditional UPDATE, so two processes (or a click and the sweep) can never both
own a notice; on PostgreSQL the candidate scan also uses ``SKIP LOCKED``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, bindparam, exists, or_, select, update
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import BindParameter

from bot.db import UTCDateTime
from bot.delivery.models import NoticeKind, NoticeStatus, OutboxNotice

CLAIM_LEASE = timedelta(seconds=60)
MAX_BACKOFF_SECONDS = 30.0
OWED = (NoticeStatus.PENDING, NoticeStatus.SENDING)


def add_notice(session: Session, notice: OutboxNotice) -> OutboxNotice:
    """Owe ``notice`` (handed to the deliverer after the commit, like every ``enqueue_*``)."""
    session.add(notice)
    session.flush()
    session.info.setdefault("new_outbox_ids", []).append(notice.id)
    return notice


_add = add_notice


def enqueue_post(
    session: Session,
    *,
    now: datetime,
    to: str,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    ref_key: str | None = None,
    thread_of: OutboxNotice | None = None,
    not_before: datetime | None = None,
    metadata: dict[str, Any] | None = None,
    due: tuple[str, datetime] | None = None,
) -> OutboxNotice:
    """Owe a message to ``to`` (a channel id, or a user id for a DM).

    ``thread_of`` posts it as a reply in the thread of an earlier notice, once
    that one is delivered. ``not_before`` defers it (e.g. to business hours).
    ``due``: ``(step, instant)`` of the timed step this message is (a reminder), so its delivery
    records how late it reached Slack (``nexo_reminder_lag_seconds``).
    """
    payload: dict[str, Any] = {"text": text}
    if due is not None:
        payload["due"] = {"step": due[0], "at": due[1].isoformat()}
    if blocks:
        payload["blocks"] = blocks
    if metadata:
        payload["metadata"] = metadata
    conversation = thread_of.conversation if thread_of is not None else to
    return _add(
        session,
        OutboxNotice(
            kind=NoticeKind.POST,
            conversation=conversation,
            payload={"to": to, **payload},
            ref_key=ref_key,
            target_id=thread_of.id if thread_of is not None else None,
            created_at=now,
            next_attempt_at=max(now, not_before) if not_before else now,
        ),
    )


def enqueue_update(
    session: Session,
    *,
    now: datetime,
    of: OutboxNotice,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
) -> OutboxNotice:
    """Owe an edit of the message ``of`` posted (sent after it, in order)."""
    payload: dict[str, Any] = {"text": text, "blocks": blocks or []}
    return _add(
        session,
        OutboxNotice(
            kind=NoticeKind.UPDATE,
            conversation=of.conversation,
            payload=payload,
            target_id=of.id,
            created_at=now,
            next_attempt_at=now,
        ),
    )


def enqueue_ephemeral(
    session: Session,
    *,
    now: datetime,
    channel: str,
    user: str,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
) -> OutboxNotice:
    """Owe a message only ``user`` sees in ``channel``."""
    payload: dict[str, Any] = {"channel": channel, "user": user, "text": text}
    if blocks:
        payload["blocks"] = blocks
    return _add(
        session,
        OutboxNotice(
            kind=NoticeKind.EPHEMERAL,
            conversation=f"{channel}/{user}",
            payload=payload,
            created_at=now,
            next_attempt_at=now,
        ),
    )


def enqueue_response(
    session: Session,
    *,
    now: datetime,
    response_url: str,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    replace_original: bool = False,
    in_channel: bool = False,
) -> OutboxNotice:
    """Owe a reply through a ``response_url`` (valid 30 minutes, 5 posts); ephemeral unless ``in_channel``."""
    payload: dict[str, Any] = {"url": response_url, "text": text, "replace_original": replace_original}
    if in_channel:
        payload["response_type"] = "in_channel"
    if blocks:
        payload["blocks"] = blocks
    return _add(
        session,
        OutboxNotice(
            kind=NoticeKind.RESPONSE,
            conversation=response_url[-64:],
            payload=payload,
            created_at=now,
            next_attempt_at=now,
        ),
    )


def enqueue_home(session: Session, *, now: datetime, user: str, view: dict[str, Any]) -> OutboxNotice:
    """Owe a refresh of ``user``'s App Home tab."""
    return _add(
        session,
        OutboxNotice(
            kind=NoticeKind.HOME,
            conversation=f"home/{user}",
            payload={"user": user, "view": view},
            created_at=now,
            next_attempt_at=now,
        ),
    )


def enqueue_upload(
    session: Session,
    *,
    now: datetime,
    to: str,
    filename: str,
    title: str,
    comment: str,
    content: str | None = None,
    render: dict[str, Any] | None = None,
) -> OutboxNotice:
    """Owe a file shared in ``to`` (a user id for a DM): ``content`` as text (a CSV), or a picture
    the sender draws at delivery time from ``render`` = ``{"name": ..., "args": {...}}`` (a chart:
    drawing takes a second, so it happens off the request, but what to draw is stored first).

    ``filename`` should be unique for the conversation (say, carry a timestamp): after an unknown
    outcome the sender looks for that file in the conversation before uploading it again.
    """
    if (content is None) == (render is None):
        raise ValueError("an upload needs exactly one of content or render")
    payload: dict[str, Any] = {"to": to, "filename": filename, "title": title, "comment": comment}
    payload.update({"content": content} if content is not None else {"render": render})
    return _add(
        session,
        OutboxNotice(kind=NoticeKind.UPLOAD, conversation=to, payload=payload, created_at=now, next_attempt_at=now),
    )


def find_by_ref(session: Session, ref_key: str) -> OutboxNotice | None:
    """The newest notice written under ``ref_key``."""
    return session.scalars(
        select(OutboxNotice).where(OutboxNotice.ref_key == ref_key).order_by(OutboxNotice.id.desc()).limit(1)
    ).first()


# Built once per process. Aliasing OutboxNotice adapts every column of the table, and a statement
# built afresh also pays for its cache key and its compilation: together ~3-6 ms of CPU per claim, the
# largest single cost of delivering a notice (a py-spy profile of the serve under bench/ack.py). The
# prebuilt statements below take ``now`` and the ids as bind parameters instead, so SQLAlchemy compiles
# them once and reuses them.
_OLDER = aliased(OutboxNotice, name="older")
_TARGET = aliased(OutboxNotice, name="target")


def _sendable(now: datetime | BindParameter[datetime]) -> list[Any]:
    """Conditions under which an owed notice may be sent now.

    Causal order per conversation: a notice waits while an older one to the
    same conversation is due or being retried (so an outage never reorders a
    conversation), and while the message it edits or replies to is undelivered.
    An older notice merely *deferred* (to business hours) does not hold back,
    say, a crisis page to the same person.
    """
    older, target = _OLDER, _TARGET
    older_in_the_way = exists().where(
        older.conversation == OutboxNotice.conversation,
        older.status.in_(OWED),
        older.id < OutboxNotice.id,
        or_(older.attempts > 0, older.next_attempt_at <= now),
    )
    target_undelivered = exists().where(target.id == OutboxNotice.target_id, target.status != NoticeStatus.DELIVERED)
    return [
        OutboxNotice.status.in_(OWED),
        OutboxNotice.next_attempt_at <= now,
        or_(OutboxNotice.claimed_until.is_(None), OutboxNotice.claimed_until <= now),
        ~older_in_the_way,
        ~target_undelivered,
    ]


def sendable(now: datetime) -> list[Any]:
    """Conditions under which an owed notice may be sent at ``now`` (for callers that count what is owed)."""
    return _sendable(now)


_NOW = bindparam("now", type_=UTCDateTime())
_DUE = (
    select(OutboxNotice.id)
    .where(*_sendable(_NOW))
    .order_by(OutboxNotice.next_attempt_at, OutboxNotice.id)
    .limit(bindparam("limit", type_=Integer()))
)
_DUE_SKIP_LOCKED = _DUE.with_for_update(skip_locked=True, of=OutboxNotice)
_CLAIM = (
    update(OutboxNotice)
    .where(OutboxNotice.id == bindparam("notice_id", type_=Integer()), *_sendable(_NOW))
    .values(claimed_until=bindparam("lease_until", type_=UTCDateTime()), attempts=OutboxNotice.attempts + 1)
    .execution_options(synchronize_session=False)
)


def due_notice_ids(session: Session, *, now: datetime, limit: int = 100) -> list[int]:
    """Ids of notices that may be sent now, oldest due first."""
    stmt = _DUE_SKIP_LOCKED if session.get_bind().dialect.name == "postgresql" else _DUE
    return list(session.scalars(stmt, {"now": now, "limit": limit}))


def claim(session: Session, notice_id: int, *, now: datetime) -> OutboxNotice | None:
    """Take the notice for sending; ``None`` when it is not sendable or someone else holds it.

    The returned row's ``attempts`` already counts this try. A status of
    SENDING on a claimed row means an earlier try's outcome is unknown.
    """
    result = session.execute(_CLAIM, {"notice_id": notice_id, "now": now, "lease_until": now + CLAIM_LEASE})
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(OutboxNotice, notice_id, populate_existing=True)


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff capped so delivery resumes within a minute of recovery."""
    return float(min(MAX_BACKOFF_SECONDS, 2 ** max(0, attempts - 1)))
