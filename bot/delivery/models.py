"""The outbox: every notice the bot owes, stored before it is sent."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, UTCDateTime


class NoticeKind(enum.StrEnum):
    POST = "post"  # chat.postMessage (to a channel, or a user id for a DM)
    UPDATE = "update"  # chat.update of a message this outbox posted earlier
    EPHEMERAL = "ephemeral"  # chat.postEphemeral
    HOME = "home"  # views.publish of a user's App Home
    RESPONSE = "response"  # a post to a response_url
    UPLOAD = "upload"  # files.getUploadURLExternal + completeUploadExternal (a CSV or a chart in a DM)


class NoticeStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed; outcome unknown until marked
    DELIVERED = "delivered"
    FAILED = "failed"  # Slack refused it for good (e.g. channel_not_found)


class OutboxNotice(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[NoticeKind] = mapped_column(Enum(NoticeKind, native_enum=False, length=16))
    status: Mapped[NoticeStatus] = mapped_column(
        Enum(NoticeStatus, native_enum=False, length=16), default=NoticeStatus.PENDING
    )
    # Notices to one conversation go out in the order they were written.
    conversation: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # A stable name the domain uses to find this message again (to update it).
    ref_key: Mapped[str | None] = mapped_column(String(200), index=True)
    # For UPDATE: the posted notice whose message to change; for a thread reply: its parent.
    target_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    channel: Mapped[str | None] = mapped_column(String(64))
    ts: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        # The sweep reads only rows still owed, by due time: cost follows the backlog, not history.
        Index("ix_outbox_owed", "status", "next_attempt_at"),
        Index("ix_outbox_conversation_owed", "conversation", "status", "id"),
        # A click finds the card (or a thread reply its question) by the message it sits on: without
        # this, every approval click read the whole outbox, which keeps every notice ever sent.
        Index("ix_outbox_channel_ts", "channel", "ts"),
    )


class SharedFile(Base):
    """A copy of a Slack file the outbox shares into one conversation (``key`` names what it is a copy
    of, and where). Written when the upload is owed (``file_id`` still empty), completed when Slack took
    it; a message owed later to that conversation refers to the copy by ``key`` and the sender puts in
    its id (:mod:`bot.delivery.shares`)."""

    __tablename__ = "shared_files"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    conversation: Mapped[str] = mapped_column(String(64))
    notice_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"))
    file_id: Mapped[str | None] = mapped_column(String(32))
    permalink: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    shared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
