"""The change log: every write to a record, kept by the database itself.

Triggers on every table that holds records (migration 0011; `install` rebuilds them after a
schema change) append a row to `change` for each row inserted, updated (when a value changed) or
deleted: the table, the record it belongs to (a contact's emails belong to the contact), and the
whole row before and after, as JSON. A write made through crm belongs to a *change set*, one per
transaction: when, who, and via what (the command line, an import, an undo, mcp). Writes made
around crm (a sqlite3 shell, psql) are logged too, with no change set.

How the triggers learn the change set: on PostgreSQL a transaction-local setting
(`crm.change_set`); on SQLite, whose writers take turns, a one-row table `change_current` that a
write transaction fills when it begins and empties when it commits. The log is append-only: other
triggers refuse to update or delete it, except while `rewriting` (pruning, erasing a person), and
a change set may be deleted only while it holds no change (a transaction that wrote nothing).

Nothing here knows about terminals; the domain (`crmcli.domain.history`) reads and undoes.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from crmcli.values import clock

# table: (kind of record, column with the record's id, column with the contact it is about).
# "@entity": the kind is the row's own entity column.
LOGGED: dict[str, tuple[str, str | None, str | None]] = {
    "company": ("company", "id", None),
    "company_tag": ("company", "company_id", None),
    "contact": ("contact", "id", "id"),
    "contact_email": ("contact", "contact_id", "contact_id"),
    "contact_phone": ("contact", "contact_id", "contact_id"),
    "contact_tag": ("contact", "contact_id", "contact_id"),
    "activity": ("activity", "id", "contact_id"),
    "deal": ("deal", "id", "contact_id"),
    "stage_history": ("deal", "deal_id", None),
    "followup": ("followup", "id", "contact_id"),
    "pipeline": ("pipeline", "id", None),
    "stage": ("pipeline", "pipeline_id", None),
    "field_def": ("field", "id", None),
    "setting": ("setting", None, None),
    "target": ("target", "id", None),
    "merge_log": ("@entity", "kept_id", None),
    "suppression": ("suppression", "id", None),
    "mail_message": ("mail", "id", None),
    "assignment_rule": ("rule", "id", None),
}
# columns that change with every edit and say nothing of their own (a later change of them is no
# conflict for an undo)
BOOKKEEPING = frozenset({"updated_at", "turn"})
# (table, column) an undo leaves as it is: a round robin's turns are handed out, never given back
NOT_UNDONE = frozenset({("assignment_rule", "turn")})


@dataclass(frozen=True)
class Acting:
    """Who writes and through what, for the change sets begun while it is current."""

    via: str = "python"  # the command line, "import 12", "undo 7", "mcp"
    kind: str = "api"  # command | import | undo | mcp | mail | api
    who: str | None = None  # SQLite: CRM_USER or the login; PostgreSQL: always the database role
    import_id: int | None = None
    undoes: int | None = None


_NOBODY = Acting()  # frozen: a default that cannot be changed in place
_acting: ContextVar[Acting] = ContextVar("crm_acting", default=_NOBODY)  # noqa: B039


# PostgreSQL: the database role of the session's connection (set by storage.session_scope); who
# acts is then the database's answer, whatever CRM_USER says
_db_user: ContextVar[str | None] = ContextVar("crm_db_user", default=None)


def current_user() -> str:
    """Who acts: on PostgreSQL the database role (current_user) of the open session; on SQLite
    (one file, one trust domain) CRM_USER, else the login name."""
    return _db_user.get() or os.environ.get("CRM_USER") or getpass.getuser()


def set_db_user(name: str | None) -> Any:
    """The database role sessions act as from here on (None: none); returns a token for reset_db_user."""
    return _db_user.set(name)


def reset_db_user(token: Any) -> None:
    _db_user.reset(token)


@contextmanager
def acting(**fields: Any) -> Iterator[Acting]:
    """Change sets begun inside the block record FIELDS (via, kind, import_id, undoes)."""
    now = _acting.get()
    token = _acting.set(Acting(**{**now.__dict__, **fields}))
    try:
        yield _acting.get()
    finally:
        _acting.reset(token)


def current() -> Acting:
    return _acting.get()


def update(**fields: Any) -> None:
    """Change what the innermost `acting` block records from here on (an import, once its run exists)."""
    _acting.set(Acting(**{**_acting.get().__dict__, **fields}))


# ---------------------------------------------------------------- transactions


def begin_set(connection: Any) -> int:
    """Open the change set of the transaction CONNECTION is in; returns its id."""
    from sqlalchemy import text

    a = _acting.get()
    values = {
        "at": clock.now().astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f"),
        "who": a.who or current_user(),
        "via": a.via,
        "kind": a.kind,
        "import_id": a.import_id,
        "undoes": a.undoes,
    }
    if connection.dialect.name == "postgresql":
        set_id = connection.execute(
            text(
                "INSERT INTO change_set (at, via, kind, import_id, undoes) "
                "VALUES (CAST(:at AS timestamp) AT TIME ZONE 'UTC', :via, :kind, :import_id, :undoes) RETURNING id"
            ),
            values,
        ).scalar_one()
        connection.execute(text("SELECT set_config('crm.change_set', :id, true)"), {"id": str(set_id)})
    else:
        set_id = connection.execute(
            text(
                "INSERT INTO change_set (at, who, via, kind, import_id, undoes) "
                "VALUES (:at, :who, :via, :kind, :import_id, :undoes) RETURNING id"
            ),
            values,
        ).scalar_one()
        connection.execute(
            text("INSERT OR REPLACE INTO change_current (k, set_id, paused, rewrite) VALUES (1, :id, 0, 0)"),
            {"id": set_id},
        )
    return int(set_id)


def end_set(connection: Any, set_id: int) -> None:
    """Before commit: the change set is closed, and dropped when the transaction wrote nothing."""
    from sqlalchemy import text

    if connection.dialect.name != "postgresql":
        connection.execute(text("DELETE FROM change_current"))
    connection.execute(
        text("DELETE FROM change_set WHERE id = :id AND NOT EXISTS (SELECT 1 FROM change WHERE set_id = :id)"),
        {"id": set_id},
    )


def _flag(connection: Any, pg_setting: str, column: str, on: bool, pg_values: tuple[str, str] = ("on", "off")) -> None:
    """Set a flag for the rest of the transaction: PostgreSQL a setting PG_SETTING (PG_VALUES: its
    value when ON, when not), SQLite the column COLUMN of change_current."""
    from sqlalchemy import text

    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT set_config(:name, :value, true)"), {"name": pg_setting, "value": pg_values[0 if on else 1]}
        )
    else:
        connection.execute(
            text("INSERT OR IGNORE INTO change_current (k, set_id, paused, rewrite) VALUES (1, NULL, 0, 0)")
        )
        connection.execute(text(f"UPDATE change_current SET {column} = :on"), {"on": 1 if on else 0})


@contextmanager
def rewriting(connection: Any) -> Iterator[None]:
    """Inside the block (one transaction) the change log may be rewritten: pruning, erasing a person."""
    _flag(connection, "crm.rewrite_history", "rewrite", True)
    try:
        yield
    finally:
        _flag(connection, "crm.rewrite_history", "rewrite", False)


@contextmanager
def paused(connection: Any) -> Iterator[None]:
    """Inside the block (one transaction) writes are not logged: restoring a backup, whose rows
    and history come back as they were."""
    # crm.history is "off" while paused (the trigger function's test), "on" otherwise
    _flag(connection, "crm.history", "paused", True, ("off", "on"))
    try:
        yield
    finally:
        _flag(connection, "crm.history", "paused", False, ("off", "on"))


def attach(session_class: Any) -> None:
    """Every write transaction of a Session (one bound with the crm_write option) gets a change set."""
    from sqlalchemy import event

    if getattr(session_class, "_crm_changelog", False):
        return
    session_class._crm_changelog = True

    @event.listens_for(session_class, "after_begin")
    def _begun(session: Any, _transaction: Any, connection: Any) -> None:
        if connection.get_execution_options().get("crm_write") and "crm_set" not in session.info:
            if connection.dialect.name == "sqlite" and not _has_log(connection):
                return
            session.info["crm_set"] = begin_set(connection)

    @event.listens_for(session_class, "before_commit")
    def _committing(session: Any) -> None:
        # flushed first: pending changes of a session with no transaction yet begin it here (and
        # so their change set), not in the commit's own flush, after this hook
        session.flush()
        set_id = session.info.get("crm_set")
        if set_id is not None:
            end_set(session.connection(), set_id)

    @event.listens_for(session_class, "after_commit")
    def _committed(session: Any) -> None:
        session.info.pop("crm_set", None)

    @event.listens_for(session_class, "after_rollback")
    def _rolled_back(session: Any) -> None:
        session.info.pop("crm_set", None)


def _has_log(connection: Any) -> bool:
    """A SQLite database at schema 0011 or later (one being created or upgraded has no log yet)."""
    from sqlalchemy import text

    return (
        connection.execute(text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'change_current'")).first()
        is not None
    )


# ---------------------------------------------------------------- triggers


def _sqlite_value(prefix: str, expr: str | None) -> str:
    if expr is None:
        return "NULL"
    if expr.startswith("@"):
        return f'{prefix}."{expr[1:]}"'
    return f'{prefix}."{expr}"'


def sqlite_triggers(table: str, columns: list[str]) -> list[str]:
    """The SQLite triggers that log TABLE's writes (COLUMNS: all of its columns)."""
    kind, rec, person = LOGGED[table]

    def row(prefix: str) -> str:
        return "json_object(" + ", ".join(f"'{c}', {prefix}.\"{c}\"" for c in columns) + ")"

    def kind_of(prefix: str) -> str:
        return _sqlite_value(prefix, kind) if kind.startswith("@") else f"'{kind}'"

    live = "NOT EXISTS (SELECT 1 FROM change_current WHERE paused = 1)"
    changed = " OR ".join(f'OLD."{c}" IS NOT NEW."{c}"' for c in columns)
    out = []
    for op, when, prefix, before, after in (
        ("insert", live, "NEW", "NULL", row("NEW")),
        ("update", f"{live} AND ({changed})", "NEW", row("OLD"), row("NEW")),
        ("delete", live, "OLD", row("OLD"), "NULL"),
    ):
        out.append(
            f'CREATE TRIGGER crm_log_{table}_{op} AFTER {op.upper()} ON "{table}" WHEN {when} BEGIN '
            "INSERT INTO change (set_id, tbl, op, kind, record_id, contact_id, before, after) VALUES ("
            f"(SELECT set_id FROM change_current), '{table}', '{op}', {kind_of(prefix)}, "
            f"{_sqlite_value(prefix, rec)}, {_sqlite_value(prefix, person)}, {before}, {after}); END"
        )
    return out


