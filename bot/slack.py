"""The Slack Web API client every part of the bot shares, and look-ups through it."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, ServerErrorRetryHandler

from bot.config import Settings
from bot.i18n import normalize_language

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


@dataclass(frozen=True)
class SlackUser:
    id: str
    team_id: str | None
    language: str
    is_bot: bool
    deleted: bool
    tz: str | None = None


class UserDirectory:
    """users.info with a small time-limited cache (language and team change rarely)."""

    TTL_SECONDS = 3600

    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._cache: dict[str, tuple[float, SlackUser | None]] = {}
        self._lock = threading.Lock()

    def get(self, user_id: str) -> SlackUser | None:
        """The user, or None when Slack does not know them (or cannot be reached)."""
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(user_id)
        if hit and now - hit[0] < self.TTL_SECONDS:
            return hit[1]
        try:
            r = self.client.users_info(user=user_id, include_locale=True)
        except SlackClientError as e:
            error = getattr(getattr(e, "response", None), "data", {}) or {}
            if isinstance(error, dict) and error.get("error") == "user_not_found":
                user = None
            else:
                log.warning("users.info failed", extra={"user": user_id})
                return None  # do not cache transient failures
        else:
            u = r["user"]
            user = SlackUser(u["id"], u.get("team_id"), normalize_language(u.get("locale")),
                             bool(u.get("is_bot")), bool(u.get("deleted")), u.get("tz"))
        with self._lock:
            self._cache[user_id] = (now, user)
        return user


class AgencyMembership:
    """Who counts as agency staff.

    Without ``NEXO_AGENCY_MEMBERS``: every member of the workspace that installed
    the bot (its team id, from ``auth.test``). With it: only the listed user ids
    and members of the listed user groups (``S...`` ids, via usergroups.users.list).
    """

    TTL_SECONDS = 300

    def __init__(self, client: WebClient, members: tuple[str, ...]) -> None:
        self.client = client
        self.users = frozenset(m for m in members if not m.startswith("S"))
        self.groups = tuple(m for m in members if m.startswith("S"))
        self._group_cache: tuple[float, frozenset[str]] | None = None
        self._lock = threading.Lock()

    def is_agency(self, user_id: str, team_id: str | None, agency_team_id: str | None) -> bool:
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
