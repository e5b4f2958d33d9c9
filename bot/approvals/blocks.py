"""Block Kit for approvals: the approval card and the notices to the CM.

Pure functions of plain values and a translator. The card never crosses Block
Kit limits, whatever the text's length: the post is shortened to one section
with a note and a "See full text" button (the modal in :mod:`.modals` shows it all).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.approvals import ids
from bot.approvals import media as media_rules
from bot.approvals.models import DraftMedia, DraftStatus, DraftVersion, MediaKind, Stage
from bot.approvals.spec import NETWORK_LABELS
from bot.approvals.text import escape, first_words, fit, word_diff
from bot.blockkit import actions, button, confirm_dialog, context, date_token, fields, mentions, section, titled
from bot.delivery.shares import image_ref, link_ref
from bot.i18n import N_, Translator

SECTION_MAX = 2900  # under the 3000 limit, with room for a label line
CARD_TEXT_MAX = 2800


class CardState(enum.StrEnum):
    OPEN = "open"
    CHANGES_REQUESTED = "changes_requested"  # only Approve (as is) stays available
    APPROVED = "approved"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"
    PASSED_INTERNAL = "passed_internal"  # internal review done: the client has it now
    WITHDRAWN = "withdrawn"  # the agency withdrew the post: one line, no buttons


@dataclass
class CardView:
    """Everything one approval card shows."""

    reference: str
    client_name: str
    stage: Stage
    version: DraftVersion
    previous: DraftVersion | None
    author: str
    timezone: str
    value: str  # button value: "<draft_id>:<version>"
    state: CardState = CardState.OPEN
    due_at: datetime | None = None
    reviewers: list[str] = field(default_factory=list)
    require_all: bool = False
    approved_so_far: list[str] = field(default_factory=list)
    can_reassign: bool = False
    assignee: str | None = None
    handed_by: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    comment: str | None = None
    superseded_by: int | None = None
    decided_for: str | None = None  # the absent reviewer a stand-in decided for
    stands_in_for: str | None = None  # a stand-in's card: whom its reader decides for
    opened_at: datetime | None = None  # when the open request started waiting
    media: list[DraftMedia] = field(default_factory=list)  # the version's Slack files, in order
    previous_media: list[DraftMedia] = field(default_factory=list)


def networks_label(networks: list[str]) -> str:
    """The networks by their names (a dash for none)."""
    return ", ".join(NETWORK_LABELS.get(n, n) for n in networks) or "—"


def quote(comment: str | None, limit: int = 1500) -> str:
    """A reviewer's comment as a mrkdwn quote, escaped and fitted (empty for none)."""
    text, _ = fit(comment or "", limit)
    return "\n".join("> " + line for line in text.splitlines()) if text else ""


