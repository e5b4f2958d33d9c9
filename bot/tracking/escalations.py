"""What a subject's escalation looks like, when it is more than a notice.

The chase (:mod:`bot.tracking.sweep`) knows requests, not what they are about. A domain whose
requests can be decided by stand-ins registers an :data:`Escalate` for its ``subject_type`` here
(approvals: :mod:`bot.approvals.standins`): at the backups' and the lead's steps the chase asks it
first, and sends its own notice only when none is registered or it declines (returns False).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from bot.plans.models import Plan
from bot.tracking.models import TrackedRequest

BACKUPS, LEAD = "backups", "lead"

# (session, request, the client's current plan, BACKUPS or LEAD, who to write to, now, the request's
# client channel or None) -> whether it wrote the escalation itself.
Escalate = Callable[[Session, TrackedRequest, Plan, str, list[str], datetime, str | None], bool]

_BY_SUBJECT: dict[str, Escalate] = {}


def register(subject_type: str, escalate: Escalate) -> None:
    """Let ``escalate`` write the escalations of requests about ``subject_type``."""
    _BY_SUBJECT[subject_type] = escalate


def escalator(subject_type: str) -> Escalate | None:
    """The registered escalation of ``subject_type`` requests, if any."""
    return _BY_SUBJECT.get(subject_type)
