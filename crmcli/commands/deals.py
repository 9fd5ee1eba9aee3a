"""crm deals: add, list, show, edit, rm, and move through the pipeline (move, won, lost, reopen)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from crmcli.commands._common import (
    CompanyDealsOpt,
    ContactFilterOpt,
    FieldOpt,
    Fmt,
    FormatOpt,
    LimitOpt,
    NewOwnerOpt,
    OwnerFilterOpt,
    OwnerOpt,
    PipelineFilterOpt,
    PipelineOpt,
    PrivateOpt,
    QuietOpt,
    WhereOpt,
    YesOpt,
    fmt_of,
    session,
)

app = typer.Typer(no_args_is_help=True, help="Deals: add, list, show, edit, and move them through stages.")

RefArg = Annotated[str, typer.Argument(help="Deal id, title or a unique part of it (see REF in the README).")]


def list_cols() -> list:
    from crmcli.output import Col

    return [
        Col("id", "ID", justify="right"),
        Col("title", "Deal"),
        Col("stage", "Stage", drop=3),
        Col("amount", "Amount", kind="money", justify="right"),
        Col("company", "Company", drop=2),
        Col("close_date", "Close", drop=4),
        Col("owner", "Owner", drop=5),
        Col("days_in_stage", "Days", justify="right", drop=6),
    ]


def _written(record: dict, fmt: Fmt | None, quiet: bool, text: str) -> None:
    from crmcli.output import emit_written

    emit_written(record, fmt_of(fmt, quiet), text)


@app.command("add")
def add(
    ctx: typer.Context,
    title: Annotated[
        Optional[str], typer.Argument(help="What is being sold (asked for on a terminal when left out).")
    ] = None,
    contact: Annotated[Optional[str], typer.Option("--contact", "-c", help="Contact REF: id, email or name.")] = None,
    company: Annotated[Optional[str], typer.Option("--company", help="Company REF (default: the contact's).")] = None,
    amount: Annotated[Optional[str], typer.Option("--amount", "-a", help="Value, e.g. 12000 or 1999.99.")] = None,
    currency: Annotated[Optional[str], typer.Option("--currency", help="ISO 4217 (default: config currency).")] = None,
    stage: Annotated[Optional[str], typer.Option("--stage", "-s", help="Stage (default: the first).")] = None,
    pipeline: PipelineOpt = None,
    close: Annotated[
        Optional[str], typer.Option("--close", help="Expected close date: 2026-12-31, 'in 3 weeks', eom.")
    ] = None,
    owner: OwnerOpt = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Where the deal came from.")] = None,
    notes: Annotated[Optional[str], typer.Option("--notes", help="Free text.")] = None,
    field: FieldOpt = None,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
    private: PrivateOpt = None,
) -> None:
    """Add a deal.

    Example: crm deals add "Nordlicht 2027" -c anna.muller@nordlicht.de --amount 12000 --currency EUR --close 2027-01-31
    """
    from crmcli.commands._prompts import ask_text
    from crmcli.domain import deals, fields, settings, views

    title = ask_text("Deal title", title, option="argument TITLE")
    with session(ctx, write=True) as s:
        user = settings.current_user()  # inside: on PostgreSQL the database role of this session
        deal = deals.add_deal(
            s, title=title, contact=contact, company=company, amount=amount, currency=currency, stage=stage,
            pipeline=pipeline, close_date=close, owner=owner, default_owner=user, source=source, notes=notes,
            custom=fields.parse_assignments(field), by=user,
            private=bool(private),
        )  # fmt: skip
        record = views.deal_view(s, deal, timeline_limit=0)
    _written(record, fmt, quiet, f"Added deal #{deal.id}: {deal.title}")


@app.command("list")
def list_(
    ctx: typer.Context,
    stage: Annotated[
        Optional[str], typer.Option("--stage", "-s", help="Only deals in this stage (of --pipeline, else the first).")
    ] = None,
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
    limit: LimitOpt = None,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """List deals, filtered and sorted (by expected close date unless --sort says otherwise).

    Example: crm deals list --open --owner ana --closing-before 2026-12-31 --sort -amount
    """
    from crmcli.domain import deals
    from crmcli.errors import UsageError
    from crmcli.output import emit_list

    chosen = [name for name, flag in (("open", open_), ("won", won), ("lost", lost)) if flag]
    if len(chosen) > 1:
        raise UsageError("choose one of --open, --won and --lost")
    with session(ctx) as s:
        rows = deals.list_deals(
            s, stage=stage, pipeline=pipeline, owner=owner, status=chosen[0] if chosen else None,
            closing_before=closing_before, contact=contact, company=company, where=where, sort=sort,
            limit=limit or None,
        )  # fmt: skip
    emit_list(rows, list_cols(), fmt_of(fmt, quiet), noun="deals")


@app.command("show")
def show(
    ctx: typer.Context,
    ref: RefArg,
    timeline: Annotated[int, typer.Option("--timeline", min=0, help="Show the N latest activities (0: all).")] = 20,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Show a deal: details, contact, company, stage history with days in each, activities, follow-ups.

    Example: crm deals show "Acme – Renewal"
    """
    from crmcli.domain import lookup, views
    from crmcli.output import Col, Section, emit_record

    with session(ctx) as s:
        record = views.deal_view(s, lookup.resolve_deal(s, ref), timeline_limit=timeline or None)
    cols = [
        Col("id", "ID"), Col("title", "Deal"), Col("pipeline", "Pipeline"), Col("stage", "Stage"),
        Col("status", "Status"), Col("days_in_stage", "Days in stage"), Col("stalled", "Stalled"),
        Col("amount", "Amount", kind="money"), Col("probability", "Probability %"),
        Col("weighted", "Weighted", kind="money"), Col("contact", "Contact"), Col("company", "Company"),
        Col("close_date", "Close"), Col("owner", "Owner"), Col("source", "Source"), Col("lost_reason", "Lost because"),
        Col("closed_at", "Closed", kind="time"), Col("custom", "Fields"), Col("notes", "Notes"),
        Col("created_at", "Created", kind="time"),
    ]  # fmt: skip
    history_cols = [
        Col("at", "When", kind="time"), Col("from", "From"), Col("to", "To"), Col("days", "Days", justify="right"),
        Col("by", "By", drop=1),
    ]  # fmt: skip
    activity_cols = [
        Col("at", "When", kind="time"), Col("type", "Type"), Col("text", "What", wrap=True), Col("by", "By", drop=1),
    ]  # fmt: skip
    followup_cols = [
        Col("due_at", "Due", kind="time"), Col("relative", "When"), Col("note", "Note", wrap=True),
        Col("owner", "Owner", drop=1),
    ]  # fmt: skip
    sections = [
        Section("Stage history", "history", history_cols),
        Section(f"Activity ({record['activity_count']})", "activities", activity_cols, empty="none yet"),
        Section("Open follow-ups", "followups", followup_cols, empty="none"),
    ]
    emit_record(record, cols, fmt_of(fmt, quiet), sections)


