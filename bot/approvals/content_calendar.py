"""The content calendar: scheduled posts per day, in each client's time zone (``/nexo calendar``, the App
Home, the CSV report).

A scheduled post is a draft with a publish time that is still going ahead: open, or approved (a rejected
draft is not; neither will a withdrawn one be). The period is a range of local dates: the week (Monday to
Sunday) or month around today, or the week from a given date, where "today" is the named client's (or, for
every client, the reader's). Each post falls on the day its publish time has in its own client's zone.

A client's people see only their clients' posts, and only once the client is reviewing them.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.access import Actor
from bot.approvals import networks, service
from bot.approvals.models import (
    OPEN_STATUSES,
    DeliveryStatus,
    Draft,
    DraftCard,
    DraftStatus,
    DraftVersion,
    WebhookDelivery,
)
from bot.approvals.text import escape, first_words
from bot.blockkit import context, divider, mention, mentions, section
from bot.crises.holds import held_draft_ids
from bot.delivery.models import OutboxNotice
from bot.errors import UserError
from bot.i18n import N_, Translator
from bot.people import timezone_of
from bot.plans.models import Client, ClientStatus, Plan
from bot.plans.service import visible_clients
from bot.spreadsheet import BOM, csv_text
from bot.tracking.models import RequestState, TrackedRequest, WaitingOn

SCHEDULED = (*OPEN_STATUSES, DraftStatus.APPROVED)
CLIENT_VISIBLE = (DraftStatus.CLIENT_REVIEW, DraftStatus.CLIENT_CHANGES, DraftStatus.APPROVED)
MESSAGE_BLOCKS_MAX = 50
HOME_BLOCKS = 8  # the Home shows a short calendar; /nexo calendar the whole
LINES_PER_SECTION = 8  # lines of at most ~300 characters: a section stays under 3000
PERIOD_WORDS = {"week": "week", "semana": "week", "month": "month", "mes": "month"}
_FROM = re.compile(r"^(?:from|desde):(\S+)$", re.IGNORECASE)


class State(enum.StrEnum):
    """Where a scheduled post stands (the CSV's ``state`` column)."""

    INTERNAL_REVIEW = "internal_review"
    WAITING_ON_CLIENT = "waiting_on_client"
    REVISION = "revision"  # changes requested: the agency owes a new version
    APPROVED = "approved"
    HANDED_OFF = "handed_off"  # approved, and the publishing tool has it


@dataclass(frozen=True)
class Period:
    """Local dates ``start`` (included) to ``end`` (excluded)."""

    start: date
    end: date


@dataclass
class Post:
    """One scheduled post as the calendar shows it."""

    draft: Draft
    client: Client
    plan: Plan
    version: DraftVersion
    local: datetime  # the publish time in the client's zone
    state: State
    waiting_on: list[str]
    held: bool
    card: tuple[str, str, str] | None  # (recipient, channel, ts) of its newest card


# -- the period ---------------------------------------------------------------------------------------------
def split_args(args: str) -> tuple[str, str]:
    """``[CLIENT] [week|month|from:DATE]`` -> (client name, period word); the period is the last word."""
    words = args.split()
    if words and (words[-1].lower() in PERIOD_WORDS or _FROM.match(words[-1])):
        return " ".join(words[:-1]).strip('"“”'), words[-1]
    return args.strip().strip('"“”'), ""


def period_of(word: str, today: date) -> Period:
    """``week`` (the default: Monday to Sunday around ``today``), ``month`` (this calendar month) or
    ``from:2026-12-07`` (the week from that date)."""
    kind = PERIOD_WORDS.get(word.lower()) if word else "week"
    if kind == "week":
        monday = today - timedelta(days=today.weekday())
        return Period(monday, monday + timedelta(days=7))
    if kind == "month":
        first = today.replace(day=1)
        return Period(first, (first + timedelta(days=32)).replace(day=1))
    match = _FROM.match(word)
    try:
        start = date.fromisoformat(match.group(1)) if match else None
    except ValueError:
        start = None
    if start is None:
        raise UserError(
            N_("“{value}” is not a period I know: write `week`, `month` or `from:2026-12-07`."), value=word[:40]
        )
    return Period(start, start + timedelta(days=7))


def today_in(tz: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(tz)).date()


# -- the posts -----------------------------------------------------------------------------------------------
def scheduled_posts(session: Session, actor: Actor, clients: list[Client], period: Period) -> list[Post]:
    """The posts of ``clients`` (all visible to ``actor``) whose local publish date is in ``period``, by time."""
    plans = {c.id: c.current_plan for c in clients if c.current_plan is not None and c.status == ClientStatus.ACTIVE}
    if not plans:
        return []
    # A day either side covers every zone; each post is then placed by its own client's local date.
    since = datetime.combine(period.start - timedelta(days=1), time(), tzinfo=UTC)
    until = datetime.combine(period.end + timedelta(days=1), time(), tzinfo=UTC)
    statuses = SCHEDULED if actor.is_agency else CLIENT_VISIBLE
    rows = session.execute(
        select(Draft, DraftVersion)
        .join(DraftVersion, (DraftVersion.draft_id == Draft.id) & (DraftVersion.number == Draft.current_version))
        .where(
            Draft.client_id.in_(plans), Draft.status.in_(statuses), Draft.publish_at >= since, Draft.publish_at < until
        )
        .order_by(Draft.publish_at, Draft.id)
    ).all()
    by_id = {c.id: c for c in clients}
    chosen = []
    for draft, version in rows:
        plan = plans[draft.client_id]
        assert draft.publish_at is not None
        local = draft.publish_at.astimezone(ZoneInfo(plan.timezone))
        if period.start <= local.date() < period.end:
            chosen.append((draft, version, by_id[draft.client_id], plan, local))
    return _with_states(session, chosen)


def _with_states(session: Session, chosen: list[tuple[Draft, DraftVersion, Client, Plan, datetime]]) -> list[Post]:
    version_ids = [v.id for _, v, *_ in chosen]
    draft_ids = [d.id for d, *_ in chosen]
    requests = {
        r.subject_id: r
        for r in session.scalars(
            select(TrackedRequest)
            .where(
                TrackedRequest.subject_type == service.SUBJECT,
                TrackedRequest.subject_id.in_(version_ids),
                TrackedRequest.state == RequestState.OPEN,
            )
            .order_by(TrackedRequest.id)
        )
    }
    handed = set(
        session.scalars(
            select(WebhookDelivery.draft_id).where(
                WebhookDelivery.draft_id.in_(draft_ids), WebhookDelivery.status == DeliveryStatus.DELIVERED
            )
        )
    )
    cards: dict[tuple[int, int], tuple[str, str, str]] = {}
    for card, notice in session.execute(
        select(DraftCard, OutboxNotice)
        .join(OutboxNotice, OutboxNotice.id == DraftCard.notice_id)
        .where(DraftCard.draft_id.in_(draft_ids), OutboxNotice.ts.is_not(None))
        .order_by(DraftCard.id)
    ):
        assert notice.channel is not None and notice.ts is not None
        cards[(card.draft_id, card.version)] = (card.recipient, notice.channel, notice.ts)  # the newest wins
    held: dict[int, set[int]] = {}
    posts = []
    for draft, version, client, plan, local in chosen:
        if client.id not in held:
            held[client.id] = held_draft_ids(session, client.id)
        request = requests.get(version.id)
        state = _state(draft, request, handed)
        waiting = [request.assignee] if request is not None and state != State.APPROVED else []
        posts.append(
            Post(
                draft,
                client,
                plan,
                version,
                local,
                state,
                waiting,
                draft.id in held[client.id],
                cards.get((draft.id, version.number)),
            )
        )
    return posts


def _state(draft: Draft, request: TrackedRequest | None, handed: set[int]) -> State:
    if draft.status == DraftStatus.APPROVED:
        return State.HANDED_OFF if draft.id in handed else State.APPROVED
    if draft.status in (DraftStatus.INTERNAL_CHANGES, DraftStatus.CLIENT_CHANGES):
        return State.REVISION
    if draft.status == DraftStatus.INTERNAL_REVIEW:
        return State.INTERNAL_REVIEW
    if request is not None and request.waiting_on == WaitingOn.AGENCY:
        return State.INTERNAL_REVIEW
    return State.WAITING_ON_CLIENT


def calendar_clients(session: Session, actor: Actor, client: Client | None) -> list[Client]:
    """The named client, or every client the actor may see."""
    return [client] if client is not None else visible_clients(session, actor)


def reference_timezone(session: Session, actor: Actor, client: Client | None) -> str:
    """Whose "today" the period is around: the named client's, else the reader's (else UTC)."""
    if client is not None and client.current_plan is not None:
        return client.current_plan.timezone
    return timezone_of(session, actor.user_id) or "UTC"


def week_for(
    session: Session, actor: Actor, client: Client | None, word: str, now: datetime
) -> tuple[Period, list[Post]]:
    """The period ``word`` names around today, and the posts in it."""
    period = period_of(word, today_in(reference_timezone(session, actor, client), now))
    return period, scheduled_posts(session, actor, calendar_clients(session, actor, client), period)


def home_blocks(session: Session, actor: Actor, now: datetime, t: Translator) -> list[dict[str, Any]]:
    """This week's calendar on an agency person's App Home (a short section)."""
    if not actor.is_agency:
        return []
    period, posts = week_for(session, actor, None, "", now)
    parts: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": t(N_("This week's posts ({period})"), period=period_title(period, t))[:150],
            },
        }
    ]
    if posts:
        parts += calendar_blocks(posts, period, t, client=None, max_blocks=HOME_BLOCKS)
    else:
        parts.append(section(t(N_("Nothing is scheduled this week."))))
    parts.append(divider())
    return parts


