"""Reputation crises: declared, paged until acknowledged, worked through the manual, resolved.

A :class:`Crisis` freezes everything paging needs when it is declared (the
chain of people by level, their languages, the channel, the window and repeat
interval, the on-call target), so editing the plan never changes an open
crisis. ``next_page_at`` and ``next_update_at`` are the indexed instants the
sweeps read; ``page_round`` makes every paging step happen once.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, UTCDateTime


class CrisisStatus(enum.StrEnum):
    SUGGESTED = "suggested"  # opened by detection; nobody is paged until a person confirms it
    OPEN = "open"  # paging until someone acknowledges
    ACKNOWLEDGED = "acknowledged"  # someone owns it: no more pages, still holding the calendar
    RESOLVED = "resolved"
    DISMISSED = "dismissed"  # a suggestion a person turned down


ACTIVE = (CrisisStatus.OPEN, CrisisStatus.ACKNOWLEDGED)

# Every status change a crisis may make (checked by :func:`bot.crises.service.transition`).
TRANSITIONS: dict[CrisisStatus, set[CrisisStatus]] = {
    CrisisStatus.SUGGESTED: {CrisisStatus.OPEN, CrisisStatus.DISMISSED},  # a person confirms or turns it down
    CrisisStatus.OPEN: {CrisisStatus.ACKNOWLEDGED, CrisisStatus.RESOLVED},  # resolving also acknowledges
    CrisisStatus.ACKNOWLEDGED: {CrisisStatus.RESOLVED},
}


class CrisisSource(enum.StrEnum):
    COMMAND = "command"
    SHORTCUT = "shortcut"
    DETECTION = "detection"


class Crisis(Base):
    __tablename__ = "crises"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))  # the plan version the chain was copied from
    status: Mapped[CrisisStatus] = mapped_column(Enum(CrisisStatus, native_enum=False, length=16))
    severity: Mapped[int] = mapped_column(Integer)  # 1 (worst) .. 3
    description: Mapped[str] = mapped_column(Text)
    source: Mapped[CrisisSource] = mapped_column(Enum(CrisisSource, native_enum=False, length=16))
    source_link: Mapped[str | None] = mapped_column(String(500))
    source_channel: Mapped[str | None] = mapped_column(String(32))
    source_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    declared_by: Mapped[str | None] = mapped_column(String(32))

    # Frozen at declaration.
    chain: Mapped[list[list[str]]] = mapped_column(JSON, default=list)  # user ids by level (level 1 first)
    languages: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # user id -> "en" | "es"
    channel: Mapped[str | None] = mapped_column(String(32))
    lead: Mapped[str | None] = mapped_column(String(32))
    timezone: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))  # the client's: messages to the client channel
    window_minutes: Mapped[int] = mapped_column(Integer)
    repeat_minutes: Mapped[int] = mapped_column(Integer)
    oncall: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    # Paging state.
    level: Mapped[int] = mapped_column(Integer, default=0)
    page_round: Mapped[int] = mapped_column(Integer, default=0)
    next_page_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    level_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_update_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(32))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(32))
    resolution: Mapped[str | None] = mapped_column(Text)

    # The crisis message (client channel, else the lead's DM) and the checklist in its thread.
    root_notice_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    checklist_notice_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))

    __table_args__ = (
        Index("ix_crises_paging", "status", "next_page_at"),
        Index("ix_crises_update_due", "status", "next_update_at"),
        Index("ix_crises_client", "client_id", "status"),
    )

    @property
    def recipients(self) -> list[str]:
        """Everyone paged at the current level: levels 1..level of the frozen chain."""
        seen: list[str] = []
        for users in self.chain[: max(self.level, 0)]:
            seen += [u for u in users if u not in seen]
        return seen

    def language_of(self, user_id: str) -> str:
        return self.languages.get(user_id, self.language)


class CrisisPage(Base):
    """One page (DM) sent to one person: who was paged when, and the message to update on ack."""

    __tablename__ = "crisis_pages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(String(32))
    level: Mapped[int] = mapped_column(Integer)
    round: Mapped[int] = mapped_column(Integer)
    paged_at: Mapped[datetime] = mapped_column(UTCDateTime())
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))

    __table_args__ = (Index("ix_crisis_pages_crisis", "crisis_id", "round"),)


class CrisisStep(Base):
    """A step of the crisis manual, copied at declaration, ticked by a person."""

    __tablename__ = "crisis_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (Index("ix_crisis_steps_crisis", "crisis_id", "position"),)


class CrisisEvent(Base):
    """The timeline: every page, acknowledgement, step, thread message and status change."""

    __tablename__ = "crisis_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Makes an event that may be reported twice (Slack retries a message event) happen once.
    dedup: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("crisis_id", "dedup", name="uq_crisis_events_dedup"),
        Index("ix_crisis_events_crisis", "crisis_id", "at"),
    )


class CrisisHold(Base):
    """A scheduled draft held while its client is in crisis (released only by a person)."""

    __tablename__ = "crisis_holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    # No foreign key: the approvals domain owns drafts and migrates on its own schedule.
    draft_id: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(40), default="")
    held_at: Mapped[datetime] = mapped_column(UTCDateTime())
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_by: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        UniqueConstraint("crisis_id", "draft_id", name="uq_crisis_holds_crisis_draft"),
        Index("ix_crisis_holds_client", "client_id", "released_at"),
    )


class CrisisSettings(Base):
    """Per-client crisis options that are not part of the plan: listening rules and the on-call target."""

    __tablename__ = "crisis_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), unique=True)
    watch_channel: Mapped[str | None] = mapped_column(String(32), index=True)
    watch_keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    watch_threshold: Mapped[int] = mapped_column(Integer, default=5)
    watch_window_minutes: Mapped[int] = mapped_column(Integer, default=10)
    last_suggested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    oncall_kind: Mapped[str | None] = mapped_column(String(16))  # "pagerduty" | "webhook"
    oncall_url: Mapped[str | None] = mapped_column(String(500))
    oncall_key: Mapped[str | None] = mapped_column(String(200))  # routing key, or the webhook's signing secret
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(32))


class CrisisSignal(Base):
    """A message in a listening channel that matched a client's keywords (kept for one window)."""

    __tablename__ = "crisis_signals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    channel: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("client_id", "channel", "ts", name="uq_crisis_signals_message"),
        Index("ix_crisis_signals_client_at", "client_id", "at"),
    )


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # refused for good, or out of attempts


class OncallDelivery(Base):
    """One event owed to the client's on-call service, retried with backoff until accepted."""

    __tablename__ = "crisis_oncall_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))  # trigger | acknowledge | resolve
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(String(500))
    dedup_key: Mapped[str] = mapped_column(String(64))
    # The exact bytes sent (and signed), so every retry is identical.
    body: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(DeliveryStatus, native_enum=False, length=16), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_crisis_oncall_owed", "status", "next_attempt_at"),
        Index("ix_crisis_oncall_crisis", "crisis_id", "id"),
    )
