"""crm mail import SOURCE: mail becomes activity (the rules are in crmcli.importer.mail)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from crmcli.commands._common import (
    AllowSuppressedOpt,
    FiguresFormatOpt,
    ForceOpt,
    SilentOpt,
    fmt_of,
    session,
)

app = typer.Typer(
    no_args_is_help=True,
    help="Mail in: messages from and to your contacts become email activities (crm mail import SOURCE).",
)
mail_app = app

PASSWORD_ENV = "CRM_IMAP_PASSWORD"


@app.command("import")
def import_(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(
            metavar="SOURCE",
            help="An mbox file, a Maildir, a folder of .eml files, or imaps://user@host[:port]/MAILBOX "
            "(password from CRM_IMAP_PASSWORD, else asked on a terminal).",
        ),
    ],
    body: Annotated[
        bool, typer.Option("--body", help="Keep each message's whole text (default: subject — a short snippet).")
    ] = False,
    list_unknown: Annotated[
        bool,
        typer.Option(
            "--list-unknown",
            help="List the correspondents of the messages that matched no one: address, name, messages; "
            "most frequent first.",
        ),
    ] = False,
    create_contacts: Annotated[
        bool,
        typer.Option(
            "--create-contacts",
            help="Make contacts of the correspondents of messages that matched no one (named from the display "
            "name, else the address), and log the messages on them.",
        ),
    ] = False,
    allow_suppressed: AllowSuppressedOpt = False,
    report: Annotated[
        Optional[Path],
        typer.Option(
            "--report",
            help="Report of the messages that could not be read (default: beside SOURCE, "
            "SOURCE.import-report.csv, replaced by each import).",
        ),
    ] = None,
    force: ForceOpt = False,
    fmt: FiguresFormatOpt = None,
    quiet: SilentOpt = False,
) -> None:
    """Log mail as email activities on the contacts, companies and deals it is from or to. Read-only
    (IMAP: EXAMINE and BODY.PEEK); importing the same mail again adds nothing.

    Example: crm mail import mail.mbox
    """
    from crmcli.importer import mail

    password = _password(source) if mail.is_imap(source) else None
    if mail.is_imap(source):
        mail.parse_imap_url(source)  # a URL with a password in it is refused before anything is written
    chosen = fmt_of(fmt)
    from crmcli.domain import settings

    with session(ctx, write=True) as s:
        result = mail.import_mail(
            s,
            source,
            password=password,
            full_body=body,
            create_contacts=create_contacts,
            allow_suppressed=allow_suppressed,
            report=report,
            force=force,
            by=settings.current_user(),
        )
    if quiet:
        return
    _show(result, chosen, list_unknown)


def _password(source: str) -> str:
    """CRM_IMAP_PASSWORD, else asked (hidden) on a terminal; never an argument, so never in the history."""
    given = os.environ.get(PASSWORD_ENV)
    if given:
        return given
    from crmcli.commands._prompts import Cancelled, interactive
    from crmcli.errors import UsageError
    from crmcli.importer.mail import parse_imap_url

    url = parse_imap_url(source)
    if not interactive():
        raise UsageError(f"no password for {url.user} at {url.host}: set {PASSWORD_ENV} (no terminal to ask on)")
    import questionary

    from crmcli.output import one_line

    answer = questionary.password(one_line(f"IMAP password for {url.user} at {url.host}:")).ask()
    if answer is None:
        raise Cancelled("cancelled")
    return str(answer)


LABELS = {
    "read": "messages read",
    "logged": "logged",
    "already": "already imported",
    "unmatched": "matched no one",
    "bad": "bad (in the report)",
    "activities": "activities written",
    "suppressed": "with a person erased on request (skipped)",
    "created": "contacts created",
}


def _show(result: Any, fmt: str, list_unknown: bool) -> None:
    """The summary (stdout) and its notes (stderr); with LIST_UNKNOWN the unknown correspondents on
    stdout and the summary on stderr."""
    from crmcli.output import Col, emit_json, emit_list, make_console, message, rich_text

    counts = result["counts"]
    line = (
        f"read {counts['read']:,} = logged {counts['logged']:,} + already imported {counts['already']:,} + "
        f"matched no one {counts['unmatched']:,} + bad {counts['bad']:,}; {counts['activities']:,} activities"
    )
    if list_unknown:
        cols = [
            Col("address", "Address"),
            Col("name", "Name", drop=1),
            Col("messages", "Messages", justify="right"),
        ]
        emit_list(result["unknown"], cols, fmt, noun="unknown correspondents")
        message(f"{result['source']}: {line}")
    elif fmt == "json":
        emit_json({k: v for k, v in result.items() if k != "unknown"} | {"unknown": len(result["unknown"])})
    elif fmt in ("csv", "plain"):
        rows = [{"what": key, "count": value} for key, value in counts.items()]
        emit_list(rows, [Col("what", "what"), Col("count", "count")], fmt)
    else:
        make_console().print(rich_text(f"{result['source']} ({result['kind']}): {line}"))
    if counts["suppressed"]:
        message(
            f"{counts['suppressed']:,} message{'s' if counts['suppressed'] != 1 else ''} with a correspondent "
            "erased on request: not logged on them, no contact made"
        )
    if counts["created"]:
        names = ", ".join(f"#{c['id']} {c['name']}" for c in result["created"][:5])
        more = f" and {counts['created'] - 5:,} more" if counts["created"] > 5 else ""
        message(f"created {counts['created']:,} contact{'s' if counts['created'] != 1 else ''}: {names}{more}")
    if result["started_over"]:
        message("the mailbox's UIDVALIDITY changed: read again from the start (nothing is logged twice)")
    if result["report_file"]:
        message(f"what could not be taken, a line each: {result['report_file']}")
    if not result["my_emails"] and counts["read"]:
        message("my_emails is not set: every message counts as incoming (crm config set my_emails you@example.org)")
