"""crm report: funnel, forecast, owners, customers, stalled, lost-reasons, trend, and export to Excel."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from crmcli.commands._common import ForceOpt, session
from crmcli.commands.kpi import PERIOD_HELP, FromOpt, OwnerOpt, PipelineOpt, UntilOpt

app = typer.Typer(
    no_args_is_help=True,
    help="Reports: funnel, forecast, owners, customers, stalled, lost-reasons, trend; export all to Excel. "
    "Each takes --period (default: the current quarter) or --since/--until, --owner, --pipeline and --format.",
)

PeriodOpt = Annotated[Optional[str], typer.Option("--period", "-p", help=PERIOD_HELP + " Default: quarter.")]


class ReportFmt(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    plain = "plain"


FmtOpt = Annotated[
    Optional[ReportFmt],
    typer.Option(
        "--format",
        "-f",
        case_sensitive=False,
        help="table, json, csv or plain (tab-separated). Default: table on a terminal, plain in a pipe.",
    ),
]


def _fmt(fmt: ReportFmt | None) -> str:
    from crmcli.output import choose

    return choose(fmt.value if fmt else None)


def _scope(s, period, since, until, owner, pipeline, default: str = "quarter"):  # noqa: ANN001, ANN202
    from crmcli.analytics import kpi
    from crmcli.values import periods

    return kpi.make_scope(s, periods.window(period, since, until, default=default), owner, pipeline)


@app.command("funnel")
def funnel(
    ctx: typer.Context,
    period: PeriodOpt = None,
    since: FromOpt = None,
    until: UntilOpt = None,
    owner: OwnerOpt = None,
    pipeline: Annotated[
        Optional[str], typer.Option("--pipeline", "-P", help="Pipeline name or id (default: the first).")
    ] = None,
    fmt: FmtOpt = None,
) -> None:
    """Show the funnel: the deals that entered each stage in the period, drawn as bars, and the
    shares of them that moved on to a later stage and that were won (from the stage history).

    A stage removed since still shows, by the name the history kept.

    Example: crm report funnel --period year
    """
    from crmcli.analytics import reports
    from crmcli.output.kpi import emit_funnel

    with session(ctx) as s:
        data = reports.funnel(s, _scope(s, period, since, until, owner, pipeline))
    emit_funnel(data, _fmt(fmt))


@app.command("forecast")
def forecast(
    ctx: typer.Context,
    months: Annotated[int, typer.Option("--months", "-m", min=1, max=60, help="How many months ahead.")] = 6,
    period: Annotated[
        Optional[str],
        typer.Option("--period", "-p", help="Start with this period's first month (default: this month)."),
    ] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="Start with the month of this day.")] = None,
    until: UntilOpt = None,
    owner: OwnerOpt = None,
    pipeline: PipelineOpt = None,
    fmt: FmtOpt = None,
) -> None:
    """Show the weighted value of open deals by expected close month (close date × stage probability),
    per currency, with bars; deals whose close date has passed come first, undated ones last.

    Example: crm report forecast --months 6
    """
    from crmcli.analytics import reports
    from crmcli.output.kpi import emit_forecast

    with session(ctx) as s:
        rows = reports.forecast(s, _scope(s, period, since, until, owner, pipeline, default="month"), months)
    emit_forecast(rows, _fmt(fmt))


@app.command("owners")
def owners(
    ctx: typer.Context,
    period: PeriodOpt = None,
    since: FromOpt = None,
    until: UntilOpt = None,
    owner: OwnerOpt = None,
    pipeline: PipelineOpt = None,
    fmt: FmtOpt = None,
) -> None:
    """Show the leaderboard: per owner, deals won and their value, win rate, activities logged in the
    period, open deals and overdue follow-ups (now); ranked by won value in the config currency.

    Example: crm report owners --period month
    """
    from crmcli.analytics import reports
    from crmcli.output import Col
    from crmcli.output.kpi import _flat_money, emit_rows

    with session(ctx) as s:
        rows = reports.owners(s, _scope(s, period, since, until, owner, pipeline))
    people = [{**r, "win_rate_text": f"{r['win_rate']}%" if r["win_rate"] is not None else ""} for r in rows]
    cols = [
        Col("rank", "#", justify="right"),
        Col("owner", "Owner"),
        Col("won", "Won", justify="right"),
        Col("won_value", "Won value", justify="right"),
        Col("lost", "Lost", justify="right", drop=3),
        Col("win_rate_text" if _fmt(fmt) in ("table", "plain") else "win_rate", "Win rate", justify="right"),
        Col("activities", "Activities", justify="right", drop=2),
        Col("open_deals", "Open", justify="right", drop=4),
        Col("overdue_followups", "Overdue", justify="right", drop=1),
    ]
    emit_rows(rows, cols, _fmt(fmt), noun="owners with figures in the period",
              people_rows=_flat_money(people, ("won_value",)), title="Owners")  # fmt: skip


SEGMENT_HELP = (
    "Segments (recency = days since the last won deal, as of the end of the period or today; frequency = won "
    "deals in all): champions: bought in the last 90 days and 2+ won deals; loyal: bought in the last 180 days "
    "(not a champion); at risk: last bought 181-365 days ago; lost: longer ago."
)


@app.command(
    "customers",
    help=f"""Show customers: per company, lifetime won value, won deals, first and last purchase, days since
