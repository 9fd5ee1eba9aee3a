"""What every command shares: the options, each defined once here, the database session, and
fmt_of, the one way a command chooses its output format.

An option spelled the same in several commands means one thing wherever it is used; where a
spelling has to mean two things, each meaning has its own definition and help here:
--format is the output format (FormatOpt for records, FiguresFormatOpt for KPIs and reports) or
a file's format (FileFormatOpt); --owner filters (OwnerFilterOpt), gives new records their owner
(OwnerOpt), changes it (NewOwnerOpt), fills in what an import file leaves open (ImportOwnerOpt),
says whose a target is (TargetOwnerOpt) or who an assignment rule gives records to (RuleOwnerOpt);
--pipeline picks the pipeline to work in (PipelineOpt) or filters deals (PipelineFilterOpt);
--period is the window figures cover (PeriodOpt) or how often a target applies (TargetPeriodOpt);
--since is a filter on creation (SinceOpt) or where a window starts (PeriodSinceOpt).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

    from crmcli.domain.lookup import Note
    from crmcli.errors import CrmError


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
# -q of a command that prints figures, not records (crm mail import, for cron): nothing at all
SilentOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print nothing when it works (for cron); errors still go to stderr.")
]


class FiguresFmt(str, Enum):
    """Output formats of figures (KPIs, reports): rows without ids to print."""

    table = "table"
    json = "json"
    csv = "csv"
    plain = "plain"


FiguresFormatOpt = Annotated[
    Optional[FiguresFmt],
    typer.Option(
        "--format",
        "-f",
        case_sensitive=False,
        help="table, json, csv or plain (tab-separated). Default: table on a terminal, plain in a pipe.",
    ),
]


class FileFmt(str, Enum):
    """Formats of a file crm export writes."""

    csv = "csv"
    xlsx = "xlsx"
    json = "json"
    vcf = "vcf"


FileFormatOpt = Annotated[
    Optional[FileFmt],
    typer.Option(
        "--format",
        "-f",
        case_sensitive=False,
        help="The file's format: csv, xlsx, json or vcf (default: from the extension).",
    ),
]
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
TagFilterOpt = Annotated[Optional[str], typer.Option("--tag", "-t", help="Only those with this tag.")]
OwnerFilterOpt = Annotated[Optional[str], typer.Option("--owner", help="Only those of this owner (a user name).")]
OwnerOpt = Annotated[
    Optional[str], typer.Option("--owner", help="Owner (a user name; default: you, CRM_USER or your login).")
]
NewOwnerOpt = Annotated[Optional[str], typer.Option("--owner", help="New owner ('' clears).")]
ImportOwnerOpt = Annotated[
    Optional[str],
    typer.Option(
        "--owner", help="Owner of the records where the file names none (default: you, CRM_USER or your login)."
    ),
]
TargetOwnerOpt = Annotated[
    Optional[str], typer.Option("--owner", help="Whose target: this owner's (default: the team's).")
]
RuleOwnerOpt = Annotated[
    Optional[str], typer.Option("--owner", help="Who gets the new records the rule matches (a user name).")
]
MineOpt = Annotated[bool, typer.Option("--mine", help="Only your own (CRM_USER, else your login).")]
RegionOpt = Annotated[
    Optional[str], typer.Option("--region", help="Country for phones without +code (default: config default_region).")
]
PipelineOpt = Annotated[
    Optional[str], typer.Option("--pipeline", "-P", help="Pipeline name or id (default: the first).")
]
PipelineFilterOpt = Annotated[
    Optional[str],
    typer.Option("--pipeline", "-P", help="Only deals in this pipeline, by name or id (default: all pipelines)."),
]
PERIOD_HELP = (
    "week, month, quarter or year: the current one, in local time; or a named one: 2026-10, 2026-Q3, 2026-W44, 2026."
)
PeriodOpt = Annotated[Optional[str], typer.Option("--period", "-p", help=PERIOD_HELP + " Default: see above.")]
PeriodSinceOpt = Annotated[
    Optional[str], typer.Option("--since", help="First day of a period of your own (local): 2026-11-01, 30d.")
]
PeriodUntilOpt = Annotated[Optional[str], typer.Option("--until", help="Last day of it, included (default: today).")]


class TargetPeriod(str, Enum):
    month = "month"
    quarter = "quarter"
    year = "year"


TargetPeriodOpt = Annotated[
    TargetPeriod, typer.Option("--period", "-p", help="What the goal is per: month, quarter or year.")
]
PrivateOpt = Annotated[
    Optional[bool],
    typer.Option(
        "--private/--public",
        help="Private: seen only by its owner and admins (enforced by a team database on PostgreSQL).",
    ),
]
AllowSuppressedOpt = Annotated[
    bool,
    typer.Option(
        "--allow-suppressed", help="Take an email or phone of a person erased on request (the suppression list)."
    ),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking (required without a terminal).")]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="Replace the file to write if it exists (without --force crm never does).")
]


@dataclass
class State:
    db: str | None = None


# The library's errors and notes speak about the data; a hint names the keyword argument of the
# call that changes the outcome (crmcli.errors.Hint). The command line says it with its own option:
# --keyword-with-dashes, or the spelling here where the option is named otherwise.
OPTIONS = {"custom": "--field", "fmt": "--format", "mapping": "--map"}


def option_of(keyword: str) -> str:
    """The option the command line passes as KEYWORD: allow_duplicate → --allow-duplicate."""
    return OPTIONS.get(keyword) or "--" + keyword.replace("_", "-")


def said(exc: CrmError) -> str:
    """The one line a user reads for EXC: its message, and its hint in terms of the options."""
    return exc.hint.line(exc.message, option_of) if exc.hint else exc.message


def say_note(note: Note) -> None:
    """A library note on stderr (crmcli.domain.lookup.note), its hint in terms of the options."""
    from crmcli.output import message

    message(note.hint.line(note, option_of) if note.hint else note)


def fmt_of(fmt: Enum | None, quiet: bool = False) -> str:
    """The output format of every command (a --format choice, -q): ids with QUIET, else FMT, else a
    table on a terminal and plain lines in a pipe (crmcli.output.choose)."""
    from crmcli.output import choose

    return choose(fmt.value if fmt else None, quiet)


def owner_of(owner: str | None, mine: bool, ctx: typer.Context | None = None) -> str | None:
    """The owner that --owner U or --mine names (None: everyone's). --mine is you: on PostgreSQL
    the database role of the connection (CTX's database), else CRM_USER or the login."""
    from crmcli.domain import settings
    from crmcli.errors import UsageError

    if owner and mine:
        raise UsageError("give --owner or --mine, not both")
    if not mine:
        return owner
    if ctx is not None:
        from crmcli import storage

        state = ctx.find_root().obj
        db = state.db if isinstance(state, State) else None
        engine, _url = storage.open_engine(db, create=not db)
        role = storage.db_user(engine)
        if role:
            return role
    return settings.current_user()


def backup_before_upgrade(engine: Engine, revision: str) -> Path | None:
    """PostgreSQL: a crm dump before its schema is upgraded (on first use or by crm db upgrade)."""
    from crmcli.domain import backups

    return backups.automatic(engine, f"upgrade-{revision}")


@contextmanager
def session(ctx: typer.Context, *, write: bool = False, create: bool = False) -> Iterator[Session]:
    """One transaction on the invocation's database; from here on times show and read in the
    config's timezone and date_order (crmcli.values.clock, context variables: the error boundary
    runs each invocation in a context of its own, so they end with it and never reach a library
    caller). A database named by --db/CRM_DB must exist unless CREATE (crm init); the default one is made."""
    from crmcli import storage
    from crmcli.commands._prompts import choose_ref
    from crmcli.domain import lookup, settings
    from crmcli.values import clock

    state = ctx.find_root().obj
    db = state.db if isinstance(state, State) else None
    storage.before_upgrade(backup_before_upgrade)
    # "#35 was merged into #3 …" from the resolve_* functions on stderr; an ambiguous REF chosen
    # from a list on a terminal, else an error (context variables, for this block only)
    with (
        lookup.interaction(sink=say_note, chooser=choose_ref),
        storage.session_scope(db, write=write, create=create or not db) as s,
    ):
        # for the rest of the invocation, output included: the zone, and how 1/2/2027 reads
        zone, order = settings.get_many(s, "timezone", "date_order")
        clock.set_local_zone(zone)
        clock.set_date_order(order)
        yield s