SQLITE_GUARDS = [
    "CREATE TRIGGER crm_log_keep_change_u BEFORE UPDATE ON change "
    "WHEN NOT EXISTS (SELECT 1 FROM change_current WHERE rewrite = 1) "
    "BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END",
    "CREATE TRIGGER crm_log_keep_change_d BEFORE DELETE ON change "
    "WHEN NOT EXISTS (SELECT 1 FROM change_current WHERE rewrite = 1) "
    "BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END",
    "CREATE TRIGGER crm_log_keep_set_u BEFORE UPDATE ON change_set "
    "WHEN NOT EXISTS (SELECT 1 FROM change_current WHERE rewrite = 1) "
    "BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END",
    "CREATE TRIGGER crm_log_keep_set_d BEFORE DELETE ON change_set "
    "WHEN NOT EXISTS (SELECT 1 FROM change_current WHERE rewrite = 1) "
    "AND EXISTS (SELECT 1 FROM change WHERE set_id = OLD.id) "
    "BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END",
]

PG_FUNCTIONS = [
    """
CREATE OR REPLACE FUNCTION crm_log() RETURNS trigger LANGUAGE plpgsql
-- as its owner: whoever writes a record needs (and has) no right to write the log itself
SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    b jsonb;
    a jsonb;
    src jsonb;
    k text := TG_ARGV[0];
BEGIN
    IF coalesce(current_setting('crm.history', true), '') = 'off' THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN b := to_jsonb(OLD); END IF;
    IF TG_OP <> 'DELETE' THEN a := to_jsonb(NEW); END IF;
    IF TG_OP = 'UPDATE' AND a = b THEN RETURN NULL; END IF;
    src := coalesce(a, b);
    IF left(k, 1) = '@' THEN k := src ->> substr(k, 2); END IF;
    INSERT INTO change (set_id, tbl, op, kind, record_id, contact_id, before, after, who)
    VALUES (nullif(current_setting('crm.change_set', true), '')::bigint, TG_TABLE_NAME, lower(TG_OP), k,
            (src ->> nullif(TG_ARGV[1], ''))::bigint, (src ->> nullif(TG_ARGV[2], ''))::bigint, b, a,
            session_user);
    RETURN NULL;
END $$
""",
    """
CREATE OR REPLACE FUNCTION crm_log_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('crm.rewrite_history', true), '') = 'on' THEN
        RETURN coalesce(NEW, OLD);
    END IF;
    IF TG_TABLE_NAME = 'change_set' AND TG_OP = 'DELETE'
       AND NOT EXISTS (SELECT 1 FROM change WHERE set_id = OLD.id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the change log is append-only';
END $$
""",
]


