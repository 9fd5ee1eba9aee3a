"""Backups that restore: `crm db backup`, `crm db verify`, `crm db restore`, and the automatic
backups taken before a command that changes much at once (a restore, an import's undo, an undo).

A backup is one of two kinds of file:

- **a SQLite file**, for a SQLite database (its default there): a consistent copy made with
  SQLite's online backup API in one step, while writers keep working;
- **a crm dump** (`.crmdump.gz`; on PostgreSQL the only kind, on SQLite when FILE ends in `.gz`):
  gzip-compressed JSON lines. The first line is the header ``{"format": "crm-backup", "version":
  1, "backend", "revision", "created", "tables": [{"name", "columns", "rows", "next_id"}]}``,
  in foreign-key order; then a line per row, ``{"t": TABLE, "r": [values in the order of its
  columns]}``, table after table; last ``{"end": true, "rows": TOTAL}``, so a cut file is told
  from a complete one. Every row of every table of the schema (alembic_version, SQLite's
  change_current and full-text index, rebuilt from search_doc, and generated columns aside),
  read in one transaction (REPEATABLE READ on PostgreSQL): the dump is one moment of the
  database. Numbers, text, booleans and NULL are JSON's own; other values are tagged so that they
  come back as they were: ``{"$t": "ts" | "date" | "time" | "dec" | "bytes" | "uuid", "v":
  TEXT}``, and a JSON column's value as its JSON text, ``{"$t": "json", "v": "{…}"}`` (SQL NULL
  stays null, JSON null is ``"null"``). ``next_id`` is where the table's ids go on (PostgreSQL's
  sequence, SQLite's AUTOINCREMENT counter), so a restored database never gives a new record the
  id of one deleted before the backup.

Either kind may be encrypted: ``MAGIC``, a JSON line with the key derivation (scrypt and its
salt), then the file in chunks of 1 MiB, each a Fernet token (AES-128-CBC with HMAC-SHA256) of
its index, whether it is the last, and its bytes: a changed, reordered or cut file fails to
decrypt instead of restoring something else.

Restoring needs a backup of the database's own schema revision and replaces every row:

- SQLite: the backup (the SQLite file, or a database built from a dump in a temporary file beside
  the database) is copied into the live database with the backup API in one step, which is one
  write transaction of the database: until it commits, the old content is what is there, whatever
  happens to the process (kill -9 included: SQLite rolls an unfinished transaction back, from its
  WAL, when the file is next opened). No file is renamed over the database, so no stale -wal or
  -shm file can be replayed onto another database, and processes that have it open see the old
  content, then the new one. A killed restore may leave its temporary file (`.crm.db.restore-…`,
  mode 0600) beside the database, and a decrypted copy (0600) in the temporary directory.
- PostgreSQL: one transaction: TRUNCATE every table, insert the rows in foreign-key order with the
  change log's triggers paused and the triggers of its own tables (change, change_set) disabled, so
  that the dump's history comes back as data, as it was; move every sequence past the highest id
  and past where it was, and check the counts. A killed restore is rolled back by the server.
  Dumps and restores run with row_security off: a role that the team's row-level policies would
  narrow gets an error, never a part of the database; a restore needs the tables' owner (it
  truncates them and switches the log's triggers off).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import re
import sqlite3
import struct
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from datetime import UTC, date, datetime
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from sqlalchemy import JSON, Integer, MetaData, Table, Text, bindparam, cast, func, insert, inspect, select, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from crmcli import changelog, storage
from crmcli.domain import settings
from crmcli.errors import Conflict, DatabaseError, Denied, Invalid, NotFound
from crmcli.values import files

FORMAT = "crm-backup"
VERSION = 1
MAGIC = b"crm-backup-encrypted\n"
SQLITE_MAGIC = b"SQLite format 3\x00"
GZIP_MAGIC = b"\x1f\x8b"
KEEP = "backup.keep"  # the setting: automatic backups kept per database
SKIPPED = frozenset({"alembic_version", "change_current"})  # not data: the schema's revision, a transaction's state
LOG_TABLES = frozenset({"change", "change_set"})  # the change log: restored as data, its triggers off meanwhile
COUNTED = ("contact", "company", "deal", "activity")  # what verify reports, besides the totals
CHUNK = 1 << 20
BATCH = 2_000
SCRYPT = {"n": 2**15, "r": 8, "p": 1}
TEST_DELAY = "CRM_TEST_RESTORE_DELAY"  # tests only: seconds to pause at each step of a restore


# ---------------------------------------------------------------- where backups go


def backups_dir() -> Path:
    """`backups` in the user data directory, beside the default database."""
    return storage.default_db_path().parent / "backups"


def default_path(*, dump: bool, encrypted: bool = False) -> Path:
    """backups/crm-YYYYmmdd-HHMMSS.db (or .crmdump.gz; .enc when encrypted), UTC."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return _folder(backups_dir()) / f"crm-{stamp}.{'crmdump.gz' if dump else 'db'}{'.enc' if encrypted else ''}"


