"""The Slack Web API client every part of the bot shares, and look-ups through it."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, ServerErrorRetryHandler
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.config import Settings
from bot.db import Database
from bot.i18n import spoken_language
from bot.people import Person, Profile, profile_of, remember

log = logging.getLogger(__name__)

# One quick retry for flaky connections and 5xx; anything longer is the outbox's job,
# which retries durably instead of holding a thread. 429 is left to the outbox too,
# so a rate-limited conversation waits without blocking the others.
WEB_TIMEOUT_SECONDS = 10


def make_web_client(settings: Settings, *, timeout: int = WEB_TIMEOUT_SECONDS) -> WebClient:
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=timeout,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1), ServerErrorRetryHandler(max_retry_count=1)],
    )


class UserDirectory:
    """Who a Slack user is: ``users.info``, remembered in the people table (:mod:`bot.people`).

    A profile fresher than ``TTL`` is read from memory, then from the table (so a restart does not
    ask Slack again); an older or unknown one is fetched and stored. The domain reads the same table
    inside its transactions, so whatever this class learns is what the domain writes with.
    """

    TTL = timedelta(hours=1)

    def __init__(self, client: WebClient, db: Database, clock: Clock) -> None:
        self.client = client
        self.db = db
        self.clock = clock
        self._cache: dict[str, tuple[datetime, Profile | None]] = {}
        self._lock = threading.Lock()

    def get(self, user_id: str, *, session: Session | None = None) -> Profile | None:
        """The user, or None when Slack does not know them (or cannot be reached and never could).

        Inside a unit of work, pass its ``session``: the table is read and written through it (on
        SQLite a second connection of the same thread would wait for the first one's write lock).
        """
        now = self.clock.now()
        with self._lock:
            hit = self._cache.get(user_id)
        if hit and now - hit[0] < self.TTL:
            return hit[1]
        stored = self._stored(user_id, now, session=session)
        if stored is not None:
            return self._keep(user_id, now, stored)
        try:
            r = self.client.users_info(user=user_id, include_locale=True)
        except SlackClientError as e:
            error = getattr(getattr(e, "response", None), "data", {}) or {}
            if isinstance(error, dict) and error.get("error") == "user_not_found":
                return self._keep(user_id, now, None)
            log.warning("users.info failed", extra={"user": user_id})
            return self._stored(user_id, now, any_age=True, session=session)  # stale beats nothing; not cached
        u = r["user"]
        profile = Profile(
            u["id"],
            u.get("team_id"),
            spoken_language(u.get("locale")),
            bool(u.get("is_bot")),
            bool(u.get("deleted")),
            u.get("tz"),
        )
        if session is not None:
            remember(session, profile, now=now)  # commits (or not) with the caller's unit of work
            return self._keep(user_id, now, profile)
        try:
            with self.db.transaction() as own:
                remember(own, profile, now=now)
        except SQLAlchemyError:
            log.warning("could not remember a profile", extra={"user": user_id})
        return self._keep(user_id, now, profile)

    def _stored(
        self, user_id: str, now: datetime, *, any_age: bool = False, session: Session | None = None
    ) -> Profile | None:
        if session is not None:
            return self._fresh(session, user_id, now, any_age)
        try:
            with self.db.sessionmaker() as own:
                return self._fresh(own, user_id, now, any_age)
        except SQLAlchemyError:
            return None

    def _fresh(self, session: Session, user_id: str, now: datetime, any_age: bool) -> Profile | None:
        person = session.get(Person, user_id)
        if person is None or (not any_age and now - person.fetched_at >= self.TTL):
            return None
        return profile_of(session, user_id)

    def _keep(self, user_id: str, now: datetime, profile: Profile | None) -> Profile | None:
        with self._lock:
            self._cache[user_id] = (now, profile)
        return profile


# conversations.open's answer when the bot may not DM a person of another organization: "those
# organizations must be in at least one channel together" (Slack Connect, "Behavior to expect").
NOT_SHARED = "invalid_user_combination"


def can_open_dm(client: WebClient, user_id: str) -> bool | None:
    """Whether the bot may DM ``user_id`` now: False when Slack refuses it (another organization with no
    channel shared with the bot), None when Slack could not say (an outage: assume nothing)."""
    try:
        client.conversations_open(users=user_id)
    except SlackClientError as e:
        error = getattr(getattr(e, "response", None), "data", {}) or {}
        if isinstance(error, dict) and error.get("error") == NOT_SHARED:
            return False
        log.warning("conversations.open failed", extra={"user": user_id})
        return None
    return True


class AgencyMembership:
    """Who counts as agency staff.

    Without ``NEXO_AGENCY_MEMBERS``: every member of the workspace that installed
    the bot (its team id, from ``auth.test``). With it: only the listed user ids
    and members of the listed user groups (``S...`` ids, via usergroups.users.list).
    Either way, a person of another organization (Slack Connect: their ``team_id`` is not the
    installing team's) never counts as agency: what they may do is decided by user id against the
    client's plan, never by the team a payload names.
    """

    TTL_SECONDS = 300

    def __init__(self, client: WebClient, members: tuple[str, ...]) -> None:
        self.client = client
        self.users = frozenset(m for m in members if not m.startswith("S"))
        self.groups = tuple(m for m in members if m.startswith("S"))
        self._group_cache: tuple[float, frozenset[str]] | None = None
        self._lock = threading.Lock()

    def is_agency(self, user_id: str, team_id: str | None, agency_team_id: str | None) -> bool:
        if team_id is not None and agency_team_id is not None and team_id != agency_team_id:
            return False
        if not self.users and not self.groups:
            return team_id is not None and team_id == agency_team_id
        return user_id in self.users or user_id in self._group_members()

    def _group_members(self) -> frozenset[str]:
        if not self.groups:
            return frozenset()
        now = time.monotonic()
        with self._lock:
            if self._group_cache and now - self._group_cache[0] < self.TTL_SECONDS:
                return self._group_cache[1]
        members: set[str] = set()
        for group in self.groups:
            try:
                members.update(self.client.usergroups_users_list(usergroup=group).get("users", []))
            except SlackClientError:
                log.warning("usergroups.users.list failed", extra={"usergroup": group})
        result = frozenset(members)
        with self._lock:
            self._group_cache = (now, result)
        return result
