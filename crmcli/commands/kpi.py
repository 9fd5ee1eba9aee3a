"""crm kpi (the one-screen summary) and crm targets (goals for the KPIs)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from crmcli.commands._common import (
    FiguresFormatOpt,
    FormatOpt,
    OwnerFilterOpt,
    PeriodOpt,
    PeriodSinceOpt,
    PeriodUntilOpt,
    PipelineFilterOpt,
    QuietOpt,
    TargetOwnerOpt,
    TargetPeriod,
    TargetPeriodOpt,
    YesOpt,
    fmt_of,
    session,
)


def kpi(
    ctx: typer.Context,
    period: PeriodOpt = None,
    since: PeriodSinceOpt = None,
    until: PeriodUntilOpt = None,
    owner: OwnerFilterOpt = None,
    pipeline: PipelineFilterOpt = None,
    fmt: FiguresFormatOpt = None,
) -> None:
    """Show the KPIs of a period beside the period before: pipeline, forecast, won and lost, win rate,
    deal size, sales cycle, stage conversion, stalled deals, activity, follow-ups, speed to lead,
    new contacts and companies, and targets (⚠ when behind pace).

    The period is the current month unless --period or --since/--until names another; --owner
    narrows every figure to one owner's deals, activities (logged by them) and follow-ups.
    Money is summed per currency, never across currencies. Open pipeline and stalled deals are as
    at the end of the period (now, for the current one). Stage conversion counts the deals that
    entered each stage in the period. JSON has every figure and detail; plain and CSV one line per
    figure.

    Example: crm kpi --period quarter --owner ana
    """
    from crmcli.analytics.summary import kpi_summary
    from crmcli.output.kpi import emit_kpi
    from crmcli.values import periods

    window = periods.window(period, since, until)
    with session(ctx) as s:
        data = kpi_summary(s, window, owner=owner, pipeline=pipeline)
    emit_kpi(data, fmt_of(fmt))


# ---------------------------------------------------------------- targets

targets_app = typer.Typer(no_args_is_help=True, help="Targets for the KPIs: set, list, rm. crm kpi shows attainment.")


class Metric(str, Enum):
    won_value = "won_value"
    won_count = "won_count"
    win_rate = "win_rate"
    new_contacts = "new_contacts"
    activities = "activities"
    speed_to_lead_hours = "speed_to_lead_hours"
    cycle_days = "cycle_days"


def _target_cols() -> list:
    from crmcli.output import Col

    return [
        Col("id", "ID", justify="right"),
        Col("metric", "Metric"),
        Col("goal", "Target", justify="right"),
        Col("period", "Period"),
        Col("who", "For"),
    ]


def _shown(record: dict) -> dict:
    from crmcli.output.kpi import value_text

    return {**record, "goal": value_text(record["unit"], record["value"], record["currency"]),
            "who": record["owner"] or "team"}  # fmt: skip


@targets_app.command("set")
def targets_set(
    ctx: typer.Context,
    metric: Annotated[
        Metric,
        typer.Argument(
            help="won_value, won_count, win_rate (percent), new_contacts, activities, speed_to_lead_hours "
            "(median, lower is better) or cycle_days (median days to win, lower is better).",
            case_sensitive=False,
        ),
    ],
    value: Annotated[str, typer.Argument(help="The goal: 50000 (money), 12 (count), 30 (percent), 24 (hours).")],
    period: TargetPeriodOpt = TargetPeriod.month,
    owner: TargetOwnerOpt = None,
    currency: Annotated[
        Optional[str], typer.Option("--currency", help="For won_value: ISO 4217 (default: config currency).")
    ] = None,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Set a target for a KPI over a month, quarter or year (replacing the same one set before).

    Example: crm targets set won_value 50000 --period month --owner ana
    """
    from crmcli.analytics import targets
    from crmcli.output import emit_written

    with session(ctx, write=True) as s:
        target, created = targets.set_target(
            s, metric=metric.value, value=value, period=period.value, owner=owner, currency=currency
        )
        record = _shown(targets.target_record(target))
    verb = "Set" if created else "Changed"
    text = (
        f"{verb} target #{record['id']}: {record['metric']} {record['goal']} per {record['period']} for {record['who']}"
    )
    emit_written(record, fmt_of(fmt, quiet), text)


@targets_app.command("list")
def targets_list(
    ctx: typer.Context,
    owner: OwnerFilterOpt = None,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """List the targets.

    Example: crm targets list --format json
    """
    from crmcli.analytics import targets
    from crmcli.output import emit_list

    with session(ctx) as s:
        rows = [_shown(r) for r in targets.list_targets(s, owner=owner)]
    emit_list(rows, _target_cols(), fmt_of(fmt, quiet), noun="targets (set one: crm targets set won_count 10)")


@targets_app.command("rm")
def targets_rm(
    ctx: typer.Context,
    target_id: Annotated[str, typer.Argument(metavar="ID", help="Target id (crm targets list).")],
    yes: YesOpt = False,
) -> None:
    """Remove a target.

    Example: crm targets rm 3 --yes
    """
    from crmcli.analytics import targets
    from crmcli.commands._prompts import Cancelled, confirm
    from crmcli.output import message

    with session(ctx, write=True) as s:
        record = _shown(targets.target_record(targets.get_target(s, target_id)))
        question = f"Remove target #{record['id']} ({record['metric']} {record['goal']} for {record['who']})?"
        if not confirm(question, assume_yes=yes):
            raise Cancelled("cancelled: nothing removed")
        targets.remove_target(s, target_id)
    message(f"Removed target #{record['id']}: {record['metric']} {record['goal']} per {record['period']}")