def _folder(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise Invalid(f"cannot make the backup directory {path}: {exc.strerror or exc}") from None
    return path


def _is_dump_name(path: Path) -> bool:
    name = path.name.lower().removesuffix(".enc")
    return name.endswith(".gz")


def _where(url: str) -> str:
    path = storage.sqlite_path(url)
    return str(path) if path is not None else storage.show_url(url)


def _engine(db: Engine | str | None) -> tuple[Engine, str]:
    if isinstance(db, Engine):
        return db, db.url.render_as_string(hide_password=False)
    engine, url = storage.open_engine(db)
    if engine.dialect.name == "sqlite" and storage.sqlite_path(url) is None:
        raise Invalid("a database in memory has no backup")
    return engine, url


def _failed(what: str, url: str, exc: BaseException) -> DatabaseError:
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return DatabaseError(f"{what}: {storage.redact(lines[0] if lines else type(orig).__name__, url)}")


# ---------------------------------------------------------------- backing up


def backup(
    db: Engine | str | None = None,
    file: str | Path | None = None,
    *,
    passphrase: str | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Back DB up to FILE (default: backups/crm-DATE-TIME in the user data directory): a SQLite file
    for a SQLite database unless FILE ends in .gz, else a crm dump; encrypted with PASSPHRASE. An
    existing FILE is replaced only with FORCE. Returns what was written."""
    engine, url = _engine(db)
    sqlite = engine.dialect.name == "sqlite"
    if file is None:
        path = default_path(dump=not sqlite, encrypted=passphrase is not None)
    else:
        path = Path(file).expanduser()
        if path.is_dir():
            raise Invalid(f"{path} is a directory: give a file name such as {path / 'crm-backup.db'}")
        files.check(path, force=force)
        if not sqlite and path.name.lower().removesuffix(".enc").endswith((".db", ".sqlite", ".sqlite3")):
            raise Invalid(
                f"a PostgreSQL database is backed up as a crm dump, not a SQLite file: name it {path}.crmdump.gz"
            )
    dump = not sqlite or _is_dump_name(path)
    made: dict[str, Any] = {}

    def fill(tmp: str) -> None:
        if passphrase is None:
            made.update(_write_plain(engine, url, tmp, dump=dump))
            return
        with _scratch(Path(tmp).parent, path.name) as plain:
            made.update(_write_plain(engine, url, plain, dump=dump))
            _encrypt(plain, tmp, passphrase)

    written = _put(path, fill, force=force)
    return {
        "id": 1,
        "file": str(written),
        "database": _where(url),
        "kind": "crm dump" if dump else "SQLite file",
        "backend": engine.dialect.name,
        "revision": made.get("revision"),
        "encrypted": passphrase is not None,
        "tables": made.get("tables"),
        "rows": made.get("rows"),
        "size_bytes": written.stat().st_size,
    }


def reads_everything(engine: Engine) -> bool:
    """Whether the acting role can back the database up whole: on SQLite always; on PostgreSQL the
    tables' owner (or a role acting as it), a superuser, or a role that bypasses row-level
    security. A team's members, managers and admins see through its policies: their dump would
    lack rows, so it is refused."""
    if engine.dialect.name != "postgresql":
        return True
    with engine.connect() as conn:
        return bool(
            conn.execute(
                text(
                    "SELECT r.rolsuper OR r.rolbypassrls OR pg_has_role(current_user, c.relowner, 'USAGE') "
                    "FROM pg_roles r, pg_class c WHERE r.rolname = current_user AND c.oid = 'contact'::regclass"
                )
            ).scalar()
        )


def automatic(db: Engine | str | None, reason: str) -> Path | None:
    """A backup of DB as it is now, before REASON ("restore", "imports-undo-3", "undo-12"), in
    backups/auto/<database>/ of the user data directory; only the newest `backup.keep` (default 10)
    of that database are kept. Never encrypted: like the backup before a schema upgrade, it is
    the user's own file (0600). None when the acting role cannot read every row (reads_everything):
    a team member's undo is then taken back through the history alone."""
    engine, url = _engine(db)
    if not reads_everything(engine):
        return None
    dump = engine.dialect.name != "sqlite"
    folder = _folder(backups_dir() / "auto" / _label(url))
    slug = re.sub(r"[^a-z0-9]+", "-", reason.lower()).strip("-") or "auto"
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = files.write_new(
        folder / f"{stamp}-{slug}.{'crmdump.gz' if dump else 'db'}",
        lambda tmp: _write_plain(engine, url, tmp, dump=dump),
    )
    _prune(folder, _keep(engine))
    return path


def _label(url: str) -> str:
    """The folder of a database's automatic backups: its name and a digest of where it is (never
    a password)."""
    path = storage.sqlite_path(url)
    if path is not None:
        name, where = path.stem, str(path.absolute())
    else:
        parsed = make_url(url)
        name = parsed.database or "db"
        where = f"{parsed.get_backend_name()}://{parsed.username or ''}@{parsed.host or ''}:{parsed.port or ''}/{name}"
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "db"
    return f"{safe}-{hashlib.sha256(where.encode()).hexdigest()[:10]}"


def _keep(engine: Engine) -> int:
    try:
        with Session(engine) as s:
            value = settings.get(s, KEEP)
        return max(1, int(value or 10))
    except (SQLAlchemyError, ValueError):
        return 10


def _prune(folder: Path, keep: int) -> None:
    found = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    found.sort(key=lambda p: (p.stat().st_mtime_ns, p.name))
    for old in found[:-keep] if keep > 0 else found:
        old.unlink(missing_ok=True)


def _put(path: Path, fill: Callable[[str], None], *, force: bool) -> Path:
    """PATH written by FILL, complete or absent, 0600; an existing PATH replaced only with FORCE
    (without it, one that appeared meanwhile leaves the backup as PATH.2)."""
    return files.write_over(path, fill, force=force)


def _scratch(folder: Path | None, name: str) -> Any:
    """A temporary file (0600) in FOLDER (None: the system's), removed afterwards."""
    return files.scratch(folder, name)


def _write_plain(engine: Engine, url: str, tmp: str, *, dump: bool) -> dict[str, Any]:
    """The database as it is now into TMP: a crm dump, or (SQLite) a copy of the file."""
    what = f"cannot back up {_where(url)}"
    try:
        if dump:
            return _write_dump(engine, tmp)
        raw = engine.raw_connection()
        try:
            source = raw.driver_connection
            with closing(sqlite3.connect(tmp)) as copy:
                source.backup(copy)  # type: ignore[union-attr]  # one step: one consistent moment
                copy.execute("PRAGMA journal_mode = DELETE")  # the copy stands alone: no -wal to go with it
                revision = copy.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            raw.close()
        return {"revision": revision[0] if revision else None}
    except (SQLAlchemyError, sqlite3.Error) as exc:
        raise _failed(what, url, exc) from None
    except OSError as exc:
        raise Invalid(f"{what}: {exc.strerror or exc}") from None


def _write_dump(engine: Engine, tmp: str) -> dict[str, Any]:
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():  # one snapshot: the counts, the rows and the sequences of one moment
            if conn.dialect.name == "postgresql":  # a role the team's policies narrow fails, never backs up part
                conn.execute(text("SET LOCAL row_security = off"))
            header, rows = _snapshot(conn)
            with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=6) as out:
                out.write(_line(header))
                total = 0
                for name, values in rows:
                    out.write(_line({"t": name, "r": [_encode(v) for v in values]}))
                    total += 1
                out.write(_line({"end": True, "rows": total}))
    return {"revision": header["revision"], "tables": len(header["tables"]), "rows": total}


def _line(item: dict[str, Any]) -> str:
    return json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n"


# ---------------------------------------------------------------- reading a database


class _JsonText(str):
    """A JSON column's value as its JSON text, carried as it is."""


def _reflect(conn: Connection) -> list[Table]:
    """The schema's tables with data, in foreign-key order (parents first)."""
    names = inspect(conn).get_table_names()
    if conn.dialect.name == "sqlite":
        virtual = [
            row[0]
            for row in conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'"
            )
        ]
        names = [n for n in names if not n.startswith("sqlite_") and not any(n.startswith(v) for v in virtual)]
    metadata = MetaData()
    metadata.reflect(bind=conn, only=[n for n in names if n not in SKIPPED])
    return list(metadata.sorted_tables)


