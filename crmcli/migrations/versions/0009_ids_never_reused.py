"""ids are never reused: SQLite AUTOINCREMENT on the tables whose ids people hold

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

Without AUTOINCREMENT, SQLite gives a new row max(id) + 1, so the id of the newest contact,
once deleted or merged away, went to the next contact added: a script or a cron line holding
that id would reach another person. With it, SQLite remembers the highest id ever given
(sqlite_sequence) and never goes below it.

Each table is rebuilt as SQLite's documentation prescribes (create the new table, copy, drop
the old, rename the new, recreate its indexes), from its own CREATE statement with only the
primary key changed, so every column, default and constraint stays as it was. This must run
with foreign keys off (storage.upgrade turns them off; PRAGMA foreign_keys cannot change inside
a transaction): with them on, dropping the old contact table would delete every email, phone,
activity and follow-up through ON DELETE CASCADE. storage.upgrade runs PRAGMA foreign_key_check
before it commits.

sqlite_sequence starts above the highest id in use and above every id the merge log and the
import log remember, so that ids of records deleted before this upgrade are not given out again
either (those of the newest records deleted without a trace cannot be known).

PostgreSQL's serial columns take their ids from sequences, which never go back: nothing to do.
"""

import re

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The tables whose ids people and scripts hold (`crm contacts show 12`, `crm imports undo 3` …).
TABLES = ("company", "contact", "deal", "activity", "followup", "pipeline", "stage", "target", "import_run")
# Ids remembered elsewhere: (table, SQL giving the highest id it remembers for that table).
REMEMBERED = {
    "contact": [
        "SELECT max(merged_id) FROM merge_log WHERE entity = 'contact'",
        "SELECT max(record_id) FROM import_change WHERE entity = 'contact'",
    ],
    "company": [
        "SELECT max(merged_id) FROM merge_log WHERE entity = 'company'",
        "SELECT max(record_id) FROM import_change WHERE entity = 'company'",
    ],
    "deal": ["SELECT max(record_id) FROM import_change WHERE entity = 'deal'"],
    "import_run": ["SELECT max(import_id) FROM import_change"],
}


def _autoincrement_sql(table: str, sql: str) -> str:
    """The CREATE TABLE statement SQL of TABLE, for a table named _crm_new_TABLE whose id is
    INTEGER PRIMARY KEY AUTOINCREMENT (SQLAlchemy wrote `id INTEGER NOT NULL, … PRIMARY KEY (id)`)."""
    new, n_head = re.subn(rf"^CREATE TABLE \"?{table}\"? \(", f'CREATE TABLE "_crm_new_{table}" (', sql)
    new, n_col = re.subn(r"(\(\s*)id INTEGER NOT NULL,", r"\1id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,", new)
    new, n_pk = re.subn(r",\s*PRIMARY KEY \(id\)", "", new)
    if (n_head, n_col, n_pk) != (1, 1, 1):
        raise RuntimeError(f"0009: unexpected shape of table {table}: {sql}")
    return new


def _table_sql(conn, table: str) -> str | None:  # noqa: ANN001
    """TABLE's CREATE statement when it still lets ids be reused, else None."""
    sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).scalar()
    return None if sql is None or "AUTOINCREMENT" in sql.upper() else sql


def _rebuild(conn, table: str, sql: str) -> None:  # noqa: ANN001
    indexes = [
        row[0]
        for row in conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (table,)
        )
    ]
    triggers = [
        row[0]
        for row in conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (table,)
        )
    ]
    high = conn.exec_driver_sql(f'SELECT max(id) FROM "{table}"').scalar() or 0
    for query in REMEMBERED.get(table, []):
        high = max(high, conn.exec_driver_sql(query).scalar() or 0)
    conn.exec_driver_sql(_autoincrement_sql(table, sql))
    conn.exec_driver_sql(f'INSERT INTO "_crm_new_{table}" SELECT * FROM "{table}"')
    conn.exec_driver_sql(f'DROP TABLE "{table}"')
    conn.exec_driver_sql(f'ALTER TABLE "_crm_new_{table}" RENAME TO "{table}"')
    for statement in indexes + triggers:
        conn.exec_driver_sql(statement)
    conn.exec_driver_sql("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
    conn.exec_driver_sql("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, high))


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    todo = {table: sql for table in TABLES if (sql := _table_sql(conn, table)) is not None}
    if not todo:  # a database taken down below 0009 keeps AUTOINCREMENT (see downgrade)
        return
    if conn.exec_driver_sql("PRAGMA foreign_keys").scalar():
        # Dropping contact with foreign keys on would cascade-delete its emails, phones, activities …
        raise RuntimeError("0009 rebuilds tables: run it with PRAGMA foreign_keys=OFF (storage.upgrade does)")
    for table, sql in todo.items():
        _rebuild(conn, table, sql)


def downgrade() -> None:
    """AUTOINCREMENT stays: a schema at 0008 works the same with it, and taking it away would
    rebuild every table again only to let ids be reused."""
