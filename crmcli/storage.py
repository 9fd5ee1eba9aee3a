"""Engine, database URL, pragmas, sessions and the schema version.

Opening a database checks its schema revision with one plain query; Alembic is imported
only when an upgrade is due (a new database, or one written by an older crmcli).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmcli.errors import DatabaseError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine
    from sqlmodel import Session

# The revisions shipped in crmcli/migrations/versions, oldest first. A test checks this
# against Alembic's own view, so the open path never has to import Alembic to know the head.
SCHEMA_REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008")
SCHEMA_HEAD = SCHEMA_REVISIONS[-1]

_engines: dict[str, Engine] = {}


def default_db_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path("crmcli", appauthor=False) / "crm.db"


def resolve_url(db: str | None = None) -> str:
    """--db, then CRM_DB, then crm.db in the user data directory. A plain path means SQLite."""
    value = db or os.environ.get("CRM_DB") or ""
    if not value:
        path = default_db_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().absolute()}"


_PASSWORD = re.compile(r"(://[^:/@\s]*:)([^@\s]*)@")


def redact(text: str, url: str | None = None) -> str:
    """TEXT with the password of any URL in it (and URL's own password anywhere) hidden."""
    text = _PASSWORD.sub(r"\1***@", text)
    if url:
        m = _PASSWORD.search(url)
        if m and m.group(2):
            text = text.replace(m.group(2), "***")
            from urllib.parse import unquote

            text = text.replace(unquote(m.group(2)), "***")
    return text


def sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    path = path.split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path)


def _prepare_sqlite_file(path: Path) -> None:
    if not path.parent.is_dir():
        raise DatabaseError(f"cannot open database {path}: directory {path.parent} does not exist")
    if not path.exists():
        # Create the file ourselves so that a new CRM (personal data) is readable by its owner only.
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)


def _on_sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see _on_begin).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout = 10000")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.close()


