"""crm db: where the data lives and which schema it has."""

from __future__ import annotations

import typer

from crmcli.commands._common import FormatOpt, QuietOpt, fmt_of

app = typer.Typer(no_args_is_help=True, help="The database: status and schema upgrades.")


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
    """Upgrade the schema now (it also happens on first use), after a backup of a SQLite file.

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
    old, new, backup = storage.upgrade(engine, url)
    message(f"Upgraded schema {old or 'none'} → {new}" + (f" (backup: {backup})" if backup else ""))
