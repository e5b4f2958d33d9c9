"""Every model, imported once so ``Base.metadata`` knows all tables (Alembic, tests)."""

from __future__ import annotations

from bot.approvals.models import (
    AuditEvent,
    ClientWebhook,
    Draft,
    DraftCard,
    DraftDecision,
    DraftMedia,
    DraftVersion,
    WebhookDelivery,
)
from bot.crises.models import (
    Crisis,
    CrisisEvent,
    CrisisHold,
    CrisisPage,
    CrisisSettings,
    CrisisSignal,
    CrisisStep,
    OncallDelivery,
)
from bot.db import Base
from bot.delivery.events import SeenEvent
from bot.delivery.inbox import InboxRequest
from bot.delivery.models import OutboxNotice, SharedFile
from bot.people import Person
from bot.plans.models import Client, Plan, PlanMember
from bot.tracking.models import DigestSent, Question, SweepTimer, TrackedRequest

__all__ = [
    "AuditEvent",
    "Base",
    "Client",
    "ClientWebhook",
    "Crisis",
    "CrisisEvent",
    "CrisisHold",
    "CrisisPage",
    "CrisisSettings",
    "CrisisSignal",
    "CrisisStep",
    "DigestSent",
    "Draft",
    "DraftCard",
    "DraftDecision",
    "DraftMedia",
    "DraftVersion",
    "InboxRequest",
    "OncallDelivery",
    "OutboxNotice",
    "Person",
    "Plan",
    "PlanMember",
    "Question",
    "SeenEvent",
    "SharedFile",
    "SweepTimer",
    "TrackedRequest",
    "WebhookDelivery",
]