@app.command("edit")
def edit(
    ctx: typer.Context,
    ref: RefArg,
    title: Annotated[Optional[str], typer.Option("--title", help="New title.")] = None,
    contact: Annotated[Optional[str], typer.Option("--contact", "-c", help="Contact REF ('' clears).")] = None,
    company: Annotated[Optional[str], typer.Option("--company", help="Company REF ('' clears).")] = None,
    amount: Annotated[Optional[str], typer.Option("--amount", "-a", help="Value ('' clears).")] = None,
    currency: Annotated[Optional[str], typer.Option("--currency", help="ISO 4217 code.")] = None,
    close: Annotated[Optional[str], typer.Option("--close", help="Expected close date, as add ('' clears).")] = None,
    owner: NewOwnerOpt = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Source ('' clears).")] = None,
    notes: Annotated[Optional[str], typer.Option("--notes", help="Notes ('' clears).")] = None,
    field: Annotated[Optional[list[str]], typer.Option("--field", "-F", help="Set KEY=VALUE; KEY= removes.")] = None,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
    private: PrivateOpt = None,
) -> None:
    """Change a deal; options not given stay as they are (use move/won/lost/reopen for the stage).

    Example: crm deals edit 12 --amount 15000 --close 2027-01-15
    """
    from crmcli.domain import deals, fields, lookup, views

    with session(ctx, write=True) as s:
        deal = deals.edit_deal(
            s, lookup.resolve_deal(s, ref), title=title, contact=contact, company=company, amount=amount,
            currency=currency, close_date=close, owner=owner, source=source, notes=notes,
            custom=fields.parse_assignments(field),
            private=private,
        )  # fmt: skip
        record = views.deal_view(s, deal, timeline_limit=0)
    _written(record, fmt, quiet, f"Updated deal #{deal.id}: {deal.title}")


