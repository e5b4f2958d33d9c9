"""Who is acting: the user behind a request, as the domain sees them (no Slack types)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    user_id: str
    team_id: str | None
    language: str
    is_agency: bool
