"""Clients and their social media plans.

A plan is immutable: every change writes a new :class:`Plan` version and moves
``Client.current_plan_id``, so the history (who changed what, when) is the
list of versions itself. :class:`PlanMember` indexes who holds which role in
each version, so "which clients is this person on" is one indexed query.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db import Base, UTCDateTime
from bot.plans.calendar import BusinessCalendar
from bot.plans.hours import WeeklyHours, from_json


class ClientStatus(enum.StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


# Where a client may go from each status (read by ``bot.plans.service.transition``, the one function
# that changes it). Archiving is one way: an archived client's history stays for reports.
CLIENT_TRANSITIONS: dict[ClientStatus, frozenset[ClientStatus]] = {
    ClientStatus.ACTIVE: frozenset({ClientStatus.ARCHIVED}),
    ClientStatus.ARCHIVED: frozenset(),
}


class Role(enum.StrEnum):
    REFERENCE = "reference"
    BACKUP = "backup"
    LEAD = "lead"
    CM = "cm"


class Client(Base):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    # Lower-cased name: uniqueness and look-ups ignore case.
    name_key: Mapped[str] = mapped_column(String(80), unique=True)
    # Prefix of human references such as ACME-42.
    ref_prefix: Mapped[str] = mapped_column(String(12), unique=True)
    status: Mapped[ClientStatus] = mapped_column(
        Enum(ClientStatus, native_enum=False, length=16), default=ClientStatus.ACTIVE
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(32))
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    current_plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("plans.id", use_alter=True, name="fk_clients_current_plan_id_plans")
    )
    next_number: Mapped[int] = mapped_column(Integer, default=1)

    current_plan: Mapped[Plan | None] = relationship(foreign_keys=[current_plan_id], lazy="joined")


class Plan(Base):
    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(32))
    # Human summary of what changed against the previous version (English field names).
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    # People
    reference_user: Mapped[str] = mapped_column(String(32))
    backups: Mapped[list[str]] = mapped_column(JSON, default=list)
    account_lead: Mapped[str | None] = mapped_column(String(32))
    community_managers: Mapped[list[str]] = mapped_column(JSON, default=list)
    channel: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8), default="en")

    # Calendar
    timezone: Mapped[str] = mapped_column(String(64))
    hours: Mapped[dict[str, Any]] = mapped_column(JSON)
    holiday_country: Mapped[str | None] = mapped_column(String(8))
    holiday_subdiv: Mapped[str | None] = mapped_column(String(16))
    closed_dates: Mapped[list[str]] = mapped_column(JSON, default=list)

    # Windows and escalation
    response_window_minutes: Mapped[int] = mapped_column(Integer)
    crisis_window_minutes: Mapped[int] = mapped_column(Integer)
    remind_at_percent: Mapped[int] = mapped_column(Integer)
    escalate_backups_percent: Mapped[int] = mapped_column(Integer)
    escalate_lead_percent: Mapped[int] = mapped_column(Integer)
    overdue_repeat_minutes: Mapped[int | None] = mapped_column(Integer)  # None: one window
    overdue_repeat_limit: Mapped[int] = mapped_column(Integer)
    publish_margin_minutes: Mapped[int] = mapped_column(Integer)
    internal_review: Mapped[bool] = mapped_column(Boolean, default=False)
    require_all_reviewers: Mapped[bool] = mapped_column(Boolean, default=False)
    # The account lead may stand in for the client once a request is escalated to them (off by default).
    lead_can_decide: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    # Content rules and crisis manual
    pre_approved_categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    crisis_manual: Mapped[list[str]] = mapped_column(JSON, default=list)
    crisis_extra_pages: Mapped[list[str]] = mapped_column(JSON, default=list)
    crisis_repeat_minutes: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("client_id", "version", name="uq_plans_client_version"),)

    # -- derived -------------------------------------------------------------------------------
    @property
    def weekly_hours(self) -> WeeklyHours:
        return from_json(self.hours)

    def calendar(self) -> BusinessCalendar:
        """The client's business calendar: every non-crisis deadline is computed on it."""
        return BusinessCalendar(
            tz=self.timezone,
            hours=self.weekly_hours,
            holiday_country=self.holiday_country,
            holiday_subdiv=self.holiday_subdiv,
            closed_dates=frozenset(date.fromisoformat(d) for d in self.closed_dates),
        )

    def crisis_calendar(self) -> BusinessCalendar:
        """Crisis windows are wall-clock, 24/7."""
        return BusinessCalendar.wall_clock(self.timezone)

    @property
    def response_window(self) -> timedelta:
        return timedelta(minutes=self.response_window_minutes)

    @property
    def crisis_window(self) -> timedelta:
        return timedelta(minutes=self.crisis_window_minutes)

    def roles_of(self, user_id: str) -> set[Role]:
        roles: set[Role] = set()
        if user_id == self.reference_user:
            roles.add(Role.REFERENCE)
        if user_id in self.backups:
            roles.add(Role.BACKUP)
        if user_id == self.account_lead:
            roles.add(Role.LEAD)
        if user_id in self.community_managers:
            roles.add(Role.CM)
        return roles

    def client_side(self) -> list[str]:
        """Who may decide for the client: the reference person, then the backups in order."""
        return [self.reference_user, *[b for b in self.backups if b != self.reference_user]]


class PlanMember(Base):
    __tablename__ = "plan_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16))
    position: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        Index("ix_plan_members_user", "user_id", "role"),
        Index("ix_plan_members_plan", "plan_id"),
    )