def _columns(table: Table) -> list[Any]:
    return [c for c in table.columns if c.computed is None]  # generated columns make themselves


def _id_column(table: Table) -> Any | None:
    keys = list(table.primary_key.columns)
    return keys[0] if len(keys) == 1 and isinstance(keys[0].type, Integer) else None


def _next_id(conn: Connection, table: Table) -> int | None:
    """The id the table's counter gives next: past every id it ever gave."""
    column = _id_column(table)
    if column is None:
        return None
    if conn.dialect.name == "sqlite":
        if not conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").first():
            return None
        row = conn.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = ?", (table.name,)).first()
        return int(row[0]) + 1 if row else None
    if conn.dialect.name != "postgresql":
        return None
    sequence = conn.execute(
        text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": f'"{table.name}"', "c": column.name}
    ).scalar()
    if not sequence:
        return None
    last, called = conn.execute(text(f"SELECT last_value, is_called FROM {sequence}")).one()
    return int(last) + 1 if called else int(last)


def _snapshot(conn: Connection) -> tuple[dict[str, Any], Iterator[tuple[str, list[Any]]]]:
    """The header of the database CONN is on, and its rows (JSON columns as their text), read in
    the transaction CONN is in."""
    tables = _reflect(conn)
    metas = []
    for table in tables:
        count = conn.execute(select(func.count()).select_from(table)).scalar_one()
        metas.append(
            {
                "name": table.name,
                "columns": [c.name for c in _columns(table)],
                "rows": int(count),
                "next_id": _next_id(conn, table),
            }
        )
    header = {
        "format": FORMAT,
        "version": VERSION,
        "backend": conn.dialect.name,
        "revision": storage.current_revision(conn),
        "created": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "tables": metas,
    }

    def rows() -> Iterator[tuple[str, list[Any]]]:
        for table in tables:
            columns = _columns(table)
            is_json = [isinstance(c.type, JSON) for c in columns]
            query = select(*(cast(c, Text) if j else c for c, j in zip(columns, is_json, strict=True)))
            query = query.order_by(*table.primary_key.columns)
            for row in conn.execution_options(yield_per=BATCH).execute(query):
                yield (
                    table.name,
                    [_JsonText(v) if j and v is not None else v for v, j in zip(row, is_json, strict=True)],
                )

    return header, rows()


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)) or (isinstance(value, str) and type(value) is str):
        return value
    if isinstance(value, _JsonText):
        return {"$t": "json", "v": str(value)}
    if isinstance(value, datetime):
        return {"$t": "ts", "v": value.isoformat()}
    if isinstance(value, date):
        return {"$t": "date", "v": value.isoformat()}
    if isinstance(value, clock_time):
        return {"$t": "time", "v": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$t": "dec", "v": str(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$t": "bytes", "v": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, uuid.UUID):
        return {"$t": "uuid", "v": str(value)}
    if isinstance(value, str):
        return str(value)
    raise Invalid(f"cannot back up a value of type {type(value).__name__}")


