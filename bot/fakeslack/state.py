"""The fake workspace's data: users, channels, messages, views, files and what was rejected.

Plain containers plus the few helpers every Web API method needs. Not thread-safe
by itself: :class:`~bot.fakeslack.server.FakeSlack` holds its lock around every use.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PERMALINK_BASE = "https://fake.slack.test"
# Keys kept on stored messages for the tests' convenience but never sent back by Slack.
_INTERNAL_MESSAGE_KEYS = ("channel", "edits", "deleted", "source", "unfurl_links", "unfurl_media")
# Keys kept on stored files for the fake's own use, never sent back by Slack.
_INTERNAL_FILE_KEYS = ("content", "initial_comment", "thread_ts", "alt_txt", "deleted", "access_denied", "app_readable")


class ClockLike(Protocol):
    def now(self) -> datetime: ...


class ApiError(Exception):
    """A Web API error answered as HTTP 200 ``{"ok": false, "error": code}`` (plus extra fields)."""

    def __init__(self, code: str, **extra: object) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


@dataclass
class Call:
    """One request the fake received: decoded params (token removed), when, and what it answered."""

    method: str
    params: dict[str, Any]
    at: float
    status: int
    response: dict[str, Any]


@dataclass
class SlackState:
    team_id: str
    team_name: str
    bot_user_id: str
    bot_id: str
    app_id: str
    auto_channels: bool
    trigger_ttl: float
    response_url_ttl: float
    clock: ClockLike | None = None
    base_url: str = ""  # "http://127.0.0.1:PORT", set once the server listens
    # Slack Connect's rules for people of another organization (see FakeSlack's ``slack_connect``).
    slack_connect: bool = False

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    dm_by_user: dict[str, str] = field(default_factory=dict)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> record (see surfaces.py)
    home: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    triggers: dict[str, dict[str, Any]] = field(default_factory=dict)
    response_urls: dict[str, dict[str, Any]] = field(default_factory=dict)
    responses: list[dict[str, Any]] = field(default_factory=list)
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    seq: itertools.count = field(default_factory=lambda: itertools.count(1))
    last_ts_micros: int = 0

    # ----- ids and times -------------------------------------------------

    def next_id(self, prefix: str, width: int = 8) -> str:
        return f"{prefix}{next(self.seq):0{width}d}"

    def opaque(self, prefix: str = "") -> str:
        n = next(self.seq)
        return f"{prefix}{n}.{hashlib.sha1(f'{self.team_id}:{n}'.encode()).hexdigest()[:16]}"

    def next_ts(self) -> str:
        """A message ts: the clock's time in microseconds, strictly increasing."""
        now = self.clock.now().timestamp() if self.clock is not None else time.time()
        micros = max(int(now * 1_000_000), self.last_ts_micros + 1)
        self.last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    # ----- users and channels -------------------------------------------

    def user(self, user_id: str) -> dict[str, Any]:
        user = self.users.get(user_id)
        if user is None:
            raise ApiError("user_not_found")
        return user

    def is_external(self, user_id: str | None) -> bool:
        """A person of another organization: their ``team_id`` is not the installing team's."""
        user = self.users.get(user_id or "")
        return user is not None and not user["is_bot"] and user["team_id"] != self.team_id

    def shares_channel_with_bot(self, user_id: str) -> bool:
        """Whether ``user_id`` and the bot are both members of some channel (not a DM, not an
        auto-created channel, whose members nobody listed)."""
        return any(
            not ch["is_im"] and ch["bot_member"] and ch["members"] and user_id in ch["members"]
            for ch in self.channels.values()
        )

    def unreachable(self, user_id: str | None) -> bool:
        """Slack Connect: the bot may not DM a person of another organization who shares no channel
        with it (``conversations.open`` answers ``invalid_user_combination``)."""
        return self.slack_connect and self.is_external(user_id) and not self.shares_channel_with_bot(user_id or "")

    def dm_channel(self, user_id: str) -> str:
        """The bot's DM channel with ``user_id``, created on first use (deterministic id)."""
        channel_id = self.dm_by_user.get(user_id)
        if channel_id is None:
            channel_id = "D" + user_id
            self.dm_by_user[user_id] = channel_id
            self.channels[channel_id] = {
                "id": channel_id,
                "name": None,
                "is_im": True,
                "user": user_id,
                "members": [user_id, self.bot_user_id],
                "is_ext_shared": False,
                "is_private": True,
                "bot_member": True,
                "created": int(time.time()),
            }
        return channel_id

    def resolve_channel(self, channel_id: object, *, allow_user: bool = False) -> str:
        """A channel id that exists, opening the DM for a user id when ``allow_user``."""
        if not isinstance(channel_id, str) or not channel_id:
            raise ApiError("channel_not_found")
        if channel_id in self.channels:
            return channel_id
        if channel_id[0] in "UW" and allow_user:
            user = self.users.get(channel_id)
            if user is None:
                raise ApiError("channel_not_found")
            if user["is_bot"]:
                raise ApiError("cannot_dm_bot")
            if user["deleted"]:
                raise ApiError("is_archived")
            return self.dm_channel(channel_id)
        if self.auto_channels and channel_id[0] in "CGD":
            self.channels[channel_id] = {
                "id": channel_id,
                "name": channel_id.lower(),
                "is_im": channel_id[0] == "D",
                "user": None,
                "members": None,
                "is_ext_shared": False,
                "is_private": channel_id[0] != "C",
                "bot_member": True,
                "created": int(time.time()),
                "auto": True,
            }
            return channel_id
        raise ApiError("channel_not_found")

    def channel_object(self, channel_id: str) -> dict[str, Any]:
        """``conversations.info``'s ``channel`` for a known channel id."""
        ch = self.channels[channel_id]
        if ch["is_im"]:
            return {
                "id": channel_id,
                "is_im": True,
                "user": ch["user"],
                "created": ch["created"],
                "is_user_deleted": bool(self.users.get(ch["user"] or "", {}).get("deleted")),
                "is_org_shared": False,
                "is_archived": False,
            }
        members = ch["members"] or []
        teams = sorted({self.users[m]["team_id"] for m in members if m in self.users} | {self.team_id})
        return {
            "id": channel_id,
            "name": ch["name"],
            "name_normalized": ch["name"],
            "is_channel": not ch["is_private"],
            "is_group": ch["is_private"],
            "is_im": False,
            "is_mpim": False,
            "is_private": ch["is_private"],
            "is_archived": False,
            "is_general": False,
            "is_shared": ch["is_ext_shared"],
            "is_ext_shared": ch["is_ext_shared"],
            "is_org_shared": False,
            "is_member": ch["bot_member"],
            "num_members": len(members),
            "created": ch["created"],
            "context_team_id": self.team_id,
            "shared_team_ids": teams if ch["is_ext_shared"] else [self.team_id],
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }

    # ----- files ----------------------------------------------------------

    def stored_file(self, file_id: object) -> dict[str, Any] | None:
        for stored in self.files:
            if stored["id"] == file_id:
                return stored
        return None

    def bot_can_read(self, stored: dict[str, Any]) -> bool:
        """Whether the bot token sees the file: its own upload, a file given to the app through a form's
        file input, or one shared in a conversation the bot is in."""
        if stored["user"] == self.bot_user_id or stored.get("app_readable"):
            return True
        return any(self.channels.get(c, {}).get("bot_member") for c in stored.get("channels") or [])

    @staticmethod
    def public_file(stored: dict[str, Any]) -> dict[str, Any]:
        """The file object as ``files.info`` and messages carry it."""
        return {k: copy.deepcopy(v) for k, v in stored.items() if k not in _INTERNAL_FILE_KEYS}

    # ----- messages -------------------------------------------------------

    def find_message(self, channel_id: str, ts: object) -> dict[str, Any]:
        for msg in self.messages:
            if msg["channel"] == channel_id and msg["ts"] == ts and not msg["deleted"]:
                return msg
        raise ApiError("message_not_found")

    def thread_replies(self, channel_id: str, thread_ts: str) -> list[dict[str, Any]]:
        return [
            m
            for m in self.messages
            if m["channel"] == channel_id
            and not m["deleted"]
            and m.get("thread_ts") == thread_ts
            and m["ts"] != thread_ts
        ]

    def public_message(self, msg: dict[str, Any], *, with_metadata: bool = True) -> dict[str, Any]:
        """The message as Slack returns it (history, payloads): internal keys dropped."""
        out = {k: copy.deepcopy(v) for k, v in msg.items() if k not in _INTERNAL_MESSAGE_KEYS}
        if not with_metadata:
            out.pop("metadata", None)
        if msg.get("edits"):
            out["edited"] = {"user": msg.get("user"), "ts": msg["edits"][-1]["edited_ts"]}
        if msg.get("thread_ts") == msg["ts"] or (msg.get("thread_ts") is None):
            replies = self.thread_replies(msg["channel"], msg["ts"])
            if replies:
                out["thread_ts"] = msg["ts"]
                out["reply_count"] = len(replies)
                out["reply_users"] = sorted({r.get("user") for r in replies if r.get("user")})
                out["latest_reply"] = replies[-1]["ts"]
        return out

    def record_rejection(self, source: str, errors: list[str], payload: dict[str, Any]) -> None:
        self.rejections.append(
            {"method": source, "errors": list(errors), "params": copy.deepcopy(payload), "at": time.time()}
        )

    def record_warnings(self, source: str, warnings: list[str], payload: dict[str, Any]) -> None:
        for warning in warnings:
            self.warnings.append(
                {
                    "method": source,
                    "warning": warning,
                    "channel": payload.get("channel"),
                    "params": copy.deepcopy(payload),
                    "at": time.time(),
                }
            )


