"""What a draft's transition did (:class:`Outcome`): for the handler's answer and its after-commit work."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.approvals.models import Draft, Stage


@dataclass
class Outcome:
    """What a transition did, for the handler's answer and its after-commit work."""

    draft: Draft
    stage: Stage | None = None
    sent_to: list[str] = field(default_factory=list)
    due_at: datetime | None = None
    deliver_at: datetime | None = None  # later than now: the card waits for the client's business hours
    webhook_ids: list[int] = field(default_factory=list)  # owed to the publishing tool: try after the commit
