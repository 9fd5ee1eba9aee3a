"""Engine, database URL, pragmas, sessions and the schema version.

Opening a database checks its schema revision with one plain query; Alembic is imported
only when an upgrade is due (a new database, or one written by an older crmcli).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmcli import changelog
from crmcli.errors import DatabaseError, Denied

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine
    from sqlmodel import Session

# The revisions shipped in crmcli/migrations/versions, oldest first. A test checks this
# against Alembic's own view, so the open path never has to import Alembic to know the head.
SCHEMA_REVISIONS = (
    "0001",
    "0002",
    "0003",
    "0004",
    "0005",
    "0006",
    "0007",
    "0008",
    "0009",
    "0010",
    "0011",
    "0012",
    "0013",
    "0014",
    "0015",
)
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


# Query parameters and libpq keywords that carry a secret (psycopg and libpq take both forms).
_SECRET_KEYS = ("password", "passwd", "pwd", "sslpassword", "sslkey_password", "secret", "token", "api_key")
_SECRET_PARAM = re.compile(
    r"(?i)(?<![A-Za-z0-9_])(" + "|".join(_SECRET_KEYS) + r")(\s*=\s*)('[^']*'|\"[^\"]*\"|[^&\s]*)"
)
# scheme://user:PASSWORD@host: the password runs to the LAST @ before the path, so a password
# holding an unencoded @ or a space is hidden whole (SQLAlchemy's parser stops at the first @).
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)([^/?#\n]*)@")
# What the first pattern leaves: a password with a / in it, cut off at the first @ after it.
_USERINFO_REST = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)(?!\*\*\*@)([^@\s]*)@")


def _secrets_of(url: str) -> list[str]:
    """The secret strings URL holds, in every form they may be printed in: the password and any
    password-like query parameter, as written, decoded and encoded."""
    from urllib.parse import quote, quote_plus, unquote, unquote_plus

    found: list[str] = []
    m = _USERINFO.search(url)
    if m and m.group(2):
        found.append(m.group(2))
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
    except Exception:  # not a URL SQLAlchemy reads: the patterns alone
        parsed = None
    if parsed is not None:
        if parsed.password:
            found.append(str(parsed.password))
        for key, value in parsed.query.items():
            if key.lower() in _SECRET_KEYS:
                found += [value] if isinstance(value, str) else list(value)
    for m in _SECRET_PARAM.finditer(url):
        found.append(m.group(3).strip("'\""))
    forms = set()
    for secret in found:
        if secret:
            forms.update({secret, unquote(secret), unquote_plus(secret), quote(secret, safe=""), quote_plus(secret)})
    forms.discard("")
    return sorted(forms, key=len, reverse=True)


def _hide(text: str, secret: str) -> str:
    """TEXT with SECRET replaced by ***; a short secret only where it stands on its own, so that
    a password 'p' does not turn 'postgresql' into '***ostgresql'."""
    if len(secret) >= 6:
        return text.replace(secret, "***")
    return re.sub(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", "***", text)


def show_url(url: str) -> str:
    """URL as it may be shown: the password and any password parameter as ***. SQLAlchemy renders
    it when its parse is sound; a URL it misreads (an unencoded @ in the password, which it takes
    for part of the host) goes through the patterns instead."""
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
    except Exception:
        parsed = None
    if parsed is not None and "@" not in (parsed.host or "") and not any(ch.isspace() for ch in parsed.host or ""):
        query = {k: ("***" if k.lower() in _SECRET_KEYS else v) for k, v in parsed.query.items()}
        shown = parsed.set(query=query).render_as_string(hide_password=True)
        return redact(shown.replace("%2A%2A%2A", "***"), url)
    return redact(url, url)


def redact(text: str, url: str | None = None) -> str:
    """TEXT with every secret hidden: the password of any URL in it, password parameters
    (?password=…, libpq's password=…), and URL's own secrets wherever they appear (a driver's
    error text may quote them)."""
    if url:
        for secret in _secrets_of(url):
            text = _hide(text, secret)
    text = _USERINFO.sub(r"\1***@", text)
    text = _USERINFO_REST.sub(r"\1***@", text)
    return _SECRET_PARAM.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)


def sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    path = path.split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path)


def _where(url: str) -> str:
    """The database as messages name it: a SQLite file's path, else the URL without secrets."""
    path = sqlite_path(url)
    return str(path) if path is not None else show_url(url)


# SQLite files opened read-only (the directory cannot take the -wal and -shm files WAL needs).
_read_only: set[str] = set()


def _prepare_sqlite_file(path: Path, *, create: bool) -> bool:
    """Check (and with CREATE, make) the SQLite file PATH. True when it can only be read."""
    if not path.parent.is_dir():
        raise DatabaseError(f"cannot open database {path}: directory {path.parent} does not exist")
    if not path.exists():
        if not create:
            raise DatabaseError(f"no database at {path}; crm --db {path} init creates one")
        # Create the file ourselves so that a new CRM (personal data) is readable by its owner only.
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:  # made by another process just now
            return False
        except OSError as exc:
            raise DatabaseError(f"cannot create database {path}: {exc.strerror}") from None
        os.close(fd)
        return False
    if path.stat().st_size == 0:
        if not create:
            raise DatabaseError(f"{path} is an empty file, not a CRM database; crm --db {path} init makes it one")
        if os.access(path, os.W_OK):
            os.chmod(path, 0o600)  # it becomes a CRM: personal data, its owner's only
    if _writable_dir(path.parent):
        return False
    # WAL needs its -shm (and -wal) file beside the database; without them in a directory we may
    # not write to, the file can only be read, as an immutable snapshot.
    return not Path(f"{path}-shm").exists()


def _writable_dir(folder: Path) -> bool:
    return os.access(folder, os.W_OK)


def _on_sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see _on_begin).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout = 10000")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.close()