@app.command("rm")
def rm(
    ctx: typer.Context, refs: Annotated[list[str], typer.Argument(help="Deal ids or titles.")], yes: YesOpt = False
) -> None:
    """Remove deals with their history, activities and follow-ups.

    Example: crm deals rm 12 --yes
    """
    from crmcli.commands._prompts import Cancelled, confirm
    from crmcli.domain import deals, lookup
    from crmcli.output import message

    with session(ctx, write=True) as s:
        targets = [lookup.resolve_deal(s, ref) for ref in refs]
        names = ", ".join(f"#{d.id} {d.title}" for d in targets)
        if not confirm(f"Remove {names}?", assume_yes=yes):
            raise Cancelled("nothing removed")
        for deal in targets:
            deals.remove_deal(s, deal)
    message(f"Removed {names}")


def _moved(ctx: typer.Context, ref: str, action, fmt, quiet: bool) -> None:
    """Run ACTION(session, deal, user) in one transaction and report the move."""
    from crmcli.domain import lookup, settings, views

    with session(ctx, write=True) as s:
        deal = lookup.resolve_deal(s, ref)
        change = action(s, deal, settings.current_user())
        record = views.deal_view(s, deal, timeline_limit=0)
    _written(record, fmt, quiet, f"Deal #{deal.id} {deal.title}: {change.from_stage or '—'} → {change.to_stage}")


@app.command("move")
def move(
    ctx: typer.Context,
    ref: RefArg,
    stage: Annotated[str, typer.Argument(help="Target stage.")],
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Move a deal to another stage (refused while the stage's required fields are missing).

    Example: crm deals move "Acme renewal" Proposal
    """
    from crmcli.domain import deals

    _moved(ctx, ref, lambda s, deal, user: deals.move_deal(s, deal, stage, by=user), fmt, quiet)


@app.command("won")
def won(ctx: typer.Context, ref: RefArg, fmt: FormatOpt = None, quiet: QuietOpt = False) -> None:
    """Mark a deal won.

    Example: crm deals won 117
    """
    from crmcli.domain import deals

    _moved(ctx, ref, lambda s, deal, user: deals.win(s, deal, by=user), fmt, quiet)


@app.command("lost")
def lost(
    ctx: typer.Context,
    ref: RefArg,
    reason: Annotated[
        Optional[str], typer.Option("--reason", "-r", help="Why it was lost (price, timing, competitor…).")
    ] = None,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Mark a deal lost, with the reason.

    Example: crm deals lost 12 --reason price
    """
    from crmcli.domain import deals

    _moved(ctx, ref, lambda s, deal, user: deals.lose(s, deal, reason=reason, by=user), fmt, quiet)


@app.command("reopen")
def reopen(
    ctx: typer.Context,
    ref: RefArg,
    stage: Annotated[
        Optional[str], typer.Option("--stage", "-s", help="Open stage to return to (default: where it was).")
    ] = None,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Reopen a won or lost deal, back in the stage it left (or --stage).

    Example: crm deals reopen 12
    """
    from crmcli.domain import deals

    _moved(ctx, ref, lambda s, deal, user: deals.reopen(s, deal, stage=stage, by=user), fmt, quiet)