def _on_sqlite_begin(conn: Any) -> None:
    # Writers take the lock up front, so two writers queue on busy_timeout instead of one
    # failing when it tries to upgrade a read lock.
    immediate = conn.get_execution_options().get("crm_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def get_engine(url: str) -> Engine:
    engine = _engines.get(url)
    if engine is not None:
        return engine
    from sqlalchemy import create_engine, event

    path = sqlite_path(url)
    if path is not None:
        _prepare_sqlite_file(path)
    kwargs: dict[str, Any] = {}
    if url.startswith("postgresql"):
        kwargs["pool_pre_ping"] = False
        kwargs["connect_args"] = {"connect_timeout": 10}
    try:
        engine = create_engine(url, **kwargs)
    except Exception as exc:  # bad URL, missing driver
        raise DatabaseError(f"cannot open database {redact(url)}: {redact(_first_line(exc), url)}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
    _engines[url] = engine
    return engine


def dispose_all() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def current_revision(conn: Connection) -> str | None:
    """The schema revision stored in the database, or None for a database crm never touched."""
    from sqlalchemy import inspect, text

    if conn.dialect.name == "sqlite":
        exists = conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'"
        ).first()
    elif conn.dialect.name == "postgresql":
        exists = conn.exec_driver_sql("SELECT to_regclass('alembic_version')").scalar()
    else:
        exists = inspect(conn).has_table("alembic_version")
    if not exists:
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def backup_sqlite(path: Path, revision: str) -> Path:
    """A consistent copy of the SQLite file before a migration touches it."""
    import sqlite3

    target = path.with_name(f"{path.name}.bak-{revision}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.bak-{revision}.{n}")
    src = sqlite3.connect(path)
    try:
        dst = sqlite3.connect(target)
        with dst:
            src.backup(dst)
        dst.close()
    finally:
        src.close()
    os.chmod(target, 0o600)
    return target


def upgrade(engine: Engine, url: str) -> tuple[str | None, str, Path | None]:
    """Bring the schema to the head revision. Returns (old, new, backup path)."""
    from alembic import command
    from alembic.config import Config

    with engine.connect() as conn:
        old = current_revision(conn)
    backup = None
    path = sqlite_path(url)
    if old is not None and old != SCHEMA_HEAD and path is not None:
        backup = backup_sqlite(path, old)
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return old, SCHEMA_HEAD, backup


def open_engine(db: str | None = None, *, auto_upgrade: bool = True) -> tuple[Engine, str]:
    """The engine for --db/CRM_DB/default, checked (and, if due, upgraded) to the current schema."""
    from sqlalchemy.exc import SQLAlchemyError

    url = resolve_url(db)
    engine = get_engine(url)
    try:
        with engine.connect() as conn:
            revision = current_revision(conn)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot open database {redact(url)}: {redact(_first_line(exc), url)}") from None
    if revision == SCHEMA_HEAD or not auto_upgrade:
        return engine, url
    if revision is not None and revision not in SCHEMA_REVISIONS:
        raise DatabaseError(
            f"database {redact(url)} has schema revision {revision}, newer than this crmcli knows "
            f"({SCHEMA_HEAD}); upgrade crmcli"
        )
    try:
        upgrade(engine, url)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot upgrade database {redact(url)}: {redact(_first_line(exc), url)}") from None
    return engine, url


def make_session(engine: Engine, *, write: bool = False) -> Session:
    from sqlmodel import Session

    bind = engine.execution_options(crm_write=True) if write else engine
    return Session(bind=bind, expire_on_commit=False)


@contextmanager
def session_scope(db: str | None = None, *, write: bool = False) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    from sqlalchemy.exc import SQLAlchemyError

    engine, url = open_engine(db)
    session = make_session(engine, write=write)
    try:
        yield session
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        raise DatabaseError(f"database error: {redact(_first_line(exc), url)}") from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def status(db: str | None = None) -> dict[str, Any]:
    """What `crm db status` reports, without upgrading anything."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    engine, url = open_engine(db, auto_upgrade=False)
    try:
        with engine.connect() as conn:
            revision = current_revision(conn)
            counts: dict[str, int | None] = {}
            for table in ("contact", "company", "activity"):
                counts[table] = (
                    conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() if revision is not None else None
                )
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot read database {redact(url)}: {redact(_first_line(exc), url)}") from None
    path = sqlite_path(url)
    if revision == SCHEMA_HEAD:
        state = "up to date"
    elif revision is None:
        state = "empty: the schema is created on first use"
    elif revision in SCHEMA_REVISIONS:
        state = "upgrade due: runs on next use, or now with 'crm db upgrade'"
    else:
        state = "newer than this crmcli: upgrade crmcli"
    return {
        "id": 1,
        "database": redact(url),
        "backend": engine.dialect.name,
        "path": str(path) if path else None,
        "size_bytes": path.stat().st_size if path and path.exists() else None,
        "revision": revision,
        "head": SCHEMA_HEAD,
        "state": state,
        "contacts": counts.get("contact"),
        "companies": counts.get("company"),
        "activities": counts.get("activity"),
    }


def placeholder(dialect: Any) -> str:
    """The driver's parameter mark, for statements sent with exec_driver_sql."""
    return "?" if dialect.paramstyle == "qmark" else "%s"


def insert_rows(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """ROWS (dicts with the same keys) inserted with one executemany of the driver, each value
    converted by its column's type as SQLAlchemy would. Core's executemany spends more time
    building per-row parameters than SQLite spends inserting; the importer's batches use this."""
    if not rows:
        return
    dialect = conn.dialect
    columns = list(rows[0])
    processors = [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    mark = placeholder(dialect)
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    from operator import itemgetter

    get = itemgetter(*columns) if len(columns) > 1 else (lambda r: (r[columns[0]],))
    convert = [(i, _remembering(p)) for i, p in enumerate(processors) if p is not None]
    if not convert:
        conn.exec_driver_sql(sql, [get(r) for r in rows])
        return
    params = []
    for r in rows:
        values = list(get(r))
        for i, p in convert:
            values[i] = p(values[i])
        params.append(tuple(values))
    conn.exec_driver_sql(sql, params)


_EMPTY = object()


def _remembering(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """PROCESS, with its result for each value remembered for one statement: a batch's rows share
    their timestamps and repeat a few JSON values ({} mostly), and converting each again (astimezone,
    json.dumps) cost more than SQLite's inserts. Values are told apart by type too (1, 1.0, True)."""
    cache: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        key = (value.__class__, value)
        try:
            return cache[key]
        except KeyError:
            cache[key] = result = process(value)
            return result
        except TypeError:  # unhashable: JSON's dicts ({} mostly, else a few distinct ones) and lists
            if not value:
                key = (value.__class__, _EMPTY)
            elif isinstance(value, dict):
                # in order (JSON keeps the keys' order), each value with its type (1, 1.0, True)
                key = (dict, tuple((k, v.__class__, v) for k, v in value.items()))
            else:
                return process(value)
            try:
                return cache[key]
            except KeyError:
                cache[key] = result = process(value)
                return result
            except TypeError:  # nested lists or dicts
                return process(value)

    return convert
