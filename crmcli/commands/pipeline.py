"""crm pipeline: pipelines, their stages and rules, and the board."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from crmcli.commands._common import FormatOpt, OwnerFilterOpt, PipelineOpt, QuietOpt, YesOpt, fmt_of, session

app = typer.Typer(no_args_is_help=True, help="Pipelines: stages, rules and the board.")
stage_app = typer.Typer(no_args_is_help=True, help="Stages of a pipeline: add, edit, rename, move, rm.")
app.add_typer(stage_app, name="stage")

StageArg = Annotated[str, typer.Argument(help="Stage name.")]


class Kind(str, Enum):
    open = "open"
    won = "won"
    lost = "lost"


def _stage_cols() -> list:
    from crmcli.output import Col

    return [
        Col("position", "#", justify="right"),
        Col("name", "Stage"),
        Col("kind", "Kind"),
        Col("probability", "Prob %", justify="right"),
        Col("rot_days", "Rot days", justify="right", drop=2),
        Col("required", "Requires", drop=3),
        Col("on_enter", "On enter", drop=1),
        Col("deals", "Deals", justify="right"),
    ]


@app.command("board")
def board(
    ctx: typer.Context,
    pipeline: PipelineOpt = None,
    owner: OwnerFilterOpt = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=0, help="Deals shown per stage, biggest first (0: all).")
    ] = 8,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Show the open deals by stage: counts, totals, weighted values, and stalled deals flagged.

    Example: crm pipeline board --owner ana
    """
    from crmcli.domain import deals
    from crmcli.output import emit_board

    with session(ctx) as s:
        data = deals.board(s, pipeline=pipeline, owner=owner, per_stage=limit or None)
    emit_board(data, fmt_of(fmt, quiet))


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOpt = None, quiet: QuietOpt = False) -> None:
    """List pipelines with their stages.

    Example: crm pipeline list
    """
    from crmcli.domain import pipeline
    from crmcli.output import Col, emit_list

    with session(ctx) as s:
        rows = pipeline.list_pipelines(s)
    cols = [
        Col("id", "ID", justify="right"),
        Col("name", "Pipeline"),
        Col("stages", "Stages"),
        Col("open_deals", "Open deals"),
    ]
    emit_list(rows, cols, fmt_of(fmt, quiet), noun="pipelines")


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Pipeline name, e.g. Renewals.")],
    copy_from: Annotated[
        Optional[str], typer.Option("--copy-from", help="Copy the stages and rules of this pipeline.")
    ] = None,
) -> None:
    """Add a pipeline (default stages, or a copy of another's).

    Example: crm pipeline add Renewals --copy-from Sales
    """
    from crmcli.domain import pipeline
    from crmcli.output import message

    with session(ctx, write=True) as s:
        created = pipeline.add_pipeline(s, name=name, copy_from=copy_from)
        names = ", ".join(st.name for st in pipeline.stages(s, created))
    message(f"Added pipeline #{created.id} {created.name}: {names}")


@app.command("stages")
def stages(ctx: typer.Context, pipeline: PipelineOpt = None, fmt: FormatOpt = None, quiet: QuietOpt = False) -> None:
    """List a pipeline's stages with probabilities, rot days, rules and deal counts.

    Example: crm pipeline stages --pipeline Sales
    """
    from crmcli.domain import pipeline as pipeline_
    from crmcli.output import emit_list

    with session(ctx) as s:
        rows = pipeline_.stage_table(s, pipeline_.get_pipeline(s, pipeline))
    emit_list(rows, _stage_cols(), fmt_of(fmt, quiet), noun="stages")


@stage_app.command("add")
def stage_add(
    ctx: typer.Context,
    name: StageArg,
    probability: Annotated[int, typer.Option("--probability", help="Chance to win from here, in percent.")],
    rot_days: Annotated[Optional[int], typer.Option("--rot-days", min=0, help="Flag deals idle here longer.")] = None,
    after: Annotated[
        Optional[str], typer.Option("--after", help="Place after this stage (default: last open).")
    ] = None,
    kind: Annotated[Kind, typer.Option("--kind", help="open, won or lost.")] = Kind.open,
    pipeline: PipelineOpt = None,
) -> None:
    """Add a stage.

    Example: crm pipeline stage add Demo --probability 40 --rot-days 14 --after Qualified
    """
    from crmcli.domain import pipeline as pipeline_
    from crmcli.output import message

    with session(ctx, write=True) as s:
        p = pipeline_.get_pipeline(s, pipeline)
        stage = pipeline_.add_stage(
            s, p, name=name, probability=probability, rot_days=rot_days, after=after, kind=kind.value
        )
        order = " → ".join(st.name for st in pipeline_.stages(s, p))
    message(f"Added stage {stage.name} to {p.name}: {order}")