def fill_ids(blocks: Any) -> Any:
    """Give blocks and interactive elements without ids the short ids Slack generates for them."""
    if not isinstance(blocks, list):
        return blocks
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        if "block_id" not in block:
            digest = hashlib.sha1(f"{index}:{sorted(block.items())!r}".encode()).hexdigest()
            block["block_id"] = digest[:5]
        elements = block.get("elements") if block.get("type") == "actions" else None
        elements = elements or [block.get(k) for k in ("accessory", "element") if isinstance(block.get(k), dict)]
        for position, element in enumerate(elements):
            if (
                isinstance(element, dict)
                and element.get("type") not in (None, "image", "plain_text", "mrkdwn")
                and "action_id" not in element
            ):
                element["action_id"] = hashlib.sha1(f"{block['block_id']}:{position}".encode()).hexdigest()[:5]
    return blocks


def make_user(
    state: SlackState,
    user_id: str,
    name: str,
    *,
    team_id: str | None,
    tz: str,
    locale: str,
    is_bot: bool,
    deleted: bool,
    email: str | None,
    real_name: str | None,
    display_name: str | None,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """A ``users.info`` user object (``locale`` is removed unless asked for)."""
    try:
        offset = ZoneInfo(tz).utcoffset(datetime.now())
        tz_offset = int(offset.total_seconds()) if offset is not None else 0
    except (ZoneInfoNotFoundError, ValueError):
        tz_offset = 0
    profile: dict[str, Any] = {
        "real_name": real_name or name,
        "display_name": display_name or name,
        "real_name_normalized": real_name or name,
        "display_name_normalized": display_name or name,
        "team": team_id or state.team_id,
    }
    if email:
        profile["email"] = email
    user = {
        "id": user_id,
        "team_id": team_id or state.team_id,
        "name": name,
        "real_name": real_name or name,
        "deleted": deleted,
        "tz": tz,
        "tz_label": tz,
        "tz_offset": tz_offset,
        "locale": locale,
        "is_bot": is_bot,
        "is_app_user": False,
        "is_admin": False,
        "is_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "profile": profile,
    }
    user.update(extra)
    return user
