"""Views (modals, App Home), trigger ids, response URLs and the external file upload flow.

Mixed into :class:`~bot.fakeslack.webapi.WebApi`, whose message helpers it uses.
"""

from __future__ import annotations

import copy
import hashlib
import json
import mimetypes
import time
from typing import Any

from .blockkit import validate_view
from .state import PERMALINK_BASE, ApiError, SlackState, fill_ids

Params = dict[str, Any]
MAX_RESPONSE_URL_POSTS = 5


class SurfaceApi:
    state: SlackState

    # message helpers, provided by WebApi
    def message_content(self, params: Params, source: str, *, require: bool = True) -> tuple[str, Any]:
        raise NotImplementedError

    def store_message(
        self, channel_id: str, text: str, blocks: Any, params: Params, *, source: str, user_id: str | None = None
    ) -> dict[str, Any]:
        raise NotImplementedError

    def edit_message(self, msg: dict[str, Any], text: str | None, blocks: Any, *, metadata: Any = None) -> None:
        raise NotImplementedError

    def store_ephemeral(
        self, channel_id: str | None, user_id: str | None, text: str, blocks: Any, thread_ts: Any, *, source: str
    ) -> dict[str, Any]:
        raise NotImplementedError

    # ----- trigger ids -------------------------------------------------------

    def issue_trigger_id(self, user_id: str | None = None) -> str:
        trigger_id = self.state.opaque()
        self.state.triggers[trigger_id] = {"issued": time.monotonic(), "used": False, "user_id": user_id}
        return trigger_id

    def _trigger(self, trigger_id: object) -> dict[str, Any]:
        record = self.state.triggers.get(trigger_id) if isinstance(trigger_id, str) else None
        if record is None:
            raise ApiError("invalid_trigger_id")
        if record["used"] or time.monotonic() - record["issued"] > self.state.trigger_ttl:
            raise ApiError("expired_trigger_id")
        return record

    # ----- views -----------------------------------------------------------

    def _validated_view(self, params: Params, source: str, kind: str) -> dict[str, Any]:
        view = params.get("view")
        errors = validate_view(view)
        if not errors and isinstance(view, dict) and view.get("type") != kind:
            errors = [f"view.type: {source} needs a {kind!r} view, got {view.get('type')!r}"]
        if errors:
            self.state.record_rejection(source, errors, params)
            raise ApiError("invalid_blocks" if isinstance(view, dict) else "invalid_arguments", errors=errors)
        return copy.deepcopy(view)  # type: ignore[arg-type]

    def _new_view(
        self, spec: dict[str, Any], *, view_id: str | None = None, previous: str | None = None, root: str | None = None
    ) -> dict[str, Any]:
        st = self.state
        view_id = view_id or st.next_id("V", 10)
        view = {
            "id": view_id,
            "team_id": st.team_id,
            "app_id": st.app_id,
            "bot_id": st.bot_id,
            "app_installed_team_id": st.team_id,
            "callback_id": "",
            "private_metadata": "",
            "external_id": "",
            "notify_on_close": False,
            "clear_on_close": False,
            "close": None,
            "submit": None,
            "state": {"values": {}},
            "root_view_id": root or view_id,
            "previous_view_id": previous,
        }
        view.update(spec)
        fill_ids(view.get("blocks"))
        view["hash"] = self._hash(view)
        return view

    def _hash(self, view: dict[str, Any]) -> str:
        body = json.dumps({k: v for k, v in view.items() if k != "hash"}, sort_keys=True, default=str)
        return f"{int(time.time())}.{hashlib.sha1(f'{body}{next(self.state.seq)}'.encode()).hexdigest()[:8]}"

    def _remember(self, view: dict[str, Any], user_id: str | None, method: str) -> None:
        self.state.views[view["id"]] = {
            "view": view,
            "user_id": user_id,
            "closed": False,
            "opened_at": time.time(),
            "method": method,
        }

    def views_open(self, params: Params) -> dict[str, Any]:
        record = self._trigger(params.get("trigger_id"))
        spec = self._validated_view(params, "views.open", "modal")
        record["used"] = True
        view = self._new_view(spec)
        self._remember(view, record["user_id"], "views.open")
        return {"view": copy.deepcopy(view)}

    def views_push(self, params: Params) -> dict[str, Any]:
        record = self._trigger(params.get("trigger_id"))
        spec = self._validated_view(params, "views.push", "modal")
        record["used"] = True
        below = self.open_modals(record["user_id"])
        previous = below[-1]["view"] if below else None
        view = self._new_view(spec, previous=previous and previous["id"], root=previous and previous["root_view_id"])
        self._remember(view, record["user_id"], "views.push")
        return {"view": copy.deepcopy(view)}

    def views_update(self, params: Params) -> dict[str, Any]:
        record = self._find_view(params.get("view_id"), params.get("external_id"))
        current = record["view"]
        if params.get("hash") and params["hash"] != current["hash"]:
            raise ApiError("hash_conflict")
        spec = self._validated_view(params, "views.update", current.get("type", "modal"))
        view = self._new_view(
            spec, view_id=current["id"], previous=current["previous_view_id"], root=current["root_view_id"]
        )
        view["state"] = current["state"]
        record["view"] = view
        return {"view": copy.deepcopy(view)}

    def views_publish(self, params: Params) -> dict[str, Any]:
        st = self.state
        user_id = str(params.get("user_id") or "")
        st.user(user_id)
        spec = self._validated_view(params, "views.publish", "home")
        history = st.home.setdefault(user_id, [])
        if history and params.get("hash") and params["hash"] != history[-1]["hash"]:
            raise ApiError("hash_conflict")
        view = self._new_view(spec, view_id=history[-1]["id"] if history else None)
        history.append(view)
        self._remember(view, user_id, "views.publish")
        return {"view": copy.deepcopy(view)}

    def _find_view(self, view_id: object, external_id: object) -> dict[str, Any]:
        for record in self.state.views.values():
            view = record["view"]
            if (view_id and view["id"] == view_id) or (external_id and view.get("external_id") == external_id):
                return record
        raise ApiError("not_found")

    def open_modals(self, user_id: str | None) -> list[dict[str, Any]]:
        return [
            r
            for r in self.state.views.values()
            if r["user_id"] == user_id and not r["closed"] and r["view"].get("type") == "modal"
        ]

    def apply_view_answer(self, view_id: str, user_id: str | None, answer: dict[str, Any]) -> None:
        """What Slack does with a ``view_submission`` ack: update, push, clear, keep (errors) or close."""
        record = self.state.views.get(view_id)
        if record is None:
            return
        action = answer.get("response_action")
        if action == "errors":
            return
        if action in ("update", "push"):
            try:
                spec = self._validated_view(answer, f"view_submission:{action}", "modal")
            except ApiError:
                return
            if action == "update":
                current = record["view"]
                record["view"] = self._new_view(
                    spec, view_id=view_id, previous=current["previous_view_id"], root=current["root_view_id"]
                )
            else:
                view = self._new_view(spec, previous=view_id, root=record["view"]["root_view_id"])
                self._remember(view, user_id, "view_submission:push")
            return
        targets = self.open_modals(user_id) if action == "clear" else [record]
        for target in targets:
            target["closed"] = True

    # ----- response URLs ---------------------------------------------------

    def new_response_url(
        self,
        *,
        channel: str | None = None,
        user: str | None = None,
        message_ts: str | None = None,
        ephemeral: bool = False,
    ) -> str:
        st = self.state
        if not st.base_url:
            raise RuntimeError("start the FakeSlack server before asking for response URLs")
        token = st.opaque("R").replace(".", "")
        st.response_urls[token] = {
            "created": time.time(),
            "posts": 0,
            "channel": channel,
            "user": user,
            "message_ts": message_ts,
            "ephemeral": ephemeral,
        }
        return f"{st.base_url}/response/{token}"

    def post_response(self, token: str, body: Any) -> tuple[int, dict[str, Any]]:
        st = self.state
        context = st.response_urls.get(token)
        if context is None:
            return 404, {"ok": False, "error": "no_service"}
        if time.time() - context["created"] > st.response_url_ttl:
            return 404, {"ok": False, "error": "expired_url"}
        if context["posts"] >= MAX_RESPONSE_URL_POSTS:
            return 404, {"ok": False, "error": "used_url"}
        if not isinstance(body, dict):
            return 400, {"ok": False, "error": "invalid_payload"}
        try:
            action, touched = self.deliver_reply(context, body, source="response_url")
        except ApiError as err:
            return 400, {"ok": False, "error": err.code, **err.extra}
        context["posts"] += 1
        st.responses.append(
            {
                "token": token,
                "url": f"{st.base_url}/response/{token}",
                "body": copy.deepcopy(body),
                "at": time.time(),
                "action": action,
                "channel": context["channel"],
                "user": context["user"],
                "message_ts": context["message_ts"],
                "ts": touched["ts"] if touched else None,  # what it created or changed (click it)
            }
        )
        return 200, {"ok": True}

    def deliver_reply(
        self, context: dict[str, Any], body: dict[str, Any], *, source: str
    ) -> tuple[str, dict[str, Any] | None]:
        """Show a response_url post or a command's ack body the way Slack would.

        Returns what it did (deleted, replaced, in_channel, ephemeral, ignored) and the message touched.
        """
        original = self._original(context)
        if truthy_flag(body.get("delete_original")):
            if original is not None:
                original["deleted"] = True
            return "deleted", original
        has_content = bool(body.get("text") or body.get("blocks") or body.get("attachments"))
        text, blocks = self.message_content(body, source, require=has_content)
        if original is not None and "replace_original" not in body and source == "response_url":
            self.state.record_warnings(
                source,
                [
                    "replace_original: not set on a reply to a message interaction; Slack's default is not "
                    "documented consistently, so the fake posts a new message: set it explicitly"
                ],
                body,
            )
        if truthy_flag(body.get("replace_original")) and original is not None:
            if "channel" in original and "message_ts" not in original:
                self.edit_message(original, text, blocks if blocks is not None else [])
            else:
                original["edits"].append({"text": original["text"], "blocks": original["blocks"], "at": time.time()})
                original.update({"text": text, "blocks": fill_ids(copy.deepcopy(blocks)) or []})
            return "replaced", original
        if not has_content:
            return "ignored", None
        channel = context["channel"]
        if body.get("response_type") == "in_channel" and channel:
            return "in_channel", self.store_message(channel, text, blocks, body, source=source)
        return "ephemeral", self.store_ephemeral(
            channel, context["user"], text, blocks, body.get("thread_ts"), source=source
        )

    def _original(self, context: dict[str, Any]) -> dict[str, Any] | None:
        ts, channel = context.get("message_ts"), context.get("channel")
        if not ts:
            return None
        pool = self.state.ephemerals if context.get("ephemeral") else self.state.messages
        for item in pool:
            if item["ts"] == ts and item["channel"] == channel and not item["deleted"]:
                return item
        return None

    # ----- files -----------------------------------------------------------

    def files_getUploadURLExternal(self, params: Params) -> dict[str, Any]:
        st = self.state
        filename, length = params.get("filename"), params.get("length")
        try:
            size = int(length)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ApiError("invalid_arguments") from None
        if not filename or size < 0:
            raise ApiError("invalid_arguments")
        file_id = st.next_id("F")
        st.uploads[file_id] = {
            "filename": str(filename),
            "length": size,
            "alt_txt": params.get("alt_txt"),
            "snippet_type": params.get("snippet_type"),
            "data": None,
        }
        return {"upload_url": f"{st.base_url}/upload/{file_id}", "file_id": file_id}

    def receive_upload(self, file_id: str, data: bytes) -> tuple[int, str]:
        upload = self.state.uploads.get(file_id)
        if upload is None:
            return 404, "Not Found"
        upload["data"] = data
        return 200, f"OK - {len(data)}"

    def files_completeUploadExternal(self, params: Params) -> dict[str, Any]:
        st = self.state
        items = params.get("files")
        if not isinstance(items, list) or not items:
            raise ApiError("invalid_arguments")
        for item in items:
            upload = st.uploads.get(str(item.get("id"))) if isinstance(item, dict) else None
            if upload is None or upload["data"] is None:
                raise ApiError("file_not_found")
        channels = [c for c in str(params.get("channels") or "").split(",") if c]
        if params.get("channel_id"):
            channels.insert(0, str(params["channel_id"]))
        channel_ids = [st.resolve_channel(c, allow_user=True) for c in channels]
        shared = []
        for item in items:
            upload = st.uploads[item["id"]]
            name = upload["filename"]
            public = {
                "id": item["id"],
                "name": name,
                "title": item.get("title") or name,
                "mimetype": mimetypes.guess_type(name)[0] or "application/octet-stream",
                "filetype": name.rsplit(".", 1)[-1] if "." in name else "binary",
                "size": len(upload["data"]),
                "user": st.bot_user_id,
                "created": int(time.time()),
                "channels": channel_ids,
                "url_private": f"{PERMALINK_BASE}/files/{item['id']}/{name}",
                "url_private_download": f"{st.base_url}/files-pri/{item['id']}/{name}",
                "permalink": f"{PERMALINK_BASE}/files/{st.bot_user_id}/{item['id']}/{name}",
            }
            st.files.append(
                {
                    **public,
                    "content": upload["data"],
                    "initial_comment": params.get("initial_comment"),
                    "thread_ts": params.get("thread_ts"),
                    "alt_txt": upload["alt_txt"],
                }
            )
            shared.append(public)
        for channel_id in channel_ids:
            self.store_message(
                channel_id,
                str(params.get("initial_comment") or ""),
                None,
                {"files": shared, "thread_ts": params.get("thread_ts")},
                source="files.upload",
            )
        return {"files": copy.deepcopy(shared)}

    def files_info(self, params: Params) -> dict[str, Any]:
        """The file, if the bot may read it: ``file_not_found`` for a file it cannot see (not shared
        with it), ``file_deleted``, or ``access_denied`` (a Slack Connect file its owner's organization
        withholds, ``file_access: check_file_info``)."""
        st = self.state
        stored = st.stored_file(params.get("file"))
        if stored is None or not st.bot_can_read(stored):
            raise ApiError("file_not_found")
        if stored.get("deleted"):
            raise ApiError("file_deleted")
        if stored.get("access_denied"):
            raise ApiError("access_denied")
        return {"file": st.public_file(stored)}

    def download_file(self, file_id: str, token: str | None, bot_token: str) -> tuple[int, bytes | str]:
        """``GET url_private_download``: the bytes, to the bot token only, for a file it may read."""
        st = self.state
        stored = st.stored_file(file_id)
        if token != bot_token:
            return 403, "Forbidden"
        if stored is None or stored.get("deleted") or stored.get("access_denied") or not st.bot_can_read(stored):
            return 404, "Not Found"
        return 200, bytes(stored["content"] or b"")


def truthy_flag(value: object) -> bool:
    return value in (True, 1, "1", "true", "True")
