"""Plain-text rendering of Block Kit messages and views, for demo transcripts and test dumps.

Headers are upper-cased and underlined, context goes in brackets, buttons look like
``[ Approve ]``; mrkdwn is kept as written except that ``<@U1>`` mentions, ``<#C1|name>``
channels and ``<!here>``-style specials become readable (through an optional name map).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

Names = Mapping[str, str]
_MENTION = re.compile(r"<([@#!])([^>|]+)(?:\|([^>]*))?>")
_RULE = "-" * 40


def resolve_mentions(text: str, names: Names | None = None) -> str:
    """``<@U1>`` -> ``@Ana``, ``<#C1|general>`` -> ``#general``, ``<!here>`` -> ``@here``."""
    names = names or {}

    def replace(match: re.Match[str]) -> str:
        sigil, ident, label = match.group(1), match.group(2), match.group(3)
        if sigil == "@":
            return "@" + names.get(ident, label or ident)
        if sigil == "#":
            return "#" + (label or names.get(ident, ident))
        if ident.startswith("subteam^"):
            group = ident.split("^", 1)[1]
            return label or "@" + names.get(group, group)
        if ident.startswith("date^"):
            return label or ident
        return "@" + ident

    return _MENTION.sub(replace, text)


def render_blocks_as_text(blocks: list[dict[str, Any]] | None, names: Names | None = None) -> list[str]:
    """One or more lines per block, in order."""
    lines: list[str] = []
    for block in blocks or []:
        lines.extend(_render_block(block, names))
    return lines


def render_message(msg: Mapping[str, Any], names: Names | None = None, *, with_author: bool = False) -> str:
    """A message (or ephemeral, or response body) as text: its blocks, else its ``text``."""
    lines: list[str] = []
    if with_author:
        author = msg.get("user") or msg.get("bot_id") or "?"
        label = (names or {}).get(author, author)
        target = msg.get("channel")
        suffix = " (only visible to you)" if "message_ts" in msg else ""
        lines.append(f"{label}{' in ' + str(target) if target else ''}{suffix}:")
    if msg.get("blocks"):
        lines.extend(render_blocks_as_text(msg["blocks"], names))
    elif msg.get("text"):
        lines.extend(resolve_mentions(str(msg["text"]), names).splitlines())
    for attachment in msg.get("attachments") or []:
        lines.extend(
            render_blocks_as_text(attachment.get("blocks"), names)
            or [resolve_mentions(str(attachment.get("text") or attachment.get("fallback") or ""), names)]
        )
    for shared in msg.get("files") or []:
        lines.append(f"[file: {shared.get('title') or shared.get('name')}]")
    if msg.get("edits"):
        lines.append("(edited)")
    return "\n".join(lines)


def render_view(view: Mapping[str, Any], names: Names | None = None) -> str:
    """A modal or Home tab: title bar, blocks, then its submit/close buttons."""
    lines: list[str] = []
    title = _plain(view.get("title"))
    if title:
        lines += [f"== {title} ==", ""]
    lines.extend(render_blocks_as_text(view.get("blocks"), names))
    buttons = [f"[ {_plain(view.get(k))} ]" for k in ("close", "submit") if view.get(k)]
    if buttons:
        lines += ["", "  ".join(buttons)]
    return "\n".join(lines)


def _plain(obj: object, names: Names | None = None) -> str:
    if isinstance(obj, Mapping):
        return resolve_mentions(str(obj.get("text", "")), names)
    return "" if obj is None else resolve_mentions(str(obj), names)


