"""crm followups: add, list, overdue, show, done, snooze, edit, rm, export.

`crm followups overdue` is the cron path: it imports no date parser, no calendar library and
nothing for prompts, and in a pipe it prints one plain line per item and nothing else.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from crmcli.commands._common import (
    CompanyFollowupsOpt,
    ContactFilterOpt,
    ForceOpt,
    FormatOpt,
    LimitOpt,
    MineOpt,
    NewOwnerOpt,
    OwnerFilterOpt,
    OwnerOpt,
    QuietOpt,
    YesOpt,
    fmt_of,
    owner_of,
    session,
)

if TYPE_CHECKING:
    from datetime import datetime

app = typer.Typer(
    no_args_is_help=True,
    help="Follow-up reminders on contacts, companies and deals: add, list, overdue, done, snooze, export.",
)


class LogType(str, Enum):
    call = "call"
    email = "email"
    meeting = "meeting"
    note = "note"


IdArg = Annotated[str, typer.Argument(help="Follow-up id (12), or c12 for the keep-in-touch cadence of contact 12.")]
EveryOpt = Annotated[
    Optional[str],
    typer.Option("--every", help="Repeat: daily, weekly, 2w, monthly, quarterly (or Nd, Nw, Nmo; none stops it)."),
]
AllowPastOpt = Annotated[
    bool, typer.Option("--allow-past", help="Accept a time already past (else refused, naming the time it read).")
]


def _future(text: str, what: str, allow_past: bool) -> datetime:
    """TEXT read ahead (crmcli.values.when); a time already past is refused unless ALLOW_PAST
    (PastTime, whose hint the error boundary words as --allow-past)."""
    from crmcli.values.when import parse_when

    return parse_when(text, what=what, allow_past=allow_past)


def list_cols() -> list:
    from crmcli.output import Col

    return [
        Col("id", "ID", justify="right"),
        Col("due_at", "Due", kind="time", drop=3),
        Col("relative", "When"),
        Col("subject", "For"),
        Col("note", "Note"),
        Col("owner", "Owner", drop=2),
        Col("every", "Repeats", drop=4),
    ]


def _stored(ref: str) -> None:
    """A cadence follow-up (c12) is not a stored one that can be snoozed, changed or removed:
    refused, with the commands that do what can be done (crmcli.domain.followups.get_followup)."""
    from crmcli.domain.followups import parse_id
    from crmcli.errors import Invalid

    fid = parse_id(ref)
    if fid.cadence:
        raise Invalid(
            f"{fid} is the keep-in-touch cadence of contact #{fid.value}: it moves when you log an activity "
            f"(crm followups done {fid} --log TEXT); change it with crm contacts cadence {fid.value} 30d|off"
        )


def _said(row: dict[str, Any]) -> str:
    from crmcli.values.clock import show_local

    return f"{show_local(row['due_at'])} ({row['relative']})"


@app.command("add")
def add(
    ctx: typer.Context,
    ref: Annotated[
        str,
        typer.Argument(help="Contact, company or deal: id, email, name or title; contact:REF, company:REF, deal:REF."),
    ],
    due: Annotated[
        str,
        typer.Option(
            "--due",
            "-d",
            help="When: tomorrow 9am, 'in 3 days', 3d, 2w, 'next monday', 'fri 14:00', eow, eom, 2026-12-01 "
            "(see Dates and times in the README).",
        ),
    ],
    allow_past: AllowPastOpt = False,
    note: Annotated[Optional[str], typer.Option("--note", help="What to do.")] = None,
    every: EveryOpt = None,
    from_done: Annotated[
        bool, typer.Option("--from-done", help="Count the next occurrence from completion, not from the due date.")
    ] = False,
    owner: OwnerOpt = None,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Add a follow-up reminder on a contact, company or deal.

    Example: crm followups add anna.muller@nordlicht.de --due "tomorrow 9am" --note "Send the pricing" --every 2w
    """
    from crmcli.domain import followups, lookup, settings
    from crmcli.output import emit_written

    with session(ctx, write=True) as s:
        due_at = _future(due, "due time", allow_past)
        contact, company, deal = lookup.resolve_subject(s, ref)
        followup = followups.add_followup(
            s,
            due_at=due_at,
            note=note,
            owner=settings.current_user() if owner is None else owner,
            contact=contact,
            company=company,
            deal=deal,
            every=every,
            from_done=from_done,
        )
        record = followups.followup_view(s, followup.id)  # type: ignore[arg-type]
    emit_written(
        record,
        fmt_of(fmt, quiet),
        f"Added follow-up #{record['id']} on {record['subject']}: due {_said(record)}",
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only those due before today (local day).")] = False,
    today: Annotated[bool, typer.Option("--today", help="Only those due today.")] = False,
    upcoming: Annotated[
        Optional[str], typer.Option("--upcoming", metavar="SPAN", help="Today and the next SPAN: 7d, 2w, 30.")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every open follow-up, whenever due.")] = False,
    owner: OwnerFilterOpt = None,
    mine: MineOpt = False,
    cadence: Annotated[
        bool, typer.Option("--cadence/--no-cadence", help="Include keep-in-touch cadence follow-ups (c12).")
    ] = True,
    contact: ContactFilterOpt = None,
    company: CompanyFollowupsOpt = None,
    limit: LimitOpt = None,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """List open follow-ups, soonest first (default: overdue and today's).

    Example: crm followups list --upcoming 7d --mine
    """
    from crmcli.domain import followups
    from crmcli.errors import UsageError
    from crmcli.output import emit_list

    chosen = [name for name, on in (("overdue", overdue), ("today", today), ("all", all_)) if on]
    if upcoming is not None:
        chosen.append("upcoming")
    if len(chosen) > 1:
        raise UsageError("give one of --overdue, --today, --upcoming, --all")
    window = chosen[0] if chosen else "due"
    days = 7
    if upcoming is not None:
        try:
            days = followups.parse_cadence(upcoming) or 0
        except UsageError:
            raise UsageError(f"cannot read --upcoming '{upcoming}': use e.g. 7d, 2w, 30 (days)") from None
    who = owner_of(owner, mine, ctx)
    with session(ctx) as s:
        rows = followups.list_followups(
            s, window=window, days=days, owner=who, cadence=cadence, contact=contact, company=company,
            limit=limit or None,
        )  # fmt: skip
    emit_list(rows, list_cols(), fmt_of(fmt, quiet), noun="follow-ups")


@app.command("overdue")
def overdue(
    ctx: typer.Context,
    owner: OwnerFilterOpt = None,
    mine: MineOpt = False,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit with 1 when anything is overdue, 0 when nothing is.")
    ] = False,
    limit: LimitOpt = None,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """List overdue follow-ups; in a pipe, one line each and nothing at all when none (for cron).

    Example: crm followups overdue --owner ana
    """
    import sys

    from crmcli.domain import followups
    from crmcli.output import emit_list

    who = owner_of(owner, mine, ctx)
    with session(ctx) as s:
        rows = followups.list_followups(s, window="overdue", owner=who, limit=limit or None)
    chosen = fmt_of(fmt, quiet)
    # Cron mails whatever a job prints, on either stream: with nothing overdue and no terminal,
    # print nothing at all (JSON still gets its empty list: a script asked for it).
    if rows or chosen == "json" or sys.stdout.isatty():
        emit_list(rows, list_cols(), chosen, noun="overdue follow-ups")
    if exit_code and rows:
        raise typer.Exit(1)


@app.command("show")
def show(ctx: typer.Context, id_: IdArg, fmt: FormatOpt = None, quiet: QuietOpt = False) -> None:
    """Show one follow-up, open or done.

    Example: crm followups show 12
    """
    from crmcli.domain import followups
    from crmcli.output import Col, emit_record

    with session(ctx) as s:
        record = followups.followup_view(s, id_)
    cols = [
        Col("id", "ID"),
        Col("subject", "For"),
        Col("subject_kind", "Kind"),
        Col("due_at", "Due", kind="time"),
        Col("relative", "When"),
        Col("note", "Note"),
        Col("owner", "Owner"),
        Col("every", "Repeats"),
        Col("from_done", "From done"),
        Col("origin", "Origin"),
        Col("done_at", "Done", kind="time"),
        Col("uid", "UID"),
        Col("created_at", "Created", kind="time"),
        Col("updated_at", "Updated", kind="time"),
    ]
    emit_record(record, cols, fmt_of(fmt, quiet))


@app.command("done")
def done(
    ctx: typer.Context,
    ids: Annotated[list[str], typer.Argument(help="Follow-up ids (12), or c12 for a contact's cadence.")],
    log: Annotated[
        Optional[str], typer.Option("--log", help="Log this text as an activity on the same record.")
    ] = None,
    type_: Annotated[LogType, typer.Option("--type", "-t", help="Type of the logged activity.")] = LogType.note,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Mark follow-ups done; a recurring one moves on to its next date.

    Example: crm followups done 12 --log "Called, sending the contract" --type call
    """
    import sys

    from crmcli.domain import followups, settings
    from crmcli.output import Col, emit_list, message
    from crmcli.values.clock import show_local

    results = []
    with session(ctx, write=True) as s:
        for id_ in ids:
            result = followups.complete(s, id_, log=log, log_type=type_.value, by=settings.current_user())
            view = followups.followup_view(s, result["id"])
            results.append({**result, "subject": view["subject"]})
    for r in results:
        after = f"; next due {show_local(r['next_due'])}" if r["next_due"] else ""
        logged = f", logged activity #{r['activity_id']}" if r["activity_id"] else ""
        label = f"#{r['id']}" if isinstance(r["id"], int) else r["id"]
        message(f"Done follow-up {label} on {r['subject']}{logged}{after}")
    chosen = fmt_of(fmt, quiet)
    if chosen == "json":
        emit_list(results, [Col("id", "ID")], "json")
    elif chosen in ("ids", "plain"):
        sys.stdout.write("".join(f"{r['id']}\n" for r in results))


@app.command("snooze")
def snooze(
    ctx: typer.Context,
    id_: IdArg,
    until: Annotated[str, typer.Option("--until", "-u", help="New due time: tomorrow 9am, 3d, 'next monday' …")],
    allow_past: AllowPastOpt = False,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Put a follow-up off until a later time.

    Example: crm followups snooze 12 --until "next monday 9am"
    """
    from crmcli.domain import followups
    from crmcli.output import emit_written

    with session(ctx, write=True) as s:
        when = _future(until, "time to snooze until", allow_past)
        _stored(id_)
        followup = followups.snooze(s, id_, when)
        record = followups.followup_view(s, followup.id)  # type: ignore[arg-type]
    emit_written(record, fmt_of(fmt, quiet), f"Snoozed follow-up #{record['id']} until {_said(record)}")


@app.command("edit")
def edit(
    ctx: typer.Context,
    id_: IdArg,
    due: Annotated[Optional[str], typer.Option("--due", "-d", help="New due time (as for add).")] = None,
    allow_past: AllowPastOpt = False,
    note: Annotated[Optional[str], typer.Option("--note", help="New note ('' clears).")] = None,
    every: EveryOpt = None,
    from_done: Annotated[
        Optional[bool],
        typer.Option("--from-done/--from-due", help="Count repeats from completion, or from the due date."),
    ] = None,
    owner: NewOwnerOpt = None,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Change a follow-up; options not given stay as they are.

    Example: crm followups edit 12 --due "fri 14:00" --note "Bring the contract" --every none
    """
    from crmcli.domain import followups
    from crmcli.output import emit_written

    with session(ctx, write=True) as s:
        due_at = None
        if due is not None:
            due_at = _future(due, "due time", allow_past)
        changes: dict[str, Any] = {"due_at": due_at, "note": note, "owner": owner, "from_done": from_done}
        if every is not None:
            changes["every"] = every
        _stored(id_)
        followup = followups.edit_followup(s, id_, **changes)
        record = followups.followup_view(s, followup.id)  # type: ignore[arg-type]
    emit_written(record, fmt_of(fmt, quiet), f"Updated follow-up #{record['id']}: due {_said(record)}")


@app.command("rm")
def rm(
    ctx: typer.Context,
    ids: Annotated[list[str], typer.Argument(help="Follow-up ids.")],
    yes: YesOpt = False,
) -> None:
    """Remove follow-ups (a recurring one with all its future dates).

    Example: crm followups rm 12 15 --yes
    """
    from crmcli.commands._prompts import Cancelled, confirm
    from crmcli.domain import followups
    from crmcli.output import message

    with session(ctx, write=True) as s:
        views = [followups.followup_view(s, id_) for id_ in ids]
        for view in views:
            _stored(str(view["id"]))
        names = ", ".join(f"#{v['id']} {v['subject']}" + (f" ({v['note']})" if v["note"] else "") for v in views)
        if not confirm(f"Remove follow-up {names}?", assume_yes=yes):
            raise Cancelled("nothing removed")
        for view in views:
            followups.remove_followup(s, view["id"])
    message(f"Removed {len(views)} follow-up{'s' if len(views) != 1 else ''}: {names}")


@app.command("export")
def export(
    ctx: typer.Context,
    ics: Annotated[str, typer.Option("--ics", metavar="FILE", help="Write iCalendar to FILE ('-': standard output).")],
    owner: OwnerFilterOpt = None,
    mine: MineOpt = False,
    force: ForceOpt = False,
) -> None:
    """Export the open follow-ups as an iCalendar file (stable UIDs: re-importing updates them).

    Example: crm followups export --ics ~/followups.ics --mine
    """
    import sys

    from crmcli.domain import followups
    from crmcli.exporter import records as export_
    from crmcli.exporter.ics import followups_ics
    from crmcli.output import message

    who = owner_of(owner, mine, ctx)
    path = export_.check_target(ics, force=force)  # as crm export: no overwriting without --force
    with session(ctx) as s:
        rows = followups.list_followups(s, window="all", owner=who)
    data = followups_ics(rows)
    if path is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    export_.write(path, data, force=force)  # atomically, 0600
    message(f"Wrote {len(rows)} follow-up{'s' if len(rows) != 1 else ''} to {path}")