def pg_triggers(table: str) -> list[str]:
    kind, rec, person = LOGGED[table]
    return [
        f'DROP TRIGGER IF EXISTS crm_log ON "{table}"',
        f'CREATE TRIGGER crm_log AFTER INSERT OR UPDATE OR DELETE ON "{table}" FOR EACH ROW '
        f"EXECUTE FUNCTION crm_log('{kind}', '{rec or ''}', '{person or ''}')",
    ]


PG_GUARDS = [
    "DROP TRIGGER IF EXISTS crm_log_keep ON change",
    "CREATE TRIGGER crm_log_keep BEFORE UPDATE OR DELETE ON change FOR EACH ROW EXECUTE FUNCTION crm_log_keep()",
    "DROP TRIGGER IF EXISTS crm_log_keep ON change_set",
    "CREATE TRIGGER crm_log_keep BEFORE UPDATE OR DELETE ON change_set FOR EACH ROW EXECUTE FUNCTION crm_log_keep()",
]


def uninstall(connection: Any) -> None:
    """Drop the logging triggers (SQLite: a column they name cannot be dropped while they exist)."""
    from sqlalchemy import text

    if connection.dialect.name == "postgresql":
        for table in LOGGED:
            connection.execute(text(f'DROP TRIGGER IF EXISTS crm_log ON "{table}"'))
        return
    for name in list(
        connection.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'crm_log_%'")
        ).scalars()
    ):
        connection.execute(text(f'DROP TRIGGER "{name}"'))


def install(connection: Any) -> None:
    """(Re)create the logging triggers from the tables as they are now: migration 0011, and every
    later migration that adds or changes a column of a logged table."""
    from sqlalchemy import inspect, text

    found = inspect(connection)
    present = [t for t in LOGGED if found.has_table(t)]  # an older revision has fewer of them
    if connection.dialect.name == "postgresql":
        for statement in PG_FUNCTIONS:
            connection.execute(text(statement))
        for table in present:
            for statement in pg_triggers(table):
                connection.execute(text(statement))
        for statement in PG_GUARDS:
            connection.execute(text(statement))
        return
    for name in list(
        connection.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'crm_log_%'")
        ).scalars()
    ):
        connection.execute(text(f'DROP TRIGGER "{name}"'))
    for table in present:
        columns = [c["name"] for c in found.get_columns(table)]
        for statement in sqlite_triggers(table, columns):
            connection.execute(text(statement))
    for statement in SQLITE_GUARDS:
        connection.execute(text(statement))
