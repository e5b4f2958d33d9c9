"""``/nexo report CLIENT [KIND] [option:value ...]``: a small router of report kinds.

To add a report, write ``fn(req, args) -> Reply`` and add it to :data:`REPORT_KINDS`
under its keyword (and aliases). The kind is the last word before the options
(``report Acme Foods audit days:30``); without one, the default kind ``""`` runs.
Slack calls that take time (file uploads) are owed to the outbox in the command's own
unit of work (:func:`upload_file_later`), so the command still answers within 3 seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from bot.approvals import content_calendar
from bot.approvals.audit import export_csv
from bot.blockkit import context
from bot.delivery.outbox import enqueue_upload
from bot.errors import NotAllowed, UserError
from bot.i18n import N_
from bot.plans import service as plans
from bot.plans.spec import split_words
from bot.slack.listeners import Registration, Subcommand
from bot.slack.request import Reply, Request
from bot.tracking import report_blocks
from bot.tracking import reports as tracking
from bot.tracking.charts import CHARTS_EXTRA_HINT, RESPONSE_CHART, Labels, Series, chart_args, charts_available
from bot.tracking.models import WaitingOn


@dataclass
class ReportArgs:
    client_name: str
    kind: str
    options: dict[str, str] = field(default_factory=dict)


ReportKind = Callable[[Request, ReportArgs], Reply]


def parse_report_args(text: str) -> ReportArgs:
    """``CLIENT NAME [KIND] [key:value ...]`` -> ReportArgs (the kind only if it is a known one)."""
    words, options = [], {}
    for word in split_words(text):
        key, sep, value = word.partition(":")
        if sep and key and not word.startswith("<"):
            options[key.lower()] = value
        else:
            words.append(word)
    kind = ""
    if len(words) > 1 and words[-1].lower() in REPORT_KINDS:
        kind = words.pop().lower()
    return ReportArgs(" ".join(words), kind, options)


def report_command(req: Request) -> Reply:
    args = parse_report_args(req.args)
    if not args.client_name and args.kind:  # the default report covers every client you can see
        raise UserError(
            N_("Which client? For example: `/nexo report Acme audit`. Reports: {kinds}."),
            kinds=", ".join(sorted(k for k in REPORT_KINDS if k)),
        )
    handler = REPORT_KINDS.get(args.kind)
    if handler is None:
        raise UserError(
            N_("Say which report you want, e.g. `/nexo report {client} audit`. Reports: {kinds}."),
            client=args.client_name,
            kinds=", ".join(sorted(k for k in REPORT_KINDS if k)),
        )
    return handler(req, args)


def upload_file_later(req: Request, *, filename: str, content: str, title: str, comment: str) -> None:
    """Owe ``content`` as a file in the user's DM: stored with the command's work, uploaded by the outbox
    (retried until Slack takes it)."""
    enqueue_upload(
        req.session, now=req.now, to=req.actor.user_id, filename=filename, title=title, comment=comment, content=content
    )


# -- kinds -----------------------------------------------------------------------------------------
def audit_report(req: Request, args: ReportArgs) -> Reply:
    """Every event of the client's drafts as CSV (agency only)."""
    if not req.actor.is_agency:
        raise NotAllowed(N_("Only agency members can export the audit trail."))
    client = plans.resolve_client(req.session, req.actor, args.client_name, include_archived=True)
    content = export_csv(req.session, client, plans.current_plan(client).timezone)
    filename = f"nexo-audit-{client.ref_prefix.lower()}-{req.now.strftime('%Y%m%d-%H%M')}.csv"
    name = client.name
    rows = content.count("\n") - 1
    upload_file_later(
        req,
        filename=filename,
        content=content,
        title=req.t(N_("Audit trail of {client}"), client=name),
        comment=req.t.ngettext(
            "Audit trail of {client}: {n} event.", "Audit trail of {client}: {n} events.", rows, client=name
        ),
    )
    return Reply(
        text=req.t.ngettext(
            "Preparing the audit trail of {client} ({n} event); I'll send you the CSV in a direct message.",
            "Preparing the audit trail of {client} ({n} events); I'll send you the CSV in a direct message.",
            rows,
            client=name,
        )
    )


# -- response times (bot.tracking) ------------------------------------------------------------------
def report_days(options: dict[str, str]) -> int:
    raw = options.get("days") or options.get("dias") or options.get("días") or str(tracking.DEFAULT_DAYS)
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= tracking.MAX_DAYS:  # not "²" or "١"
        raise UserError(
            N_("days: “{value}” must be a whole number from 1 to {limit}."), value=raw[:20], limit=tracking.MAX_DAYS
        )
    return int(raw)


