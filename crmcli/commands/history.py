"""crm history (what changed, who changed it), crm history prune, and crm undo."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from crmcli.commands._common import FormatOpt, LimitOpt, QuietOpt, YesOpt, fmt_of, session


class _ShowByDefault(TyperGroup):
    """`crm history REF …` is `crm history show REF …`; `crm history prune …` is the subcommand."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = ["show", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_ShowByDefault,
    help="What changed, when, who changed it and through what: crm history [REF], crm history prune.",
)

KindOpt = Annotated[
    Optional[str],
    typer.Option(
        "--kind", metavar="KIND", help="Only records of this kind: contact, company, deal, activity, followup, …"
    ),
]


# what a row of a table is called, and the field that names it
_ROWS = {
    "contact_email": ("email", "email"),
    "contact_phone": ("phone", "phone"),
    "contact_tag": ("tag", "tag"),
    "company_tag": ("tag", "tag"),
    "stage_history": ("stage move", None),
    "activity": ("activity", "text"),
    "followup": ("follow-up", "note"),
    "stage": ("stage", "name"),
    "setting": ("setting", "key"),
    "merge_log": ("merge of", "merged_name"),
}


def _fields(entry: dict[str, Any]) -> str:
    if entry["op"] in ("insert", "delete"):
        verb = "added" if entry["op"] == "insert" else "removed"
        what, name_field = _ROWS.get(entry["table"], ("", None))
        values = {k: pair[1] if entry["op"] == "insert" else pair[0] for k, pair in entry["fields"].items()}
        name = values.get(name_field) if name_field else values.get("name") or values.get("title")
        return " ".join(p for p in (verb, what, _short(name) if name else "") if p)
    parts = [
        f"{name}: {_short(before)} → {_short(after)}"
        for name, (before, after) in entry["fields"].items()
        if name != "updated_at"
    ]
    return "; ".join(parts) or "updated"


def _short(value: Any) -> str:
    if value is None or value == "":
        return "—"
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"


@app.command("show")
def show(
    ctx: typer.Context,
    ref: Annotated[Optional[str], typer.Argument(metavar="[REF]", help="A contact, company or deal.")] = None,
    since: Annotated[
        Optional[str], typer.Option("--since", metavar="WHEN", help="Changes made at or after WHEN (7d, 2026-11-01).")
    ] = None,
    by: Annotated[Optional[str], typer.Option("--by", metavar="WHO", help="Changes made by WHO.")] = None,
    kind: KindOpt = None,
    change: Annotated[Optional[int], typer.Option("--change", metavar="N", help="The rows of change N.")] = None,
    limit: LimitOpt = None,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Show changes newest first: of one record (REF, with its emails, phones, tags or stage
    moves), or across records narrowed by --since, --by and --kind. CHANGE is the number crm undo takes.

    Example: crm history --since 7d --kind deal
    """
    from crmcli.domain import history
    from crmcli.output import Col, emit_list
    from crmcli.values.when import parse_past

    with session(ctx) as s:
        if ref is not None:
            _kind, _id, rows = history.record_history(s, ref, limit=limit or None)
            if kind is not None or since is not None or by is not None:
                rows = [r for r in rows if (kind is None or r["kind"] == kind) and (by is None or r["who"] == by)]
                if since is not None:
                    start = parse_past(since)
                    rows = [r for r in rows if r["at"] is not None and r["at"] >= start]
        else:
            rows = history.changes(
                s,
                kind=kind,
                since=parse_past(since) if since else None,
                by=by,
                change=change,
                limit=(limit if limit is not None else 50) or None,
            )
    out = [{**r, "what": _fields(r)} for r in rows]
    cols = [
        Col("change", "Change", justify="right"),
        Col("at", "When", kind="time"),
        Col("who", "Who", drop=2),
        Col("kind", "Kind"),
        Col("record", "Record", justify="right"),
        Col("table", "Table", drop=3),
        Col("what", "What"),
        Col("via", "Via", drop=1),
        Col("undone_by", "Undone by", justify="right", drop=4),
    ]
    emit_list(out, cols, fmt_of(fmt, quiet), noun="changes")


@app.command("prune")
def prune(
    ctx: typer.Context,
    before: Annotated[str, typer.Option("--before", metavar="DATE", help="Remove the changes made before DATE.")],
    yes: YesOpt = False,
) -> None:
    """Remove the history older than DATE (the one way it is ever shortened): changes made before
    it can no longer be shown or undone.

    Example: crm history prune --before 2025-01-01 --yes
    """
    from crmcli.commands._prompts import Cancelled, confirm
    from crmcli.domain import history
    from crmcli.output import message
    from crmcli.values import clock
    from crmcli.values.when import parse_past

    cut = parse_past(before, what="date")
    if not confirm(f"Remove the history before {clock.show_local(cut)}?", assume_yes=yes):
        raise Cancelled("nothing removed")
    with session(ctx, write=True) as s:
        done = history.prune(s, cut)
    message(f"Removed {done['changes']:,} changes ({done['rows']:,} rows) made before {clock.show_local(cut)}")


def undo(
    ctx: typer.Context,
    change: Annotated[
        Optional[int],
        typer.Argument(metavar="[CHANGE]", help="The change to take back (crm history); default: your last."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be taken back; change nothing.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Take it back even where a later change touched the same fields.")
    ] = False,
    yes: YesOpt = False,
    fmt: FormatOpt = None,
) -> None:
    """Take back your last change (everything one command wrote), or change CHANGE: what it added
    is removed, what it removed comes back with its id, what it edited gets its values from before.
    It stops when a later change touched the same fields, unless --force. An undo is a change too.

    Example: crm undo --dry-run
    """
    from crmcli.commands._prompts import Cancelled, confirm
    from crmcli.domain import history
    from crmcli.output import emit_json, message

    if not dry_run:
        with session(ctx) as s:  # what it would take back, shown before anything is written
            plan = history.undo(s, change, force=force, dry_run=True)
        question = "Undo your last change" if change is None else f"Undo change {change}"
        if not confirm(f"{question} ({plan['via']}: {plan['rows']} rows)?", assume_yes=yes, action=question.lower()):
            raise Cancelled("nothing undone")
    with session(ctx, write=not dry_run) as s:
        result = history.undo(s, change, force=force, dry_run=dry_run)
    if fmt_of(fmt) == "json":
        emit_json(result)
        return
    rows = f"{result['rows']:,} row{'s' if result['rows'] != 1 else ''}"
    if dry_run:
        message(f"Would undo change {result['change']} ({result['via']}): {rows}")
    else:
        message(f"Undid change {result['change']} ({result['via']}): {rows} (crm undo {result['undo']} redoes it)")
    for line in result["conflicts"]:
        message(f"  over a later change: {line}")
    if result.get("backup"):
        message(f"  backup of the database before it: {result['backup']}")
    elif "backup" in result:
        message("  no backup before it: only the database's owner can read every row for one")
