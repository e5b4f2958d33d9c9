"""What a user's click or form submission looks like: finding buttons, building ``state.values``.

Pure functions over message/view dicts, used by :class:`~bot.fakeslack.client.SlackRequests`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

# Element type -> (state key, is a list) for what a user picks in it.
_STATE_KEYS: Mapping[str, tuple[str, bool]] = MappingProxyType(
    {
        "static_select": ("selected_option", False),
        "external_select": ("selected_option", False),
        "radio_buttons": ("selected_option", False),
        "multi_static_select": ("selected_options", True),
        "multi_external_select": ("selected_options", True),
        "checkboxes": ("selected_options", True),
        "users_select": ("selected_user", False),
        "multi_users_select": ("selected_users", True),
        "conversations_select": ("selected_conversation", False),
        "multi_conversations_select": ("selected_conversations", True),
        "channels_select": ("selected_channel", False),
        "multi_channels_select": ("selected_channels", True),
        "datepicker": ("selected_date", False),
        "timepicker": ("selected_time", False),
        "datetimepicker": ("selected_date_time", False),
        "plain_text_input": ("value", False),
        "email_text_input": ("value", False),
        "url_text_input": ("value", False),
        "number_text_input": ("value", False),
        "rich_text_input": ("rich_text_value", False),
        "file_input": ("files", True),
    }
)
_OPTION_LISTS = frozenset({"selected_option", "selected_options"})


def iter_buttons(container: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """``(block, button)`` for every button in actions blocks and section accessories."""
    for block in container.get("blocks") or []:
        if block.get("type") == "actions":
            candidates = block.get("elements") or []
        elif block.get("type") == "section" and block.get("accessory"):
            candidates = [block["accessory"]]
        else:
            continue
        for element in candidates:
            if element.get("type") == "button":
                yield block, element


def find_button(
    container: Mapping[str, Any], action_id: str | None = None, text: str | None = None, value: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The first button matching every given criterion; AssertionError lists the buttons otherwise."""
    buttons = list(iter_buttons(container))
    for block, element in buttons:
        label = (element.get("text") or {}).get("text")
        if (
            (action_id is None or element.get("action_id") == action_id)
            and (text is None or label == text)
            and (value is None or element.get("value") == value)
        ):
            return block, element
    listing = (
        "\n".join(
            f"  [ {(e.get('text') or {}).get('text')} ] action_id={e.get('action_id')!r} value={e.get('value')!r}"
            f" block_id={b.get('block_id')!r}"
            for b, e in buttons
        )
        or "  (no buttons)"
    )
    wanted = ", ".join(
        f"{k}={v!r}" for k, v in (("action_id", action_id), ("text", text), ("value", value)) if v is not None
    )
    raise AssertionError(f"no button with {wanted or 'any criteria'}; available:\n{listing}")


def button_action(block: Mapping[str, Any], button: Mapping[str, Any]) -> dict[str, Any]:
    """The ``actions[]`` entry of a ``block_actions`` payload for a button click."""
    action: dict[str, Any] = {
        "action_id": button.get("action_id"),
        "block_id": block.get("block_id"),
        "text": button.get("text"),
        "type": "button",
        "action_ts": f"{time.time():.6f}",
    }
    for key in ("value", "style", "url"):
        if key in button:
            action[key] = button[key]
    return action


def event_envelope(
    event: Mapping[str, Any], team_id: str, api_app_id: str, bot_user_id: str, event_id: str
) -> dict[str, Any]:
    """The Events API ``event_callback`` body around ``event`` (``event_ts`` added when missing)."""
    inner = dict(event)
    inner.setdefault("event_ts", inner.get("ts") or f"{time.time():.6f}")
    authorization = {
        "enterprise_id": None,
        "team_id": team_id,
        "user_id": bot_user_id,
        "is_bot": True,
        "is_enterprise_install": False,
    }
    return {
        "token": "verification-token-unused",
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": inner,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "event_context": f"4-{team_id}",
        "authorizations": [authorization],
        "is_ext_shared_channel": False,
    }


