"""Modals of the approval workflow: write or revise a draft, comment, hand over, read the full text.

A plain text input holds at most 3000 characters, so a long text is split over
several inputs (joined back exactly on submit); ``private_metadata`` comes back
from Slack and is untrusted (the handlers re-check everything).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.approvals import ids
from bot.approvals.media import FILE_INPUT_TYPES, FILES_MAX
from bot.approvals.spec import (
    NETWORK_LABELS,
    NETWORKS,
    TEXT_MAX,
    DraftFields,
    check_publish_at,
    check_text,
    parse_category,
    parse_links,
    parse_note,
    publish_at_from_pickers,
)
from bot.approvals.text import chunks, first_words, fit
from bot.blockkit import context, input_block, modal, section, state_element, text_input
from bot.errors import UserError
from bot.i18n import N_, Translator

INPUT_MAX = 3000
TEXT_PARTS_MAX = -(-TEXT_MAX // INPUT_MAX)  # 14 inputs hold the longest text
VIEW_BLOCKS_MAX = 100
FIELD_BLOCKS = {
    "text": ids.TEXT,
    "networks": ids.NETWORKS,
    "publish_at": ids.PUBLISH_DATE,
    "category": ids.CATEGORY,
    "media": ids.MEDIA,
    "note": ids.NOTE,
    "comment": ids.COMMENT,
    "assignee": ids.ASSIGNEE,
    "files": ids.FILES,
}
# The shortcut's form picks the client, and has no file input: a file's problem is shown on the list of
# the message's files.
SHORTCUT_FIELD_BLOCKS = {**FIELD_BLOCKS, "files": ids.FILES_KEEP, "media": ids.FILES_KEEP, "client": ids.CLIENT}


def _modal(
    callback_id: str,
    title: str,
    blocks: list[dict[str, Any]],
    t: Translator,
    *,
    submit: str | None = None,
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    close = t(N_("Close")) if submit is None else t(N_("Cancel"))
    return modal(callback_id, title, blocks, close=close, submit=submit, metadata=meta, max_blocks=VIEW_BLOCKS_MAX)


def _text(
    block_id: str,
    label: str,
    value: str | None,
    *,
    multiline: bool = False,
    optional: bool = True,
    hint: str | None = None,
    max_length: int = INPUT_MAX,
) -> dict[str, Any]:
    return text_input(block_id, label, value, multiline=multiline, optional=optional, hint=hint, max_length=max_length)


# -- writing and revising ---------------------------------------------------------------------------------
def draft_modal(
    t: Translator,
    *,
    client_name: str,
    timezone: str,
    categories: list[str],
    meta: dict[str, Any],
    fields: DraftFields | None = None,
    reference: str | None = None,
    edit: bool = False,
) -> dict[str, Any]:
    """A new draft (``fields`` None), or a revision (``edit``: the author's own change) prefilled with the
    current version."""
    text = fields.text if fields else ""
    parts = [text[i : i + INPUT_MAX] for i in range(0, len(text), INPUT_MAX)] or [""]
    if fields is not None and len(parts) < TEXT_PARTS_MAX:
        parts.append("")  # room to grow
    blocks: list[dict[str, Any]] = [
        section(t(N_("*{client}*: times are in the client's time zone, {tz}."), client=client_name, tz=timezone))
    ]
    for i, part in enumerate(parts):
        label = t(N_("Text of the post")) if i == 0 else t(N_("Text, continued (part {n})"), n=i + 1)
        blocks.append(_text(ids.text_part(i), label, part, multiline=True, optional=i > 0))
    options = [{"text": {"type": "plain_text", "text": NETWORK_LABELS[n]}, "value": n} for n in NETWORKS]
    networks: dict[str, Any] = {"type": "checkboxes", "options": options}
    chosen = [o for o in options if fields and o["value"] in fields.networks]
    if chosen:
        networks["initial_options"] = chosen
    blocks.append(input_block(ids.NETWORKS, t(N_("Networks")), networks, optional=True))
    local = fields.publish_at.astimezone(ZoneInfo(timezone)) if fields and fields.publish_at else None
    day: dict[str, Any] = {"type": "datepicker"}
    clock: dict[str, Any] = {"type": "timepicker"}
    if local:
        day["initial_date"], clock["initial_time"] = local.strftime("%Y-%m-%d"), local.strftime("%H:%M")
    blocks.append(input_block(ids.PUBLISH_DATE, t(N_("Publish date ({tz})"), tz=timezone), day, optional=True))
    blocks.append(input_block(ids.PUBLISH_TIME, t(N_("Publish time ({tz})"), tz=timezone), clock, optional=True))
    hint = (
        t(N_("Pre-approved categories skip the client's approval: {categories}"), categories=", ".join(categories))
        if categories
        else None
    )
    blocks.append(_text(ids.CATEGORY, t(N_("Category")), fields.category if fields else None, hint=hint, max_length=60))
    blocks.append(
        _text(
            ids.MEDIA,
            t(N_("Links to media (one per line)")),
            "\n".join(fields.media_links) if fields else None,
            multiline=True,
        )
    )
    if fields is not None and fields.media:
        blocks.append(files_to_keep([(m.file_id, m.name) for m in fields.media], t(N_("Files to keep")), t))
    blocks.append(file_input(t))
    blocks.append(
        _text(
            ids.NOTE,
            t(N_("Internal note (the client never sees it)")),
            fields.internal_note if fields else None,
            multiline=True,
            max_length=2000,
        )
    )
    title = t(N_("New draft"))
    if reference:
        title = t(N_("Edit {ref}"), ref=reference) if edit else t(N_("Revise {ref}"), ref=reference)
    return _modal(ids.DRAFT_MODAL, title, blocks, t, submit=t(N_("Send for approval")), meta=meta)


def file_input(t: Translator) -> dict[str, Any]:
    """Images and videos to attach (Slack's file input: at most 10 files, 10 MB each)."""
    element = {"type": "file_input", "filetypes": FILE_INPUT_TYPES, "max_files": FILES_MAX}
    return input_block(
        ids.FILES,
        t(N_("Images and videos")),
        element,
        optional=True,
        hint=t(N_("JPEG, PNG, GIF, MP4 or MOV. The client sees them on the card.")),
    )


def files_to_keep(files: list[tuple[str, str]], label: str, t: Translator) -> dict[str, Any]:
    """Checkboxes of files (all ticked): untick one to leave it out."""
    options = [
        {"text": {"type": "plain_text", "text": fit(name, 70)[0] or "—"}, "value": file_id}
        for file_id, name in files[:FILES_MAX]
    ]
    element = {"type": "checkboxes", "options": options, "initial_options": options}
    return input_block(ids.FILES_KEEP, label, element, optional=True)


def picked_files(view: dict[str, Any]) -> tuple[list[str], list[tuple[str, str]]]:
    """(ids ticked in the list of files, (id, name) of the files uploaded in the file input), untrusted."""

    def listed(block_id: str, key: str) -> list[Any]:
        found = state_element(view, block_id).get(key)
        return found if isinstance(found, list) else []

    kept = [
        str(o["value"])
        for o in listed(ids.FILES_KEEP, "selected_options")
        if isinstance(o, dict) and isinstance(o.get("value"), str) and o["value"]
    ]
    uploaded = [
        (f["id"], str(f.get("name") or f["id"])[:255])
        for f in listed(ids.FILES, "files")
        if isinstance(f, dict) and isinstance(f.get("id"), str) and f["id"]
    ]
    return kept[:FILES_MAX], uploaded[:FILES_MAX]


def shortcut_modal(
    t: Translator, *, clients: list[tuple[int, str]], text: str, files: list[tuple[str, str]], meta: dict[str, Any]
) -> dict[str, Any]:
    """**Send for approval** on a message: its text is the copy and its files the media; the form asks
    which client, which networks and when (in the client's time zone)."""
    options = [
        {"text": {"type": "plain_text", "text": fit(name, 70)[0]}, "value": str(client_id)}
        for client_id, name in clients[:100]
    ]
    select: dict[str, Any] = {"type": "static_select", "options": options}
    if len(options) == 1:
        select["initial_option"] = options[0]
    blocks: list[dict[str, Any]] = [input_block(ids.CLIENT, t(N_("Client")), select)]
    parts = [text[i : i + INPUT_MAX] for i in range(0, len(text), INPUT_MAX)][:TEXT_PARTS_MAX] or [""]
    for i, part in enumerate(parts):
        label = t(N_("Text of the post")) if i == 0 else t(N_("Text, continued (part {n})"), n=i + 1)
        blocks.append(_text(ids.text_part(i), label, part, multiline=True, optional=i > 0))
    network_options = [{"text": {"type": "plain_text", "text": NETWORK_LABELS[n]}, "value": n} for n in NETWORKS]
    blocks.append(
        input_block(ids.NETWORKS, t(N_("Networks")), {"type": "checkboxes", "options": network_options}, optional=True)
    )
    blocks.append(
        input_block(
            ids.PUBLISH_DATE, t(N_("Publish date (the client's time zone)")), {"type": "datepicker"}, optional=True
        )
    )
    blocks.append(
        input_block(
            ids.PUBLISH_TIME, t(N_("Publish time (the client's time zone)")), {"type": "timepicker"}, optional=True
        )
    )
    if files:
        blocks.append(files_to_keep(files, t(N_("Files of the message")), t))
    return _modal(ids.SHORTCUT_MODAL, t(N_("Send for approval")), blocks, t, submit=t(N_("Send")), meta=meta)


def read_draft_modal(
    view: dict[str, Any], *, timezone: str, now: datetime
) -> tuple[DraftFields | None, dict[str, UserError]]:
    """(fields, errors by block id) from a submitted draft modal."""

    def raw(block_id: str) -> dict[str, Any]:
        return state_element(view, block_id)

    def value(block_id: str) -> str:
        return raw(block_id).get("value") or ""

    errors: dict[str, UserError] = {}
    text = "".join(value(ids.text_part(i)) for i in range(TEXT_PARTS_MAX))
    fields = DraftFields(text="")
    for name, read in (
        ("text", lambda: check_text(text)),
        (
            "networks",
            lambda: [
                o.get("value") for o in raw(ids.NETWORKS).get("selected_options") or [] if o.get("value") in NETWORKS
            ],
        ),
        (
            "publish_at",
            lambda: check_publish_at(
                publish_at_from_pickers(
                    raw(ids.PUBLISH_DATE).get("selected_date"), raw(ids.PUBLISH_TIME).get("selected_time"), timezone
                ),
                now,
            ),
        ),
        ("category", lambda: parse_category(value(ids.CATEGORY))),
        ("media_links", lambda: parse_links(value(ids.MEDIA))),
        ("internal_note", lambda: parse_note(value(ids.NOTE))),
    ):
        try:
            setattr(fields, name, read())
        except UserError as e:
            errors[FIELD_BLOCKS.get(e.field or name, ids.TEXT)] = e
    return (None if errors else fields), errors


# -- rescheduling ---------------------------------------------------------------------------------------
RESCHEDULE_FIELDS = {"publish_at": ids.RESCHEDULE_DATE}


def reschedule_modal(
    t: Translator, *, reference: str, timezone: str, publish_at: datetime | None, now: datetime, meta: dict[str, Any]
) -> dict[str, Any]:
    """A new publish time: a date and a time picker in the client's time zone, starting at the current one."""
    start = (publish_at or now).astimezone(ZoneInfo(timezone))
    blocks = [
        section(
            t(
                N_("When should *{ref}* be published? Times are in the client's time zone, {tz}."),
                ref=reference,
                tz=timezone,
            )
        ),
        input_block(
            ids.RESCHEDULE_DATE,
            t(N_("Publish date ({tz})"), tz=timezone),
            {"type": "datepicker", "initial_date": start.strftime("%Y-%m-%d")},
        ),
        input_block(
            ids.RESCHEDULE_TIME,
            t(N_("Publish time ({tz})"), tz=timezone),
            {"type": "timepicker", "initial_time": start.strftime("%H:%M"), "timezone": timezone},
        ),
    ]
    return _modal(
        ids.RESCHEDULE_MODAL, t(N_("Reschedule {ref}"), ref=reference), blocks, t, submit=t(N_("Save")), meta=meta
    )


def read_reschedule_modal(view: dict[str, Any], *, timezone: str) -> datetime:
    """The picked publish time as aware UTC (a UserError on ``publish_at`` when a picker is empty)."""
    picked = publish_at_from_pickers(
        state_element(view, ids.RESCHEDULE_DATE).get("selected_date"),
        state_element(view, ids.RESCHEDULE_TIME).get("selected_time"),
        timezone,
    )
    if picked is None:
        raise UserError(N_("Pick a date and a time."), field="publish_at")
    return picked


# -- deciding -------------------------------------------------------------------------------------------
def comment_modal(
    t: Translator, *, reference: str, version: int, start: str, reject: bool, meta: dict[str, Any]
) -> dict[str, Any]:
    """The comment a reviewer sends with "Request changes" (optional) or "Reject" (required)."""
    title = t(N_("Reject")) if reject else t(N_("Request changes"))
    label = t(N_("Why do you reject it?")) if reject else t(N_("What should change?"))
    blocks = [
        section(f"*{reference}* (v{version}): {fit(first_words(start, 200), 400)[0]}"),
        _text(ids.COMMENT, label, None, multiline=True, optional=not reject),
    ]
    return _modal(ids.COMMENT_MODAL, title, blocks, t, submit=t(N_("Send")), meta=meta)


def reassign_modal(t: Translator, *, reference: str, candidates: list[str], meta: dict[str, Any]) -> dict[str, Any]:
    options = [{"text": {"type": "mrkdwn", "text": f"<@{user}>"}, "value": user} for user in candidates[:10]]
    blocks = [
        section(t(N_("Who should decide on *{ref}* instead of you?"), ref=reference)),
        input_block(ids.ASSIGNEE, t(N_("Hand it to")), {"type": "radio_buttons", "options": options}),
    ]
    return _modal(ids.REASSIGN_MODAL, t(N_("Hand over")), blocks, t, submit=t(N_("Hand over")), meta=meta)


def full_text_modal(t: Translator, *, reference: str, version: int, text: str) -> dict[str, Any]:
    """The whole text over as many sections as it needs, within a modal's 100 blocks."""
    pieces = chunks(text, 2900)
    room = VIEW_BLOCKS_MAX - 2
    blocks = [
        context(t(N_("{ref}, version {version}: {count} characters."), ref=reference, version=version, count=len(text)))
    ]
    blocks += [section(piece) for piece in pieces[:room]]
    if len(pieces) > room:
        shown = sum(len(p) for p in pieces[:room])
        blocks.append(
            context(
                t(
                    N_("The text goes on beyond what Slack can show here (about {count} more characters)."),
                    count=max(0, len(text) - shown),
                )
            )
        )
    return _modal(ids.FULL_TEXT_MODAL, t(N_("Full text")), blocks, t)
