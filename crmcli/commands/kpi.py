"""crm kpi (the one-screen summary) and crm targets (goals for the KPIs)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from crmcli.commands._common import FormatOpt, QuietOpt, YesOpt, fmt_of, session

PERIOD_HELP = (
    "week, month, quarter or year: the current one, in local time; or a named one: 2026-10, 2026-Q3, 2026-W44, 2026."
)
PeriodOpt = Annotated[Optional[str], typer.Option("--period", "-p", help=PERIOD_HELP + " Default: month.")]
FromOpt = Annotated[
    Optional[str], typer.Option("--since", help="First day of a period of your own (local): 2026-11-01, 30d.")
]
UntilOpt = Annotated[Optional[str], typer.Option("--until", help="Last day of it, included (default: today).")]
OwnerOpt = Annotated[Optional[str], typer.Option("--owner", help="Only this owner's deals, activities and follow-ups.")]
PipelineOpt = Annotated[
    Optional[str], typer.Option("--pipeline", "-P", help="Only this pipeline's deals (default: all pipelines).")
]


def kpi(
    ctx: typer.Context,
    period: PeriodOpt = None,
    since: FromOpt = None,
    until: UntilOpt = None,
    owner: OwnerOpt = None,
    pipeline: PipelineOpt = None,
    fmt: FormatOpt = None,
) -> None:
    """Show the KPIs of a period beside the period before: pipeline, forecast, won and lost, win rate,
    deal size, sales cycle, stage conversion, stalled deals, activity, follow-ups, speed to lead,
    new contacts and companies, and targets (⚠ when behind pace).

    Money is summed per currency, never across currencies. Open pipeline and stalled deals are as
    at the end of the period (now, for the current one). Stage conversion counts the deals that
    entered each stage in the period. JSON has every figure and detail; plain and CSV one line per
    figure.

    Example: crm kpi --period quarter --owner ana
    """
    from crmcli.analytics import kpi as kpi_
    from crmcli.output.kpi import emit_kpi
    from crmcli.values import periods

    window = periods.window(period, since, until)
    with session(ctx) as s:
        data = kpi_.summary(s, window, owner=owner, pipeline=pipeline)
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


class TargetPeriod(str, Enum):
    month = "month"
    quarter = "quarter"
    year = "year"


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
    period: Annotated[
        TargetPeriod, typer.Option("--period", "-p", help="month, quarter or year.")
    ] = TargetPeriod.month,
    owner: Annotated[Optional[str], typer.Option("--owner", help="One owner's target (default: the team's).")] = None,
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
    emit_written(record, fmt.value if fmt else None, quiet, text)


@targets_app.command("list")
def targets_list(
    ctx: typer.Context,
    owner: Annotated[Optional[str], typer.Option("--owner", help="Only this owner's targets.")] = None,
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