def stateful_elements(view: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """``(block_id, block, element)`` for every element that keeps state in a view."""
    for index, block in enumerate(view.get("blocks") or []):
        block_id = block.get("block_id") or f"block_{index}"
        if block.get("type") == "input":
            elements = [block.get("element") or {}]
        elif block.get("type") == "actions":
            elements = block.get("elements") or []
        elif block.get("type") == "section" and block.get("accessory"):
            elements = [block["accessory"]]
        else:
            continue
        for element in elements:
            if element.get("type") in _STATE_KEYS:
                yield block_id, block, element


def build_state_values(view: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``view.state.values`` as Slack sends it, with ``values`` keyed by block_id or action_id.

    A value may be the plain thing the user picked (option value or text, user id, date
    string, list of those) or a complete element state dict. Elements left out are empty.
    """
    state: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    for block_id, _block, element in stateful_elements(view):
        action_id = element.get("action_id") or "action"
        key = block_id if block_id in values else action_id if action_id in values else None
        if key is not None:
            used.add(key)
        # What the user did not touch is submitted as the element shows it: its initial value.
        entry = _element_state(element, values[key] if key is not None else _initial(element))
        state.setdefault(block_id, {})[action_id] = entry
    unknown = set(values) - used
    if unknown:
        known = [f"{b}/{e.get('action_id')} ({e.get('type')})" for b, _, e in stateful_elements(view)]
        raise AssertionError(f"values for {sorted(unknown)} match no input in the view; inputs: {known}")
    return state


def _element_state(element: Mapping[str, Any], given: Any) -> dict[str, Any]:
    kind = str(element.get("type"))
    if isinstance(given, dict) and given.get("type") == kind:
        return dict(given)
    key, many = _STATE_KEYS[kind]
    entry: dict[str, Any] = {"type": kind}
    if given is None:
        entry[key] = [] if many else None
    elif key in _OPTION_LISTS:
        picks = list(given) if many and isinstance(given, (list, tuple)) else [given]
        options = [_option(element, pick) for pick in picks]
        entry[key] = options if many else options[0]
    elif kind == "rich_text_input" and isinstance(given, str):
        entry[key] = {
            "type": "rich_text",
            "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": given}]}],
        }
    elif many:
        entry[key] = list(given) if isinstance(given, (list, tuple)) else [given]
    else:
        entry[key] = given if kind == "datetimepicker" else str(given)
    return entry


_INITIAL_FIELDS = (
    "initial_value",
    "initial_option",
    "initial_options",
    "initial_user",
    "initial_users",
    "initial_conversation",
    "initial_conversations",
    "initial_channel",
    "initial_channels",
    "initial_date",
    "initial_time",
    "initial_date_time",
)


def _initial(element: Mapping[str, Any]) -> Any:
    """The value Slack submits for an element the user left as it was shown."""
    for field in _INITIAL_FIELDS:
        if element.get(field) not in (None, "", []):
            return element[field]
    return None


def _option(element: Mapping[str, Any], pick: Any) -> dict[str, Any]:
    if isinstance(pick, dict):
        return dict(pick)
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options") or []
    for option in options:
        if option.get("value") == pick or (option.get("text") or {}).get("text") == pick:
            return dict(option)
    if element.get("type", "").endswith("external_select"):
        return {"text": {"type": "plain_text", "text": str(pick)}, "value": str(pick)}
    available = [o.get("value") for o in options]
    raise AssertionError(f"{pick!r} is not an option of {element.get('action_id')!r}; options: {available}")


def ack_body(response: httpx.Response) -> dict[str, Any] | None:
    """The JSON the bot put in its acknowledgement, if any."""
    if response.status_code != 200 or not response.content:
        return None
    try:
        body = response.json()
    except ValueError:
        return {"text": response.text}
    return body if isinstance(body, dict) else None


def channel_type(channel_id: str) -> str:
    return {"D": "im", "G": "group"}.get(channel_id[:1], "channel")
