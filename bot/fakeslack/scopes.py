"""Which OAuth scope each Web API method needs, as Slack's method reference pages state for bot tokens.

The fake answers ``missing_scope`` (with ``needed`` and ``provided``, as Slack does) when its token
lacks the scope. The tests give the fake's token the scopes of ``manifest.json``
(:func:`manifest_scopes`), so the whole suite shows the manifest is enough, and
``tests/foundation/test_scopes.py`` shows each scope of the manifest is needed by something.

A method some conversation type decides (history, replies, open, info, members) names one scope per
type: ``channels:*`` for public channels, ``groups:*`` for private ones, ``im:*`` for DMs, ``mpim:*``
for group DMs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

PUBLIC, PRIVATE, IM, MPIM = "public", "private", "im", "mpim"
CONVERSATION_TYPES = (PUBLIC, PRIVATE, IM, MPIM)


def _by_type(family: str) -> dict[str, str]:
    return {PUBLIC: f"channels:{family}", PRIVATE: f"groups:{family}", IM: f"im:{family}", MPIM: f"mpim:{family}"}


# method -> the scope it needs: "" for none, a str, or {conversation type: scope}.
METHOD_SCOPES: Mapping[str, str | Mapping[str, str]] = {
    "auth.test": "",
    "apps.connections.open": "connections:write",  # an app-level token's scope, not a bot scope
    "users.info": "users:read",
    "users.list": "users:read",
    "users.lookupByEmail": "users:read.email",
    "usergroups.users.list": "usergroups:read",
    "conversations.open": {PUBLIC: "channels:manage", PRIVATE: "groups:write", IM: "im:write", MPIM: "mpim:write"},
    "conversations.info": _by_type("read"),
    "conversations.members": _by_type("read"),
    "conversations.history": _by_type("history"),
    "conversations.replies": _by_type("history"),
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.delete": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.getPermalink": "",
    "views.open": "",
    "views.push": "",
    "views.update": "",
    "views.publish": "",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "files.info": "files:read",
    "files.upload": "files:write",
}

# What the manifest subscribes to or declares, and the scope each needs (Slack's event pages).
EVENT_SCOPES: Mapping[str, str] = {
    "app_home_opened": "",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "message.im": "im:history",
    "message.mpim": "mpim:history",
}
FEATURE_SCOPES: Mapping[str, str] = {"slash_commands": "commands", "shortcuts": "commands"}

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.json"


def scope_needed(method: str, conversation_type: str | None = None) -> str:
    """The scope ``method`` needs ("" for none); KeyError for a method not in :data:`METHOD_SCOPES`."""
    needed = METHOD_SCOPES[method]
    if isinstance(needed, str):
        return needed
    return needed[conversation_type or PUBLIC]


def manifest_scopes(path: Path = MANIFEST) -> frozenset[str] | None:
    """The bot scopes ``manifest.json`` asks for; None when there is no manifest (an installed wheel)."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return frozenset(manifest["oauth_config"]["scopes"]["bot"])


def provided(scopes: Iterable[str]) -> str:
    return ",".join(sorted(scopes))
