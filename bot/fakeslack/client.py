"""``SlackRequests``: signed requests to the bot, shaped like the ones Slack sends.

Slash commands, button clicks, view submissions, shortcuts and events go to
``{bot_base_url}/slack/events`` with ``X-Slack-Signature`` / ``X-Slack-Request-Timestamp``
computed by ``slack_sdk.signature.SignatureVerifier``. Trigger ids and response URLs come
from the :class:`FakeSlack` the bot talks to, so opening modals and replying work end to end.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from .interactions import (
    ack_body,
    build_state_values,
    button_action,
    channel_type,
    event_envelope,
    find_button,
    stateful_elements,
)
from .server import FakeSlack

Payload = dict[str, Any]


class NotSharedWithOtherOrgs(AssertionError):
    """Slack would never send this request: with Slack Connect on, a person of another organization
    cannot run ``/nexo``, a shortcut or open the Home tab of an app their organization did not install."""


class SlackRequests:
    """Sends what Slack would send to the bot; every method returns the ``httpx.Response``.

    Each sending method also takes ``timestamp=`` (override ``X-Slack-Request-Timestamp``)
    and ``bad_signature=True`` (sign with a wrong secret) for request-verification tests.
    """

    def __init__(
        self,
        bot_base_url: str,
        signing_secret: str,
        fake: FakeSlack,
        team_id: str = "T_AGENCY",
        http: httpx.Client | None = None,
        *,
        api_app_id: str | None = None,
        team_domain: str = "agency",
        timeout: float = 10.0,
        ack_timeout: float = 3.0,
    ) -> None:
        self.url = bot_base_url.rstrip("/") + "/slack/events"
        self.verifier = SignatureVerifier(signing_secret)
        self.fake = fake
        self.team_id = team_id
        self.api_app_id = api_app_id or fake.app_id
        self.team_domain = team_domain
        self.http = http or httpx.Client(timeout=timeout)
        self._own_http = http is None
        self._ids = itertools.count(1)
        self.last_response_url: str | None = None
        self.last_trigger_id: str | None = None
        self.ack_timeout = ack_timeout

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    def __enter__(self) -> SlackRequests:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- signing and sending ----------------------------------------------

    def sign(self, body: str, timestamp: int | None = None, *, bad_signature: bool = False) -> dict[str, str]:
        """The two Slack signature headers for ``body``."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        verifier = SignatureVerifier(self.verifier.signing_secret + "-wrong") if bad_signature else self.verifier
        signature = verifier.generate_signature(timestamp=ts, body=body)
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature or ""}

    def post(
        self,
        body: str,
        content_type: str,
        *,
        headers: Mapping[str, str] | None = None,
        timestamp: int | None = None,
        bad_signature: bool = False,
    ) -> httpx.Response:
        """Sign and POST a raw body (for tests that need an odd request)."""
        all_headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **self.sign(body, timestamp, bad_signature=bad_signature),
            **(headers or {}),
        }
        response = self.http.post(self.url, content=body.encode(), headers=all_headers)
        self._check_ack_time(response, body)
        return response

    def _check_ack_time(self, response: httpx.Response, body: str) -> None:
        """Slack gives up on an ack after 3 s (the user sees an error; events are retried): note it."""
        elapsed = response.elapsed.total_seconds()
        if elapsed > self.ack_timeout:
            what = body[:120].replace("\n", " ")
            self.fake.record_warning(
                "ack", f"acked after {elapsed:.2f}s > {self.ack_timeout:g}s: Slack would have given up", request=what
            )

    def _late(self, response: httpx.Response) -> bool:
        return response.elapsed.total_seconds() > self.ack_timeout

    def _form(self, fields: Mapping[str, Any], **sign: Any) -> httpx.Response:
        return self.post(urlencode(fields), "application/x-www-form-urlencoded", **sign)

    def send_interaction(self, payload: Payload, **sign: Any) -> httpx.Response:
        """POST an interaction ``payload`` as Slack does (form-encoded, signed); for payloads built with
        :meth:`envelope`, e.g. a forged click."""
        return self._form({"payload": json.dumps(payload)}, **sign)

    # ----- helpers ------------------------------------------------------------

    def _user(self, user_id: str, team_id: str | None, user_name: str | None = None) -> Payload:
        info = self.fake.user(user_id) or {}
        name = user_name or info.get("name") or user_id.lower()
        return {
            "id": user_id,
            "username": name,
            "name": name,
            "team_id": team_id or info.get("team_id") or self.team_id,
        }

    def _team(self) -> Payload:
        return {"id": self.team_id, "domain": self.team_domain}

    def _only_own_org(self, user_id: str, what: str, force: bool) -> None:
        """Refuse to build ``what`` for a person of another organization (Slack Connect on), unless a
        test ``force``s it to see how the bot answers a request Slack would not send."""
        if self.fake.slack_connect and self.fake.is_external(user_id) and not force:
            raise NotSharedWithOtherOrgs(
                f"{user_id} is in another organization: Slack does not let them use {what} (force=True to send it)"
            )

    def envelope(self, kind: str, user_id: str, team_id: str | None = None, **fields: Any) -> Payload:
        """The fields every interaction payload carries, then ``fields``."""
        return {
            "type": kind,
            "team": self._team(),
            "user": self._user(user_id, team_id),
            "api_app_id": self.api_app_id,
            "token": "verification-token-unused",
            "is_enterprise_install": False,
            "enterprise": None,
            **fields,
        }

    def _channel_name(self, channel_id: str) -> str:
        if channel_id.startswith("D"):
            return "directmessage"
        channel = self.fake.channel(channel_id) or {}
        return str(channel.get("name") or channel_id.lower())

    # ----- slash commands -------------------------------------------------------

    def command(
        self,
        text: str,
        user_id: str,
        channel_id: str = "C_GENERAL",
        command: str = "/nexo",
        team_id: str | None = None,
        user_name: str | None = None,
        force: bool = False,
        **sign: Any,
    ) -> httpx.Response:
        """A slash command; its ack body is shown in the fake like Slack shows it (ephemeral or in_channel).
        ``force``: send it even for a person of another organization, which Slack would not do."""
        self._only_own_org(user_id, command, force)
        user = self._user(user_id, team_id, user_name)
        self.last_response_url = self.fake.new_response_url(channel=channel_id, user=user_id)
        self.last_trigger_id = self.fake.issue_trigger_id(user_id)
        fields = {
            "token": "verification-token-unused",
            "team_id": team_id or self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": self._channel_name(channel_id),
            "user_id": user_id,
            "user_name": user["name"],
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": self.last_response_url,
            "trigger_id": self.last_trigger_id,
        }
        response = self._form(fields, **sign)
        response.extensions["nexo_response_url"] = fields["response_url"]
        body = ack_body(response)
        if body and not self._late(response):
            self.fake.deliver_ack(channel_id, user_id, body)
        return response

    def answer(self, response: httpx.Response, timeout: float = 10.0) -> str:
        """What a ``command()`` told its user: the ack's text or, when the ack was empty (a web process
        that hands commands to the worker acks at once), the first reply through its response_url."""
        body = ack_body(response)
        if body and body.get("text"):
            return str(body["text"])
        url = response.extensions.get("nexo_response_url")
        reply = self.fake.wait_for(
            lambda: self.fake.responses(url),
            timeout=timeout,
            message="no answer in the ack or through the response_url",
        )
        return str(reply[0]["body"].get("text", ""))

    # ----- buttons ----------------------------------------------------------------

    def find_button(
        self,
        message_or_view: Mapping[str, Any],
        action_id: str | None = None,
        text: str | None = None,
        value: str | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        return find_button(message_or_view, action_id, text, value)

    def click(
        self,
        message: Mapping[str, Any],
        user_id: str,
        action_id: str | None = None,
        text: str | None = None,
        value: str | None = None,
        team_id: str | None = None,
        **sign: Any,
    ) -> httpx.Response:
        """Click a button in a message or ephemeral (a dict from ``fake.messages()``/``ephemerals()``)."""
        # also accepts a record from fake.responses(): its channel and ts point at what it showed
        channel_id = str(message.get("channel") or "")
        ts = str(message.get("ts") or message.get("message_ts") or "")
        current = self.fake.current_message(channel_id, ts) or {**message, **(message.get("body") or {})}
        block, button = find_button(current, action_id, text, value)
        is_ephemeral = "message_ts" in current
        self.last_response_url = self.fake.new_response_url(
            channel=channel_id, user=user_id, message_ts=ts, ephemeral=is_ephemeral
        )
        self.last_trigger_id = self.fake.issue_trigger_id(user_id)
        payload = self.envelope(
            "block_actions",
            user_id,
            team_id,
            trigger_id=self.last_trigger_id,
            response_url=self.last_response_url,
            container={"type": "message", "message_ts": ts, "channel_id": channel_id, "is_ephemeral": is_ephemeral},
            channel={"id": channel_id, "name": self._channel_name(channel_id)},
            state={"values": {}},
            actions=[button_action(block, button)],
        )
        if not is_ephemeral:  # Slack leaves ``message`` out of clicks on ephemeral messages
            payload["message"] = self.fake.public_message(current)
        return self.send_interaction(payload, **sign)

    def click_in_view(
        self,
        view: Mapping[str, Any] | str,
        user_id: str,
        action_id: str | None = None,
        text: str | None = None,
        value: str | None = None,
        team_id: str | None = None,
        values: Mapping[str, Any] | None = None,
        **sign: Any,
    ) -> httpx.Response:
        """Click a button inside a modal or Home tab; ``values`` fills the view's current state."""
        current = self._current_view(view)
        block, button = find_button(current, action_id, text, value)
        current["state"] = {"values": build_state_values(current, values or {})}
        self.last_trigger_id = self.fake.issue_trigger_id(user_id)
        payload = self.envelope(
            "block_actions",
            user_id,
            team_id,
            trigger_id=self.last_trigger_id,
            container={"type": "view", "view_id": current["id"]},
            view=current,
            actions=[button_action(block, button)],
        )
        return self.send_interaction(payload, **sign)

    # ----- views --------------------------------------------------------------------

    def submit_view(
        self,
        view: Mapping[str, Any] | str,
        user_id: str,
        values: Mapping[str, Any] | None = None,
        team_id: str | None = None,
        **sign: Any,
    ) -> httpx.Response:
        """Submit a modal; the ack (``response_action`` update/push/clear/errors) is applied to the fake.
        A ``file_input``'s value may be file ids (from ``fake.add_file``): they arrive as file objects, as
        Slack sends them, and the app may read those files."""
        current = self._current_view(view)
        current["state"] = {"values": build_state_values(current, self._with_files(current, values or {}))}
        self.last_trigger_id = self.fake.issue_trigger_id(user_id)
        # A form submitted by a person of another organization names their organization in ``team``,
        # and the agency's in ``view.app_installed_team_id`` (Slack Connect).
        current["app_installed_team_id"] = self.team_id
        payload = self.envelope(
            "view_submission", user_id, team_id, trigger_id=self.last_trigger_id, view=current, response_urls=[]
        )
        payload["team"] = {"id": payload["user"]["team_id"], "domain": self.team_domain}
        response = self.send_interaction(payload, **sign)
        if response.status_code == 200 and not self._late(response):
            self.fake.apply_view_answer(
                current["id"], self.fake.view_user(current["id"]) or user_id, ack_body(response) or {}
            )
        return response

    def _with_files(self, view: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
        given = dict(values)
        for block_id, _block, element in stateful_elements(view):
            if element.get("type") != "file_input":
                continue
            for key in (block_id, str(element.get("action_id") or "")):
                picked = given.get(key) if key else None
                if isinstance(picked, (list, tuple)) and all(isinstance(p, str) for p in picked):
                    given[key] = {"type": "file_input", "files": self.fake.file_objects(picked, app_readable=True)}
        return given

    def close_view(
        self, view: Mapping[str, Any] | str, user_id: str, team_id: str | None = None, force: bool = False, **sign: Any
    ) -> httpx.Response | None:
        """The user closes a modal. Slack only tells the app when the view has ``notify_on_close``:
        without it this returns None (unless ``force``)."""
        current = self._current_view(view)
        self.fake.close_view(current["id"])
        if not current.get("notify_on_close") and not force:
            return None
        payload = self.envelope("view_closed", user_id, team_id, view=current, is_cleared=False)
        return self.send_interaction(payload, **sign)

    def last_view(self, user_id: str | None = None) -> dict[str, Any] | None:
        """The newest modal the bot opened or pushed (for ``user_id`` if given), current content."""
        return self.fake.last_view(user_id)

    def _current_view(self, view: Mapping[str, Any] | str) -> dict[str, Any]:
        view_id = view if isinstance(view, str) else str(view.get("id"))
        current = self.fake.view(view_id)
        if current is None:
            if isinstance(view, str):
                raise AssertionError(f"no view {view_id!r} in the fake")
            current = dict(view)
        return current

    # ----- shortcuts ------------------------------------------------------------------

    def shortcut(
        self,
        callback_id: str,
        message: Mapping[str, Any],
        channel_id: str,
        user_id: str,
        team_id: str | None = None,
        force: bool = False,
        **sign: Any,
    ) -> httpx.Response:
        """A message shortcut (``message_action``) on ``message``."""
        self._only_own_org(user_id, "a message shortcut", force)
        ts = str(message.get("ts") or "")
        self.last_response_url = self.fake.new_response_url(channel=channel_id, user=user_id)
        self.last_trigger_id = self.fake.issue_trigger_id(user_id)
        payload = self.envelope(
            "message_action",
            user_id,
            team_id,
            callback_id=callback_id,
            trigger_id=self.last_trigger_id,
            response_url=self.last_response_url,
            channel={"id": channel_id, "name": self._channel_name(channel_id)},
            message=self.fake.public_message({**message, "channel": channel_id}),
            message_ts=ts,
            action_ts=f"{time.time():.6f}",
        )
        return self.send_interaction(payload, **sign)

    def global_shortcut(
        self, callback_id: str, user_id: str, team_id: str | None = None, force: bool = False, **sign: Any
    ) -> httpx.Response:
        self._only_own_org(user_id, "a shortcut", force)
        self.last_trigger_id = self.fake.issue_trigger_id(user_id)
        payload = self.envelope(
            "shortcut",
            user_id,
            team_id,
            callback_id=callback_id,
            trigger_id=self.last_trigger_id,
            action_ts=f"{time.time():.6f}",
        )
        return self.send_interaction(payload, **sign)

    # ----- Events API ---------------------------------------------------------------------

    def event(
        self,
        event: Mapping[str, Any],
        retry_num: int | None = None,
        retry_reason: str | None = None,
        event_id: str | None = None,
        force: bool = False,
        **sign: Any,
    ) -> httpx.Response:
        """An ``event_callback`` envelope around ``event`` (``event_ts`` added when missing).

        Reuse ``event_id`` with ``retry_num`` to simulate Slack's retries of the same event. An
        ``app_home_opened`` of a person of another organization is refused unless ``force``d.
        """
        if event.get("type") == "app_home_opened":
            self._only_own_org(str(event.get("user") or ""), "the app's Home tab", force)
        body = event_envelope(
            event, self.team_id, self.api_app_id, self.fake.bot_user_id, event_id or f"Ev{next(self._ids):08d}"
        )
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        return self.post(json.dumps(body), "application/json", headers=headers, **sign)

    def message(
        self, user_id: str, channel_id: str, text: str, thread_ts: str | None = None, **sign: Any
    ) -> httpx.Response:
        """A person writes ``text``: stored in the fake, then sent to the bot as a ``message`` event."""
        stored = self.fake.add_message(channel_id, user_id, text, thread_ts=thread_ts)
        event: Payload = {
            "type": "message",
            "channel": stored["channel"],
            "user": user_id,
            "text": text,
            "ts": stored["ts"],
            "team": stored["team"],
            "channel_type": channel_type(stored["channel"]),
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        return self.event(event, **sign)

    def url_verification(self, challenge: str, **sign: Any) -> httpx.Response:
        body = {"token": "verification-token-unused", "challenge": challenge, "type": "url_verification"}
        return self.post(json.dumps(body), "application/json", **sign)