@stage_app.command("edit")
def stage_edit(
    ctx: typer.Context,
    name: StageArg,
    probability: Annotated[Optional[int], typer.Option("--probability", help="Chance to win, in percent.")] = None,
    rot_days: Annotated[
        Optional[int], typer.Option("--rot-days", min=0, help="Idle days before a deal is flagged (0: never).")
    ] = None,
    require: Annotated[
        Optional[str],
        typer.Option("--require", help="Fields a deal needs to enter, e.g. amount,close_date,contact ('' clears)."),
    ] = None,
    on_enter: Annotated[
        Optional[str],
        typer.Option("--on-enter", help="Follow-up made on entering, e.g. '3d: chase the proposal' ('' clears)."),
    ] = None,
    pipeline: PipelineOpt = None,
) -> None:
    """Change a stage's probability, rot days and rules.

    Example: crm pipeline stage edit Proposal --require amount,close_date,contact --on-enter "3d: chase the proposal"
    """
    from crmcli.domain import pipeline as pipeline_
    from crmcli.output import message
    from crmcli.values.normalize import split_multi

    with session(ctx, write=True) as s:
        stage = pipeline_.resolve_stage(s, pipeline_.get_pipeline(s, pipeline), name)
        pipeline_.edit_stage(
            s,
            stage,
            probability=probability,
            rot_days=rot_days,
            require=split_multi([require]) if require is not None else None,
            on_enter=on_enter,
        )
        rules = [f"{stage.probability}%"]
        if stage.rot_days:
            rules.append(f"rots after {stage.rot_days}d")
        if stage.required:
            rules.append("requires " + ", ".join(stage.required))
        if stage.on_enter:
            rules.append(f"on enter: {stage.on_enter}")
    message(f"Stage {stage.name}: " + "; ".join(rules))


@stage_app.command("rename")
def stage_rename(
    ctx: typer.Context,
    name: StageArg,
    new_name: Annotated[str, typer.Argument(help="New name.")],
    pipeline: PipelineOpt = None,
) -> None:
    """Rename a stage (the history keeps the name a deal saw).

    Example: crm pipeline stage rename Negotiation Contract
    """
    from crmcli.domain import pipeline as pipeline_
    from crmcli.output import message

    with session(ctx, write=True) as s:
        stage = pipeline_.resolve_stage(s, pipeline_.get_pipeline(s, pipeline), name)
        old = stage.name
        pipeline_.rename_stage(s, stage, new_name)
    message(f"Renamed stage {old} to {stage.name}")


@stage_app.command("move")
def stage_move(
    ctx: typer.Context,
    name: StageArg,
    after: Annotated[str, typer.Option("--after", help="The stage to follow ('start' for first).")],
    pipeline: PipelineOpt = None,
) -> None:
    """Move a stage to another place in the pipeline.

    Example: crm pipeline stage move Demo --after Proposal
    """
    from crmcli.domain import pipeline as pipeline_
    from crmcli.output import message

    with session(ctx, write=True) as s:
        p = pipeline_.get_pipeline(s, pipeline)
        pipeline_.move_stage(s, pipeline_.resolve_stage(s, p, name), after=after)
        order = " → ".join(st.name for st in pipeline_.stages(s, p))
    message(f"{p.name}: {order}")


@stage_app.command("rm")
def stage_rm(
    ctx: typer.Context,
    name: StageArg,
    move_deals_to: Annotated[Optional[str], typer.Option("--move-deals-to", help="Where the stage's deals go.")] = None,
    pipeline: PipelineOpt = None,
    yes: YesOpt = False,
) -> None:
    """Remove a stage; deals sitting there need --move-deals-to.

    Example: crm pipeline stage rm Demo --move-deals-to Proposal --yes
    """
    from crmcli.commands._prompts import Cancelled, confirm
    from crmcli.domain import deals, settings
    from crmcli.domain import pipeline as pipeline_
    from crmcli.output import message

    with session(ctx, write=True) as s:
        p = pipeline_.get_pipeline(s, pipeline)
        stage = pipeline_.resolve_stage(s, p, name)
        if not confirm(f"Remove stage {stage.name} of {p.name}?", assume_yes=yes):
            raise Cancelled("nothing removed")
        moved = deals.remove_stage(s, stage, move_deals_to=move_deals_to, by=settings.current_user())
    message(f"Removed stage {stage.name}" + (f"; {moved} deals moved to {move_deals_to}" if moved else ""))
