"""The post-crisis report and the list of past crises, as Block Kit (the card and notices: bot.crises.blocks)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.blockkit import context, date_token, fields, local_hhmm, mention, section, titled
from bot.crises.blocks import duration, header, safe, severity, status_name
from bot.crises.timeline_blocks import timeline_sections
from bot.i18n import N_, Translator

if TYPE_CHECKING:
    from bot.crises.report import CrisisReport


def report_message(report: CrisisReport, t: Translator) -> tuple[str, list[dict[str, Any]]]:
    """The post-crisis report: figures, who was paged when, the manual's steps, what was held."""
    c, tz = report.crisis, report.crisis.timezone
    title = t(N_("Post-crisis report: {client}"), client=report.client_name)
    facts = [
        (N_("Severity"), severity(c.severity, t)),
        (N_("Declared"), f"{mention(c.declared_by)}, {date_token(c.declared_at or c.created_at, tz, t.language)}"),
        (N_("Time to acknowledge"), f"{duration(report.time_to_acknowledge)} ({mention(c.acknowledged_by)})"),
        (N_("Time to resolve"), f"{duration(report.time_to_resolve)} ({mention(c.resolved_by)})"),
    ]
    blocks: list[dict[str, Any]] = [
        header(title),
        section(f"> {safe(c.description)[:500]}"),
        fields([titled(t(k), v) for k, v in facts]),
    ]
    paged = [
        t.ngettext(
            "• {who} (level {level}): {times} ({n} page)",
            "• {who} (level {level}): {times} ({n} pages)",
            len(p.times),
            who=mention(p.user),
            level=p.level,
            times=", ".join(local_hhmm(x, tz) for x in p.times[:8]) + (" …" if len(p.times) > 8 else ""),
        )
        for p in report.paged
    ]
    blocks.append(section(titled(t(N_("Who was paged when")), "\n".join(paged) or "—")))
    steps = [
        t(
            N_("✅ {n}. {step}: {who} at {time}"),
            n=s.position,
            step=safe(s.text),
            who=mention(s.done_by),
            time=local_hhmm(s.done_at, tz),
        )
        if s.done_at
        else t(N_("⬜ {n}. {step}: not done"), n=s.position, step=safe(s.text))
        for s in report.steps
    ]
    blocks.append(section(titled(t(N_("Crisis manual")), "\n".join(steps) or t(N_("no steps in the plan")))))
    held = [
        t(
            N_("• {draft}: released by {who} at {time}"),
            draft=h.reference,
            who=mention(h.released_by),
            time=date_token(h.released_at, tz, t.language),
        )
        if h.released_at
        else t(N_("• {draft}: still held"), draft=h.reference)
        for h in report.holds
    ]
    blocks.append(section(titled(t(N_("Held posts")), "\n".join(held) or t(N_("no posts were held")))))
    blocks.append(
        context(
            t(
                N_("{updates} status updates and {messages} messages in the crisis thread."),
                updates=report.updates,
                messages=report.thread_messages,
            )
        )
    )
    if report.events:
        label = t(N_("Timeline"))
        blocks.append(section(f"*{label}*"))
        blocks += timeline_sections(c, report.events, t, max_sections=50 - len(blocks) - 2)
    text = t(
        N_("Post-crisis report for {client}: acknowledged in {tta}, resolved in {ttr}."),
        client=report.client_name,
        tta=duration(report.time_to_acknowledge),
        ttr=duration(report.time_to_resolve),
    )
    return text, blocks


def crises_list(client_name: str, reports: list[CrisisReport], t: Translator) -> tuple[str, list[dict[str, Any]]]:
    """``/nexo report CLIENT crises``: past crises with their figures, newest first."""
    title = t(N_("Crises of {client} ({count})"), client=client_name, count=len(reports))
    if not reports:
        text = t(N_("*{client}* has had no crises. 🎉"), client=client_name)
        return text, [section(text)]
    blocks: list[dict[str, Any]] = [header(title)]
    lines = []
    for r in reports[:40]:
        c = r.crisis
        held = len(r.holds)
        released = sum(1 for h in r.holds if h.released_at)
        line = t(
            N_(
                "*{when}* · {severity} · {status} · acknowledged in {tta} · resolved in {ttr} · steps "
                "{done}/{total} · held {held}, released {released}"
            ),
            when=date_token(c.declared_at or c.created_at, c.timezone, t.language),
            severity=severity(c.severity, t),
            status=status_name(c, t),
            tta=duration(r.time_to_acknowledge),
            ttr=duration(r.time_to_resolve),
            done=r.steps_done,
            total=len(r.steps),
            held=held,
            released=released,
        )
        lines.append(f"{line}\n> {safe(c.description)[:150]}")
        blocks.append(section(lines[-1]))
    return title + "\n" + "\n".join(lines), blocks
