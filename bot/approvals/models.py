"""Drafts, their versions, the decisions on them, the cards that asked, and the audit trail.

A :class:`Draft` is one post for one client, with a human reference (``ACME-42``).
Every text change is a new immutable :class:`DraftVersion`; decisions are recorded
per version (:class:`DraftDecision`), so "who approved which version, when" is a
query, not a reconstruction. :class:`DraftCard` remembers each approval card the
outbox posted, so a decision or a revision can update them all in place.

The draft's state machine is :class:`DraftStatus` and :data:`TRANSITIONS`; every status change goes
through :func:`bot.approvals.service.transition`, one conditional UPDATE that checks the table.
Statuses are stored by name in a VARCHAR(24) without a CHECK constraint (``native_enum=False``, and
SQLAlchemy 2 creates no constraint for it), so a new status such as WITHDRAWN needs no migration.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from bot import transitions
from bot.db import Base, UTCDateTime


class Stage(enum.StrEnum):
    """Who reviews a version: the agency's account lead first (when the plan asks), then the client."""

    INTERNAL = "internal"  # the account lead reviews first (Plan.internal_review)
    CLIENT = "client"  # the client's reference person (or backups) decide


class DraftStatus(enum.StrEnum):
    """Where a draft is in its review (the moves it may make: :data:`TRANSITIONS`)."""

    INTERNAL_REVIEW = "internal_review"
    INTERNAL_CHANGES = "internal_changes"  # the lead asked for changes; waiting on the CM
    CLIENT_REVIEW = "client_review"
    CLIENT_CHANGES = "client_changes"  # the client asked for changes; they may still approve as is
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"  # the agency took it back (before it was published): final, no card takes decisions


REVIEW = {Stage.INTERNAL: DraftStatus.INTERNAL_REVIEW, Stage.CLIENT: DraftStatus.CLIENT_REVIEW}
CHANGES = {Stage.INTERNAL: DraftStatus.INTERNAL_CHANGES, Stage.CLIENT: DraftStatus.CLIENT_CHANGES}
OPEN_STATUSES = (
    DraftStatus.INTERNAL_REVIEW,
    DraftStatus.INTERNAL_CHANGES,
    DraftStatus.CLIENT_REVIEW,
    DraftStatus.CLIENT_CHANGES,
)
# No way out of these. An approved post may still be rescheduled, edited (back to review) or withdrawn.
FINAL_STATUSES = (DraftStatus.REJECTED, DraftStatus.WITHDRAWN)
# What the agency may still change on its own (edit, withdraw, reschedule: bot.approvals.changes).
CHANGEABLE = (*OPEN_STATUSES, DraftStatus.APPROVED)

# Where a draft may go from each status. A status going to itself is a write that only bumps the row
# (a revision in review, a hand-over, one more approval of several, a new publish time), still
# conditional on the status. The agency may withdraw any draft it can still change (:data:`CHANGEABLE`).
TRANSITIONS: dict[DraftStatus, frozenset[DraftStatus]] = {
    # The lead approves (to the client, or approved when pre-approved), asks for changes, or rejects.
    DraftStatus.INTERNAL_REVIEW: frozenset(
        {
            DraftStatus.INTERNAL_REVIEW,
            DraftStatus.INTERNAL_CHANGES,
            DraftStatus.CLIENT_REVIEW,
            DraftStatus.APPROVED,
            DraftStatus.REJECTED,
            DraftStatus.WITHDRAWN,
        }
    ),
    # Revised (back to the lead), or approved as is by the lead.
    DraftStatus.INTERNAL_CHANGES: frozenset(
        {
            DraftStatus.INTERNAL_REVIEW,
            DraftStatus.INTERNAL_CHANGES,
            DraftStatus.CLIENT_REVIEW,
            DraftStatus.APPROVED,
            DraftStatus.WITHDRAWN,
        }
    ),
    DraftStatus.CLIENT_REVIEW: frozenset(
        {
            DraftStatus.CLIENT_REVIEW,
            DraftStatus.CLIENT_CHANGES,
            DraftStatus.APPROVED,
            DraftStatus.REJECTED,
            DraftStatus.WITHDRAWN,
        }
    ),
    # Revised, or the request for changes no longer stands (all must approve), or approved as is.
    DraftStatus.CLIENT_CHANGES: frozenset(
        {DraftStatus.CLIENT_REVIEW, DraftStatus.CLIENT_CHANGES, DraftStatus.APPROVED, DraftStatus.WITHDRAWN}
    ),
    # Rescheduled (stays approved), edited (a new version goes back for approval), or withdrawn.
    DraftStatus.APPROVED: frozenset(
        {DraftStatus.APPROVED, DraftStatus.INTERNAL_REVIEW, DraftStatus.CLIENT_REVIEW, DraftStatus.WITHDRAWN}
    ),
    DraftStatus.REJECTED: frozenset(),
    DraftStatus.WITHDRAWN: frozenset(),
}


def allowed_from(to: DraftStatus) -> tuple[DraftStatus, ...]:
    """Every status :data:`TRANSITIONS` lets a draft leave for ``to``."""
    return tuple(transitions.sources(TRANSITIONS, to))


def stage_of(status: DraftStatus) -> Stage | None:
    """The review stage an open draft is in (None once decided)."""
    if status in (DraftStatus.INTERNAL_REVIEW, DraftStatus.INTERNAL_CHANGES):
        return Stage.INTERNAL
    if status in (DraftStatus.CLIENT_REVIEW, DraftStatus.CLIENT_CHANGES):
        return Stage.CLIENT
    return None


