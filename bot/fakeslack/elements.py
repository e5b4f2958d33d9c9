"""Block Kit elements and composition objects: buttons, selects, inputs, options, text objects.

Checked by :mod:`bot.fakeslack.blockkit`; each problem is a string that starts with its path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MAX_ACTION_ID = 255

_TEXT_KEYS = frozenset({"type", "text", "emoji", "verbatim"})
_BUTTON_KEYS = frozenset({"type", "text", "action_id", "url", "value", "style", "confirm", "accessibility_label"})
_OPTION_KEYS = frozenset({"text", "value", "description", "url"})

_SELECTS = frozenset(
    {
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
    }
)
_MULTI_SELECTS = frozenset("multi_" + name for name in _SELECTS)
_TEXT_INPUTS = frozenset({"plain_text_input", "email_text_input", "url_text_input", "number_text_input"})
INTERACTIVE = (
    {
        "button",
        "overflow",
        "datepicker",
        "timepicker",
        "datetimepicker",
        "checkboxes",
        "radio_buttons",
        "workflow_button",
        "rich_text_input",
        "file_input",
        "feedback_buttons",
        "icon_button",
    }
    | _SELECTS
    | _MULTI_SELECTS
    | _TEXT_INPUTS
)
ACCESSORIES = (
    {"button", "overflow", "datepicker", "timepicker", "checkboxes", "radio_buttons", "image", "workflow_button"}
    | _SELECTS
    | _MULTI_SELECTS
)
INPUT_ELEMENTS = (
    {"datepicker", "timepicker", "datetimepicker", "checkboxes", "radio_buttons", "rich_text_input", "file_input"}
    | _SELECTS
    | _MULTI_SELECTS
    | _TEXT_INPUTS
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}$")


def check_element(element: object, path: str, allowed: set[str]) -> list[str]:
    if not isinstance(element, dict):
        return [f"{path}: must be an object"]
    kind = element.get("type")
    if kind not in allowed:
        return [f"{path}.type: {kind!r} is not allowed here"]
    errors: list[str] = []
    if kind == "image":
        check_len(errors, element.get("image_url"), f"{path}.image_url", 3000)
        check_len(errors, element.get("alt_text"), f"{path}.alt_text", 2000, minimum=1, required=True)
        return errors
    check_len(errors, element.get("action_id"), f"{path}.action_id", MAX_ACTION_ID, minimum=1)
    if "placeholder" in element:
        errors.extend(check_text(element["placeholder"], f"{path}.placeholder", 150, plain_only=True))
    if "confirm" in element:
        errors.extend(_check_confirm(element["confirm"], f"{path}.confirm"))
    if kind == "button":
        check_keys(errors, element, _BUTTON_KEYS, path)
        if "text" not in element:
            errors.append(f"{path}.text: required")
        else:
            errors.extend(check_text(element["text"], f"{path}.text", 75, plain_only=True))
        check_len(errors, element.get("value"), f"{path}.value", 2000)
        check_len(errors, element.get("url"), f"{path}.url", 3000)
        check_len(errors, element.get("accessibility_label"), f"{path}.accessibility_label", 75)
        style = element.get("style")
        if style is not None and style not in ("primary", "danger"):
            errors.append(f"{path}.style: must be 'primary' or 'danger', got {style!r}")
    elif kind in ("static_select", "multi_static_select"):
        errors.extend(_check_option_source(element, path, 100))
    elif kind == "overflow":
        errors.extend(_check_options(element.get("options"), f"{path}.options", 5, minimum=1, urls=True))
    elif kind in ("checkboxes", "radio_buttons"):
        errors.extend(_check_options(element.get("options"), f"{path}.options", 10, minimum=1, mrkdwn=True))
    elif kind in _TEXT_INPUTS:
        errors.extend(_check_text_input(element, path))
    elif kind == "datepicker":
        value = element.get("initial_date")
        if value is not None and not (isinstance(value, str) and _DATE.match(value)):
            errors.append(f"{path}.initial_date: must be YYYY-MM-DD, got {value!r}")
    elif kind == "timepicker":
        value = element.get("initial_time")
        if value is not None and not (isinstance(value, str) and _TIME.match(value)):
            errors.append(f"{path}.initial_time: must be HH:mm, got {value!r}")
    if kind in _MULTI_SELECTS and "max_selected_items" in element:
        value = element["max_selected_items"]
        if not isinstance(value, int) or value < 1:
            errors.append(f"{path}.max_selected_items: must be an integer >= 1")
    return errors


def _check_text_input(element: dict[str, Any], path: str) -> list[str]:
    errors: list[str] = []
    maximum = element.get("max_length", 3000)
    minimum = element.get("min_length", 0)
    if not isinstance(maximum, int) or not 1 <= maximum <= 3000:
        errors.append(f"{path}.max_length: must be an integer in 1..3000")
        maximum = 3000
    if not isinstance(minimum, int) or not 0 <= minimum <= 3000:
        errors.append(f"{path}.min_length: must be an integer in 0..3000")
    elif minimum > maximum:
        errors.append(f"{path}.min_length: {minimum} > max_length {maximum}")
    check_len(errors, element.get("initial_value"), f"{path}.initial_value", maximum)
    return errors


def _check_option_source(element: dict[str, Any], path: str, limit: int) -> list[str]:
    options, groups = element.get("options"), element.get("option_groups")
    if options is None and groups is None:
        return [f"{path}: options or option_groups required"]
    if options is not None and groups is not None:
        return [f"{path}: use options or option_groups, not both"]
    if options is not None:
        errors = _check_options(options, f"{path}.options", limit, minimum=1)
        all_values = [o.get("value") for o in options if isinstance(o, dict)]
    else:
        errors = []
        if not isinstance(groups, list) or not groups:
            return [f"{path}.option_groups: must be a non-empty array"]
        if len(groups) > 100:
            errors.append(f"{path}.option_groups: {len(groups)} items > 100")
        all_values = []
        for i, group in enumerate(groups):
            where = f"{path}.option_groups[{i}]"
            if not isinstance(group, dict):
                errors.append(f"{where}: must be an object")
                continue
            errors.extend(check_text(group.get("label"), f"{where}.label", 75, plain_only=True))
            errors.extend(_check_options(group.get("options"), f"{where}.options", 100, minimum=1))
            all_values += [o.get("value") for o in group.get("options") or [] if isinstance(o, dict)]
    initial = element.get("initial_option")
    initials = [initial] if initial is not None else list(element.get("initial_options") or [])
    for option in initials:
        value = option.get("value") if isinstance(option, dict) else None
        if value not in all_values:
            errors.append(f"{path}: initial option {value!r} is not one of the options")
    return errors


def _check_options(
    options: object, path: str, limit: int, *, minimum: int = 0, urls: bool = False, mrkdwn: bool = False
) -> list[str]:
    if not isinstance(options, list):
        return [f"{path}: must be an array"]
    errors: list[str] = []
    if len(options) > limit:
        errors.append(f"{path}: {len(options)} items > {limit}")
    if len(options) < minimum:
        errors.append(f"{path}: {len(options)} items < {minimum}")
    for i, option in enumerate(options):
        where = f"{path}[{i}]"
        if not isinstance(option, dict):
            errors.append(f"{where}: must be an object")
            continue
        check_keys(errors, option, _OPTION_KEYS, where)
        errors.extend(check_text(option.get("text"), f"{where}.text", 75, plain_only=not mrkdwn))
        check_len(errors, option.get("value"), f"{where}.value", 150, minimum=1, required=True)
        if "description" in option:
            errors.extend(check_text(option["description"], f"{where}.description", 75, plain_only=not mrkdwn))
        if "url" in option:
            if urls:
                check_len(errors, option["url"], f"{where}.url", 3000)
            else:
                errors.append(f"{where}.url: only allowed in overflow menus")
    return errors


def _check_confirm(confirm: object, path: str) -> list[str]:
    if not isinstance(confirm, dict):
        return [f"{path}: must be an object"]
    errors: list[str] = []
    for key, limit, plain in (("title", 100, True), ("text", 300, False), ("confirm", 30, True), ("deny", 30, True)):
        if key not in confirm:
            errors.append(f"{path}.{key}: required")
        else:
            errors.extend(check_text(confirm[key], f"{path}.{key}", limit, plain_only=plain))
    return errors


def check_text(obj: object, path: str, limit: int, *, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict):
        return [f"{path}: must be a text object, got {type(obj).__name__}"]
    errors: list[str] = []
    kind = obj.get("type")
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if kind not in allowed:
        errors.append(f"{path}.type: must be {' or '.join(allowed)}, got {kind!r}")
    check_keys(errors, obj, _TEXT_KEYS, path)
    if "emoji" in obj and kind != "plain_text":
        errors.append(f"{path}.emoji: only allowed on plain_text")
    if "verbatim" in obj and kind != "mrkdwn":
        errors.append(f"{path}.verbatim: only allowed on mrkdwn")
    text = obj.get("text")
    if not isinstance(text, str):
        errors.append(f"{path}.text: must be a string")
    elif not text:
        errors.append(f"{path}: empty text (needs 1 to {limit} chars)")
    elif len(text) > limit:
        errors.append(f"{path}: {len(text)} chars > {limit}")
    return errors


def check_len(
    errors: list[str], value: object, path: str, limit: int, *, minimum: int = 0, required: bool = False
) -> None:
    if value is None:
        if required:
            errors.append(f"{path}: required")
        return
    if not isinstance(value, str):
        errors.append(f"{path}: must be a string, got {type(value).__name__}")
    elif len(value) > limit:
        errors.append(f"{path}: {len(value)} chars > {limit}")
    elif len(value) < minimum:
        errors.append(f"{path}: {len(value)} chars < {minimum}")


def check_keys(errors: list[str], obj: dict[str, Any], allowed: Iterable[str], path: str) -> None:
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        errors.append(f"{path}: unknown field(s) {', '.join(unknown)}")