def response_report(req: Request, args: ReportArgs) -> Reply:
    """Response times per client (all you can see, or one): the figures in the ack, the chart in a DM."""
    days = report_days(args.options)
    clients = tracking.report_clients(req.session, req.actor, args.client_name or None)
    shown = clients[: report_blocks.MAX_CLIENTS]
    figures = [tracking.client_figures(req.session, c, now=req.now, days=days) for c in shown]
    text, blocks = report_blocks.report_message(figures, req.t, days=days, more=len(clients) - len(shown))
    if figures and charts_available():
        upload_chart_later(req, figures, days=days)
        blocks.append(context(req.t(N_("I'm sending you the chart in a direct message."))))
    elif figures:  # no matplotlib (the charts extra): the chart's figures as a table, and how to get the chart
        blocks.append(report_blocks.answers_table(figures, req.t, how_to_get_chart=CHARTS_EXTRA_HINT))
    return Reply(text=text, blocks=blocks)


def upload_chart_later(req: Request, figures: list[tracking.ClientFigures], *, days: int) -> None:
    """Owe the chart in the user's DM: what to draw is stored with the command's work; the outbox draws
    it (matplotlib takes a second) and uploads it off the request, retried until Slack takes it."""
    t, now = req.t, req.now
    labels = Labels(
        t.ngettext("Response times, last day", "Response times, last {n} days", days),
        t(N_("business hours")),
        t(N_("response window")),
        t(N_("no answers in this period")),
    )
    series = [Series(f.client_name, list(f.response_hours), f.window.total_seconds() / 3600) for f in figures]
    enqueue_upload(
        req.session,
        now=now,
        to=req.actor.user_id,
        filename=f"response-times-{now:%Y%m%d-%H%M%S}.png",
        title=labels.title,
        comment="",
        render={"name": RESPONSE_CHART, "args": chart_args(series, labels)},
    )


def requests_csv_report(req: Request, args: ReportArgs) -> Reply:
    """Every tracked request of one client (opened in the period) as CSV, then its scheduled posts (publishing
    from the period's start on) as a second table, in a DM."""
    days, now = report_days(args.options), req.now
    client = tracking.report_clients(req.session, req.actor, args.client_name)[0]
    count, content = tracking.request_log_csv(
        req.session,
        client,
        since=now - timedelta(days=days),
        now=now,
        waiting_on=None if req.actor.is_agency else WaitingOn.CLIENT,
    )
    content += content_calendar.csv_section(req.session, req.actor, client, since=now - timedelta(days=days))
    name, filename = client.name, f"nexo-requests-{client.ref_prefix.lower()}-{now.strftime('%Y%m%d-%H%M')}.csv"
    upload_file_later(
        req,
        filename=filename,
        content=content,
        title=req.t(N_("Requests of {client}"), client=name),
        comment=req.t.ngettext(
            "Requests of {client}, last day: {count}.",
            "Requests of {client}, last {n} days: {count}.",
            days,
            client=name,
            count=count,
        ),
    )
    period = req.t.ngettext("last day", "last {n} days", days)
    return Reply(
        text=req.t.ngettext(
            "Exporting {n} request of {client} ({period}); I'll send you the CSV in a direct message.",
            "Exporting {n} requests of {client} ({period}); I'll send you the CSV in a direct message.",
            count,
            client=name,
            period=period,
        )
    )


def crises_report(req: Request, args: ReportArgs) -> Reply:
    """The client's past crises (the crises domain renders them)."""
    # Imported on use: bot.handlers.crises is another domain's listener module, loaded by bot.handlers
    # alongside this one, and neither should depend on the order they load in.
    from bot.handlers.crises import crises_report as past_crises

    return past_crises(req, args.client_name)


REPORT_KINDS: dict[str, ReportKind] = {
    "audit": audit_report,
    "auditoria": audit_report,
    "auditoría": audit_report,
    "": response_report,
    "csv": requests_csv_report,
    "crises": crises_report,
    "crisis": crises_report,
}

LISTENERS: list[Registration] = [
    Subcommand(
        "report",
        report_command,
        aliases=("reports", "informe", "informes"),
        help=[
            (N_("/nexo report CLIENT audit"), N_("every step of the client's drafts, as a CSV file (agency only)")),
            (N_("/nexo report [CLIENT] [days:30]"), N_("response times per client, with a chart")),
            (N_("/nexo report CLIENT csv [days:30]"), N_("every tracked request of the client, as a CSV file")),
        ],
    ),
]