class Decision(enum.StrEnum):
    """What one reviewer decided on one version."""

    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"
    REJECTED = "rejected"


class Draft(Base):
    """One post for one client, with its human reference (``ACME-42``) and its current status."""

    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    number: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    status: Mapped[DraftStatus] = mapped_column(Enum(DraftStatus, native_enum=False, length=24))
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Copies of the current version's values the sweeps and lists filter on.
    publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    category: Mapped[str | None] = mapped_column(String(60))
    # The final decision: who, when, on which version (pre_approved: no client step).
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(32))
    decided_version: Mapped[int | None] = mapped_column(Integer)
    pre_approved: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set once, by the sweep that flags a publish time passing unapproved.
    missed_flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("client_id", "number", name="uq_drafts_client_number"),
        Index("ix_drafts_status_publish", "status", "publish_at"),
        Index("ix_drafts_author_status", "created_by", "status"),
    )


class DraftVersion(Base):
    """One immutable text of a draft (a revision adds the next number)."""

    __tablename__ = "draft_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    networks: Mapped[list[str]] = mapped_column(JSON, default=list)
    publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    category: Mapped[str | None] = mapped_column(String(60))
    media_links: Mapped[list[str]] = mapped_column(JSON, default=list)
    internal_note: Mapped[str | None] = mapped_column(Text)  # agency-only: never on a client card
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("draft_id", "number", name="uq_draft_versions_draft_number"),)


class MediaKind(enum.StrEnum):
    """What a Slack file attached to a draft is (the card shows images inline, videos as a link)."""

    IMAGE = "image"
    VIDEO = "video"


class DraftMedia(Base):
    """One Slack file of a version (its position on the card). ``file_id`` is the CM's own file, read
    with the bot token (``files.info``) and never made public; each conversation a card goes to gets its
    own copy (:mod:`bot.approvals.media`)."""

    __tablename__ = "draft_media"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    file_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    mimetype: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    kind: Mapped[MediaKind] = mapped_column(Enum(MediaKind, native_enum=False, length=16))
    duration_ms: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("draft_id", "version", "position", name="uq_draft_media_draft_version_position"),
    )


class DraftDecision(Base):
    """One reviewer's decision on one version at one stage (append-only)."""

    __tablename__ = "draft_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    stage: Mapped[Stage] = mapped_column(Enum(Stage, native_enum=False, length=16))
    reviewer: Mapped[str] = mapped_column(String(32))
    decision: Mapped[Decision] = mapped_column(Enum(Decision, native_enum=False, length=24))
    # Set when a stand-in decided for an absent reviewer: the decision counts as theirs.
    on_behalf_of: Mapped[str | None] = mapped_column(String(32))
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_draft_decisions_draft_version", "draft_id", "version", "stage"),)


class DraftCard(Base):
    """An approval card the outbox posted (or owes) for a version, so it can be updated in place."""

    __tablename__ = "draft_cards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    stage: Mapped[Stage] = mapped_column(Enum(Stage, native_enum=False, length=16))
    recipient: Mapped[str] = mapped_column(String(32))  # a user id (DM) or the client channel
    language: Mapped[str] = mapped_column(String(8))
    notice_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # A stand-in's card (sent when the request escalated): whom its recipient decides for.
    stands_in_for: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_draft_cards_draft_version", "draft_id", "version"),
        Index("ix_draft_cards_notice", "notice_id"),
    )


class AuditEvent(Base):
    """The append-only audit trail of everything that happened to a client's drafts."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("drafts.id"))
    version: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(32))  # a user id, or "nexo" for the bot's own steps
    event: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_audit_events_client_at", "client_id", "at"),
        Index("ix_audit_events_draft", "draft_id", "version"),
    )


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _append_only(_mapper: Any, _connection: Any, target: AuditEvent) -> None:
    raise RuntimeError(f"audit event {target.id} is append-only")


class ClientWebhook(Base):
    """Where approved posts are handed to a publishing tool (one per client, optional)."""

    __tablename__ = "client_webhooks"

    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(32))


class DeliveryStatus(enum.StrEnum):
    """Where a hand-off to the publishing tool stands."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after the last retry
    CANCELLED = "cancelled"  # withdrawn before it went out: never sent


class WebhookEvent(enum.StrEnum):
    """What a request to the publishing tool says happened to a post (the body's ``event``)."""

    APPROVED = "post.approved"  # the hand-off: the approved version, to publish at publish_at
    HELD = "post.held"  # a crisis: do not publish it until post.released
    RELEASED = "post.released"  # the crisis is over: publish as planned
    WITHDRAWN = "post.withdrawn"  # do not publish it at all
    RESCHEDULED = "post.rescheduled"  # publish at the new publish_at


class WebhookDelivery(Base):
    """One event owed to the client's publishing tool (the hand-off, or news of a post it has); retried
    until a 2xx. ``dedup_key`` makes each event owed once (one hand-off per version, one hold per crisis
    and post); a draft's events go out in the order they were owed."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"))
    version: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(24), default=WebhookEvent.APPROVED, server_default="post.approved")
    dedup_key: Mapped[str] = mapped_column(String(120))
    # The crisis a post.held / post.released is about (no foreign key: the crises domain owns it).
    crisis_id: Mapped[int | None] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)  # the exact JSON signed and sent on every attempt
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(DeliveryStatus, native_enum=False, length=16), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("dedup_key", name="uq_webhook_deliveries_dedup_key"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_draft", "draft_id", "status"),
    )
