"""Block Kit for questions, reminders, escalations, promises and digests.

Pure functions of domain objects and a translator; no Slack client here. Every
message carries a ``text`` fallback for notifications. Instants are shown with
Slack's ``<!date^...>`` token, so each reader sees them in their own time zone,
with the client's local time as the fallback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.blockkit import actions, button, context, date_token, input_block, modal, section, text_input
from bot.i18n import Translator
from bot.tracking import ids
from bot.tracking.models import Question, RequestKind, TrackedRequest

SECTION_LIMIT = 2900  # under Slack's 3000 characters, leaving room for a prefix
_SPECIAL_MENTION = re.compile(r"<!(channel|here|everyone)(\|[^>]*)?>")


# -- small pieces ----------------------------------------------------------------------------------
def safe(text: str) -> str:
    """User text shown in a message: no @channel / @here / @everyone pings."""
    return _SPECIAL_MENTION.sub(lambda m: "@" + m.group(1), text)


def quote(text: str, limit: int = SECTION_LIMIT) -> str:
    """User text as a Slack quote, cut to ``limit`` characters and made :func:`safe`."""
    body = safe(text.strip())
    if len(body) > limit:
        body = body[: limit - 1] + "…"
    return "\n".join("> " + line for line in body.splitlines()) or ">"


def promise_button(request_id: int, t: Translator) -> dict[str, Any]:
    """The **Promise a time** button."""
    return button(t("Promise a time"), ids.PROMISE, str(request_id))


def request_button_elements(request: TrackedRequest, t: Translator) -> list[dict[str, Any]]:
    """Answer (questions) and Promise a time: the question message's buttons."""
    elements = []
    if request.kind == RequestKind.QUESTION:
        elements.append(button(t("Answer"), ids.ANSWER, str(request.subject_id), style="primary"))
    elements.append(promise_button(request.id, t))
    return elements


def request_buttons(request: TrackedRequest, t: Translator, *, block_id: str = ids.REMINDER_ACTIONS) -> dict[str, Any]:
    """Answer (questions) and Promise a time, for reminders and escalations."""
    return actions(request_button_elements(request, t), block_id=block_id)


def question_entry(question: Question, client_name: str, state: str, t: Translator) -> str:
    """One line of "waiting on you" (Home tab, ``/nexo pending``): the question, who asked, its due state."""
    asked = safe(" ".join(question.text.split())[:150])
    return t(
        "❓ *{reference}* ({client}), from <@{asker}>: “{question}” · {state}",
        reference=question.reference,
        client=safe(client_name),
        asker=question.asked_by,
        question=asked,
        state=state,
    )


# -- the question ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Where:
    """The client's time zone and the language of the reader."""

    tz: str
    language: str

    def when(self, at: datetime) -> str:
        """``at`` as Slack's date token (each reader sees their own zone; the fallback is the client's)."""
        return date_token(at, self.tz, self.language)


def question_message(
    question: Question, request: TrackedRequest, client_name: str, t: Translator, where: Where, *, in_channel: bool
) -> tuple[str, list[dict[str, Any]]]:
    """The question as the reference person sees it, with Answer and Promise a time."""
    if in_channel:
        head = t(
            "<@{ref}>, <@{asker}> has a question for *{client}* ({reference}):",
            ref=question.asked_to,
            asker=question.asked_by,
            client=client_name,
            reference=question.reference,
        )
    else:
        head = t(
            "<@{asker}> has a question for *{client}* ({reference}):",
            asker=question.asked_by,
            client=client_name,
            reference=question.reference,
        )
    due = t("Reply in this thread or press Answer. Due {due}.", due=where.when(request.due_at))
    blocks = [
        section(head),
        section(quote(question.text)),
        context(due),
        request_buttons(request, t, block_id=ids.QUESTION_ACTIONS),
    ]
    return f"{head}\n{quote(question.text, 1000)}", blocks


def answered_question_message(
    question: Question, client_name: str, t: Translator, where: Where
) -> tuple[str, list[dict[str, Any]]]:
    """The question message once answered: the answer in place of the buttons."""
    head = t(
        "<@{asker}> asked *{client}* ({reference}):",
        asker=question.asked_by,
        client=client_name,
        reference=question.reference,
    )
    done = t(
        "✅ Answered by <@{user}> {when}:",
        user=question.answered_by,
        when=where.when(question.answered_at or question.asked_at),
    )
    blocks = [
        section(head),
        section(quote(question.text, 1400)),
        section(done + "\n" + quote(question.answer or "", 1400)),
    ]
    return f"{head} {done}", blocks