the last, and an RFM segment. {SEGMENT_HELP}

Example: crm report customers --format csv > customers.csv
""",
)
def customers(
    ctx: typer.Context,
    period: PeriodOpt = None,
    since: FromOpt = None,
    until: UntilOpt = None,
    owner: OwnerOpt = None,
    pipeline: PipelineOpt = None,
    fmt: FmtOpt = None,
) -> None:
    from crmcli.analytics import reports
    from crmcli.output import Col
    from crmcli.output.kpi import emit_rows

    with session(ctx) as s:
        rows = reports.customers(s, _scope(s, period, since, until, owner, pipeline))
    cols = [
        Col("company", "Company"),
        Col("segment", "Segment"),
        Col("purchases", "Won", justify="right"),
        Col("lifetime_value", "Lifetime value", justify="right"),
        Col("first_purchase", "First", kind="date", drop=3),
        Col("last_purchase", "Last", kind="date", drop=2),
        Col("days_since_last", "Days since", justify="right"),
        Col("won_in_period", "In period", justify="right", drop=1),
    ]
    emit_rows(rows, cols, _fmt(fmt), noun="customers (companies with won deals)", money_keys=("lifetime_value",),
              title="Customers")  # fmt: skip


@app.command("stalled")
def stalled(
    ctx: typer.Context,
    period: Annotated[
        Optional[str],
        typer.Option("--period", "-p", help="Only deals that went stale in this period (default: all stalled now)."),
    ] = None,
    since: FromOpt = None,
    until: UntilOpt = None,
    owner: OwnerOpt = None,
    pipeline: PipelineOpt = None,
    limit: Annotated[Optional[int], typer.Option("--limit", "-n", min=0, help="Show at most N (0: all).")] = None,
    fmt: FmtOpt = None,
) -> None:
    """Show open deals that have sat in their stage longer than its rot days, longest overdue first.

    Example: crm report stalled --owner ana
    """
    from crmcli.analytics import kpi, reports
    from crmcli.output import Col
    from crmcli.output.kpi import emit_rows
    from crmcli.values import periods

    window = periods.window(period, since, until) if (period or since or until) else None
    with session(ctx) as s:
        scope = kpi.make_scope(s, window or periods.window("month"), owner, pipeline)
        rows = reports.stalled(s, scope, window, limit or None)
    cols = [
        Col("id", "ID", justify="right"),
        Col("title", "Deal"),
        Col("stage", "Stage", drop=3),
        Col("days_in_stage", "Days", justify="right"),
        Col("days_over", "Over", justify="right"),
        Col("amount", "Amount", kind="money", justify="right", drop=2),
        Col("owner", "Owner", drop=1),
        Col("company", "Company", drop=4),
    ]
    emit_rows(rows, cols, _fmt(fmt), noun="stalled deals", title="Stalled deals (days: in stage; over: past rot days)")


@app.command("lost-reasons")
def lost_reasons(
    ctx: typer.Context,
    period: PeriodOpt = None,
    since: FromOpt = None,
    until: UntilOpt = None,
    owner: OwnerOpt = None,
    pipeline: PipelineOpt = None,
    fmt: FmtOpt = None,
) -> None:
    """Show why deals were lost in the period, most frequent first, beside the period before.

    Example: crm report lost-reasons --period year
    """
    from crmcli.analytics import reports
    from crmcli.output import Col
    from crmcli.output.kpi import _flat_money, bar, emit_rows

    with session(ctx) as s:
        rows = reports.lost_reasons_report(s, _scope(s, period, since, until, owner, pipeline))
    top = max((r["count"] for r in rows), default=0)
    people = [{**r, "bar": bar(r["count"], top, 16), "share_text": f"{r['share']}%" if r["share"] is not None else ""}
              for r in rows]  # fmt: skip
    cols = [
        Col("reason", "Reason"),
        Col("count", "Deals", justify="right"),
        Col("bar", "", drop=2),
        Col("share_text" if _fmt(fmt) in ("table", "plain") else "share", "Share", justify="right"),
        Col("value", "Value", justify="right", drop=1),
        Col("previous", "Previous", justify="right"),
    ]
    emit_rows(rows, cols, _fmt(fmt), noun="lost deals in the period", title="Lost reasons",
              people_rows=_flat_money(people, ("value",)))  # fmt: skip


@app.command("trend")
def trend(
    ctx: typer.Context,
    months: Annotated[int, typer.Option("--months", "-m", min=1, max=120, help="How many months back.")] = 12,
    period: Annotated[
        Optional[str], typer.Option("--period", "-p", help="End with this period's last month (default: this month).")
    ] = None,
    since: FromOpt = None,
    until: Annotated[Optional[str], typer.Option("--until", help="End with the month of this day.")] = None,
    owner: OwnerOpt = None,
    pipeline: PipelineOpt = None,
    fmt: FmtOpt = None,
) -> None:
    """Show month by month: deals won and their value (bars, per currency), lost, win rate, new
    contacts and activities.

    Example: crm report trend --months 12
    """
    from crmcli.analytics import reports
    from crmcli.output.kpi import emit_trend

    with session(ctx) as s:
        rows = reports.trend(s, _scope(s, period, since, until, owner, pipeline, default="month"), months)
    emit_trend(rows, _fmt(fmt))


@app.command("export")
def export(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(metavar="FILE.xlsx", help="The workbook to write.")],
    period: PeriodOpt = None,
    since: FromOpt = None,
    until: UntilOpt = None,
    owner: OwnerOpt = None,
    pipeline: PipelineOpt = None,
    months: Annotated[int, typer.Option("--months", "-m", min=1, max=60, help="Forecast months.")] = 6,
    force: ForceOpt = False,
) -> None:
    """Write every report to its own sheet of an Excel workbook, with native charts: funnel bars,
    forecast columns and a monthly won-value line (they open in Excel and LibreOffice).

    Example: crm report export kpis.xlsx --period quarter
    """
    from crmcli.exporter import workbook as xlsx
    from crmcli.output import message
    from crmcli.values import periods

    window = periods.window(period, since, until, default="quarter")
    with session(ctx) as s:
        done = xlsx.export(s, path, window, owner=owner, pipeline=pipeline, months=months, force=force)
    message(
        f"Wrote {done['path']}: {len(done['sheets'])} sheets ({', '.join(done['sheets'])}), {done['charts']} charts"
    )
