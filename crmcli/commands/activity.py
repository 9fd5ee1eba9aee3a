"""crm log: record a call, email, meeting or note."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from crmcli.commands._common import FormatOpt, QuietOpt, fmt_of, session


class ActivityType(str, Enum):
    call = "call"
    email = "email"
    meeting = "meeting"
    note = "note"


def log(
    ctx: typer.Context,
    ref: Annotated[
        str,
        typer.Argument(help="Contact, company or deal: id, email, name, title; or contact:REF, company:REF, deal:REF."),
    ],
    text: Annotated[
        Optional[str], typer.Argument(help="What happened (asked for on a terminal when left out).")
    ] = None,
    type_: Annotated[
        ActivityType, typer.Option("--type", "-t", help="call, email, meeting or note.")
    ] = ActivityType.note,
    at: Annotated[
        Optional[str], typer.Option("--at", help="When it happened (default: now): 'yesterday 15:00', 'last fri', 2d.")
    ] = None,
    by: Annotated[Optional[str], typer.Option("--by", help="Who did it (default: you).")] = None,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Log an interaction on a contact, company or deal.

    Example: crm log anna@acme.de --type call "Discussed the renewal, send pricing"
    """
    from crmcli.commands._prompts import ask_text
    from crmcli.domain import activities, lookup, settings
    from crmcli.output import emit_written
    from crmcli.values.when import parse_past

    text = ask_text("What happened", text, option="argument TEXT")
    with session(ctx, write=True) as s:
        contact, company, deal = lookup.resolve_subject(s, ref)
        when = parse_past(at) if at else None
        activity = activities.log_activity(
            s,
            type=type_.value,
            text=text,
            contact=contact,
            company=company,
            deal=deal,
            at=when,
            by=by if by is not None else settings.current_user(),
        )
        subject = contact.name if contact else company.name if company else deal.title if deal else ""
        record = activities.activity_record(activity, subject)
    emit_written(record, fmt_of(fmt, quiet), f"Logged {type_.value} #{activity.id} on {subject}")
