"""Block Kit, built in one place: sections, context lines, buttons, inputs, mentions, times, metadata.

Every domain's ``blocks`` module composes these pure functions (plain dicts, no Slack library), so a
limit Slack enforces (3,000 characters in a section, 75 in a button label, 24 in a modal title) is
applied once, here, and a message or a form can be tested without a server.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

SECTION_TEXT_MAX = 3000
BUTTON_TEXT_MAX = 75
LABEL_MAX = 2000
MODAL_TITLE_MAX = 24
PLACEHOLDER_MAX = 150
ELEMENT = "_input"  # an input block's element id is its block id plus this suffix


# -- text ------------------------------------------------------------------------------------------
def mention(user: str | None) -> str:
    """``<@U…>``, or a dash when nobody is named."""
    return f"<@{user}>" if user else "—"


def mentions(users: list[str]) -> str:
    return ", ".join(mention(u) for u in users) or "—"


def titled(label: str, value: str) -> str:
    """The label in bold, the value below it."""
    return f"*{label}*\n{value}"


# -- times -----------------------------------------------------------------------------------------
def local_stamp(at: datetime | None, tz: str) -> str:
    """``2026-11-23 13:00`` in the client's zone (a dash for no time)."""
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") if at else "—"


def local_hhmm(at: datetime | None, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%H:%M") if at else "—"


def local_time(at: datetime, tz: str, language: str) -> str:
    """``at`` in the client's zone, in the reader's language: "Mon 23 Nov, 13:00" / "lun 23 nov, 13:00"."""
    return format_datetime(at, "EEE d MMM, HH:mm", tzinfo=ZoneInfo(tz), locale=language)


def date_token(at: datetime, tz: str, language: str) -> str:
    """Slack's date token: each reader sees the time in their own zone; clients that can't render it
    (notifications, old apps) show the fallback, the client's local time."""
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{local_time(at, tz, language)}>"


# -- blocks ----------------------------------------------------------------------------------------
def section(text: str, *, block_id: str | None = None, **extra: Any) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": text[:SECTION_TEXT_MAX] or " "},
        **extra,
    }
    if block_id:
        block["block_id"] = block_id
    return block


def fields(pairs: list[str]) -> dict[str, Any]:
    """A section of side-by-side mrkdwn fields (Slack allows 10, each up to 2,000 characters)."""
    return {"type": "section", "fields": [{"type": "mrkdwn", "text": text[:LABEL_MAX] or " "} for text in pairs[:10]]}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:SECTION_TEXT_MAX] or " "}]}


def divider() -> dict[str, Any]:
    return {"type": "divider"}


def button(
    label: str, action_id: str, value: str, *, style: str | None = None, confirm: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A button; ``style`` is ``"primary"`` or ``"danger"``; ``confirm`` (:func:`confirm_dialog`): Slack
    asks "are you sure?" before the click is sent."""
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": label[:BUTTON_TEXT_MAX]},
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def confirm_dialog(title: str, text: str, *, confirm: str, deny: str, danger: bool = False) -> dict[str, Any]:
    """A button's confirmation dialog (Slack: title 100, text 300, buttons 30 characters)."""
    dialog: dict[str, Any] = {
        "title": {"type": "plain_text", "text": title[:100]},
        "text": {"type": "mrkdwn", "text": text[:300]},
        "confirm": {"type": "plain_text", "text": confirm[:30]},
        "deny": {"type": "plain_text", "text": deny[:30]},
    }
    if danger:
        dialog["style"] = "danger"
    return dialog


def actions(elements: list[dict[str, Any]], *, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "actions", "elements": elements}
    if block_id:
        block["block_id"] = block_id
    return block


def plain(text: str, limit: int = LABEL_MAX) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:limit]}


# -- forms -----------------------------------------------------------------------------------------
def input_block(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = False, hint: str | None = None
) -> dict[str, Any]:
    """An input block whose element's id is ``block_id + ELEMENT`` (what :func:`read` looks up)."""
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": plain(label),
        "element": {**element, "action_id": block_id + ELEMENT},
    }
    if hint:
        block["hint"] = plain(hint)
    return block


def text_input(
    block_id: str,
    label: str,
    value: str | None = None,
    *,
    multiline: bool = False,
    optional: bool = False,
    placeholder: str = "",
    hint: str | None = None,
    max_length: int | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "multiline": multiline}
    if max_length is not None:
        element["max_length"] = max_length
    if value:
        element["initial_value"] = value[: max_length or 3000]
    if placeholder:
        element["placeholder"] = plain(placeholder, PLACEHOLDER_MAX)
    return input_block(block_id, label, element, optional=optional, hint=hint)


def modal(
    callback_id: str,
    title: str,
    blocks: list[dict[str, Any]],
    *,
    close: str,
    submit: str | None = None,
    metadata: dict[str, Any] | None = None,
    max_blocks: int = 100,
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, MODAL_TITLE_MAX),
        "close": plain(close, MODAL_TITLE_MAX),
        "blocks": blocks[:max_blocks],
    }
    if submit:
        view["submit"] = plain(submit, MODAL_TITLE_MAX)
    if metadata is not None:
        view["private_metadata"] = encode_metadata(metadata)
    return view


def encode_metadata(meta: dict[str, Any]) -> str:
    return json.dumps(meta, separators=(",", ":"))


def decode_metadata(view: dict[str, Any]) -> dict[str, Any]:
    """A view's ``private_metadata`` as a dict. It comes back from Slack, so it is untrusted: anything
    malformed (not JSON, not an object, nested too deep) reads as empty."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except (ValueError, RecursionError):
        return {}
    return meta if isinstance(meta, dict) else {}


def state_element(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    """What the person entered in the input ``block_id`` of a submitted view (empty when absent)."""
    values = (view.get("state") or {}).get("values") or {}
    return (values.get(block_id) or {}).get(block_id + ELEMENT) or {}


def read(view: dict[str, Any], block_id: str) -> Any:
    """The value of a text input or the selected option of radio buttons / a static select."""
    element = state_element(view, block_id)
    if element.get("type") in ("radio_buttons", "static_select"):
        return (element.get("selected_option") or {}).get("value")
    return element.get("value")