def withdrawn_question_message(
    question: Question, client_name: str, t: Translator, where: Where
) -> tuple[str, list[dict[str, Any]]]:
    """The reference person's question message once the asker withdrew it: no buttons, nothing to do."""
    head = t(
        "<@{asker}> asked *{client}* ({reference}):",
        asker=question.asked_by,
        client=client_name,
        reference=question.reference,
    )
    done = t(
        "🚫 Withdrawn by <@{user}> {when}: no answer needed.",
        user=question.cancelled_by or question.asked_by,
        when=where.when(question.cancelled_at or question.asked_at),
    )
    return f"{head} {done}", [section(head), section(quote(question.text, 1400)), context(done)]


def asker_copy(
    question: Question, request: TrackedRequest, client_name: str, t: Translator, where: Where
) -> tuple[str, list[dict[str, Any]]]:
    """The asker's own copy of the question, with Cancel to withdraw it."""
    head = t(
        "Your question {reference} for *{client}* went to <@{ref}>; due {due}.",
        reference=question.reference,
        client=client_name,
        ref=question.asked_to,
        due=where.when(request.due_at),
    )
    blocks = [
        section(head),
        section(quote(question.text, 2500)),
        actions(
            [button(t("Cancel"), ids.CANCEL_QUESTION, str(question.id), style="danger")], block_id=ids.ASKER_ACTIONS
        ),
    ]
    return head, blocks


def asker_copy_closed(
    question: Question, client_name: str, t: Translator, where: Where
) -> tuple[str, list[dict[str, Any]]]:
    """The asker's copy once the question is answered or withdrawn (no Cancel any more)."""
    if question.cancelled_at is not None:
        head = t(
            "🚫 You withdrew {reference} for *{client}* {when}; I told <@{ref}> it needs no answer.",
            reference=question.reference,
            client=client_name,
            ref=question.asked_to,
            when=where.when(question.cancelled_at),
        )
    else:
        head = t(
            "✅ <@{user}> replied to {reference} for *{client}*; I sent you the reply.",
            user=question.answered_by or question.asked_to,
            reference=question.reference,
            client=client_name,
        )
    return head, [section(head), section(quote(question.text, 2500))]


def answer_relay(question: Question, client_name: str, t: Translator) -> tuple[str, list[dict[str, Any]]]:
    """To the person who asked: the answer, with their question for context."""
    head = t(
        "<@{user}> answered your question {reference} for *{client}*:",
        user=question.answered_by,
        reference=question.reference,
        client=client_name,
    )
    blocks = [
        section(head + "\n" + quote(question.answer or "", 2500)),
        context(t("You asked: {question}", question=safe(question.text[:300]))),
    ]
    return f"{head}\n{quote(question.answer or '', 1000)}", blocks


def answer_thanks(question: Question, t: Translator) -> str:
    """In the question's thread, once answered."""
    return t(
        "Thanks <@{user}>, I've passed your answer to <@{asker}>.", user=question.answered_by, asker=question.asked_by
    )


def answer_modal(question: Question, client_name: str, t: Translator) -> dict[str, Any]:
    """The Answer form: the question, and a box for the answer."""
    return modal(
        ids.ANSWER_MODAL,
        t("Answer"),
        [
            section(
                t("*{client}* · {reference}", client=client_name, reference=question.reference)
                + "\n"
                + quote(question.text, 2500)
            ),
            text_input(ids.ANSWER_TEXT, t("Your answer"), multiline=True, max_length=3000),
        ],
        close=t("Cancel"),
        submit=t("Send"),
        metadata={"question_id": question.id},
    )


# -- promises -----------------------------------------------------------------------------------------
def promise_modal(request: TrackedRequest, tz: str, t: Translator, *, now: datetime) -> dict[str, Any]:
    """Pick when you'll reply: a date and a time in the client's time zone."""
    start = max(request.promised_at or request.due_at, now).astimezone(ZoneInfo(tz))
    return modal(
        ids.PROMISE_MODAL,
        t("Promise a time"),
        [
            section(
                t("When will you reply to {reference}? I'll hold reminders until then.", reference=request.reference)
                + "\n"
                + quote(request.summary, 1500)
            ),
            input_block(
                ids.PROMISE_DATE, t("Date"), {"type": "datepicker", "initial_date": start.strftime("%Y-%m-%d")}
            ),
            input_block(
                ids.PROMISE_TIME,
                t("Time ({tz})", tz=tz),
                {"type": "timepicker", "initial_time": start.strftime("%H:%M"), "timezone": tz},
            ),
        ],
        close=t("Cancel"),
        submit=t("Save"),
        metadata={"request_id": request.id},
    )


