"""crm export contacts|companies|deals|activities|followups FILE: CSV, XLSX, JSON or vCard."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from crmcli.commands._common import (
    CompanyDealsOpt,
    CompanyFollowupsOpt,
    ContactFilterOpt,
    FileFmt,
    FileFormatOpt,
    ForceOpt,
    MineOpt,
    OwnerFilterOpt,
    PipelineFilterOpt,
    SinceOpt,
    TagFilterOpt,
    WhereOpt,
    owner_of,
    session,
)

app = typer.Typer(
    no_args_is_help=True,
    help="Write records to a file (CSV, XLSX, JSON or vCard) that crm import reads back; takes the list filters.",
)


FileArg = Annotated[
    str, typer.Argument(metavar="FILE", help="The file to write: .csv, .xlsx, .json or .vcf; '-' for standard output.")
]
BomOpt = Annotated[
    bool, typer.Option("--bom/--no-bom", help="Start a CSV file with a UTF-8 byte order mark (Excel needs it).")
]
LimitExportOpt = Annotated[Optional[int], typer.Option("--limit", "-n", min=0, help="Write at most N (0: all).")]


def _export(
    ctx: typer.Context, kind: str, file: str, file_format: FileFmt | None, force: bool, bom: bool, **filters: Any
) -> None:
    import sys

    from crmcli.errors import UsageError
    from crmcli.exporter import records as export
    from crmcli.output import message

    chosen = export.format_for(file, file_format.value if file_format else None)
    if chosen == "vcf" and kind != "contacts":
        raise UsageError(f"vCard holds contacts only; export {kind} as csv, xlsx or json")
    path = export.check_target(file, force=force)
    if path is None and chosen == "xlsx" and sys.stdout.isatty():
        raise UsageError("XLSX is binary: give a FILE, or redirect standard output")
    with session(ctx) as s:
        records = export.rows(s, kind, **filters)
        data = export.render(s, kind, records, chosen, bom=bom and path is not None)
    export.write(path, data, force=force)
    nouns = {"followups": ("follow-up", "follow-ups"), "activities": ("activity", "activities")}
    nouns["companies"] = ("company", "companies")
    one, many = nouns.get(kind, (kind[:-1], kind))
    noun = one if len(records) == 1 else many
    where = "standard output" if path is None else str(path)
    message(f"Exported {len(records)} {noun} to {where} ({chosen.upper()})")


@app.command("contacts")
def contacts(
    ctx: typer.Context,
    file: FileArg,
    tag: TagFilterOpt = None,
    company: Annotated[
        Optional[str], typer.Option("--company", "-c", metavar="REF", help="Only people of this company.")
    ] = None,
    owner: OwnerFilterOpt = None,
    where: WhereOpt = None,
    since: SinceOpt = None,
    sort: Annotated[
        str, typer.Option("--sort", "-s", help="name, company, created, updated or id; prefix - to reverse.")
    ] = "name",
    limit: LimitExportOpt = None,
    file_format: FileFormatOpt = None,
    force: ForceOpt = False,
    bom: BomOpt = True,
) -> None:
    """Export contacts, filtered as in crm contacts list.

    Example: crm export contacts vip.xlsx --tag vip
    """
    _export(
        ctx, "contacts", file, file_format, force, bom,
        tag=tag, company=company, owner=owner, where=where, since=since, sort=sort, limit=limit or None,
    )  # fmt: skip


@app.command("companies")
def companies(
    ctx: typer.Context,
    file: FileArg,
    tag: TagFilterOpt = None,
    owner: OwnerFilterOpt = None,
    where: WhereOpt = None,
    since: SinceOpt = None,
    sort: Annotated[
        str, typer.Option("--sort", "-s", help="name, created, updated or id; prefix - to reverse.")
    ] = "name",
    limit: LimitExportOpt = None,
    file_format: FileFormatOpt = None,
    force: ForceOpt = False,
    bom: BomOpt = True,
) -> None:
    """Export companies, filtered as in crm companies list.

    Example: crm export companies customers.csv --tag customer
    """
    _export(
        ctx, "companies", file, file_format, force, bom,
        tag=tag, owner=owner, where=where, since=since, sort=sort, limit=limit or None,
    )  # fmt: skip


@app.command("deals")
def deals(
    ctx: typer.Context,
    file: FileArg,
    stage: Annotated[Optional[str], typer.Option("--stage", "-s", help="Only deals in this stage.")] = None,
    pipeline: PipelineFilterOpt = None,
    owner: OwnerFilterOpt = None,
    open_: Annotated[bool, typer.Option("--open", help="Only open deals.")] = False,
    won: Annotated[bool, typer.Option("--won", help="Only won deals.")] = False,
    lost: Annotated[bool, typer.Option("--lost", help="Only lost deals.")] = False,
    closing_before: Annotated[
        Optional[str],
        typer.Option("--closing-before", metavar="DATE", help="Expected to close before DATE (2026-12-31, eoq)."),
    ] = None,
    contact: ContactFilterOpt = None,
    company: CompanyDealsOpt = None,
    where: WhereOpt = None,
    sort: Annotated[
        str, typer.Option("--sort", help="close, amount, title, stage, created, updated or id; prefix - to reverse.")
    ] = "close",
    limit: LimitExportOpt = None,
    file_format: FileFormatOpt = None,
    force: ForceOpt = False,
    bom: BomOpt = True,
) -> None:
    """Export deals, filtered as in crm deals list; amounts as exact numbers.

    Example: crm export deals open-deals.xlsx --open --owner ana
    """
    from crmcli.errors import UsageError

    chosen = [name for name, flag in (("open", open_), ("won", won), ("lost", lost)) if flag]
    if len(chosen) > 1:
        raise UsageError("choose one of --open, --won and --lost")
    _export(
        ctx, "deals", file, file_format, force, bom,
        stage=stage, pipeline=pipeline, owner=owner, status=chosen[0] if chosen else None,
        closing_before=closing_before, contact=contact, company=company, where=where, sort=sort,
        limit=limit or None,
    )  # fmt: skip


@app.command("activities")
def activities(
    ctx: typer.Context,
    file: FileArg,
    contact: Annotated[Optional[str], typer.Option("--contact", help="Only this contact's (REF).")] = None,
    company: Annotated[Optional[str], typer.Option("--company", help="Only this company's and its people's.")] = None,
    deal: Annotated[Optional[str], typer.Option("--deal", help="Only this deal's (id or title).")] = None,
    type_: Annotated[Optional[str], typer.Option("--type", help="call, email, meeting or note.")] = None,
    by: Annotated[Optional[str], typer.Option("--by", help="Only those logged by this user.")] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="At or after WHEN (2026-11-01, 7d).")] = None,
    limit: LimitExportOpt = None,
    file_format: FileFormatOpt = None,
    force: ForceOpt = False,
    bom: BomOpt = True,
) -> None:
    """Export the activity log, oldest first, naming each activity's contact, company and deal.

    Example: crm export activities calls.csv --type call --since 30d
    """
    _export(
        ctx, "activities", file, file_format, force, bom,
        contact=contact, company=company, deal=deal, type=type_, by=by, since=since, limit=limit or None,
    )  # fmt: skip


@app.command("followups")
def followups(
    ctx: typer.Context,
    file: FileArg,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only those due before today.")] = False,
    today: Annotated[bool, typer.Option("--today", help="Only those due today.")] = False,
    upcoming: Annotated[
        Optional[str], typer.Option("--upcoming", metavar="SPAN", help="Today and the next SPAN: 7d, 2w.")
    ] = None,
    owner: OwnerFilterOpt = None,
    mine: MineOpt = False,
    cadence: Annotated[
        bool, typer.Option("--cadence/--no-cadence", help="Include keep-in-touch cadence follow-ups (c12).")
    ] = True,
    contact: ContactFilterOpt = None,
    company: CompanyFollowupsOpt = None,
    limit: LimitExportOpt = None,
    file_format: FileFormatOpt = None,
    force: ForceOpt = False,
    bom: BomOpt = True,
) -> None:
    """Export open follow-ups (all of them unless --overdue, --today or --upcoming narrows it).

    Example: crm export followups mine.xlsx --mine --upcoming 14d
    """
    from crmcli.domain import followups as domain
    from crmcli.errors import UsageError

    chosen = [name for name, on in (("overdue", overdue), ("today", today)) if on]
    if upcoming is not None:
        chosen.append("upcoming")
    if len(chosen) > 1:
        raise UsageError("give one of --overdue, --today, --upcoming")
    days = (domain.parse_cadence(upcoming) or 0) if upcoming is not None else 7
    _export(
        ctx, "followups", file, file_format, force, bom,
        window=chosen[0] if chosen else "all", days=days, owner=owner_of(owner, mine, ctx), cadence=cadence,
        contact=contact, company=company, limit=limit or None,
    )  # fmt: skip