# -- the message ---------------------------------------------------------------------------------------------
def message_link(channel: str, ts: str) -> str:
    """A link that opens a message from its channel and ts, without asking Slack (no chat.getPermalink):
    the archive form of a permalink, which Slack redirects to the reader's workspace."""
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"


def _state_text(post: Post, t: Translator) -> str:
    who = mentions(post.waiting_on)
    text = {
        State.INTERNAL_REVIEW: t(N_("internal review by {who}"), who=who) if who else t(N_("in internal review")),
        State.WAITING_ON_CLIENT: t(N_("waiting on {who} (client)"), who=who) if who else t(N_("waiting on the client")),
        State.REVISION: t(N_("changes requested, revision by {who}"), who=who or mention(post.draft.created_by)),
        State.APPROVED: "✅ " + t(N_("approved")),
        State.HANDED_OFF: "✅ " + t(N_("approved, with the publishing tool")),
    }[post.state]
    return text + " · " + t(N_("⏸️ held: the client is in a crisis")) if post.held else text


def _card_text(post: Post, t: Translator) -> str:
    if post.card is None:
        return t(N_("no card yet"))
    recipient, channel, ts = post.card
    if channel[:1] in ("C", "G"):  # a channel: anyone in it can open the card
        return t(N_("<{link}|card>"), link=message_link(channel, ts))
    return t(N_("card sent to {who}"), who=mention(recipient))  # a DM only its reader can open


