"""Refuse, with a 400, payloads of a shape Slack never sends, so every handler can read fields without
type checks and a malformed request never becomes a 5xx or an "unexpected error" in the logs.

Only the shape is checked here (a dict where a dict belongs, a string where a string belongs). What a
string says (a button value, private_metadata, what someone typed) is untrusted content: each handler
parses it (``bot.db.row_id`` for ids) and refuses it politely.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltResponse

log = logging.getLogger(__name__)

INTERACTIVE = ("block_actions", "view_submission", "view_closed", "message_action", "shortcut", "block_suggestion")
# What an input element reports in ``view.state.values``, by key: one string, or a list of them.
ONE = ("value", "selected_user", "selected_conversation", "selected_channel", "selected_date", "selected_time", "type")
MANY = ("selected_users", "selected_conversations", "selected_channels")
# The events Nexo listens to (manifest.json), and their fields it reads as strings.
EVENTS = ("message", "app_home_opened")
EVENT_STRINGS = ("user", "channel", "ts", "thread_ts", "text", "subtype", "tab", "bot_id")


def refuse_malformed(body: dict[str, Any], next: Callable[[], None]) -> BoltResponse | None:
    """Bolt middleware: a 400 for a malformed payload, otherwise on to the listeners (NUL-free)."""
    if _well_formed(body):
        _drop_nul_characters(body)
        next()
        return None
    kind = body.get("type") if isinstance(body, dict) else None
    log.warning("malformed payload refused", extra={"kind": kind if isinstance(kind, str) else None})
    return BoltResponse(status=400, body="")


def _drop_nul_characters(body: dict[str, Any]) -> None:
    """Remove U+0000 from every string of the payload, in place. Slack's own text never holds it, and
    PostgreSQL text can't store it: a forged one must not turn a polite refusal into an error.
    Iterative, so a deeply nested payload can't exhaust the stack."""
    stack: list[dict[str, Any] | list[Any]] = [body]
    while stack:
        node = stack.pop()
        keys = node.keys() if isinstance(node, dict) else range(len(node))
        for key in keys:
            value = node[key]  # type: ignore[index]
            if isinstance(value, str):
                if "\x00" in value:
                    node[key] = value.replace("\x00", "")  # type: ignore[index]
            elif isinstance(value, dict | list):
                stack.append(value)


def _well_formed(body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    if "command" in body:
        return _text(body.get("user_id")) and all(isinstance(v, str) for v in body.values())
    kind = body.get("type")
    if kind in INTERACTIVE:
        user = body.get("user")
        return isinstance(user, dict) and _text(user.get("id")) and _interaction(body)
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict):
            return False
        return event.get("type") not in EVENTS or all(_opt_str(event.get(k)) for k in EVENT_STRINGS)
    return True


def _interaction(body: dict[str, Any]) -> bool:
    for key in ("response_url", "trigger_id", "callback_id", "message_ts"):
        if not _opt_str(body.get(key)):
            return False
    for key in ("container", "channel", "message"):
        if not isinstance(body.get(key), dict | None):
            return False
    message = body.get("message") or {}
    if not (_opt_str(message.get("text")) and _opt_str(message.get("ts"))):
        return False
    if not _opt_str((body.get("channel") or {}).get("id")):
        return False
    if "actions" in body or body.get("type") == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions or not all(_action(a) for a in actions):
            return False
    if "view" in body or body.get("type") in ("view_submission", "view_closed"):
        return _view(body.get("view"))
    return True


def _action(action: Any) -> bool:
    return isinstance(action, dict) and _text(action.get("action_id")) and _opt_str(action.get("value"))


def _view(view: Any) -> bool:
    if (
        not isinstance(view, dict)
        or not _opt_str(view.get("callback_id"))
        or not _opt_str(view.get("private_metadata"))
    ):
        return False
    if "state" not in view:
        return True
    state = view["state"]
    values = state.get("values", {}) if isinstance(state, dict) else None
    if not isinstance(values, dict):
        return False
    return all(
        isinstance(elements, dict) and all(_element(e) for e in elements.values()) for elements in values.values()
    )


def _element(element: Any) -> bool:
    if not isinstance(element, dict):
        return False
    if not all(_opt_str(element.get(k)) for k in ONE):
        return False
    if not all(_str_list(element.get(k)) for k in MANY):
        return False
    option = element.get("selected_option")
    options = element.get("selected_options")
    return (option is None or _option(option)) and (
        options is None or (isinstance(options, list) and all(_option(o) for o in options))
    )


def _option(option: Any) -> bool:
    return isinstance(option, dict) and _opt_str(option.get("value"))


def _str_list(value: Any) -> bool:
    return value is None or (isinstance(value, list) and all(isinstance(v, str) for v in value))


def _opt_str(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)
