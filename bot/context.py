"""What handlers and jobs share: settings, database, clock, Slack client, delivery."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.access import Actor
from bot.clock import Clock
from bot.config import Settings
from bot.db import Database
from bot.delivery.inbox import Inbox
from bot.delivery.sender import Deliverer
from bot.i18n import DEFAULT_LANGUAGE
from bot.metrics import Metrics
from bot.people import language_for
from bot.slack import AgencyMembership, UserDirectory

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from sqlalchemy.orm import Session


@dataclass
class AppContext:
    settings: Settings
    db: Database
    clock: Clock
    client: WebClient
    deliverer: Deliverer
    users: UserDirectory
    agency: AgencyMembership
    inbox: Inbox
    metrics: Metrics

    def actor(
        self, user_id: str, team_id: str | None, agency_team_id: str | None, *, session: Session | None = None
    ) -> Actor:
        """The acting user, in the language :func:`bot.people.language_for` gives them (a client's person
        reads their client's plan language; anyone else their Slack language, else English)."""
        user = self.users.get(user_id, session=session)
        if session is not None:
            language = language_for(session, user_id)
        else:  # before the unit of work opens (a refused request): what Slack says, else English
            language = (user.language if user else None) or DEFAULT_LANGUAGE
        team = (user.team_id if user and user.team_id else None) or team_id
        return Actor(user_id, team, language, self.agency.is_agency(user_id, team, agency_team_id))
