"""Every model, imported once so ``Base.metadata`` knows all tables (Alembic, tests)."""

from __future__ import annotations

from bot.db import Base
from bot.delivery.events import SeenEvent
from bot.delivery.models import OutboxNotice
from bot.plans.models import Client, Plan, PlanMember
from bot.tracking.models import TrackedRequest

__all__ = ["Base", "Client", "OutboxNotice", "Plan", "PlanMember", "SeenEvent", "TrackedRequest"]