def post_line(post: Post, t: Translator, *, many_clients: bool) -> str:
    """``• 10:00 *ACME-1* (Acme) Instagram, X: “Black Friday…” · waiting on @ana (client) · card``."""
    labels = ", ".join(networks.label(n) for n in post.version.networks) or "—"
    who = f" ({escape(post.client.name[:40])})" if many_clients else ""
    start = escape(first_words(post.version.text, 50))
    return (
        f"• {post.local:%H:%M} *{post.draft.reference}*{who} {labels}: “{start}” · {_state_text(post, t)}"
        f" · {_card_text(post, t)}"
    )


DAY_PATTERNS = {"es": "EEEE d 'de' MMMM"}  # "miércoles 25 de noviembre"; elsewhere "Wednesday 25 November"


def day_title(day: date, t: Translator) -> str:
    title = format_date(day, DAY_PATTERNS.get(t.language, "EEEE d MMMM"), locale=t.language)
    return title[:1].upper() + title[1:]


def period_title(period: Period, t: Translator) -> str:
    last = period.end - timedelta(days=1)
    return t(
        N_("{start} to {end}"),
        start=format_skeleton("MMMEd", period.start, locale=t.language),
        end=format_skeleton("yMMMEd", last, locale=t.language),
    )


def calendar_blocks(
    posts: list[Post], period: Period, t: Translator, *, client: Client | None, max_blocks: int = MESSAGE_BLOCKS_MAX - 3
) -> list[dict[str, Any]]:
    """One section per day (more when a day is full), at most ``max_blocks``; what does not fit is counted."""
    many = client is None
    days: dict[date, list[Post]] = {}
    for post in posts:
        days.setdefault(post.local.date(), []).append(post)
    blocks: list[dict[str, Any]] = []
    shown = 0
    for day, day_posts in sorted(days.items()):
        for i in range(0, len(day_posts), LINES_PER_SECTION):
            if len(blocks) >= max_blocks - 1:
                break
            chunk = day_posts[i : i + LINES_PER_SECTION]
            title = f"*{day_title(day, t)}*\n" if i == 0 else ""
            blocks.append(section(title + "\n".join(post_line(p, t, many_clients=many) for p in chunk)))
            shown += len(chunk)
    if shown < len(posts):
        blocks.append(
            context(
                t(
                    N_(
                        "…and {count} more. Name a client or a shorter period to see them: "
                        "`/nexo calendar CLIENT from:DATE`."
                    ),
                    count=len(posts) - shown,
                )
            )
        )
    return blocks


