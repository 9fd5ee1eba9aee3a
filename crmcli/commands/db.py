"""crm db: where the data lives and which schema it has."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from crmcli.commands._common import ForceOpt, FormatOpt, QuietOpt, YesOpt, backup_before_upgrade, fmt_of

app = typer.Typer(no_args_is_help=True, help="The database: status, schema upgrades, backups and restores.")


def _db(ctx: typer.Context) -> str | None:
    return getattr(ctx.find_root().obj, "db", None)


@app.command("status")
def status(ctx: typer.Context, fmt: FormatOpt = None, quiet: QuietOpt = False) -> None:
    """Show the database in use (password hidden), its schema revision and record counts.

    Example: crm db status --format json
    """
    from crmcli import storage
    from crmcli.output import Col, emit_record

    db = _db(ctx)
    record = storage.status(db, create=not db)  # a --db/CRM_DB path that does not exist is an error
    cols = [
        Col("database", "Database"),
        Col("backend", "Backend"),
        Col("size_bytes", "Size (bytes)"),
        Col("revision", "Schema"),
        Col("head", "Current schema"),
        Col("state", "State"),
        Col("contacts", "Contacts"),
        Col("companies", "Companies"),
        Col("activities", "Activities"),
    ]
    emit_record(record, cols, fmt_of(fmt, quiet))


@app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Upgrade the schema now (it also happens on first use), after a backup (on PostgreSQL a crm dump).

    Example: crm db upgrade
    """
    from crmcli import storage
    from crmcli.output import message

    db = _db(ctx)
    engine, url = storage.open_engine(db, auto_upgrade=False, create=not db)
    with engine.connect() as conn:
        current = storage.current_revision(conn)
    if current == storage.SCHEMA_HEAD:
        message(f"Already at schema {current}")
        return
    storage.before_upgrade(backup_before_upgrade)  # PostgreSQL: a crm dump first (a SQLite file is copied)
    old, new, backup = storage.upgrade(engine, url)
    message(f"Upgraded schema {old or 'none'} → {new}" + (f" (backup: {backup})" if backup else ""))


PASSPHRASE_ENV = "CRM_BACKUP_PASSPHRASE"


def _passphrase(*, new: bool) -> str:
    """The backup passphrase: asked for on a terminal (twice for a new one), else CRM_BACKUP_PASSPHRASE."""
    import os

    from crmcli.errors import UsageError

    if sys.stdin.isatty():
        value = typer.prompt("Backup passphrase", hide_input=True, confirmation_prompt=new, err=True)
    else:
        value = os.environ.get(PASSPHRASE_ENV, "")
        if not value:
            raise UsageError(f"no terminal to ask for the backup passphrase on: set {PASSPHRASE_ENV}")
    if not value:
        raise UsageError("an empty passphrase protects nothing: give one")
    return str(value)


@app.command("backup")
def backup(
    ctx: typer.Context,
    file: Annotated[
        Optional[str],
        typer.Argument(
            metavar="[FILE]",
            help="Where to write it (default: backups/crm-DATE-TIME.db in the user data directory). "
            "A name ending in .gz makes a crm dump.",
        ),
    ] = None,
    encrypt: Annotated[
        bool,
        typer.Option(
            "--encrypt", help=f"Encrypt it with a passphrase (asked for; without a terminal: {PASSPHRASE_ENV})."
        ),
    ] = False,
    force: ForceOpt = False,
    fmt: FormatOpt = None,
) -> None:
    """Back the database up while others keep working: a copy of a SQLite file, or a crm dump
    (PostgreSQL, or FILE.crmdump.gz) that crm db restore reads. Readable by you alone.

    Example: crm db backup
    """
    from crmcli import storage
    from crmcli.domain import backups
    from crmcli.output import emit_json, message, write_csv

    db = _db(ctx)
    engine, _url = storage.open_engine(db, create=not db)
    passphrase = _passphrase(new=True) if encrypt else None
    record = backups.backup(engine, file, passphrase=passphrase, force=force)
    size = record["size_bytes"]
    shown = f"{size / 1e6:,.1f} MB" if size >= 100_000 else f"{size:,} bytes"
    rows = f", {record['rows']:,} rows" if record.get("rows") is not None else ""
    locked = ", encrypted" if record["encrypted"] else ""
    message(f"Backed up {record['database']} to {record['file']} ({record['kind']}{rows}, {shown}{locked})")
    out = fmt_of(fmt)
    if out == "json":
        emit_json(record)
    elif out == "csv":
        write_csv([record], sys.stdout)
    elif out in ("ids", "plain"):
        sys.stdout.write(f"{record['file']}\n")


@app.command("verify")
def verify(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="The backup (crm db backup wrote it).")],
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Check a backup whole: decrypt it, run a SQLite file's integrity check, or read every row
    of a dump against its header. Exit 1 when it is broken.

    Example: crm db verify crm-backup.db
    """
    from crmcli.domain import backups
    from crmcli.errors import CrmError
    from crmcli.output import Col, emit_record

    passphrase = _passphrase(new=False) if backups.is_encrypted(file) else None
    record = backups.verify(file, passphrase=passphrase)
    cols = [
        Col("file", "File"),
        Col("kind", "Kind"),
        Col("encrypted", "Encrypted"),
        Col("backend", "Made from"),
        Col("revision", "Schema"),
        Col("created", "Created", kind="time"),
        Col("tables", "Tables"),
        Col("rows", "Rows"),
        Col("contact_rows", "Contacts"),
        Col("company_rows", "Companies"),
        Col("deal_rows", "Deals"),
        Col("activity_rows", "Activities"),
        Col("state", "State"),
        Col("problem", "Problem"),
        Col("note", "Note"),
    ]
    emit_record(record, cols, fmt_of(fmt, quiet))
    if record["problem"]:
        raise CrmError(f"{record['file']} is broken: {record['problem']}")


@app.command("restore")
def restore(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="The backup (crm db backup wrote it), of this database's schema.")],
    yes: YesOpt = False,
) -> None:
    """Replace every record of the database, history included, with those of a backup, after an
    automatic backup of the current state (backups/auto in the user data directory). All or
    nothing: a restore that fails or is killed leaves the database as it was.

    Example: crm db restore crm-backup.db --yes
    """
    from crmcli import storage
    from crmcli.commands._prompts import Cancelled, confirm
    from crmcli.domain import backups
    from crmcli.output import message

    db = _db(ctx)
    engine, url = storage.open_engine(db, create=not db)
    path = storage.sqlite_path(url)
    where = str(path) if path is not None else storage.show_url(url)
    if not confirm(
        f"Replace every record of {where} with the backup {file}?",
        assume_yes=yes,
        action=f"replace every record of {where} with the backup {file}",
    ):
        raise Cancelled("nothing restored")
    passphrase = _passphrase(new=False) if backups.is_encrypted(file) else None
    result = backups.restore(engine, file, passphrase=passphrase)
    message(f"Restored {result['file']} into {where}: {result['rows']:,} rows (the state before: {result['before']})")