def _on_sqlite_connect_read_only(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None
    dbapi_conn.execute("PRAGMA query_only = ON")


def _on_sqlite_begin(conn: Any) -> None:
    # Writers take the lock up front, so two writers queue on busy_timeout instead of one
    # failing when it tries to upgrade a read lock.
    immediate = conn.get_execution_options().get("crm_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def get_engine(url: str, *, create: bool = True) -> Engine:
    """The engine for URL (one per URL and process). A SQLite file that does not exist is made
    only with CREATE; an empty file is made a CRM only with CREATE."""
    engine = _engines.get(url)
    if engine is not None:
        return engine
    from sqlalchemy import create_engine, event

    path = sqlite_path(url)
    read_only = _prepare_sqlite_file(path, create=create) if path is not None else False
    kwargs: dict[str, Any] = {}
    if url.startswith("postgresql"):
        kwargs["pool_pre_ping"] = False
        kwargs["connect_args"] = {"connect_timeout": 10}
    if read_only:
        import sqlite3
        from urllib.parse import quote

        uri = f"file:{quote(str(path))}?mode=ro&immutable=1"
        kwargs["creator"] = lambda: sqlite3.connect(uri, uri=True, check_same_thread=False)
    try:
        engine = create_engine(url, **kwargs)
    except Exception as exc:  # bad URL, missing driver
        raise DatabaseError(f"cannot open database {show_url(url)}: {redact(_first_line(exc), url)}") from None
    if engine.dialect.name == "sqlite":
        _share_compiled_statements(engine)
        event.listen(engine, "connect", _on_sqlite_connect_read_only if read_only else _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
    if read_only:
        _read_only.add(url)
    _engines[url] = engine
    return engine


_sqlite_first: list[Engine] = []


def _share_compiled_statements(engine: Engine) -> None:
    """Every SQLite engine of a process compiles a statement once: each new one takes the dialect
    and the compiled-statement cache of the first (SQLAlchemy keys that cache by dialect instance;
    all crm's SQLite engines are made alike, and the dialect's state is the sqlite3 library's). The
    command server's warm-up fills them, so a forked command does not compile its statements again.
    A disposed engine holds no connection: keeping the first is keeping no file open."""
    if not _sqlite_first:
        _sqlite_first.append(engine)
        return
    first = _sqlite_first[0]
    if type(first.dialect) is type(engine.dialect) and hasattr(engine, "_compiled_cache"):
        engine.dialect = first.dialect
        engine._compiled_cache = first._compiled_cache


def is_read_only(url: str) -> bool:
    return url in _read_only


def dispose_all() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
    _read_only.clear()


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def current_revision(conn: Connection) -> str | None:
    """The schema revision stored in the database, or None for a database crm never touched."""
    from sqlalchemy import inspect, text

    exists: object
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


def _has_tables(conn: Connection) -> bool:
    if conn.dialect.name != "sqlite":
        return False
    return conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE type='table'").first() is not None


def backup_sqlite(path: Path, revision: str) -> Path:
    """A consistent copy of the SQLite file before a migration touches it: FILE.bak-REVISION
    (FILE.bak-REVISION.2 … beside an older one: a backup never replaces another), 0600, complete
    or absent."""
    import sqlite3

    from crmcli.values.files import write_new

    def fill(tmp: str) -> None:
        src = sqlite3.connect(path)
        try:
            dst = sqlite3.connect(tmp)
            with dst:
                src.backup(dst)
            dst.close()
        finally:
            src.close()

    return write_new(path.with_name(f"{path.name}.bak-{revision}"), fill)


def _newer(url: str, revision: str) -> DatabaseError:
    return DatabaseError(
        f"database {_where(url)} has schema revision {revision}, newer than this crmcli knows "
        f"({SCHEMA_HEAD}); upgrade crmcli"
    )


@contextmanager
def _migration_lock(url: str) -> Iterator[None]:
    """One process at a time migrates a SQLite file: an exclusive lock on a file beside it (the
    others wait here, then find the schema current). PostgreSQL takes an advisory lock inside
    the migration's transaction instead (see upgrade)."""
    path = sqlite_path(url)
    try:
        import fcntl
    except ImportError:  # Windows: BEGIN IMMEDIATE alone serialises the migrations
        fcntl = None  # type: ignore[assignment]
    if path is None or fcntl is None:
        yield
        return
    lock_path = path.with_name(f"{path.name}.lock")
    try:
        fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
    except OSError as exc:
        raise DatabaseError(f"cannot upgrade database {path}: cannot create {lock_path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


# A constant key for pg_advisory_xact_lock: crm's schema migration ("crm-schema" as an int64).
_PG_MIGRATION_LOCK = int.from_bytes(b"crm-sch\x00", "big") >> 1

# PostgreSQL: called before a schema upgrade with the engine and the revision it upgrades from;
# returns the backup it made, or None. The command line sets it (a dump is the domain's work, and
# storage uses no layer above it); a SQLite file is copied here, whoever opens it.
_before_upgrade: Callable[[Engine, str], Path | None] | None = None


def before_upgrade(hook: Callable[[Engine, str], Path | None] | None) -> None:
    """Back a PostgreSQL database up with HOOK before any upgrade of its schema (None: no backup)."""
    global _before_upgrade
    _before_upgrade = hook


def upgrade(engine: Engine, url: str) -> tuple[str | None, str, Path | None]:
    """Bring the schema to the head revision. Returns (old, new, backup path).

    Processes opening an old database at once upgrade it once: the first takes the lock, backs
    a SQLite file up and migrates; the others wait for it and find the schema current. A schema
    newer than this crmcli knows is refused before anything is written."""
    from sqlalchemy.exc import SQLAlchemyError

    if is_read_only(url):
        raise DatabaseError(
            f"cannot upgrade database {_where(url)}: it can only be read (its directory is not writable)"
        )
    try:
        with _migration_lock(url):
            return _upgrade_locked(engine, url)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot upgrade database {_where(url)}: {redact(_first_line(exc), url)}") from None


def _upgrade_locked(engine: Engine, url: str) -> tuple[str | None, str, Path | None]:
    from alembic import command
    from alembic.config import Config
    from alembic.util import CommandError

    path = sqlite_path(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.execution_options(crm_write=True).connect() as conn:
        if conn.dialect.name == "sqlite":
            # Tables are rebuilt by some migrations (0009): with foreign keys on, dropping the old
            # table would cascade-delete every row pointing at it. PRAGMA foreign_keys takes
            # effect only outside a transaction; the migration checks the keys itself.
            conn.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
                old = current_revision(conn)
                if old == SCHEMA_HEAD:
                    return old, SCHEMA_HEAD, None
                if old is not None and old not in SCHEMA_REVISIONS:
                    raise _newer(url, old)
                backup = backup_sqlite(path, old) if old is not None and path is not None else None
                if old is not None and conn.dialect.name == "postgresql" and _before_upgrade is not None:
                    backup = _before_upgrade(engine, old)  # while the lock keeps other upgraders waiting
                cfg.attributes["connection"] = conn
                try:
                    command.upgrade(cfg, "head")
                except CommandError as exc:
                    raise DatabaseError(f"cannot upgrade database {_where(url)}: {_first_line(exc)}") from None
                if conn.dialect.name == "postgresql":
                    from crmcli import access

                    access.apply_grants(conn)  # a team's groups get their rights on new tables too
                if conn.dialect.name == "sqlite":
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
                    if broken is not None:
                        raise DatabaseError(
                            f"cannot upgrade database {_where(url)}: a row of {broken[0]} points at a missing "
                            f"{broken[2]} (crm doctor lists them); nothing was changed"
                        )
        finally:
            if conn.dialect.name == "sqlite":
                conn.connection.driver_connection.execute("PRAGMA foreign_keys = ON")  # type: ignore[union-attr]
    return old, SCHEMA_HEAD, backup


def open_engine(db: str | None = None, *, auto_upgrade: bool = True, create: bool = True) -> tuple[Engine, str]:
    """The engine for --db/CRM_DB/default, checked (and, if due, upgraded) to the current schema.

    Without CREATE (the command line, for a path given by --db or CRM_DB), a SQLite file that
    does not exist, an empty file and a SQLite database crm never made are errors: a mistyped
    path must not become a new, empty CRM."""
    from sqlalchemy.exc import SQLAlchemyError

    url = resolve_url(db)
    engine = get_engine(url, create=create)
    try:
        with engine.connect() as conn:
            revision = current_revision(conn)
            foreign = revision is None and not create and _has_tables(conn)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot open database {_where(url)}: {redact(_first_line(exc), url)}") from None
    if foreign:
        raise DatabaseError(
            f"{_where(url)} is a SQLite database but not a CRM one (it has no crm schema); "
            f"crm --db {_where(url)} init would add crm's tables to it"
        )
    if revision == SCHEMA_HEAD or not auto_upgrade:
        return engine, url
    if revision is not None and revision not in SCHEMA_REVISIONS:
        raise _newer(url, revision)
    upgrade(engine, url)
    return engine, url


def make_session(engine: Engine, *, write: bool = False) -> Session:
    from sqlmodel import Session

    from crmcli import changelog

    changelog.attach(Session)  # every write transaction gets its change set
    bind = engine.execution_options(crm_write=True) if write else engine
    return Session(bind=bind, expire_on_commit=False)


@contextmanager
def session_scope(db: str | None = None, *, write: bool = False, create: bool = True) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises. CREATE as for
    open_engine."""
    from sqlalchemy.exc import SQLAlchemyError

    engine, url = open_engine(db, create=create)
    if write and is_read_only(url):
        raise DatabaseError(
            f"database {_where(url)} can only be read: its directory is not writable, so nothing can be changed"
        )
    session = make_session(engine, write=write)
    if write and engine.dialect.name == "postgresql":  # a refusal names the row it was about
        from sqlalchemy import event

        event.listen(session, "before_flush", _note_flushing)
    user = changelog.set_db_user(db_user(engine))  # PostgreSQL: who acts is the database's answer
    try:
        yield session
        session.commit()
    except SQLAlchemyError as exc:
        record = _refused_record(session, exc) if engine.dialect.name == "postgresql" else None
        session.rollback()
        refused = _refused(engine, exc, record)
        if refused:
            raise Denied(refused) from None
        raise DatabaseError(f"database error: {redact(_first_line(exc), url)}") from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        changelog.reset_db_user(user)


def _refused(engine: Engine, exc: BaseException, record: tuple[str, str, int] | None = None) -> str | None:
    """PostgreSQL: the rule a write broke, as one line, when the database refused it (a grant, a
    row-level security policy, or an update or delete that the policies let reach no row). RECORD:
    the one row the refused statement was about (see _refused_record), named by the line."""
    if engine.dialect.name != "postgresql":
        return None
    from crmcli import access

    message = str(exc)
    if access.denied(message, None) is None:
        return None
    try:
        with engine.connect() as conn:
            role = access.group_of(conn)
    except Exception:  # noqa: BLE001 - the refusal is worded without the role then
        role = None
    return access.denied(message, role, record)


# a statement's one row: WHERE table.id = %(name)s (an ORM update, delete or SELECT … FOR UPDATE)
_BY_ID = re.compile(r'\bWHERE "?(\w+)"?\."?id"? = %\((\w+)\)s')


def _note_flushing(session: Session, _context: Any, _instances: Any) -> None:
    """PostgreSQL, before each flush: the rows it is to update and delete, per table (two at most:
    one names the row, more do not). A flush the database refuses rolls the session back, and
    with it the session's own record of them."""
    from sqlalchemy import inspect

    noted: dict[tuple[str, str], set[int]] = {}
    for doing, objects in (("edit", session.dirty), ("remove", session.deleted)):
        for obj in objects:
            state = inspect(obj)
            if state.identity is None or len(state.identity) != 1 or not isinstance(state.identity[0], int):
                continue  # a record's row has one integer id (a setting's key is no record)
            ids = noted.setdefault((doing, str(state.mapper.local_table.name)), set())
            if len(ids) < 2:
                ids.add(int(state.identity[0]))
    session.info["crm_flushing"] = noted


def _refused_record(session: Session, exc: BaseException) -> tuple[str, str, int] | None:
    """What the statement the database refused did to which one row: ("edit" | "remove" | "add",
    table, id), read (before the rollback) from the statement and its parameters, the object a
    SELECT … FOR UPDATE could not lock, or what the flush was writing; None when it was several
    rows or none can be told."""
    try:
        return _record_of(session, exc)
    except Exception:  # noqa: BLE001 - the refusal is worded without the record then
        return None


def _record_of(session: Session, exc: BaseException) -> tuple[str, str, int] | None:
    from sqlalchemy import inspect
    from sqlalchemy.exc import DBAPIError

    message = str(exc)
    locked = re.search(r"Could not refresh instance '<\w+ at 0x([0-9a-f]+)>'", message)  # SELECT … FOR UPDATE
    if locked:
        address = int(locked.group(1), 16)
        states = [inspect(o) for o in list(session.identity_map.values()) if id(o) == address]
        if len(states) != 1 or states[0].identity is None or len(states[0].identity) != 1:
            return None
        return ("edit", str(states[0].mapper.local_table.name), int(states[0].identity[0]))
    stale = re.search(r"(UPDATE|DELETE) statement on table '(\w+)' expected to", message)
    if stale:
        doing, table = "edit" if stale.group(1) == "UPDATE" else "remove", stale.group(2)
        ids = session.info.get("crm_flushing", {}).get((doing, table), set())
        return (doing, table, next(iter(ids))) if len(ids) == 1 else None
    if not isinstance(exc, DBAPIError) or not exc.statement:
        return None
    statement = exc.statement.strip()
    params = exc.params
    if isinstance(params, (list, tuple)):
        if len(params) != 1:
            return None  # several rows at once
        params = params[0]
    if not isinstance(params, dict) or not statement:
        return None
    verb = statement.split(None, 1)[0].upper()
    if verb == "SELECT" and not statement.upper().endswith("FOR UPDATE"):
        return None
    doing = {"UPDATE": "edit", "DELETE": "remove", "SELECT": "edit"}.get(verb)
    by_id = _BY_ID.search(statement)
    if doing is None or by_id is None:
        return None
    row = params.get(by_id.group(2))
    return (doing, by_id.group(1), row) if isinstance(row, int) else None


_DB_USERS: dict[str, str] = {}


def db_user(engine: Engine) -> str | None:
    """PostgreSQL: the role the engine's connections act as (asked once per URL); else None."""
    if engine.dialect.name != "postgresql":
        return None
    key = str(engine.url)
    if key not in _DB_USERS:
        from sqlalchemy import text

        with engine.connect() as conn:
            _DB_USERS[key] = str(conn.execute(text("SELECT current_user")).scalar_one())
    return _DB_USERS[key]


def status(db: str | None = None, *, create: bool = True) -> dict[str, Any]:
    """What `crm db status` reports, without upgrading anything."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    engine, url = open_engine(db, auto_upgrade=False, create=create)
    try:
        with engine.connect() as conn:
            revision = current_revision(conn)
            counts: dict[str, int | None] = {}
            for table in ("contact", "company", "activity"):
                counts[table] = (
                    conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() if revision is not None else None
                )
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot read database {_where(url)}: {redact(_first_line(exc), url)}") from None
    path = sqlite_path(url)
    if revision == SCHEMA_HEAD:
        state = "up to date"
    elif revision is None:
        state = "empty: the schema is created on first use"
    elif revision in SCHEMA_REVISIONS:
        state = "upgrade due: runs on next use, or now with 'crm db upgrade'"
    else:
        state = "newer than this crmcli: upgrade crmcli"
    if is_read_only(url):
        state += " (read-only: the directory is not writable)"
    return {
        "id": 1,
        "database": show_url(url),
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


def advisory_locks(session: Any, values: Iterable[tuple[str, str]]) -> None:
    """On PostgreSQL, hold a transaction-scoped advisory lock on each (kind, value) of VALUES
    (("email", "a@x.de"), ("phone", "+4930…") …) until the transaction ends, so that two writers
    checking for the same value before inserting it take turns. The keys are taken in order (no
    deadlock between two writers locking overlapping sets). SQLite's writers are already one at
    a time (BEGIN IMMEDIATE): nothing to do there."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return
    keys = sorted({advisory_key(kind, v) for kind, v in values if v})
    if len(keys) <= 8:
        for key in keys:
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({key})")
        return
    # an import's batch: thousands of keys in one round trip, still taken in order
    conn.exec_driver_sql(
        "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT unnest(%(keys)s::bigint[]) AS k ORDER BY 1) AS ordered",
        {"keys": keys},
    )


def advisory_key(kind: str, value: str) -> int:
    """A signed 64-bit key for pg_advisory_xact_lock, stable across processes and versions."""
    import hashlib

    digest = hashlib.blake2b(f"crm:{kind}:{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
