"""Block Kit validation: the limits Slack enforces on messages, modals and Home tabs.

Pure functions, no I/O. Each problem is a readable string that starts with the
path of the offending value, e.g. ``blocks[3].text: 3120 chars > 3000``.
Figures come from Slack's Block Kit reference; Slack answers ``invalid_blocks``
when any of them is crossed. Unknown fields on blocks, text objects, buttons and
options are reported too: Slack rejects them, and they are usually typos.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .elements import ACCESSORIES, INPUT_ELEMENTS, INTERACTIVE, check_element, check_keys, check_len, check_text

MAX_MESSAGE_TEXT = 40_000
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_BLOCK_ID = 255

_BLOCK_KEYS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "section": frozenset({"text", "fields", "accessory", "expand"}),
        "header": frozenset({"text"}),
        "divider": frozenset(),
        "image": frozenset({"image_url", "slack_file", "alt_text", "title"}),
        "context": frozenset({"elements"}),
        "actions": frozenset({"elements"}),
        "input": frozenset({"label", "element", "dispatch_action", "hint", "optional"}),
        "rich_text": frozenset({"elements"}),
        "markdown": frozenset({"text"}),
        "file": frozenset({"external_id", "source"}),
        "video": frozenset(
            {
                "alt_text",
                "author_name",
                "description",
                "provider_icon_url",
                "provider_name",
                "title",
                "title_url",
                "thumbnail_url",
                "video_url",
            }
        ),
        "table": frozenset({"rows", "column_settings"}),
        "context_actions": frozenset({"elements"}),
    }
)
_MESSAGE_ONLY_BLOCKS = frozenset({"markdown", "table"})


def validate_message(text: object, blocks: object) -> list[str]:
    """Problems that make Slack reject a message (``chat.postMessage``, ``chat.update``, ...)."""
    errors: list[str] = []
    if text is not None and not isinstance(text, str):
        errors.append(f"text: must be a string, got {type(text).__name__}")
    if blocks is None:
        return errors
    errors.extend(_check_blocks(blocks, "blocks", MAX_MESSAGE_BLOCKS, surface="message"))
    return errors


def message_warnings(text: object, blocks: object) -> list[str]:
    """Things Slack accepts but that hurt the user: no notification fallback, truncated text."""
    warnings: list[str] = []
    if blocks and not (isinstance(text, str) and text.strip()):
        warnings.append("text: missing notification fallback for a message with blocks")
    if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
        warnings.append(f"text: {len(text)} chars > {MAX_MESSAGE_TEXT}, Slack truncates it")
    return warnings


def validate_view(view: object) -> list[str]:
    """Problems that make Slack reject a modal or Home tab (``views.open``, ``views.publish``, ...)."""
    if not isinstance(view, dict):
        return [f"view: must be an object, got {type(view).__name__}"]
    errors: list[str] = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        errors.append(f"view.type: must be 'modal' or 'home', got {kind!r}")
    if kind == "modal":
        if "title" not in view:
            errors.append("view.title: required for a modal")
        for key in ("title", "submit", "close"):
            if key in view:
                errors.extend(check_text(view[key], f"view.{key}", 24, plain_only=True))
    check_len(errors, view.get("callback_id"), "view.callback_id", 255)
    check_len(errors, view.get("external_id"), "view.external_id", 255)
    check_len(errors, view.get("private_metadata"), "view.private_metadata", 3000)
    blocks = view.get("blocks")
    if blocks is None:
        errors.append("view.blocks: required")
        return errors
    errors.extend(_check_blocks(blocks, "view.blocks", MAX_VIEW_BLOCKS, surface=kind or "modal"))
    has_input = isinstance(blocks, list) and any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
    if kind == "modal" and has_input and "submit" not in view:
        errors.append("view.submit: required when the modal has input blocks")
    return errors


def _check_blocks(blocks: object, path: str, limit: int, *, surface: str) -> list[str]:
    if not isinstance(blocks, list):
        return [f"{path}: must be an array, got {type(blocks).__name__}"]
    errors: list[str] = []
    if len(blocks) > limit:
        errors.append(f"{path}: {len(blocks)} blocks > {limit}")
    seen_ids: dict[str, int] = {}
    for index, block in enumerate(blocks):
        where = f"{path}[{index}]"
        if not isinstance(block, dict):
            errors.append(f"{where}: must be an object")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or not block_id:
                errors.append(f"{where}.block_id: must be a non-empty string")
            elif len(block_id) > MAX_BLOCK_ID:
                errors.append(f"{where}.block_id: {len(block_id)} chars > {MAX_BLOCK_ID}")
            elif block_id in seen_ids:
                errors.append(f"{where}.block_id: {block_id!r} duplicates blocks[{seen_ids[block_id]}]")
            else:
                seen_ids[block_id] = index
        errors.extend(_check_block(block, where, surface))
    return errors


def _check_block(block: dict[str, Any], where: str, surface: str) -> list[str]:
    kind = block.get("type")
    if not isinstance(kind, str) or kind not in _BLOCK_KEYS:
        return [f"{where}.type: unknown block type {kind!r}"]
    errors: list[str] = []
    if surface != "message" and kind in _MESSAGE_ONLY_BLOCKS:
        errors.append(f"{where}.type: {kind!r} is only allowed in messages")
    check_keys(errors, block, _BLOCK_KEYS[kind] | {"type", "block_id"}, where)
    checker = _BLOCK_CHECKS.get(kind)
    if checker is not None:
        checker(errors, block, where)
    return errors


def _section(errors: list[str], block: dict[str, Any], where: str) -> None:
    if "text" not in block and "fields" not in block:
        errors.append(f"{where}: a section needs text or fields")
    if "text" in block:
        errors.extend(check_text(block["text"], f"{where}.text", 3000))
    if "fields" in block:
        fields = block["fields"]
        if not isinstance(fields, list) or not fields:
            errors.append(f"{where}.fields: must be a non-empty array")
        else:
            if len(fields) > 10:
                errors.append(f"{where}.fields: {len(fields)} items > 10")
            for i, field in enumerate(fields):
                errors.extend(check_text(field, f"{where}.fields[{i}]", 2000))
    if "accessory" in block:
        errors.extend(check_element(block["accessory"], f"{where}.accessory", ACCESSORIES))


def _header(errors: list[str], block: dict[str, Any], where: str) -> None:
    if "text" not in block:
        errors.append(f"{where}.text: required")
    else:
        errors.extend(check_text(block["text"], f"{where}.text", 150, plain_only=True))


def _image(errors: list[str], block: dict[str, Any], where: str) -> None:
    if "image_url" not in block and "slack_file" not in block:
        errors.append(f"{where}: image_url or slack_file required")
    if "image_url" in block and "slack_file" in block:
        errors.append(f"{where}: image_url and slack_file are exclusive")
    if "slack_file" in block:
        file = block["slack_file"]
        if (
            not isinstance(file, dict)
            or len(file) != 1
            or not isinstance(next(iter(file.values())), str)
            or next(iter(file)) not in ("id", "url")
        ):
            errors.append(f'{where}.slack_file: must be {{"id": ...}} or {{"url": ...}} (one of them)')
    check_len(errors, block.get("image_url"), f"{where}.image_url", 3000)
    if "alt_text" not in block:
        errors.append(f"{where}.alt_text: required")
    check_len(errors, block.get("alt_text"), f"{where}.alt_text", 2000)
    if "title" in block:
        errors.extend(check_text(block["title"], f"{where}.title", 2000, plain_only=True))


def _context(errors: list[str], block: dict[str, Any], where: str) -> None:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        errors.append(f"{where}.elements: must be a non-empty array")
        return
    if len(elements) > 10:
        errors.append(f"{where}.elements: {len(elements)} items > 10")
    for i, element in enumerate(elements):
        path = f"{where}.elements[{i}]"
        if isinstance(element, dict) and element.get("type") == "image":
            errors.extend(check_element(element, path, {"image"}))
        else:
            errors.extend(check_text(element, path, 3000))


def _actions(errors: list[str], block: dict[str, Any], where: str) -> None:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        errors.append(f"{where}.elements: must be a non-empty array")
        return
    if len(elements) > 25:
        errors.append(f"{where}.elements: {len(elements)} items > 25")
    seen: dict[str, int] = {}
    for i, element in enumerate(elements):
        path = f"{where}.elements[{i}]"
        errors.extend(check_element(element, path, INTERACTIVE))
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if isinstance(action_id, str):
            if action_id in seen:
                errors.append(f"{path}.action_id: {action_id!r} duplicates elements[{seen[action_id]}]")
            seen[action_id] = i


def _input(errors: list[str], block: dict[str, Any], where: str) -> None:
    if "label" not in block:
        errors.append(f"{where}.label: required")
    else:
        errors.extend(check_text(block["label"], f"{where}.label", 2000, plain_only=True))
    if "hint" in block:
        errors.extend(check_text(block["hint"], f"{where}.hint", 2000, plain_only=True))
    if "element" not in block:
        errors.append(f"{where}.element: required")
    else:
        errors.extend(check_element(block["element"], f"{where}.element", INPUT_ELEMENTS))


def _markdown(errors: list[str], block: dict[str, Any], where: str) -> None:
    check_len(errors, block.get("text"), f"{where}.text", 12000, minimum=1, required=True)


def _rich_text(errors: list[str], block: dict[str, Any], where: str) -> None:
    if not isinstance(block.get("elements"), list):
        errors.append(f"{where}.elements: must be an array")


_BLOCK_CHECKS = MappingProxyType(
    {
        "section": _section,
        "header": _header,
        "image": _image,
        "context": _context,
        "actions": _actions,
        "input": _input,
        "markdown": _markdown,
        "rich_text": _rich_text,
    }
)