def _render_block(block: Mapping[str, Any], names: Names | None) -> list[str]:
    kind = block.get("type")
    if kind == "header":
        title = _plain(block.get("text"), names).upper()
        return [title, "=" * len(title)]
    if kind == "divider":
        return [_RULE]
    if kind == "section":
        lines = _plain(block.get("text"), names).splitlines() if block.get("text") else []
        fields = [_plain(f, names).replace("\n", " / ") for f in block.get("fields") or []]
        lines += [
            f"  {fields[i]}" + (f"    {fields[i + 1]}" if i + 1 < len(fields) else "") for i in range(0, len(fields), 2)
        ]
        if block.get("accessory"):
            lines.append("  " + _render_element(block["accessory"], names))
        return lines
    if kind == "context":
        parts = [
            f"<{e.get('alt_text', 'image')}>" if e.get("type") == "image" else _plain(e, names)
            for e in block.get("elements") or []
        ]
        return ["[" + " · ".join(p.replace("\n", " ") for p in parts) + "]"]
    if kind == "actions":
        return ["  ".join(_render_element(e, names) for e in block.get("elements") or [])]
    if kind == "input":
        optional = " (optional)" if block.get("optional") else ""
        lines = [f"{_plain(block.get('label'), names)}{optional}: {_render_element(block.get('element') or {}, names)}"]
        if block.get("hint"):
            lines.append(f"  ({_plain(block['hint'], names)})")
        return lines
    if kind == "image":
        return [f"<image: {block.get('alt_text', '')}>"]
    if kind == "markdown":
        return resolve_mentions(str(block.get("text", "")), names).splitlines()
    if kind == "rich_text":
        return _rich_text(block.get("elements") or [], names).splitlines()
    return [f"<{kind} block>"]


def _render_element(element: Mapping[str, Any], names: Names | None) -> str:
    kind = str(element.get("type", ""))
    if kind in ("button", "workflow_button"):
        return f"[ {_plain(element.get('text'), names)} ]" + (" ↗" if element.get("url") else "")
    if kind == "overflow":
        return "[ … ]"
    if kind in ("checkboxes", "radio_buttons"):
        mark = "[ ]" if kind == "checkboxes" else "( )"
        return "  ".join(f"{mark} {_plain(o.get('text'), names)}" for o in element.get("options") or [])
    if kind.endswith("text_input"):
        value = element.get("initial_value") or _plain(element.get("placeholder"), names)
        return f"[{value or ' '}]"
    if kind == "image":
        return f"<image: {element.get('alt_text', '')}>"
    initial = element.get("initial_option") or {}
    shown = (
        _plain(initial.get("text"), names)
        or element.get("initial_date")
        or element.get("initial_time")
        or element.get("initial_user")
        or _plain(element.get("placeholder"), names)
        or kind
    )
    return f"[ {shown} ▾ ]"


def _rich_text(elements: list[Any], names: Names | None) -> str:
    lines: list[str] = []
    for element in elements:
        if not isinstance(element, Mapping):
            continue
        kind, children = element.get("type"), element.get("elements") or []
        if kind == "rich_text_list":
            bullet = "1." if element.get("style") == "ordered" else "•"
            lines += [f"{bullet} {_inline(c.get('elements') or [], names)}" for c in children]
        elif kind == "rich_text_quote":
            lines += [f"> {line}" for line in _inline(children, names).splitlines()]
        elif kind == "rich_text_preformatted":
            lines.append(f"```{_inline(children, names)}```")
        else:
            lines.append(_inline(children, names))
    return "\n".join(lines)


def _inline(elements: list[Any], names: Names | None) -> str:
    out: list[str] = []
    for element in elements:
        kind = element.get("type") if isinstance(element, Mapping) else None
        if kind == "text":
            out.append(str(element.get("text", "")))
        elif kind == "user":
            user_id = str(element.get("user_id", ""))
            out.append("@" + (names or {}).get(user_id, user_id))
        elif kind == "channel":
            out.append("#" + str(element.get("channel_id", "")))
        elif kind == "link":
            out.append(str(element.get("text") or element.get("url", "")))
        elif kind == "emoji":
            out.append(f":{element.get('name', '')}:")
        elif kind == "broadcast":
            out.append(f"@{element.get('range', '')}")
    return "".join(out)