# -- the approval card -----------------------------------------------------------------------------
def approval_card(card: CardView, t: Translator) -> tuple[str, list[dict[str, Any]]]:
    """(notification text, blocks) of the card a reviewer decides on."""
    if card.state == CardState.WITHDRAWN:
        return withdrawn_card(card.reference, card.decided_by or card.author, card.decided_at, card.timezone, t)
    v = card.version
    if card.stage == Stage.INTERNAL:
        title = t(N_("Internal review: {ref}"), ref=card.reference)
    else:
        title = t(N_("Approval request: {ref}"), ref=card.reference)
    shown, shortened = fit(v.text, CARD_TEXT_MAX)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"{title} (v{v.number})"[:150]}},
        section(shown),
    ]
    if shortened:
        blocks.append(
            context(
                t(
                    N_("Text shortened: {total} characters in all. Use “See full text” to read every word."),
                    total=len(v.text),
                )
            )
        )
    due = _when(card.due_at, card.timezone, t) if card.due_at else "—"
    blocks.append(
        fields(
            [
                titled(t(N_("Client")), escape(card.client_name)),
                titled(t(N_("Networks")), networks_label(v.networks)),
                titled(t(N_("Planned publish time")), _when(v.publish_at, card.timezone, t)),
                titled(t(N_("Answer due")), due),
                titled(t(N_("Category")), escape(v.category or "—")),
            ]
        )
    )
    blocks += media_blocks(card.media, t)
    if v.media_links:
        blocks.append(section(titled(t(N_("Media")), fit("\n".join(v.media_links), SECTION_MAX)[0])))
    if card.previous is not None and card.state != CardState.SUPERSEDED:
        diff, _ = word_diff(card.previous.text, v.text, SECTION_MAX - 100)
        heading = t(N_("What changed since version {number}"), number=card.previous.number)
        blocks.append(section(titled(heading, diff or t(N_("(the text is the same)")))))
        changed = media_rules.diff(card.previous_media, card.media)
        if changed:
            blocks.append(section(media_diff_text(changed, t)))
    if card.stage == Stage.INTERNAL and v.internal_note:
        blocks.append(section(titled(t(N_("Internal note")), fit(v.internal_note, SECTION_MAX)[0])))
    blocks.append(_status(card, t))
    buttons = _buttons(card, t, shortened)
    if buttons:
        blocks.append(actions(buttons, block_id=ids.CARD_ACTIONS))
    text = t(
        N_("{ref} (v{version}) for {client}: {start}"),
        ref=card.reference,
        version=v.number,
        client=card.client_name,
        start=first_words(v.text, 120),
    )
    return text, blocks


def media_blocks(items: list[DraftMedia], t: Translator) -> list[dict[str, Any]]:
    """Each image as an image block, each video as its name, length and a link: both refer to the copy
    shared where the card goes (bot.delivery.shares), never to the CM's own file."""
    out: list[dict[str, Any]] = []
    for item in items:
        if item.kind == MediaKind.IMAGE:
            out.append(image_ref(media_rules.source(item), name=item.name))
            continue
        length = media_rules.duration(item.duration_ms)
        line = "🎬 *" + escape(item.name[:200]) + "*" + (f" ({length})" if length else "")
        out.append(link_ref(section(line), media_rules.source(item), label=t(N_("Watch the video"))))
    return out


def media_diff_text(changed: media_rules.MediaDiff, t: Translator) -> str:
    """Which files a revision added, removed or replaced (by name)."""

    def names(items: list[str]) -> str:
        return ", ".join(f"“{escape(n[:80])}”" for n in items)

    lines = [t(N_("*Files*"))]
    if changed.added:
        lines.append("➕ " + t(N_("Added: {files}"), files=names(changed.added)))
    if changed.removed:
        lines.append("➖ " + t(N_("Removed: {files}"), files=names(changed.removed)))
    if changed.replaced:
        lines.append("🔁 " + t(N_("Replaced: {files}"), files=names(changed.replaced)))
    return fit("\n".join(lines), SECTION_MAX)[0]


def _when(at: datetime | None, tz: str, t: Translator) -> str:
    return date_token(at, tz, t.language) if at else t(N_("not set"))