def promise_noted(request: TrackedRequest, t: Translator, where: Where) -> str:
    return t(
        "Noted: you'll reply to {reference} by {when}. I'll hold reminders until then.",
        reference=request.reference,
        when=where.when(request.promised_at or request.due_at),
    )


def promise_to_asker(request: TrackedRequest, by: str, client_name: str, t: Translator, where: Where) -> str:
    return t(
        "<@{user}> ({client}) will reply to {reference} by {when}.",
        user=by,
        client=client_name,
        reference=request.reference,
        when=where.when(request.promised_at or request.due_at),
    )


# -- the chase: reminders and escalations ----------------------------------------------------------
def _about(request: TrackedRequest) -> str:
    return quote(request.summary, 600) if request.summary else ""


def reminder(request: TrackedRequest, t: Translator, where: Where) -> tuple[str, list[dict[str, Any]]]:
    """Before the due time, to the assignee (in the thread of the request)."""
    text = t(
        "<@{user}>, a friendly reminder: {reference} is due {due}.",
        user=request.assignee,
        reference=request.reference,
        due=where.when(request.due_at),
    )
    return text, [section(text), request_buttons(request, t)]


def overdue(
    request: TrackedRequest, t: Translator, where: Where, *, number: int, total: int, lead: str | None
) -> tuple[str, list[dict[str, Any]]]:
    """At the deadline and each repeat after it, to the assignee; the last one says who takes over."""
    if request.promised_at is not None and number == 1:
        text = t(
            "<@{user}>, you said you'd reply to {reference} by {when}; it's still waiting for you.",
            user=request.assignee,
            reference=request.reference,
            when=where.when(request.promised_at),
        )
    elif number == 1:
        text = t(
            "<@{user}>, {reference} was due {due} and is still waiting for your answer.",
            user=request.assignee,
            reference=request.reference,
            due=where.when(request.due_at),
        )
    else:
        text = t(
            "<@{user}>, {reference} is still waiting for your answer (reminder {number} of {total}).",
            user=request.assignee,
            reference=request.reference,
            number=number,
            total=total,
        )
    blocks = [section(text)]
    if number == total:
        last = (
            t("This is my last reminder; <@{lead}> will follow up with you.", lead=lead)
            if lead
            else t("This is my last reminder.")
        )
        blocks.append(context(last))
        text = f"{text} {last}"
    blocks.append(request_buttons(request, t))
    return text, blocks


def _waiting_facts(request: TrackedRequest, client_name: str, where: Where) -> dict[str, str]:
    return {
        "reference": request.reference,
        "client": client_name,
        "user": request.assignee,
        "since": where.when(request.opened_at),
        "due": where.when(request.due_at),
    }


def _waiting(text: str, request: TrackedRequest) -> tuple[str, list[dict[str, Any]]]:
    """The opening every escalation shares: the line itself, then what was asked."""
    blocks = [section(text)]
    if request.summary:
        blocks.append(section(_about(request)))
    return text, blocks


def to_backups(
    request: TrackedRequest, client_name: str, t: Translator, where: Where
) -> tuple[str, list[dict[str, Any]]]:
    """A DM to the client's other people: what waits, on whom, since when; they can step in."""
    text, blocks = _waiting(
        t(
            "{reference} for *{client}* has been waiting on <@{user}> since {since} (due {due}). Can you help?",
            **_waiting_facts(request, client_name, where),
        ),
        request,
    )
    blocks.append(request_buttons(request, t))
    return text, blocks


def to_lead(
    request: TrackedRequest, client_name: str, t: Translator, where: Where, *, channel: str | None
) -> tuple[str, list[dict[str, Any]]]:
    """A DM to the account lead: the reference, the summary, who it waits on and since when."""
    text, blocks = _waiting(
        t(
            "⚠️ {reference} for *{client}* is overdue: waiting on <@{user}> since {since}, due {due}.",
            **_waiting_facts(request, client_name, where),
        ),
        request,
    )
    facts = [t("Asked by <@{user}>", user=request.asked_by)]
    if request.promised_at is not None:
        facts.append(t("promised for {when}", when=where.when(request.promised_at)))
    if channel:
        facts.append(t("in <#{channel}>", channel=channel))
    blocks.append(context(" · ".join(facts)))
    return text, blocks


def handover_to_lead(request: TrackedRequest, client_name: str, t: Translator, total: int) -> str:
    return t(
        "I've sent <@{user}> the last of {total} overdue reminders for {reference} (*{client}*). "
        "I'll stop chasing now; it's over to you.",
        user=request.assignee,
        total=total,
        reference=request.reference,
        client=client_name,
    )
