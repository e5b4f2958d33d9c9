"""``FakeSlack``: a fake Slack Web API on a free loopback port, for tests and the demo.

The real ``slack_sdk.WebClient(token=..., base_url=fake.api_url)`` talks to it. It keeps
the workspace's state (messages, views, files...), validates Block Kit like Slack,
records every request, and can inject faults (429s, 5xx, latency) for reliability tests.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterable
from typing import Any

from .faults import RESPONSE_URL, UPLOAD, FaultOutcome, FaultRule, Faults
from .httpd import Answer, FakeHTTPServer
from .inspection import StateAccessors
from .scopes import IM, METHOD_SCOPES, MPIM, PRIVATE, PUBLIC, provided, scope_needed
from .socketmode import FakeSocketMode
from .state import ApiError, Call, ClockLike, SlackState, make_user
from .webapi import WebApi

Message = dict[str, Any]


class FakeSlack(StateAccessors):
    """A fake Slack workspace with its Web API. Thread-safe; use as a context manager."""

    def __init__(
        self,
        bot_token: str = "xoxb-test",
        team_id: str = "T_AGENCY",
        bot_user_id: str = "U_NEXO",
        *,
        bot_id: str = "B_NEXO",
        app_id: str = "A_NEXO",
        team_name: str = "Agency",
        auto_channels: bool = True,
        clock: ClockLike | None = None,
        trigger_ttl: float = 3.0,
        response_url_ttl: float = 30 * 60.0,
        scopes: Iterable[str] | None = None,
        app_token: str | None = None,
        slack_connect: bool = False,
    ) -> None:
        """``scopes``: what the bot token was granted (say, :func:`~bot.fakeslack.scopes.manifest_scopes`);
        a method whose scope is missing answers ``missing_scope``. None grants every scope.
        ``app_token``: an app-level token ``apps.connections.open`` accepts, pointing it at the fake's
        Socket Mode server (:attr:`socket_mode`).

        ``slack_connect``: people whose ``team_id`` is not ``team_id`` are of another organization, and
        Slack Connect's rules hold for them: the bot may DM them only while they share a channel with it
        (``conversations.open`` answers ``invalid_user_combination``, a post to their user id or DM
        ``channel_not_found``), ``users.info`` gives no ``locale``, and :class:`SlackRequests` refuses to
        build a ``/nexo``, a shortcut or a Home tab opening for them. Off by default: most tests let the
        client's people stand in the agency's workspace; set it (or :attr:`slack_connect`) to prove the rules."""
        self.bot_token = bot_token
        self.app_token = app_token
        self.socket_mode: FakeSocketMode | None = None
        self.scopes = frozenset(scopes) if scopes is not None else None
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self._lock = threading.RLock()
        self._state = SlackState(
            team_id=team_id,
            team_name=team_name,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            app_id=app_id,
            auto_channels=auto_channels,
            trigger_ttl=trigger_ttl,
            response_url_ttl=response_url_ttl,
            clock=clock,
            slack_connect=slack_connect,
        )
        self._api = WebApi(self._state)
        self._faults = Faults()
        self._server: FakeHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._state.users[bot_user_id] = make_user(
            self._state,
            bot_user_id,
            "nexo",
            team_id=team_id,
            tz="UTC",
            locale="en-US",
            is_bot=True,
            deleted=False,
            email=None,
            real_name="Nexo",
            display_name="Nexo",
            extra={},
        )

    # ----- lifecycle --------------------------------------------------------

    def start(self) -> FakeSlack:
        if self.app_token and self.socket_mode is None:
            self.socket_mode = FakeSocketMode(self.app_id)
        if self._server is None:
            self._server = FakeHTTPServer(self)
            self._state.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fakeslack", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self.socket_mode is not None:
            self.socket_mode.stop()
            self.socket_mode = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        if not self._state.base_url:
            raise RuntimeError("FakeSlack is not started")
        return self._state.base_url

    @property
    def api_url(self) -> str:
        """The WebClient ``base_url``: ``http://127.0.0.1:PORT/api/``."""
        return f"{self.base_url}/api/"

    # ----- the workspace ------------------------------------------------------

    @property
    def slack_connect(self) -> bool:
        """Whether Slack Connect's rules hold for people of another organization (see ``__init__``)."""
        return self._state.slack_connect

    @slack_connect.setter
    def slack_connect(self, on: bool) -> None:
        with self._lock:
            self._state.slack_connect = on

    def is_external(self, user_id: str | None) -> bool:
        """Whether ``user_id`` belongs to another organization than the one that installed the app."""
        with self._lock:
            return self._state.is_external(user_id)

    def can_dm(self, user_id: str) -> bool:
        """Whether the bot may open a DM with ``user_id`` now (Slack Connect's shared-channel rule)."""
        with self._lock:
            return not self._state.unreachable(user_id)

    def add_user(
        self,
        user_id: str,
        name: str,
        team_id: str | None = None,
        tz: str = "Europe/Madrid",
        locale: str = "en-US",
        is_bot: bool = False,
        deleted: bool = False,
        *,
        email: str | None = None,
        real_name: str | None = None,
        display_name: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Add (or replace) a user; ``extra`` fields (e.g. ``is_restricted=True``) go on the user object."""
        with self._lock:
            user = make_user(
                self._state,
                user_id,
                name,
                team_id=team_id,
                tz=tz,
                locale=locale,
                is_bot=is_bot,
                deleted=deleted,
                email=email,
                real_name=real_name,
                display_name=display_name,
                extra=extra,
            )
            self._state.users[user_id] = user
            return copy.deepcopy(user)

    def add_channel(
        self,
        channel_id: str,
        name: str,
        members: Iterable[str] = (),
        is_ext_shared: bool = False,
        *,
        is_private: bool | None = None,
        bot_member: bool = True,
    ) -> None:
        """A channel; the bot is a member (listed in ``members``) unless ``bot_member=False``."""
        member_list = list(members)
        if bot_member and self.bot_user_id not in member_list:
            member_list.append(self.bot_user_id)
        with self._lock:
            self._state.channels[channel_id] = {
                "id": channel_id,
                "name": name,
                "is_im": False,
                "user": None,
                "members": member_list,
                "is_ext_shared": is_ext_shared,
                "bot_member": bot_member,
                "created": int(time.time()),
                "is_private": channel_id.startswith("G") if is_private is None else is_private,
            }

    def add_usergroup(self, usergroup_id: str, users: Iterable[str]) -> None:
        with self._lock:
            self._state.usergroups[usergroup_id] = list(users)

    def add_file(
        self,
        user: str,
        name: str,
        mimetype: str,
        data: bytes = b"",
        *,
        size: int | None = None,
        duration_ms: int | None = None,
        channels: Iterable[str] = (),
        access_denied: bool = False,
    ) -> str:
        """A file ``user`` uploaded (shared in ``channels``, else in no conversation yet); returns its id.
        ``size`` overrides the byte count (a huge file without the bytes); ``access_denied``: a Slack
        Connect file whose owner's organization withholds it (``files.info`` answers ``access_denied``)."""
        with self._lock:
            st = self._state
            file_id = st.next_id("F")
            extension = name.rsplit(".", 1)[-1].lower() if "." in name else "binary"
            stored: dict[str, Any] = {
                "id": file_id,
                "name": name,
                "title": name,
                "mimetype": mimetype,
                "filetype": extension,
                "size": len(data) if size is None else size,
                "user": user,
                "created": int(time.time()),
                "channels": [st.resolve_channel(c, allow_user=True) for c in channels],
                "url_private": f"https://fake.slack.test/files/{file_id}/{name}",
                "url_private_download": f"{st.base_url}/files-pri/{file_id}/{name}",
                "permalink": f"https://fake.slack.test/files/{user}/{file_id}/{name}",
                "content": data,
                "access_denied": access_denied,
            }
            if duration_ms is not None:
                stored["duration_ms"] = duration_ms
            st.files.append(stored)
            return file_id

    def delete_file(self, file_id: str) -> None:
        """The owner deletes the file: ``files.info`` answers ``file_deleted``, downloads 404."""
        with self._lock:
            stored = self._state.stored_file(file_id)
            if stored is not None:
                stored["deleted"] = True

    def file_objects(self, file_ids: Iterable[str], *, app_readable: bool = False) -> list[dict[str, Any]]:
        """The file objects of ``file_ids`` as a payload carries them. ``app_readable``: the files were
        uploaded through a form's ``file_input``, which gives the app access to them."""
        with self._lock:
            found = []
            for file_id in file_ids:
                stored = self._state.stored_file(file_id)
                if stored is None:
                    raise KeyError(file_id)
                if app_readable:
                    stored["app_readable"] = True
                found.append(self._state.public_file(stored))
            return found

    def add_message(
        self, channel: str, user: str, text: str, *, thread_ts: str | None = None, ts: str | None = None, **fields: Any
    ) -> Message:
        """A message written by a person (e.g. before sending its ``message`` event to the bot).
        ``files``: ids from :meth:`add_file`, shared in the channel with the message."""
        with self._lock:
            channel_id = self._state.resolve_channel(channel, allow_user=True)
            if fields.get("files"):
                shared = []
                for file_id in fields["files"]:
                    stored = self._state.stored_file(file_id) if isinstance(file_id, str) else None
                    if stored is None:
                        shared.append(file_id)
                        continue
                    if channel_id not in stored["channels"]:
                        stored["channels"].append(channel_id)
                    shared.append(self._state.public_file(stored))
                fields["files"] = shared
            msg = self._api.store_message(
                channel_id,
                text,
                fields.pop("blocks", None),
                {"thread_ts": thread_ts, "ts": ts, **fields},
                source="user",
                user_id=user,
            )
            return copy.deepcopy(msg)

    def dm_channel(self, user_id: str) -> str:
        """The bot's DM channel id with ``user_id`` (what ``conversations.open`` returns)."""
        with self._lock:
            return self._state.dm_channel(user_id)

    def user(self, user_id: str) -> dict[str, Any] | None:
        """The ``users.info`` object of a user in the directory, or None."""
        with self._lock:
            user = self._state.users.get(user_id)
            return copy.deepcopy(user) if user else None

    def channel(self, channel_id: str) -> dict[str, Any] | None:
        """The ``conversations.info`` object of a known channel, or None."""
        with self._lock:
            return self._state.channel_object(channel_id) if channel_id in self._state.channels else None

    def next_ts(self) -> str:
        with self._lock:
            return self._state.next_ts()

    # ----- hooks for the signed-request client ---------------------------------

    def issue_trigger_id(self, user_id: str | None = None) -> str:
        """A fresh trigger id: single use, valid for ``trigger_ttl`` seconds (3 s like Slack)."""
        with self._lock:
            return self._api.issue_trigger_id(user_id)

    def new_response_url(
        self,
        channel: str | None = None,
        user: str | None = None,
        message_ts: str | None = None,
        ephemeral: bool = False,
    ) -> str:
        """A response_url (5 posts, 30 minutes); the context says where its replies appear."""
        with self._lock:
            return self._api.new_response_url(channel=channel, user=user, message_ts=message_ts, ephemeral=ephemeral)

    def deliver_ack(self, channel: str | None, user: str | None, body: dict[str, Any]) -> str:
        """Show a slash command's ack body (ephemeral unless ``response_type: in_channel``)."""
        with self._lock:
            context = {"channel": channel, "user": user, "message_ts": None, "ephemeral": False}
            try:
                return self._api.deliver_reply(context, body, source="command_ack")[0]
            except ApiError as err:
                return err.code

    def record_warning(self, source: str, warning: str, **details: Any) -> None:
        """Add to ``warnings()`` (the signed-request client notes slow acks here)."""
        with self._lock:
            self._state.warnings.append({"method": source, "warning": warning, "at": time.time(), **details})

    def apply_view_answer(self, view_id: str, user_id: str | None, answer: dict[str, Any]) -> None:
        with self._lock:
            self._api.apply_view_answer(view_id, user_id, answer)

    def close_view(self, view_id: str) -> None:
        with self._lock:
            if view_id in self._state.views:
                self._state.views[view_id]["closed"] = True

    def current_message(self, channel: str, ts: str) -> Message | None:
        """The stored message or ephemeral with this ts (current content), or None."""
        with self._lock:
            for item in [*self._state.messages, *self._state.ephemerals]:
                if item["channel"] == channel and item["ts"] == ts:
                    return copy.deepcopy(item)
            return None

    def public_message(self, msg: Message) -> Message:
        """A stored message as Slack would put it in a payload (internal keys dropped)."""
        with self._lock:
            stored = next(
                (m for m in self._state.messages if m["channel"] == msg.get("channel") and m["ts"] == msg.get("ts")),
                None,
            )
            if stored is None:
                return {
                    k: copy.deepcopy(v)
                    for k, v in msg.items()
                    if k not in ("channel", "edits", "deleted", "source", "message_ts", "user")
                }
            return self._state.public_message(stored)

    # ----- request handling (called by the HTTP handler threads) -----------------

    def api_request(self, method: str, params: dict[str, Any], token: str | None) -> Answer:
        with self._lock:
            outcome = self._faults.check(method)
        if outcome is not None and not outcome.process:
            return self._faulted(method, params, outcome)
        with self._lock:
            if not token:
                body: dict[str, Any] = {"ok": False, "error": "not_authed"}
            elif method == "apps.connections.open" and self.socket_mode and token == self.app_token:
                body = {"ok": True, "url": self.socket_mode.url}
            elif token != self.bot_token:
                body = {"ok": False, "error": "invalid_auth"}
            elif (needed := self._missing_scope(method, params)) is not None:
                body = {
                    "ok": False,
                    "error": "missing_scope",
                    "needed": needed,
                    "provided": provided(self.scopes or ()),
                }
            else:
                try:
                    body = self._api.handle(method, params)
                except ApiError as err:
                    body = {"ok": False, "error": err.code, **err.extra}
                    if "errors" in err.extra:
                        body["response_metadata"] = {"messages": list(err.extra["errors"])}  # type: ignore[call-overload]
            self._record(method, params, 200, body)
        if outcome is not None:
            time.sleep(outcome.latency)
        return 200, body, {}

    def _missing_scope(self, method: str, params: dict[str, Any]) -> str | None:
        """The scope ``method`` needs that the token lacks (None: it may call it). A method the fake
        knows no scope for is refused too, so a new call cannot slip past the check."""
        if self.scopes is None:
            return None
        if method not in METHOD_SCOPES:
            return "unknown (no scope listed for this method in bot/fakeslack/scopes.py)"
        needed = scope_needed(method, self._conversation_type(method, params))
        return needed if needed and needed not in self.scopes else None

    def _conversation_type(self, method: str, params: dict[str, Any]) -> str:
        raw = params.get("users")
        if method == "conversations.open" and raw and not params.get("channel"):
            users = raw if isinstance(raw, list) else [u for u in str(raw).split(",") if u.strip()]
            return IM if len(users) == 1 else MPIM
        channel_id = str(params.get("channel") or "")
        channel = self._state.channels.get(channel_id)
        if channel is None:
            return IM if channel_id[:1] in ("D", "U", "W") else PRIVATE if channel_id[:1] == "G" else PUBLIC
        if channel["is_im"]:
            return IM
        if str(channel.get("name") or "").startswith("mpdm-"):
            return MPIM
        return PRIVATE if channel["is_private"] else PUBLIC

    def response_request(self, token: str, body: Any) -> Answer:
        with self._lock:
            outcome = self._faults.check(RESPONSE_URL)
        params = {"token": token, "body": copy.deepcopy(body)}
        if outcome is not None and not outcome.process:
            return self._faulted(RESPONSE_URL, params, outcome)
        with self._lock:
            status, answer = self._api.post_response(token, body)
            self._record(RESPONSE_URL, params, status, answer)
        if outcome is not None:
            time.sleep(outcome.latency)
        return status, answer, {}

    def upload_request(self, file_id: str, data: bytes) -> Answer:
        with self._lock:
            outcome = self._faults.check(UPLOAD)
        params = {"file_id": file_id, "length": len(data)}
        if outcome is not None and not outcome.process:
            return self._faulted(UPLOAD, params, outcome)
        with self._lock:
            status, text = self._api.receive_upload(file_id, data)
            self._record(UPLOAD, params, status, {"text": text})
        return status, text, {}

    def download_request(self, file_id: str, token: str | None) -> tuple[int, bytes | str]:
        with self._lock:
            status, data = self._api.download_file(file_id, token, self.bot_token)
            self._record("files-pri", {"file": file_id}, status, {"bytes": len(data)})
        return status, data

    def _faulted(self, method: str, params: dict[str, Any], outcome: FaultOutcome) -> Answer:
        if outcome.latency:
            time.sleep(outcome.latency)
        with self._lock:
            self._record(method, params, outcome.status, outcome.body)
        return outcome.status, dict(outcome.body), dict(outcome.headers)

    def _record(self, method: str, params: dict[str, Any], status: int, body: dict[str, Any]) -> None:
        self._state.calls.append(Call(method, copy.deepcopy(params), time.time(), status, copy.deepcopy(body)))

    # ----- fault injection ----------------------------------------------------

    def fail(
        self,
        method: str | Iterable[str] | None = None,
        status: int | None = None,
        times: int | None = None,
        retry_after: float | None = None,
        latency: float | None = None,
        error: str | None = None,
        until: float | None = None,
    ) -> FaultRule:
        """Inject a fault; see ``faults.py``. ``method=None`` means every Web API method.

        ``status=429`` answers ``ratelimited`` with ``Retry-After``; other statuses (default 500) an error
        body; ``error=`` answers 200 ``ok: false``. Faulted requests change nothing. With only ``latency``
        the request is handled normally and answered late (the work is done even if the client gave up).
        ``method`` may also be ``"response_url"`` or ``"upload"``.
        """
        with self._lock:
            return self._faults.add(
                method, status=status, times=times, retry_after=retry_after, latency=latency, error=error, until=until
            )

    def remove_fault(self, rule: FaultRule) -> None:
        with self._lock:
            self._faults.remove(rule)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def rate_limit(self, method: str, per_second: float, burst: int = 1) -> None:
        """Answer 429 (with Retry-After) when ``method`` is called faster than this token bucket allows."""
        with self._lock:
            self._faults.rate_limit(method, per_second, burst)