def _status(card: CardView, t: Translator) -> dict[str, Any]:
    state, who, absent = card.state, card.decided_by, card.decided_for
    when = date_token(card.decided_at, card.timezone, t.language) if card.decided_at else "—"
    if state == CardState.APPROVED and absent:
        return section(
            "✅ "
            + t(
                N_("Approved by <@{who}>, standing in for <@{absent}>, at {time} (version {version})."),
                who=who,
                absent=absent,
                time=when,
                version=card.version.number,
            )
        )
    if state == CardState.APPROVED:
        return section(
            "✅ "
            + t(
                N_("Approved by <@{who}> at {time} (version {version})."),
                who=who,
                time=when,
                version=card.version.number,
            )
        )
    if state == CardState.REJECTED and absent:
        return section(
            "⛔ "
            + t(N_("Rejected by <@{who}>, standing in for <@{absent}>, at {time}."), who=who, absent=absent, time=when)
            + "\n"
            + quote(card.comment)
        )
    if state == CardState.REJECTED:
        return section(
            "⛔ " + t(N_("Rejected by <@{who}> at {time}."), who=who, time=when) + "\n" + quote(card.comment)
        )
    if state == CardState.SUPERSEDED:
        return section(
            "↪️ "
            + t(N_("Replaced by version {number}: this card no longer takes decisions."), number=card.superseded_by)
        )
    if state == CardState.PASSED_INTERNAL:
        return section(
            "✅ " + t(N_("Approved internally by <@{who}> at {time}; it went to the client."), who=who, time=when)
        )
    if state == CardState.CHANGES_REQUESTED:
        asked = (
            t(
                N_("<@{who}>, standing in for <@{absent}>, asked for changes at {time}:"),
                who=who,
                absent=absent,
                time=when,
            )
            if absent
            else t(N_("<@{who}> asked for changes at {time}:"), who=who, time=when)
        )
        still = t(N_("Until the revision arrives, this version can still be approved as is."))
        return section("✏️ " + asked + "\n" + (quote(card.comment) or "—") + "\n" + still)
    lines = [t(N_("Written by <@{author}>."), author=card.author)]
    if card.require_all:
        lines.append(t(N_("Each of {people} must approve."), people=mentions(card.reviewers)))
        if card.approved_so_far:
            lines.append(t(N_("Approved so far by {people}."), people=mentions(card.approved_so_far)))
    elif card.stage == Stage.CLIENT and len(card.reviewers) == 1:
        lines.append(t(N_("<@{who}> decides."), who=card.reviewers[0]))
    elif card.stage == Stage.CLIENT:
        lines.append(t(N_("Any one of {people} can decide."), people=mentions(card.reviewers)))
    if card.handed_by and card.assignee:
        lines.append(t(N_("<@{by}> handed this to <@{to}>."), by=card.handed_by, to=card.assignee))
    if card.stands_in_for:
        since = date_token(card.opened_at, card.timezone, t.language) if card.opened_at else "—"
        stand_in = "⏰ " + t(
            N_(
                "It has been waiting on <@{absent}> since {since}. You can stand in for them: your "
                "decision counts as theirs."
            ),
            absent=card.stands_in_for,
            since=since,
        )
        return section(stand_in + "\n" + " ".join(lines))
    return context(" ".join(lines))


def _buttons(card: CardView, t: Translator, shortened: bool) -> list[dict[str, Any]]:
    value = card.value
    elements: list[dict[str, Any]] = []
    if card.state in (CardState.OPEN, CardState.CHANGES_REQUESTED) and not (
        card.stands_in_for and card.state != CardState.OPEN
    ):  # a stand-in's card closes with the first word
        elements.append(button(t(N_("Approve")), ids.APPROVE, value, style="primary"))
    if card.state == CardState.OPEN:
        elements.append(button(t(N_("Request changes")), ids.REQUEST_CHANGES, value))
        elements.append(button(t(N_("Reject")), ids.REJECT, value, style="danger"))
        if card.can_reassign:
            elements.append(button(t(N_("Reassign")), ids.REASSIGN, value))
    if shortened and card.state != CardState.SUPERSEDED:
        elements.append(button(t(N_("See full text")), ids.FULL_TEXT, value))
    return elements


def withdrawn_card(
    reference: str, who: str, at: datetime | None, tz: str, t: Translator
) -> tuple[str, list[dict[str, Any]]]:
    """Every card of a withdrawn draft, closed to one line: who withdrew it and when; no buttons."""
    text = "🗑️ " + t(
        N_("{ref} was withdrawn by <@{who}> at {time}: it will not be published, and nothing waits on you."),
        ref=reference,
        who=who,
        time=_when(at, tz, t),
    )
    return text, [section(text)]


