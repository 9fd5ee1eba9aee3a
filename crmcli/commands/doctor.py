"""crm doctor: data quality findings with their fixes, and the database's integrity check."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from crmcli.commands._common import FormatOpt, QuietOpt, fmt_of, session


def doctor(
    ctx: typer.Context,
    check: Annotated[
        Optional[str],
        typer.Option(
            "--check",
            metavar="NAME",
            help="List every record of one finding, each with its fix: integrity, unreachable, no_owner, "
            "invalid_values, duplicate_contacts, duplicate_companies, open_deals_incomplete, "
            "won_deals_without_amount, overdue_followups.",
        ),
    ] = None,
    examples: Annotated[int, typer.Option("--examples", min=0, help="Examples shown per finding.")] = 3,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit with 1 on any finding too, not only when the integrity check fails.")
    ] = False,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Check the data's quality and the database's integrity; each finding names the command that fixes it.

    Example: crm doctor --check no_owner -q | xargs -I{} crm contacts edit {} --owner ana
    """
    from crmcli.domain import doctor as domain
    from crmcli.output import Col, emit_list, emit_record, message

    chosen = fmt_of(fmt, quiet)
    if check is not None:
        with session(ctx) as s:
            rows = domain.items(s, check)
        cols = [Col("id", "ID", justify="right"), Col("record", "Record"), Col("problem", "Problem", wrap=True),
                Col("fix", "Fix", wrap=True, drop=1)]  # fmt: skip
        emit_list(rows, cols, chosen, noun=f"findings for {check}")
        if rows and (strict or check == "integrity"):
            raise typer.Exit(1)
        return
    with session(ctx) as s:
        result = domain.report(s, examples=examples)
    integrity = result["integrity"]
    row = {
        "id": "integrity",
        "title": f"Database integrity ({integrity['backend']}: {', '.join(integrity['ran'])})",
        "count": len(integrity["problems"]),
        "examples": integrity["problems"][:examples] if examples else [],
        "fix": None if integrity["ok"] else "restore a backup, or ask your database administrator",
    }
    rows = [row, *result["findings"]]
    for r in rows:  # one example a line in a table
        r["shown"] = "\n".join(r["examples"])
    if chosen == "json":
        emit_record(result, [], "json")
    elif chosen == "ids":
        for r in rows:
            if r["count"]:
                typer.echo(r["id"])
    else:
        cols = [
            Col("title", "Check", wrap=True),
            Col("count", "Found", justify="right"),
            Col("shown", "Examples", wrap=True, drop=2),
            Col("fix", "Fix", wrap=True, drop=1),
        ]
        if chosen in ("plain", "csv"):
            cols.insert(0, Col("id", "ID"))
        emit_list(rows, cols, chosen, noun="checks")
    found = sum(1 for r in result["findings"] if r["count"])
    if not integrity["ok"]:
        message(f"Integrity check failed: {len(integrity['problems'])} problem(s).")
        raise typer.Exit(1)
    if chosen == "table":
        message(
            "Integrity: ok. " + (f"{found} kind(s) of finding; each names its fix." if found else "Nothing to fix.")
        )
    if strict and found:
        raise typer.Exit(1)
