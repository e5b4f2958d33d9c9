"""Block Kit for response-time figures: the ``/nexo report`` answer, the leads' Home tab, the weekly summary.

Pure functions of :class:`~bot.tracking.reports.ClientFigures` and a translator.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from babel.numbers import format_decimal, format_percent

from bot.blockkit import context, date_token, divider, fields, section
from bot.i18n import Translator

if TYPE_CHECKING:
    from bot.tracking.reports import ClientFigures, Side

MAX_CLIENTS = 10  # about 4 blocks each: a message holds 50
MAX_OVERDUE_SHOWN = 5


def hours(value: timedelta | None, t: Translator) -> str:
    """Business hours with one decimal, in the reader's number format ("1.5 h", "1,5 h")."""
    if value is None:
        return "—"
    return t("{hours} h", hours=format_decimal(round(value / timedelta(hours=1), 1), locale=t.language))


def share(value: float | None, t: Translator) -> str:
    return "—" if value is None else format_percent(value, locale=t.language)


def trend(now: Side, before: Side, t: Translator, *, days: int) -> str:
    """The change of the median and of the share within the window against the period before."""
    if not now.answered or not before.answered or now.median is None or before.median is None:
        return t("no earlier figures to compare")
    delta = now.median - before.median
    arrow = "▲" if delta > timedelta(0) else "▼" if delta < timedelta(0) else "="
    sign = "+" if delta >= timedelta(0) else "−"
    parts = [t("median {arrow} {sign}{hours}", arrow=arrow, sign=sign, hours=hours(abs(delta), t))]
    if now.within_window is not None and before.within_window is not None:
        points = round((now.within_window - before.within_window) * 100)
        parts.append(t("within the window {points} pts", points=f"{points:+d}"))
    return t("vs the previous {days} days: {changes}", days=days, changes=", ".join(parts))


def client_section(figures: ClientFigures, t: Translator) -> list[dict[str, Any]]:
    """Fields for one client: answered, median, p90, share within the window, overdue, promises, agency side."""
    c, a = figures.client, figures.agency
    pairs = [
        t("*Answered*\n{count}", count=c.answered),
        t("*Median*\n{value}", value=hours(c.median, t)),
        t("*90th percentile*\n{value}", value=hours(c.p90, t)),
        t("*Within the window ({window})*\n{value}", window=hours(figures.window, t), value=share(c.within_window, t)),
        t("*Overdue now*\n{count}", count=len(figures.overdue)),
        t("*Promises*\n{kept} kept, {broken} broken", kept=figures.promises_kept, broken=figures.promises_broken),
        t("*Waiting on the agency*\n{count}, median {value}", count=a.answered, value=hours(a.median, t)),
    ]
    out: list[dict[str, Any]] = [
        section(t("*{client}*: response times in business hours", client=figures.client_name)),
        fields(pairs),
        context(trend(c, figures.previous, t, days=figures.days)),
    ]
    if figures.overdue:
        lines = [
            t(
                "• {reference}: waiting on <@{user}> since {since}, due {due}",
                reference=o.reference,
                user=o.assignee,
                since=date_token(o.opened_at, figures.timezone, t.language),
                due=date_token(o.due_at, figures.timezone, t.language),
            )
            + (
                t(" (promised for {when})", when=date_token(o.promised_at, figures.timezone, t.language))
                if o.promised_at
                else ""
            )
            for o in figures.overdue[:MAX_OVERDUE_SHOWN]
        ]
        if len(figures.overdue) > MAX_OVERDUE_SHOWN:
            lines.append(t("…and {count} more.", count=len(figures.overdue) - MAX_OVERDUE_SHOWN))
        out.append(section(t("*Overdue, oldest first*") + "\n" + "\n".join(lines)))
    return out


def answers_table(figures: list[ClientFigures], t: Translator, *, how_to_get_chart: str) -> dict[str, Any]:
    """The chart's figures as a table (one row per client: answers, fastest, median, 90th percentile, slowest,
    window), for an installation without the ``charts`` extra; ``how_to_get_chart`` names the fix."""
    head = [t("Client"), t("Answers"), t("Fastest"), t("Median"), t("90th pct"), t("Slowest"), t("Window")]
    rows = [head]
    for f in figures[:MAX_CLIENTS]:
        answers = sorted(timedelta(hours=h) for h in f.response_hours)
        rows.append(
            [
                f.client_name[:20],
                str(len(answers)),
                hours(answers[0] if answers else None, t),
                hours(f.client.median, t),
                hours(f.client.p90, t),
                hours(answers[-1] if answers else None, t),
                hours(f.window, t),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    note = t(
        "No chart: this installation of Nexo lacks its charts extra. Whoever runs it can add it with `{command}`.",
        command=how_to_get_chart,
    )
    return section(t("*Answers in business hours*") + "\n```\n" + "\n".join(lines) + "\n```\n" + note)


def report_message(
    figures: list[ClientFigures], t: Translator, *, days: int, more: int = 0
) -> tuple[str, list[dict[str, Any]]]:
    """The ``/nexo report`` answer (``more``: clients left out, beyond :data:`MAX_CLIENTS`)."""
    title = t.ngettext("Response times, last day", "Response times, last {n} days", days)
    if not figures:
        text = t("No clients to report on.")
        return text, [section(text)]
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": title[:150]}}]
    for item in figures[:MAX_CLIENTS]:
        blocks.append(divider())
        blocks.extend(client_section(item, t))
    left_out = more + max(0, len(figures) - MAX_CLIENTS)
    if left_out:
        blocks.append(
            context(
                t.ngettext(
                    "…and {n} more client: name it to see its figures.",
                    "…and {n} more clients: name one to see its figures.",
                    left_out,
                )
            )
        )
    lines = [
        t(
            "{client}: {count} answered, median {median}, {share} within the window, {overdue} overdue",
            client=f.client_name,
            count=f.client.answered,
            median=hours(f.client.median, t),
            share=share(f.client.within_window, t),
            overdue=len(f.overdue),
        )
        for f in figures[:MAX_CLIENTS]
    ]
    return title + "\n" + "\n".join(lines), blocks


def home_blocks(figures: list[ClientFigures], t: Translator) -> list[dict[str, Any]]:
    """The leads' App Home section (empty for people who lead no client)."""
    if not figures:
        return []
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": t.ngettext(
                    "Your clients' response times, last day",
                    "Your clients' response times, last {n} days",
                    figures[0].days,
                )[:150],
            },
        }
    ]
    for item in figures[:MAX_CLIENTS]:
        blocks.extend(client_section(item, t))
    return blocks


def weekly_summary(figures: list[ClientFigures], t: Translator) -> tuple[str, list[dict[str, Any]]]:
    """Monday's summary for an account lead: last week per client."""
    title = t("Your weekly summary: response times last week")
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": title[:150]}}]
    for item in figures[:MAX_CLIENTS]:
        blocks.extend(client_section(item, t))
    lines = [
        t(
            "{client}: {count} answered, median {median}, {overdue} overdue",
            client=f.client_name,
            count=f.client.answered,
            median=hours(f.client.median, t),
            overdue=len(f.overdue),
        )
        for f in figures[:MAX_CLIENTS]
    ]
    return title + "\n" + "\n".join(lines), blocks