# -- the author's copy -------------------------------------------------------------------------------
@dataclass
class AuthorCopy:
    """The draft as its author keeps it in their DM: where it stands, and Edit / Reschedule / Withdraw."""

    reference: str
    client_name: str
    version: DraftVersion
    status: DraftStatus
    timezone: str
    value: str  # button value: "<draft_id>:<version>"
    waiting_on: list[str] = field(default_factory=list)
    due_at: datetime | None = None
    withdrawn_by: str | None = None
    withdrawn_at: datetime | None = None
    deliver_at: datetime | None = None  # the card waits for the client's business hours until then


def author_copy(copy: AuthorCopy, t: Translator, *, lead: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """(text, blocks) of the author's copy; ``lead``: what it opens with instead of where the draft stands
    (its confirmation, when first posted). A withdrawn or rejected draft keeps no buttons."""
    if copy.status == DraftStatus.WITHDRAWN:
        text = "🗑️ " + t(
            N_("{ref} was withdrawn by <@{who}> at {time}. Its cards are closed and nothing waits on anyone."),
            ref=copy.reference,
            who=copy.withdrawn_by or "?",
            time=_when(copy.withdrawn_at, copy.timezone, t),
        )
        return text, [section(text)]
    v = copy.version
    text = lead or _copy_status(copy, t)
    if copy.deliver_at is not None and lead is None:  # the confirmation says so already
        text += " " + t(
            N_("The client is outside business hours: the card reaches them at {time}."),
            time=_when(copy.deliver_at, copy.timezone, t),
        )
    about = fit(first_words(v.text, 300), 400)[0]
    blocks: list[dict[str, Any]] = [
        section(text + "\n" + "> " + escape(about).replace("\n", "\n> ")),
        context(
            t(
                N_("Networks: {networks} · Publish time: {time}"),
                networks=networks_label(v.networks),
                time=_when(v.publish_at, copy.timezone, t),
            )
        ),
    ]
    if copy.status != DraftStatus.REJECTED:
        blocks.append(actions(author_buttons(copy, t), block_id=ids.AUTHOR_ACTIONS))
    return text, blocks


def _copy_status(copy: AuthorCopy, t: Translator) -> str:
    ref, client, number = copy.reference, copy.client_name, copy.version.number
    due = _when(copy.due_at, copy.timezone, t) if copy.due_at else "—"
    if copy.status == DraftStatus.INTERNAL_REVIEW:
        return "📝 " + t(
            N_("{ref} (version {version}) for {client} is with {people} for internal review; answer due {due}."),
            ref=ref,
            version=number,
            client=client,
            people=mentions(copy.waiting_on),
            due=due,
        )
    if copy.status == DraftStatus.CLIENT_REVIEW:
        return "📝 " + t(
            N_("{ref} (version {version}) for {client} waits on {people}; answer due {due}."),
            ref=ref,
            version=number,
            client=client,
            people=mentions(copy.waiting_on),
            due=due,
        )
    if copy.status in (DraftStatus.INTERNAL_CHANGES, DraftStatus.CLIENT_CHANGES):
        return "✏️ " + t(
            N_("{ref} (version {version}) for {client}: changes were requested. Edit it to send a new version."),
            ref=ref,
            version=number,
            client=client,
        )
    if copy.status == DraftStatus.APPROVED:
        return "✅ " + t(
            N_(
                "{ref} (version {version}) for {client} is approved. You can still reschedule or withdraw "
                "it; an edit goes back for approval."
            ),
            ref=ref,
            version=number,
            client=client,
        )
    return "⛔ " + t(N_("{ref} (version {version}) for {client} was rejected."), ref=ref, version=number, client=client)


def author_buttons(copy: AuthorCopy, t: Translator) -> list[dict[str, Any]]:
    """Edit, Reschedule (posts with a time) and Withdraw (Slack asks first)."""
    elements = [button(t(N_("Edit")), ids.EDIT, copy.value)]
    if copy.version.publish_at is not None:
        elements.append(button(t(N_("Reschedule")), ids.RESCHEDULE, copy.value))
    sure = confirm_dialog(
        t(N_("Withdraw {ref}?"), ref=copy.reference),
        t(
            N_(
                "Its cards close, nothing waits on the client any more, and the publishing tool is told "
                "not to publish it."
            )
        ),
        confirm=t(N_("Withdraw")),
        deny=t(N_("Keep it")),
        danger=True,
    )
    elements.append(button(t(N_("Withdraw")), ids.WITHDRAW, copy.value, style="danger", confirm=sure))
    return elements


def withdrawn_reply(reference: str, cards: int, told_tool: bool, t: Translator) -> str:
    """To whoever withdrew a draft: what was closed, and whether the publishing tool is being told."""
    text = "🗑️ " + t.ngettext(
        "{ref} withdrawn: its {n} card is closed and its reminders stopped.",
        "{ref} withdrawn: its {n} cards are closed and its reminders stopped.",
        cards,
        ref=reference,
    )
    if told_tool:
        text += " " + t(N_("Telling the publishing tool not to publish it."))
    return text


def rescheduled_reply(
    reference: str, at: datetime, due_at: datetime | None, tz: str, told_tool: bool, t: Translator
) -> str:
    """To whoever rescheduled a draft: the new time, the answer's new due time, and the tool's news."""
    text = "🗓️ " + t(N_("{ref} now publishes at {time}."), ref=reference, time=_when(at, tz, t))
    if due_at is not None:
        text += " " + t(N_("The answer is now due {due}."), due=_when(due_at, tz, t))
    if told_tool:
        text += " " + t(N_("Telling the publishing tool the new time."))
    return text


# -- notices to the agency -------------------------------------------------------------------------
def created_message(
    reference: str,
    *,
    stage: Stage | None,
    sent_to: list[str],
    due_at: datetime | None,
    deliver_at: datetime | None,
    now: datetime,
    timezone: str,
    t: Translator,
    revised: int | None = None,
) -> str:
    """The CM's confirmation: where the draft went, when an answer is due, and whether the card waits."""
    lead = (
        t(N_("{ref} revised (version {version})."), ref=reference, version=revised)
        if revised
        else t(N_("{ref} created."), ref=reference)
    )
    if stage is None:
        return "✅ " + lead + " " + t(N_("Its category is pre-approved: recorded as approved without the client step."))
    if stage == Stage.INTERNAL:
        step = t(
            N_("Sent to {people} for internal review; answer due {due}."),
            people=mentions(sent_to),
            due=_when(due_at, timezone, t),
        )
    else:
        step = t(
            N_("Sent to {people} for approval; answer due {due}."),
            people=mentions(sent_to),
            due=_when(due_at, timezone, t),
        )
    if deliver_at is not None and deliver_at > now:
        step += " " + t(
            N_("The client is outside business hours: the card reaches them at {time}."),
            time=_when(deliver_at, timezone, t),
        )
    return "📝 " + lead + " " + step


def approved_notice(
    reference: str,
    version: int,
    who: str,
    when: str,
    start: str,
    t: Translator,
    *,
    pre_approved: bool = False,
    handoff: bool = False,
    absent: str | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """To the author: approved by whom and when (and whether it is going to the publishing tool)."""
    if absent:
        text = "✅ " + t(
            N_("{ref} (version {version}) was approved by <@{who}>, standing in for <@{absent}>, at {time}."),
            ref=reference,
            version=version,
            who=who,
            absent=absent,
            time=when,
        )
    elif pre_approved:
        text = "✅ " + t(
            N_("{ref} is in a pre-approved category: recorded as approved without the client step."), ref=reference
        )
    else:
        text = "✅ " + t(
            N_("{ref} (version {version}) was approved by <@{who}> at {time}."),
            ref=reference,
            version=version,
            who=who,
            time=when,
        )
    lines = [text, "> " + escape(start)]
    if handoff:
        lines.append(t(N_("Handing it to the publishing tool now.")))
    body = "\n".join(lines)
    return body, [section(body)]


def internal_passed_notice(reference: str, who: str, t: Translator) -> tuple[str, list[dict[str, Any]]]:
    """To the author: the lead approved it internally; the client has it now."""
    text = "✅ " + t(N_("<@{who}> approved {ref} internally; it went to the client."), who=who, ref=reference)
    return text, [section(text)]


def changes_notice(
    reference: str, value: str, who: str, when: str, comment: str | None, t: Translator, *, absent: str | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """To the CM: what the reviewer asked, and a Revise button (opens the prefilled form)."""
    text = "✏️ " + (
        t(
            N_("<@{who}>, standing in for <@{absent}>, asked for changes to {ref} at {time}."),
            who=who,
            absent=absent,
            ref=reference,
            time=when,
        )
        if absent
        else t(N_("<@{who}> asked for changes to {ref} at {time}."), who=who, ref=reference, time=when)
    )
    body = text + ("\n" + quote(comment) if comment else "")
    blocks = [section(body), actions([button(t(N_("Revise")), ids.REVISE, value, style="primary")])]
    return text, blocks


def rejected_notice(
    reference: str, who: str, when: str, comment: str | None, t: Translator, *, absent: str | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """To the author: who rejected it, when, and why."""
    text = "⛔ " + (
        t(
            N_("<@{who}>, standing in for <@{absent}>, rejected {ref} at {time}."),
            who=who,
            absent=absent,
            ref=reference,
            time=when,
        )
        if absent
        else t(N_("<@{who}> rejected {ref} at {time}."), who=who, ref=reference, time=when)
    )
    body = text + ("\n" + quote(comment) if comment else "")
    return text, [section(body)]


def missed_notice(reference: str, publish_at: str, waiting_on: str, t: Translator) -> tuple[str, list[dict[str, Any]]]:
    """To the author and the lead: the publish time passed and the draft is still not approved."""
    text = "⚠️ " + t(
        N_(
            "{ref} was planned for {time} and is still not approved (waiting on {who}). It must not be "
            "published as is: revise its publish time or get it approved."
        ),
        ref=reference,
        time=publish_at,
        who=waiting_on,
    )
    return text, [section(text)]


def handoff_failed_notice(
    reference: str, attempts: int, error: str, t: Translator, *, event: str = "post.approved"
) -> tuple[str, list[dict[str, Any]]]:
    """To the author and the lead: the publishing tool never accepted the post (or the news about it)."""
    if event == "post.approved":
        text = t(
            N_(
                "The publishing tool did not accept {ref} after {attempts} attempts (last error: {error}). "
                "Publish it by hand or check the client's webhook."
            ),
            ref=reference,
            attempts=attempts,
            error=error[:200],
        )
    else:
        what = t(TOOL_NEWS.get(event, TOOL_NEWS["post.held"]), ref=reference)
        text = t.ngettext(
            "I could not tell the publishing tool that {what}: it refused {n} attempt (last error: "
            "{error}). Do it by hand in the tool, or check the client's webhook.",
            "I could not tell the publishing tool that {what}: it refused {n} attempts (last error: "
            "{error}). Do it by hand in the tool, or check the client's webhook.",
            attempts,
            what=what,
            error=error[:200],
        )
    text = "⚠️ " + text
    return text, [section(text)]


TOOL_NEWS = {
    "post.held": N_("{ref} must be paused"),
    "post.released": N_("{ref} may be published again"),
    "post.withdrawn": N_("{ref} was withdrawn"),
    "post.rescheduled": N_("{ref} has a new publish time"),
}


def handed_over_notice(reference: str, by: str, t: Translator) -> tuple[str, list[dict[str, Any]]]:
    """To the new reviewer, above their card: who handed it to them."""
    text = t(N_("<@{by}> handed {ref} to you."), by=by, ref=reference)
    return text, [section(text)]
