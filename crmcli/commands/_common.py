"""What every command shares: the --format/-q options, the database session, REF options."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:
    from sqlmodel import Session


class Fmt(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    ids = "ids"
    plain = "plain"


FormatOpt = Annotated[
    Optional[Fmt],
    typer.Option(
        "--format",
        "-f",
        case_sensitive=False,
        help="table, json, csv, ids or plain (tab-separated). Default: table on a terminal, plain in a pipe.",
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only ids, one a line (as --format ids).")]
LimitOpt = Annotated[Optional[int], typer.Option("--limit", "-n", min=0, help="Show at most N (0: all).")]
SinceOpt = Annotated[
    Optional[str],
    typer.Option("--since", metavar="WHEN", help="Created at or after WHEN (2026-11-01, 7d, yesterday)."),
]
WhereOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--where",
        "-w",
        metavar="FIELD=VALUE",
        help="Only records whose FIELD (built-in or custom) is VALUE; repeat to narrow further. "
        "An unknown FIELD or a VALUE it cannot hold is refused (exit 2).",
    ),
]
ContactFilterOpt = Annotated[
    Optional[str], typer.Option("--contact", metavar="REF", help="Only those of this contact (id, email or name).")
]
CompanyDealsOpt = Annotated[
    Optional[str],
    typer.Option("--company", metavar="REF", help="Only this company's deals, its people's included."),
]
CompanyFollowupsOpt = Annotated[
    Optional[str], typer.Option("--company", metavar="REF", help="Only those on this company (id, domain or name).")
]
FieldOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--field",
        "-F",
        metavar="KEY=VALUE",
        help="Custom field KEY=VALUE (declared fields are type-checked); repeatable.",
    ),
]
TagOpt = Annotated[Optional[list[str]], typer.Option("--tag", "-t", help="Tag; repeatable or comma-separated.")]
OwnerOpt = Annotated[Optional[str], typer.Option("--owner", help="Owner (a user name).")]
RegionOpt = Annotated[
    Optional[str], typer.Option("--region", help="Country for phones without +code (default: config default_region).")
]
PipelineOpt = Annotated[
    Optional[str], typer.Option("--pipeline", "-P", help="Pipeline name or id (default: the first).")
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking (required without a terminal).")]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="Replace the file to write if it exists (without --force crm never does).")
]


@dataclass
class State:
    db: str | None = None


def fmt_of(fmt: Fmt | None, quiet: bool = False) -> str:
    from crmcli.output import choose

    return choose(fmt.value if fmt else None, quiet)


@contextmanager
def session(ctx: typer.Context, *, write: bool = False, create: bool = False) -> Iterator[Session]:
    """One transaction on the invocation's database; local time zone set from the config. A
    database named by --db/CRM_DB must exist unless CREATE (crm init); the default one is made."""
    from crmcli import storage
    from crmcli.commands._prompts import choose_ref
    from crmcli.domain import refs, settings
    from crmcli.output import message
    from crmcli.values import clock

    state = ctx.find_root().obj
    db = state.db if isinstance(state, State) else None
    refs.set_note_sink(message)  # "#35 was merged into #3 …" from the resolve_* functions, on stderr
    refs.set_chooser(choose_ref)  # an ambiguous REF is chosen from a list on a terminal, else an error
    try:
        with storage.session_scope(db, write=write, create=create or not db) as s:
            clock.set_local_zone(settings.get(s, "timezone"))
            clock.set_date_order(settings.get(s, "date_order"))  # how 1/2/2027 reads (crmcli.values.when)
            yield s
    finally:
        refs.set_note_sink(None)
        refs.set_chooser(None)