def calendar_message(
    posts: list[Post], period: Period, t: Translator, *, client: Client | None
) -> tuple[str, list[dict[str, Any]]]:
    """``/nexo calendar``: a header, the days, and a note on time zones (at most 50 blocks)."""
    span = period_title(period, t)
    title = (
        t(N_("Calendar of {client}: {period}"), client=client.name, period=span)
        if client
        else t(N_("Calendar: {period}"), period=span)
    )
    if not posts:
        text = t(N_("{title}. No posts are scheduled."), title=title)
        return text, [section(escape(text))]
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": title[:150]}}]
    blocks += calendar_blocks(posts, period, t, client=client)
    blocks.append(context(t(N_("Posts: {count}. Times are in each client's time zone."), count=len(posts))))
    return f"{title}\n" + "\n".join(post_line(p, t, many_clients=client is None) for p in posts[:20]), blocks


# -- the CSV -------------------------------------------------------------------------------------------------
CSV_COLUMNS = ("post", "networks", "publish_at", "publish_at_local", "status", "state", "held", "waiting_on")


def csv_section(session: Session, actor: Actor, client: Client, *, since: datetime) -> str:
    """Every scheduled post of ``client`` publishing from ``since`` on, as a second table after a blank line
    (``/nexo report CLIENT csv``): its own header, each cell as safe as the first table's."""
    plan = client.current_plan
    if plan is None:
        return ""
    start = since.astimezone(ZoneInfo(plan.timezone)).date()
    posts = scheduled_posts(session, actor, [client], Period(start, date.max - timedelta(days=2)))
    rows = [
        [
            p.draft.reference,
            ",".join(p.version.networks),
            p.draft.publish_at.isoformat().replace("+00:00", "Z") if p.draft.publish_at else "",
            p.local.strftime("%Y-%m-%d %H:%M"),
            p.draft.status.value,
            p.state.value,
            "yes" if p.held else "no",
            " ".join(p.waiting_on),
        ]
        for p in posts
    ]
    if not rows:
        return ""
    return "\r\n" + csv_text(CSV_COLUMNS, rows).removeprefix(BOM)
