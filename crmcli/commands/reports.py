"""crm report: funnel, forecast, owners, customers, stalled, lost-reasons, trend, and export to Excel."""

from __future__ import annotations

from typing import Annotated

import typer

from crmcli.commands._common import (
    FiguresFormatOpt,
    ForceOpt,
    LimitOpt,
    OwnerFilterOpt,
    PeriodOpt,
    PeriodSinceOpt,
    PeriodUntilOpt,
    PipelineFilterOpt,
    PipelineOpt,
    fmt_of,
    session,
)

app = typer.Typer(
    no_args_is_help=True,
    help="Reports: funnel, forecast, owners, customers, stalled, lost-reasons, trend; export all to Excel. "
    "Each takes --period (default: the current quarter) or --since/--until, --owner, --pipeline and --format.",
)


def _scope(s, period, since, until, owner, pipeline, default: str = "quarter"):  # noqa: ANN001, ANN202
    from crmcli.analytics import kpi
    from crmcli.values import periods

    return kpi.make_scope(s, periods.window(period, since, until, default=default), owner, pipeline)


@app.command("funnel")
def funnel(
    ctx: typer.Context,
    period: PeriodOpt = None,
    since: PeriodSinceOpt = None,
    until: PeriodUntilOpt = None,
    owner: OwnerFilterOpt = None,
    pipeline: PipelineOpt = None,
    fmt: FiguresFormatOpt = None,
) -> None:
    """Show the funnel: the deals that entered each stage in the period, drawn as bars, and the
    shares of them that moved on to a later stage and that were won (from the stage history).

    A stage removed since still shows, by the name the history kept. The period is the current
    quarter unless --period or --since/--until names another.

    Example: crm report funnel --period year
    """
    from crmcli.analytics import reports
    from crmcli.output.kpi import emit_funnel

    with session(ctx) as s:
        data = reports.funnel(s, _scope(s, period, since, until, owner, pipeline))
    emit_funnel(data, fmt_of(fmt))


@app.command("forecast")
def forecast(
    ctx: typer.Context,
    months: Annotated[int, typer.Option("--months", "-m", min=1, max=60, help="How many months ahead.")] = 6,
    period: PeriodOpt = None,
    since: PeriodSinceOpt = None,
    until: PeriodUntilOpt = None,
    owner: OwnerFilterOpt = None,
    pipeline: PipelineFilterOpt = None,
    fmt: FiguresFormatOpt = None,
) -> None:
    """Show the weighted value of open deals by expected close month (close date × stage probability),
    per currency, with bars; deals whose close date has passed come first, undated ones last.

    The months start with the first month of the period (default: this month); with --since, the
    month of that day.

    Example: crm report forecast --months 6
    """
    from crmcli.analytics import reports
    from crmcli.output.kpi import emit_forecast

    with session(ctx) as s:
        rows = reports.forecast(s, _scope(s, period, since, until, owner, pipeline, default="month"), months)
    emit_forecast(rows, fmt_of(fmt))


@app.command("owners")
def owners(
    ctx: typer.Context,
    period: PeriodOpt = None,
    since: PeriodSinceOpt = None,
    until: PeriodUntilOpt = None,
    owner: OwnerFilterOpt = None,
    pipeline: PipelineFilterOpt = None,
    fmt: FiguresFormatOpt = None,
) -> None:
    """Show the leaderboard: per owner, deals won and their value, win rate, activities logged in the
    period, open deals and overdue follow-ups (now); ranked by won value in the config currency.
    The period is the current quarter unless --period or --since/--until names another.

    Example: crm report owners --period month
    """
    from crmcli.analytics import reports
    from crmcli.output import Col
    from crmcli.output.kpi import emit_rows, flat_money

    with session(ctx) as s:
        rows = reports.owners(s, _scope(s, period, since, until, owner, pipeline))
    people = [{**r, "win_rate_text": f"{r['win_rate']}%" if r["win_rate"] is not None else ""} for r in rows]
    cols = [
        Col("rank", "#", justify="right"),
        Col("owner", "Owner"),
        Col("won", "Won", justify="right"),
        Col("won_value", "Won value", justify="right"),
        Col("lost", "Lost", justify="right", drop=3),
        Col("win_rate_text" if fmt_of(fmt) in ("table", "plain") else "win_rate", "Win rate", justify="right"),
        Col("activities", "Activities", justify="right", drop=2),
        Col("open_deals", "Open", justify="right", drop=4),
        Col("overdue_followups", "Overdue", justify="right", drop=1),
    ]
    emit_rows(rows, cols, fmt_of(fmt), noun="owners with figures in the period",
              people_rows=flat_money(people, ("won_value",)), title="Owners")  # fmt: skip


SEGMENT_HELP = (
    "Segments (recency = days since the last won deal, as of the end of the period or today; frequency = won "
    "deals in all): champions: bought in the last 90 days and 2+ won deals; loyal: bought in the last 180 days "
    "(not a champion); at risk: last bought 181-365 days ago; lost: longer ago."
)