_DECODERS: dict[str, Callable[[str], Any]] = {
    "json": _JsonText,
    "ts": datetime.fromisoformat,
    "date": date.fromisoformat,
    "time": clock_time.fromisoformat,
    "dec": Decimal,
    "bytes": base64.b64decode,
    "uuid": uuid.UUID,
}


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        return _DECODERS[value["$t"]](value["v"])
    if isinstance(value, list):
        raise ValueError("a value is a list")
    return value


# ---------------------------------------------------------------- reading a backup


def is_encrypted(path: str | Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def _kind(path: str | Path, shown: str) -> str:
    try:
        with open(path, "rb") as fh:
            start = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise Invalid(f"cannot read {shown}: {exc.strerror or exc}") from None
    if start == SQLITE_MAGIC:
        return "sqlite"
    if start.startswith(GZIP_MAGIC):
        return "dump"
    raise Invalid(f"{shown} is not a crm backup: neither a SQLite file nor a crm dump")


def _existing(file: str | Path) -> Path:
    path = Path(file).expanduser()
    if not path.is_file():
        raise NotFound(f"no backup at {path}" if not path.exists() else f"{path} is not a file")
    return path


@contextmanager
def _plain(path: Path, passphrase: str | None) -> Iterator[Path]:
    """PATH, decrypted into a temporary file (0600, removed afterwards) when it is encrypted."""
    if not is_encrypted(path):
        yield path
        return
    if not passphrase:
        raise Invalid(f"{path} is encrypted: it needs its passphrase")
    with _scratch(None, path.name) as tmp:
        _decrypt(path, tmp, passphrase)
        yield Path(tmp)


def _sqlite_ro(path: Path) -> sqlite3.Connection:
    """A backup file opened for reading only; nothing is written beside it (unless it comes with a
    -wal file, a database copied with its log: that is read too)."""
    wal = Path(f"{path}-wal").exists()
    return sqlite3.connect(f"file:{quote(str(path))}?mode=ro{'' if wal else '&immutable=1'}", uri=True)


def _names(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    """The tables of a SQLite backup that hold data, as a dump has them."""
    rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall()
    virtual = [name for name, sql in rows if str(sql or "").upper().startswith("CREATE VIRTUAL TABLE")]
    return [
        name
        for name, _sql in rows
        if name not in SKIPPED and not name.startswith("sqlite_") and not any(name.startswith(v) for v in virtual)
    ]


def _inspect_sqlite(path: Path) -> dict[str, Any]:
    """What a SQLite backup holds: integrity, schema revision, counts. Never raises for a broken file."""
    found: dict[str, Any] = {"kind": "SQLite file", "backend": "sqlite", "revision": None, "created": None}
    try:
        with closing(_sqlite_ro(path)) as conn:
            problems = [row[0] for row in conn.execute("PRAGMA integrity_check(20)")]
            if problems != ["ok"]:
                found["problem"] = "integrity check failed: " + "; ".join(problems[:3])
                return found
            if conn.execute("PRAGMA foreign_key_check").fetchone() is not None:
                found["problem"] = "a row points at a row that is not there (foreign key check)"
            names = _names(conn)
            if "alembic_version" not in names:
                found["problem"] = "a SQLite database, but not a crm one (no schema revision)"
                return found
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            found["revision"] = row[0] if row else None
            for table in COUNTED:
                if table in names:
                    found[f"{table}_rows"] = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            found["tables"] = len(_sqlite_tables(conn))
    except sqlite3.Error as exc:
        found["problem"] = f"unreadable: {exc}"
    return found


@contextmanager
def _sqlite_source(path: Path) -> Iterator[tuple[dict[str, Any], Iterator[tuple[str, list[Any]]]]]:
    """A SQLite backup's header and rows, as a dump has them."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine("sqlite://", creator=lambda: _sqlite_ro(path), poolclass=NullPool)
    try:
        with engine.connect() as conn, conn.begin():
            yield _snapshot(conn)
    finally:
        engine.dispose()


@contextmanager
def _dump_source(path: Path, shown: str) -> Iterator[tuple[dict[str, Any], Iterator[tuple[str, list[Any]]]]]:
    """A crm dump's header (checked) and its rows, decoded as they are read: a damaged or cut file
    raises Invalid when the reading gets there."""
    try:
        fh = gzip.open(path, "rt", encoding="utf-8")
        first = fh.readline()
        header = json.loads(first)
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        raise Invalid(f"{shown} is damaged: {_why(exc)}") from None
    with fh:
        yield _checked_header(header, shown), _dump_rows(fh, header, shown)


def _checked_header(header: Any, shown: str) -> dict[str, Any]:
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise Invalid(f"{shown} is not a crm backup: its first line is no crm-backup header")
    if header.get("version") != VERSION:
        raise Invalid(f"{shown} is a crm backup of version {header.get('version')}, which this crmcli cannot read")
    tables = header.get("tables")
    if not isinstance(tables, list) or not all(
        isinstance(t, dict) and isinstance(t.get("name"), str) and isinstance(t.get("columns"), list) for t in tables
    ):
        raise Invalid(f"{shown} is damaged: its header lists no tables")
    return header


def _dump_rows(fh: IO[str], header: dict[str, Any], shown: str) -> Iterator[tuple[str, list[Any]]]:
    width = {t["name"]: len(t["columns"]) for t in header["tables"]}
    total = 0
    try:
        for line in fh:
            item = json.loads(line)
            if "end" in item:
                if item.get("rows") != total:
                    raise Invalid(f"{shown} is damaged: it holds {total:,} rows, its last line says {item.get('rows')}")
                if fh.read(1):
                    raise Invalid(f"{shown} is damaged: there is more after its last line")
                return
            name, values = item["t"], item["r"]
            if width.get(name) != len(values):
                raise Invalid(f"{shown} is damaged: a row of {name} the header does not describe")
            total += 1
            yield name, [_decode(v) for v in values]
    except EOFError:
        raise Invalid(f"{shown} is truncated: it ends after {total:,} rows, before its last line") from None
    except (OSError, zlib.error, ValueError, KeyError, TypeError) as exc:
        raise Invalid(f"{shown} is damaged: {_why(exc)}") from None
    raise Invalid(f"{shown} is truncated: it ends after {total:,} rows, before its last line")


def _why(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "it ends too soon"
    text_ = str(exc).strip().splitlines()
    return text_[0] if text_ else type(exc).__name__


# ---------------------------------------------------------------- verify


def verify(file: str | Path, *, passphrase: str | None = None) -> dict[str, Any]:
    """Check the backup FILE whole: decrypt it (PASSPHRASE), run a SQLite file's integrity check, or
    read every row of a dump against its header. Returns what was found; "problem" is None when it
    is sound. A wrong passphrase raises Invalid."""
    path = _existing(file)
    shown = str(path)
    record: dict[str, Any] = {"id": 1, "file": shown, "encrypted": is_encrypted(path)}
    with _plain(path, passphrase) as plain:
        if _kind(plain, shown) == "sqlite":
            record.update(_inspect_sqlite(plain))
        else:
            record.update(_verify_dump(plain, shown))
    record.setdefault("problem", None)
    if record["problem"] is None and record.get("revision") not in storage.SCHEMA_REVISIONS:
        record["note"] = f"schema {record.get('revision')} is newer than this crmcli ({storage.SCHEMA_HEAD})"
    record["state"] = "ok" if record["problem"] is None else "broken"
    return record


def _verify_dump(path: Path, shown: str) -> dict[str, Any]:
    found: dict[str, Any] = {"kind": "crm dump"}
    try:
        with _dump_source(path, shown) as (header, rows):
            found.update(
                backend=header.get("backend"),
                revision=header.get("revision"),
                created=_when(header.get("created")),
                tables=len(header["tables"]),
            )
            counts = dict.fromkeys((t["name"] for t in header["tables"]), 0)
            for name, _values in rows:
                counts[name] += 1
    except Invalid as exc:
        found["problem"] = str(exc).removeprefix(f"{shown} is ").removeprefix(f"{shown}: ")
        return found
    wrong = [
        f"{t['name']} has {counts[t['name']]:,} rows, the header says {t.get('rows')}"
        for t in header["tables"]
        if counts[t["name"]] != t.get("rows")
    ]
    if wrong:
        found["problem"] = "; ".join(wrong[:3])
    found["rows"] = sum(counts.values())
    for table in COUNTED:
        found[f"{table}_rows"] = counts.get(table)
    return found


def _when(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


# ---------------------------------------------------------------- restore


def restore(db: Engine | str | None, file: str | Path, *, passphrase: str | None = None) -> dict[str, Any]:
    """Replace every row of DB with those of the backup FILE (decrypted with PASSPHRASE), which
    must be of DB's schema revision; first, an automatic backup of DB as it is. On SQLite in one
    write transaction of the database, on PostgreSQL in one transaction: the old content stays
    whole until the new one is complete (see the module's docstring)."""
    engine, url = _engine(db)
    where = _where(url)
    path = _existing(file)
    shown = str(path)
    if storage.is_read_only(url):
        raise DatabaseError(f"database {where} can only be read: its directory is not writable, so nothing is restored")
    live_path = storage.sqlite_path(url)
    if live_path is not None and live_path.exists() and path.resolve() == live_path.resolve():
        raise Invalid(f"{shown} is the database itself, not a backup of it")
    try:
        with engine.connect() as conn:
            live = storage.current_revision(conn)
    except SQLAlchemyError as exc:
        raise _failed(f"cannot read database {where}", url, exc) from None
    with ExitStack() as stack:
        plain = stack.enter_context(_plain(path, passphrase))
        source: tuple[dict[str, Any], Iterator[tuple[str, list[Any]]]] | None = None
        dump = _kind(plain, shown) == "dump"
        found = _verify_dump(plain, shown) if dump else _inspect_sqlite(plain)  # read whole before anything is done
        if found.get("problem"):
            raise Invalid(f"{shown} cannot be restored: {found['problem']}")
        revision = found["revision"]
        if dump:
            source = stack.enter_context(_dump_source(plain, shown))
        if revision != live:
            raise Conflict(
                f"{shown} has schema revision {revision}, the database {where} {live}: a backup is restored "
                f"into a database of its own revision only"
            )
        before = automatic(engine, "restore")  # None: the acting role cannot read every row
        if before is None:
            raise Denied(f"only the owner of the database {where} can restore it: a restore replaces every row")
        target = storage.sqlite_path(url)
        if target is not None:
            if source is not None:  # a dump: made a SQLite database first
                plain = stack.enter_context(_built(target, *source, shown))
            with closing(_sqlite_ro(plain)) as conn:
                count = sum(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in _sqlite_tables(conn))
            _copy_into(plain, target)
        else:
            if source is None:  # a SQLite file into PostgreSQL: its rows, as a dump has them
                source = stack.enter_context(_sqlite_source(plain))
            try:
                with engine.begin() as conn:
                    count = _load(conn, *source, shown)
            except SQLAlchemyError as exc:
                raise _failed(f"cannot restore {shown} into {where} (nothing was changed)", url, exc) from None
    return {"id": 1, "file": shown, "database": where, "rows": count, "revision": revision, "before": str(before)}


@contextmanager
def _built(target: Path, header: dict[str, Any], rows: Iterator[tuple[str, list[Any]]], shown: str) -> Iterator[Path]:
    """A SQLite database made from a dump, in a temporary file beside TARGET (removed afterwards)."""
    tmp = target.with_name(f".{target.name}.restore-{os.getpid()}-{uuid.uuid4().hex[:8]}.db")
    try:
        engine, _url = storage.open_engine(str(tmp))  # a new database of this crmcli's schema
        try:
            with engine.execution_options(crm_write=True).begin() as conn:
                _load(conn, header, rows, shown)
                conn.exec_driver_sql("DELETE FROM change_current")
        except SQLAlchemyError as exc:
            raise _failed(f"cannot restore {shown}", str(tmp), exc) from None
        finally:
            engine.dispose()
        with closing(sqlite3.connect(tmp)) as conn:
            conn.execute("PRAGMA journal_mode = DELETE")  # one file, no -wal beside it
        yield tmp
    finally:
        for leftover in ("", "-wal", "-shm", "-journal", ".lock"):
            Path(f"{tmp}{leftover}").unlink(missing_ok=True)


def _copy_into(source: Path, target: Path) -> None:
    """SOURCE's pages into the live database TARGET in one write transaction (SQLite's backup API)."""
    delay = _test_delay()
    try:
        with closing(_sqlite_ro(source)) as src, closing(sqlite3.connect(target, timeout=30)) as dst:
            dst.execute("PRAGMA busy_timeout = 30000")
            if delay:  # tests: small steps, each a chance to be killed; still one transaction
                src.backup(dst, pages=8, progress=lambda *_: _test_step(delay))
            else:
                src.backup(dst)
            dst.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot restore into {target} (nothing was changed): {exc}") from None


def _load(conn: Connection, header: dict[str, Any], rows: Iterator[tuple[str, list[Any]]], shown: str) -> int:
    """Every row of CONN's database replaced by ROWS (HEADER's tables), in the transaction CONN is
    in, the change log paused: the backup's history is restored as data, not logged anew."""
    sqlite = conn.dialect.name == "sqlite"
    tables = {t.name: t for t in _reflect(conn)}
    metas = {m["name"]: m for m in header["tables"]}
    if set(metas) != set(tables):
        missing, extra = sorted(set(tables) - set(metas)), sorted(set(metas) - set(tables))
        raise Conflict(
            f"{shown} does not have the database's tables"
            + (f": it lacks {', '.join(missing)}" if missing else "")
            + (f"; it has {', '.join(extra)}, which the database does not" if extra else "")
        )
    inserts: dict[str, tuple[Any, list[Callable[[Any], Any]]]] = {}
    for name, meta in metas.items():
        table = tables[name]
        columns = {c.name: c for c in _columns(table)}
        if set(meta["columns"]) != set(columns):
            raise Conflict(f"{shown} does not have the columns of table {name} that the database has")
        values: dict[str, Any] = {}
        adapt: list[Callable[[Any], Any]] = []
        for n, column_name in enumerate(meta["columns"]):
            column = columns[column_name]
            if isinstance(column.type, JSON):  # its JSON text, as it was
                param = bindparam(f"p{n}", type_=Text)
                values[column_name] = param if sqlite else cast(param, column.type)
                adapt.append(_as_text)
            else:
                values[column_name] = bindparam(f"p{n}", type_=column.type)
                adapt.append(_as_utc(aware=bool(getattr(column.type, "timezone", False)) and not sqlite))
        inserts[name] = (insert(table).values(values), adapt)

    with changelog.paused(conn), changelog.rewriting(conn):
        if conn.dialect.name == "postgresql":
            if (conn.execute(text("SELECT current_setting('crm.history', true)")).scalar() or "") != "off":
                # The log's trigger (crm_log) skips a row only when crm.history is 'off'; paused()
                # must leave it so. Said once more here, in this transaction only, so that a restore
                # never logs its rows whatever paused() sets.
                conn.execute(text("SELECT set_config('crm.history', 'off', true)"))
            conn.execute(text("SET LOCAL row_security = off"))  # all rows or an error, never some
            conn.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in tables) + " CASCADE"))
            for log in LOG_TABLES & set(tables):  # its rows come back as they were (who included)
                conn.execute(text(f'ALTER TABLE "{log}" DISABLE TRIGGER USER'))
        else:
            for table in reversed(list(tables.values())):
                conn.execute(table.delete())
        counts = dict.fromkeys(metas, 0)
        batch: list[dict[str, Any]] = []
        current: str | None = None

        def flush() -> None:
            if batch and current is not None:
                conn.execute(inserts[current][0], batch)
                batch.clear()

        delay = _test_delay()
        for name, row in rows:
            if name != current:
                flush()
                current = name
                if delay:
                    _test_step(delay)
            adapt = inserts[name][1]
            batch.append({f"p{n}": adapt[n](v) for n, v in enumerate(row)})
            counts[name] += 1
            if len(batch) >= BATCH:
                flush()
        flush()
        wrong = [
            f"{n}: {counts[n]:,} rows, the header says {m.get('rows')}"
            for n, m in metas.items()
            if counts[n] != m.get("rows")
        ]
        if wrong:
            raise Invalid(f"{shown} is damaged: " + "; ".join(wrong[:3]))
        for name, meta in metas.items():
            _set_counter(conn, tables[name], meta.get("next_id"))
        if conn.dialect.name == "postgresql":
            for log in LOG_TABLES & set(tables):
                conn.execute(text(f'ALTER TABLE "{log}" ENABLE TRIGGER USER'))
    return sum(counts.values())


