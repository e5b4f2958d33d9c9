"""Web API methods of the fake: auth, users, conversations, chat, user groups.

Each method takes the decoded params and returns the fields of an ``ok`` answer,
or raises :class:`ApiError`. Views, files and response URLs live in ``surfaces.py``.
"""

from __future__ import annotations

import copy
import hashlib
import time
from typing import Any

from .blockkit import MAX_MESSAGE_TEXT, message_warnings, validate_message
from .state import PERMALINK_BASE, ApiError, SlackState, fill_ids
from .surfaces import SurfaceApi

Params = dict[str, Any]


def truthy(value: object) -> bool:
    return value in (True, 1, "1", "true", "True", "TRUE")


def to_int(value: object, default: int) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return default


def paginate(items: list[Any], params: Params, default_limit: int) -> tuple[list[Any], dict[str, Any]]:
    """Offset cursors, enough for slack_sdk's ``response_metadata.next_cursor`` iteration."""
    limit = max(1, to_int(params.get("limit"), default_limit) or default_limit)
    start = to_int(params.get("cursor"), 0)
    page = items[start : start + limit]
    more = start + limit < len(items)
    return page, {"has_more": more, "response_metadata": {"next_cursor": str(start + limit) if more else ""}}


class WebApi(SurfaceApi):
    """All Web API methods; ``handle`` maps ``chat.postMessage`` to ``chat_postMessage``."""

    def __init__(self, state: SlackState) -> None:
        self.state = state

    METHODS = frozenset(
        {
            "auth.test",
            "apps.connections.open",
            "users.info",
            "users.lookupByEmail",
            "users.list",
            "usergroups.users.list",
            "conversations.open",
            "conversations.info",
            "conversations.members",
            "conversations.history",
            "conversations.replies",
            "chat.postMessage",
            "chat.update",
            "chat.delete",
            "chat.postEphemeral",
            "chat.getPermalink",
            "views.open",
            "views.push",
            "views.update",
            "views.publish",
            "files.getUploadURLExternal",
            "files.completeUploadExternal",
            "files.info",
            "files.upload",
        }
    )

    def handle(self, method: str, params: Params) -> dict[str, Any]:
        if method not in self.METHODS:
            raise ApiError("unknown_method")
        result = getattr(self, method.replace(".", "_"))(params)
        return {"ok": True, **result}

    # ----- auth, apps, users ---------------------------------------------

    def auth_test(self, params: Params) -> dict[str, Any]:
        st = self.state
        return {
            "url": f"{PERMALINK_BASE}/",
            "team": st.team_name,
            "user": "nexo",
            "team_id": st.team_id,
            "user_id": st.bot_user_id,
            "bot_id": st.bot_id,
            "is_enterprise_install": False,
        }

    def apps_connections_open(self, params: Params) -> dict[str, Any]:
        raise ApiError("not_allowed_token_type")

    def files_upload(self, params: Params) -> dict[str, Any]:
        raise ApiError("method_deprecated")

    def users_info(self, params: Params) -> dict[str, Any]:
        user = copy.deepcopy(self.state.user(str(params.get("user", ""))))
        # Slack Connect: no locale for people of another organization, even with include_locale.
        withheld = self.state.slack_connect and self.state.is_external(user["id"])
        if not truthy(params.get("include_locale")) or withheld:
            user.pop("locale", None)
        return {"user": user}

    def users_lookupByEmail(self, params: Params) -> dict[str, Any]:
        email = str(params.get("email", "")).lower()
        for user in self.state.users.values():
            if str(user["profile"].get("email", "")).lower() == email and email:
                return {"user": copy.deepcopy(user)}
        raise ApiError("users_not_found")

    def users_list(self, params: Params) -> dict[str, Any]:
        members, meta = paginate(list(self.state.users.values()), params, 200)
        return {"members": copy.deepcopy(members), **meta}

    def usergroups_users_list(self, params: Params) -> dict[str, Any]:
        group = self.state.usergroups.get(str(params.get("usergroup", "")))
        if group is None:
            raise ApiError("no_such_subteam")
        return {"users": list(group)}

    # ----- conversations ---------------------------------------------------

    def conversations_open(self, params: Params) -> dict[str, Any]:
        st = self.state
        if params.get("channel"):
            channel_id = st.resolve_channel(params["channel"])
            return {"channel": {"id": channel_id}, "already_open": True}
        raw = params.get("users")
        user_ids = raw if isinstance(raw, list) else [u.strip() for u in str(raw or "").split(",") if u.strip()]
        if not user_ids:
            raise ApiError("users_list_not_supplied")
        for user_id in user_ids:
            user = st.user(user_id)
            if user["deleted"]:
                raise ApiError("user_disabled")
            if user["is_bot"] and len(user_ids) == 1:
                raise ApiError("cannot_dm_bot")
            if st.unreachable(user_id):  # "those organizations must be in at least one channel together"
                raise ApiError("invalid_user_combination")
        if len(user_ids) == 1:
            existed = user_ids[0] in st.dm_by_user
            channel_id = st.dm_channel(user_ids[0])
        else:
            existed = False
            digest = hashlib.sha1(",".join(sorted(user_ids)).encode()).hexdigest()[:8].upper()
            channel_id = f"G{digest}"
            st.channels.setdefault(
                channel_id,
                {
                    "id": channel_id,
                    "name": f"mpdm-{digest.lower()}",
                    "is_im": False,
                    "user": None,
                    "members": [*sorted(user_ids), st.bot_user_id],
                    "is_ext_shared": False,
                    "is_private": True,
                    "bot_member": True,
                    "created": int(time.time()),
                },
            )
        channel: dict[str, Any] = {"id": channel_id}
        if truthy(params.get("return_im")):
            channel = st.channel_object(channel_id)
        return {"channel": channel, "already_open": existed, "no_op": existed}

    def conversations_info(self, params: Params) -> dict[str, Any]:
        channel_id = self.state.resolve_channel(params.get("channel"))
        return {"channel": self.state.channel_object(channel_id)}

    def conversations_members(self, params: Params) -> dict[str, Any]:
        st = self.state
        channel = st.channels[st.resolve_channel(params.get("channel"))]
        members = channel["members"] if channel["members"] is not None else [st.bot_user_id]
        page, meta = paginate(list(members), params, 100)
        return {"members": page, **meta}

    def conversations_history(self, params: Params) -> dict[str, Any]:
        st = self.state
        channel_id = st.resolve_channel(params.get("channel"))
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or 0) or float("inf")
        inclusive = truthy(params.get("inclusive"))
        msgs = []
        for msg in st.messages:
            if msg["channel"] != channel_id or msg["deleted"]:
                continue
            if msg.get("thread_ts") not in (None, msg["ts"]) and not msg.get("reply_broadcast"):
                continue
            ts = float(msg["ts"])
            inside = oldest <= ts <= latest if inclusive else oldest < ts < latest
            if inside:
                msgs.append(msg)
        msgs.sort(key=lambda m: float(m["ts"]), reverse=True)
        page, meta = paginate(msgs, params, 100)
        with_meta = truthy(params.get("include_all_metadata"))
        return {"messages": [st.public_message(m, with_metadata=with_meta) for m in page], **meta}

    def conversations_replies(self, params: Params) -> dict[str, Any]:
        st = self.state
        channel_id = st.resolve_channel(params.get("channel"))
        try:
            msg = st.find_message(channel_id, params.get("ts"))
        except ApiError:
            raise ApiError("thread_not_found") from None
        parent_ts = msg.get("thread_ts") or msg["ts"]
        parent = st.find_message(channel_id, parent_ts) if parent_ts != msg["ts"] else msg
        thread = [parent, *st.thread_replies(channel_id, parent_ts)]
        page, meta = paginate(thread, params, 1000)
        with_meta = truthy(params.get("include_all_metadata"))
        return {"messages": [st.public_message(m, with_metadata=with_meta) for m in page], **meta}

    # ----- chat --------------------------------------------------------------

    def chat_postMessage(self, params: Params) -> dict[str, Any]:
        st = self.state
        target = params.get("channel")
        if isinstance(target, str) and st.unreachable(target):
            raise ApiError("channel_not_found")  # a user id the bot may not open a DM with
        channel_id = st.resolve_channel(target, allow_user=True)
        channel = st.channels[channel_id]
        if not channel["bot_member"]:
            raise ApiError("not_in_channel")
        if channel["is_im"] and st.unreachable(channel["user"]):
            raise ApiError("channel_not_found")  # the DM outlived the last channel they shared
        text, blocks = self.message_content(params, "chat.postMessage")
        self.check_slack_files(channel_id, blocks, params, "chat.postMessage")
        msg = self.store_message(channel_id, text, blocks, params, source="chat.postMessage")
        return {"channel": channel_id, "ts": msg["ts"], "message": st.public_message(msg)}

    def chat_update(self, params: Params) -> dict[str, Any]:
        st = self.state
        channel_id = str(params.get("channel") or "")
        if channel_id not in st.channels:
            raise ApiError("channel_not_found")
        msg = st.find_message(channel_id, params.get("ts"))
        if msg.get("user") != st.bot_user_id:
            raise ApiError("cant_update_message")
        text, blocks = self.message_content(params, "chat.update", require=False)
        self.check_slack_files(channel_id, blocks, params, "chat.update")
        self.check_metadata(params)
        self.edit_message(msg, text if "text" in params else None, blocks, metadata=params.get("metadata"))
        return {"channel": channel_id, "ts": msg["ts"], "text": msg.get("text", ""), "message": st.public_message(msg)}

    def chat_delete(self, params: Params) -> dict[str, Any]:
        st = self.state
        channel_id = str(params.get("channel") or "")
        msg = st.find_message(channel_id, params.get("ts"))
        if msg.get("user") != st.bot_user_id:
            raise ApiError("cant_delete_message")
        msg["deleted"] = True
        return {"channel": channel_id, "ts": msg["ts"]}

    def chat_postEphemeral(self, params: Params) -> dict[str, Any]:
        st = self.state
        channel_id = st.resolve_channel(params.get("channel"), allow_user=True)
        user_id = str(params.get("user") or "")
        st.user(user_id)
        members = st.channels[channel_id]["members"]
        if members is not None and user_id not in members:
            raise ApiError("user_not_in_channel")
        text, blocks = self.message_content(params, "chat.postEphemeral")
        eph = self.store_ephemeral(
            channel_id, user_id, text, blocks, params.get("thread_ts"), source="chat.postEphemeral"
        )
        return {"message_ts": eph["message_ts"]}

    def chat_getPermalink(self, params: Params) -> dict[str, Any]:
        st = self.state
        channel_id = str(params.get("channel") or "")
        msg = st.find_message(channel_id, params.get("message_ts"))
        link = f"{PERMALINK_BASE}/archives/{channel_id}/p{msg['ts'].replace('.', '')}"
        if msg.get("thread_ts") and msg["thread_ts"] != msg["ts"]:
            link += f"?thread_ts={msg['thread_ts']}&cid={channel_id}"
        return {"channel": channel_id, "permalink": link}

    # ----- helpers shared with response URLs ------------------------------

    def message_content(self, params: Params, source: str, *, require: bool = True) -> tuple[str, Any]:
        """Validated ``(text, blocks)``; records rejections and warnings; truncates long text."""
        st = self.state
        text, blocks = params.get("text"), params.get("blocks")
        errors = validate_message(text, blocks)
        if errors:
            st.record_rejection(source, errors, params)
            raise ApiError("invalid_blocks", errors=errors)
        if require and not text and not blocks and not params.get("attachments"):
            raise ApiError("no_text")
        st.record_warnings(source, message_warnings(text, blocks), params)
        text = text or ""
        return text[:MAX_MESSAGE_TEXT], blocks

    def check_slack_files(self, channel_id: str, blocks: Any, params: Params, source: str) -> None:
        """An image block may show a Slack file (``slack_file``) only if the poster has access to it
        (Slack's rule). The fake asks more: that the file is shared in this very conversation, since a
        reviewer of another organization may not see it otherwise. So a card must refer to a copy shared
        where it is posted."""
        st = self.state
        errors = []
        for index, block in enumerate(blocks or []):
            ref = block.get("slack_file") if isinstance(block, dict) and block.get("type") == "image" else None
            if not isinstance(ref, dict):
                continue
            file_id = ref.get("id") or str(ref.get("url") or "").rstrip("/").split("/")[-2:][0]
            stored = st.stored_file(file_id)
            if stored is None or stored.get("deleted") or not st.bot_can_read(stored):
                errors.append(f"blocks[{index}].slack_file: {file_id} is not a file the poster can see")
            elif channel_id not in (stored.get("channels") or []):
                errors.append(
                    f"blocks[{index}].slack_file: {file_id} is not shared in {channel_id}, so its "
                    "readers may not see it"
                )
        if errors:
            st.record_rejection(source, errors, params)
            raise ApiError("invalid_blocks", errors=errors)

    @staticmethod
    def check_metadata(params: Params) -> None:
        metadata = params.get("metadata")
        if metadata is None:
            return
        if (
            not isinstance(metadata, dict)
            or not isinstance(metadata.get("event_type"), str)
            or not isinstance(metadata.get("event_payload", {}), dict)
        ):
            raise ApiError("invalid_metadata_format")

    def store_message(
        self, channel_id: str, text: str, blocks: Any, params: Params, *, source: str, user_id: str | None = None
    ) -> dict[str, Any]:
        st = self.state
        self.check_metadata(params)
        by_bot = user_id is None
        msg: dict[str, Any] = {
            "type": "message",
            "user": user_id or st.bot_user_id,
            "text": text,
            "ts": params.get("ts") or st.next_ts(),
            "team": st.users.get(user_id or "", {}).get("team_id", st.team_id),
        }
        if by_bot:
            msg.update({"bot_id": st.bot_id, "app_id": st.app_id})
        for key in ("blocks", "attachments", "files"):
            value = blocks if key == "blocks" else params.get(key)
            if value:
                msg[key] = fill_ids(copy.deepcopy(value)) if key == "blocks" else copy.deepcopy(value)
        if params.get("thread_ts"):
            msg["thread_ts"] = str(params["thread_ts"])
            if truthy(params.get("reply_broadcast")):
                msg["subtype"] = "thread_broadcast"
                msg["reply_broadcast"] = True
        if params.get("metadata") is not None:
            msg["metadata"] = copy.deepcopy(params["metadata"])
        msg.update(
            {
                "channel": channel_id,
                "edits": [],
                "deleted": False,
                "source": source,
                "unfurl_links": params.get("unfurl_links"),
                "unfurl_media": params.get("unfurl_media"),
            }
        )
        st.messages.append(msg)
        return msg

    def edit_message(self, msg: dict[str, Any], text: str | None, blocks: Any, *, metadata: Any = None) -> None:
        previous = {k: copy.deepcopy(msg.get(k)) for k in ("text", "blocks", "metadata")}
        previous.update({"edited_ts": self.state.next_ts(), "at": time.time()})
        msg["edits"].append(previous)
        if text is not None:
            msg["text"] = text
        if blocks is not None:
            if blocks:
                msg["blocks"] = fill_ids(copy.deepcopy(blocks))
            else:
                msg.pop("blocks", None)
        if metadata is not None:
            msg["metadata"] = copy.deepcopy(metadata)

    def store_ephemeral(
        self, channel_id: str | None, user_id: str | None, text: str, blocks: Any, thread_ts: Any, *, source: str
    ) -> dict[str, Any]:
        ts = self.state.next_ts()
        eph = {
            "channel": channel_id,
            "user": user_id,
            "text": text,
            "blocks": fill_ids(copy.deepcopy(blocks)) or [],
            "message_ts": ts,
            "ts": ts,
            "thread_ts": thread_ts,
            "source": source,
            "deleted": False,
            "edits": [],
        }
        self.state.ephemerals.append(eph)
        return eph