@app.command(
    "customers",
    help=f"""Show customers: per company, lifetime won value, won deals, first and last purchase, days since
the last, and an RFM segment. {SEGMENT_HELP} The period is the current quarter unless --period or
--since/--until names another.

Example: crm report customers --format csv > customers.csv
""",
)
def customers(
    ctx: typer.Context,
    period: PeriodOpt = None,
    since: PeriodSinceOpt = None,
    until: PeriodUntilOpt = None,
    owner: OwnerFilterOpt = None,
    pipeline: PipelineFilterOpt = None,
    fmt: FiguresFormatOpt = None,
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
    emit_rows(rows, cols, fmt_of(fmt), noun="customers (companies with won deals)", money_keys=("lifetime_value",),
              title="Customers")  # fmt: skip


@app.command("stalled")
def stalled(
    ctx: typer.Context,
    period: PeriodOpt = None,
    since: PeriodSinceOpt = None,
    until: PeriodUntilOpt = None,
    owner: OwnerFilterOpt = None,
    pipeline: PipelineFilterOpt = None,
    limit: LimitOpt = None,
    fmt: FiguresFormatOpt = None,
) -> None:
    """Show open deals that have sat in their stage longer than its rot days, longest overdue first.

    All those stalled now, unless a period (--period or --since/--until) is given: then only the
    deals that went stale in it.

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
    title = "Stalled deals (days: in stage; over: past rot days)"
    emit_rows(rows, cols, fmt_of(fmt), noun="stalled deals", title=title)


@app.command("lost-reasons")
def lost_reasons(
    ctx: typer.Context,
    period: PeriodOpt = None,
    since: PeriodSinceOpt = None,
    until: PeriodUntilOpt = None,
    owner: OwnerFilterOpt = None,
    pipeline: PipelineFilterOpt = None,
    fmt: FiguresFormatOpt = None,
) -> None:
    """Show why deals were lost in the period, most frequent first, beside the period before.
    The period is the current quarter unless --period or --since/--until names another.

    Example: crm report lost-reasons --period year
    """
    from crmcli.analytics import reports
    from crmcli.output import Col
    from crmcli.output.kpi import bar, emit_rows, flat_money

    with session(ctx) as s:
        rows = reports.lost_reasons_report(s, _scope(s, period, since, until, owner, pipeline))
    top = max((r["count"] for r in rows), default=0)
    people = [{**r, "bar": bar(r["count"], top, 16), "share_text": f"{r['share']}%" if r["share"] is not None else ""}
              for r in rows]  # fmt: skip
    cols = [
        Col("reason", "Reason"),
        Col("count", "Deals", justify="right"),
        Col("bar", "", drop=2),
        Col("share_text" if fmt_of(fmt) in ("table", "plain") else "share", "Share", justify="right"),
        Col("value", "Value", justify="right", drop=1),
        Col("previous", "Previous", justify="right"),
    ]
    emit_rows(rows, cols, fmt_of(fmt), noun="lost deals in the period", title="Lost reasons",
              people_rows=flat_money(people, ("value",)))  # fmt: skip


@app.command("trend")
def trend(
    ctx: typer.Context,
    months: Annotated[int, typer.Option("--months", "-m", min=1, max=120, help="How many months back.")] = 12,
    period: PeriodOpt = None,
    since: PeriodSinceOpt = None,
    until: PeriodUntilOpt = None,
    owner: OwnerFilterOpt = None,
    pipeline: PipelineFilterOpt = None,
    fmt: FiguresFormatOpt = None,
) -> None:
    """Show month by month: deals won and their value (bars, per currency), lost, win rate, new
    contacts and activities.

    The months end with the last month of the period (default: this month); with --until, the
    month of that day.

    Example: crm report trend --months 12
    """
    from crmcli.analytics import reports
    from crmcli.output.kpi import emit_trend

    with session(ctx) as s:
        rows = reports.trend(s, _scope(s, period, since, until, owner, pipeline, default="month"), months)
    emit_trend(rows, fmt_of(fmt))


@app.command("export")
def export(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(metavar="FILE.xlsx", help="The workbook to write.")],
    period: PeriodOpt = None,
    since: PeriodSinceOpt = None,
    until: PeriodUntilOpt = None,
    owner: OwnerFilterOpt = None,
    pipeline: PipelineFilterOpt = None,
    months: Annotated[int, typer.Option("--months", "-m", min=1, max=60, help="Forecast months.")] = 6,
    force: ForceOpt = False,
) -> None:
    """Write every report to its own sheet of an Excel workbook, with native charts: funnel bars,
    forecast columns and a monthly won-value line (they open in Excel and LibreOffice).
    The period is the current quarter unless --period or --since/--until names another.

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