def _as_text(value: Any) -> Any:
    return None if value is None else str(value)


def _as_utc(*, aware: bool) -> Callable[[Any], Any]:
    """Times as the column takes them: aware (PostgreSQL's timestamptz) or naive UTC (SQLite)."""

    def adapt(value: Any) -> Any:
        if not isinstance(value, datetime):
            return value
        if aware:
            return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)

    return adapt


def _set_counter(conn: Connection, table: Table, next_id: int | None) -> None:
    """The table's id counter past its highest id and past NEXT_ID (where it was at the backup)."""
    column = _id_column(table)
    if column is None:
        return
    highest = conn.execute(select(func.max(column))).scalar()
    following = max(int(next_id or 1), int(highest or 0) + 1)
    if conn.dialect.name == "postgresql":
        sequence = conn.execute(
            text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": f'"{table.name}"', "c": column.name}
        ).scalar()
        if sequence:
            conn.execute(
                text("SELECT setval(:s, :v, :called)"),
                {"s": sequence, "v": max(following - 1, 1), "called": following > 1},
            )
        return
    sql = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table.name,)
    ).scalar()
    if "AUTOINCREMENT" not in str(sql or "").upper():
        return
    conn.exec_driver_sql("DELETE FROM sqlite_sequence WHERE name = ?", (table.name,))
    if next_id is not None or highest is not None:
        conn.exec_driver_sql("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table.name, following - 1))


def _test_delay() -> float:
    try:
        return float(os.environ.get(TEST_DELAY) or 0)
    except ValueError:
        return 0.0


def _test_step(delay: float) -> None:
    """Tests only (CRM_TEST_RESTORE_DELAY): say a step of the restore is reached, then pause."""
    os.write(2, b"crm-test: restore step\n")
    time.sleep(delay)


# ---------------------------------------------------------------- encryption


def _fernet(passphrase: str, params: dict[str, Any]) -> Any:
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    salt = base64.b64decode(params["salt"])
    key = Scrypt(salt=salt, length=32, n=int(params["n"]), r=int(params["r"]), p=int(params["p"])).derive(
        passphrase.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(key))


def _encrypt(source: str, target: str, passphrase: str) -> None:
    params = {"kdf": "scrypt", **SCRYPT, "salt": base64.b64encode(os.urandom(16)).decode()}
    fernet = _fernet(passphrase, params)
    with open(source, "rb") as src, files.filling(target) as out:
        out.write(MAGIC + json.dumps(params).encode() + b"\n")
        index = 0
        chunk = src.read(CHUNK)
        while True:
            following = src.read(CHUNK)
            token = fernet.encrypt(struct.pack(">QB", index, 0 if following else 1) + chunk)
            out.write(struct.pack(">I", len(token)) + token)
            if not following:
                break
            chunk, index = following, index + 1


def _decrypt(source: Path, target: str, passphrase: str) -> None:
    from cryptography.fernet import InvalidToken

    shown = str(source)
    with open(source, "rb") as src, files.filling(target) as out:
        src.read(len(MAGIC))
        try:
            params = json.loads(src.readline(4096))
            fernet = _fernet(passphrase, params)
        except (ValueError, KeyError, TypeError):
            raise Invalid(f"{shown} is damaged: its encryption header cannot be read") from None
        index = 0
        while True:
            size = src.read(4)
            if len(size) < 4:
                raise Invalid(f"{shown} is truncated: its encrypted content is cut short")
            token = src.read(struct.unpack(">I", size)[0])
            try:
                data = fernet.decrypt(token)
            except InvalidToken:
                if index == 0:
                    raise Invalid(f"cannot decrypt {shown}: wrong passphrase, or the file was changed") from None
                raise Invalid(f"{shown} is damaged: part {index + 1} does not decrypt") from None
            number, last = struct.unpack(">QB", data[:9])
            if number != index:
                raise Invalid(f"{shown} is damaged: its parts are out of order")
            out.write(data[9:])
            if last:
                break
            index += 1
        if src.read(1):
            raise Invalid(f"{shown} is damaged: there is more after its last part")
