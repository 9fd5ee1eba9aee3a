"""Storage: URL resolution, SQLite pragmas and file mode, migrations, upgrades, error messages."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from crmcli import storage
from crmcli.errors import DatabaseError


def test_default_database_lives_in_the_user_data_dir(tmp_path: Path) -> None:
    url = storage.resolve_url(None)
    expected = tmp_path / "xdg-data" / "crmcli" / "crm.db"
    assert url == f"sqlite:///{expected}"
    engine, _ = storage.open_engine(None)
    assert expected.exists()


def test_db_option_beats_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_DB", str(tmp_path / "env.db"))
    assert storage.resolve_url(None) == f"sqlite:///{tmp_path / 'env.db'}"
    assert storage.resolve_url(str(tmp_path / "opt.db")) == f"sqlite:///{tmp_path / 'opt.db'}"
    assert storage.resolve_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"


def test_new_sqlite_file_is_private_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    engine, _ = storage.open_engine(str(path))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_schema_revisions_match_alembic() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(storage.__file__).parent / "migrations"))
    script = ScriptDirectory.from_config(cfg)
    ordered = [rev.revision for rev in reversed(list(script.walk_revisions()))]
    assert tuple(ordered) == storage.SCHEMA_REVISIONS
    assert script.get_current_head() == storage.SCHEMA_HEAD


def test_migrated_schema_matches_models(db_url: str) -> None:
    """Migrations and models agree: autogenerate finds nothing to do (the full-text index aside, and
    SQLite's change_current, through which a transaction tells the change-log triggers its change
    set: crmcli.changelog's, not a model)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import crmcli.models  # noqa: F401

    engine, _ = storage.open_engine(db_url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, SQLModel.metadata)
    fulltext = ("search_fts", "tsv", "ix_search_doc_tsv", "'change_current'")
    remaining = [d for d in diff if not any(name in repr(d) for name in fulltext)]
    assert remaining == []


def _at_revision(url: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    engine = storage.get_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(storage.__file__).parent / "migrations"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def _downgrade(url: str, revision: str) -> None:
    """The test database (already at head) taken back to REVISION by the migrations' own downgrades."""
    from alembic import command
    from alembic.config import Config

    storage.open_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(storage.__file__).parent / "migrations"))
    with storage.get_engine(url).begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def test_older_schema_is_backed_up_then_upgraded_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    _at_revision(url, "0001")
    with storage.get_engine(url).begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO search_doc (kind, ref_id, title, body) VALUES ('contact', 1, '张伟明', '张伟明 Acme')"
        )
    storage.dispose_all()

    engine, _ = storage.open_engine(str(path))

    backup = tmp_path / "old.db.bak-0001"
    assert backup.exists()
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o600
    with engine.connect() as conn:
        assert storage.current_revision(conn) == storage.SCHEMA_HEAD
        # rows written before the full-text index existed are found through it
        hit = conn.exec_driver_sql("SELECT title FROM search_fts WHERE search_fts MATCH '\"张伟明\"'").scalar()
        assert hit == "张伟明"
    import sqlite3

    old = sqlite3.connect(backup)
    assert old.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
    old.close()


def test_older_schema_upgrades_on_postgresql(pg_server) -> None:
    url = pg_server.create(migrated=False)
    try:
        _at_revision(url, "0001")
        storage.dispose_all()
        engine, _ = storage.open_engine(url)
        with engine.connect() as conn:
            assert storage.current_revision(conn) == storage.SCHEMA_HEAD
            assert conn.exec_driver_sql("SELECT to_regclass('ix_search_doc_tsv')").scalar() is not None
    finally:
        pg_server.drop(url)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'future.db'}"
    engine, _ = storage.open_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    storage.dispose_all()
    with pytest.raises(DatabaseError, match="newer than this crmcli"):
        storage.open_engine(url)


def test_up_to_date_open_does_not_import_alembic(tmp_path: Path) -> None:
    path = tmp_path / "current.db"
    storage.open_engine(str(path))
    storage.dispose_all()
    code = "import sys; from crmcli import storage; storage.open_engine(sys.argv[1]); print('alembic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_status_reports_without_upgrading(db_url: str) -> None:
    info = storage.status(db_url)
    assert info["revision"] == storage.SCHEMA_HEAD
    assert info["state"] == "up to date"
    assert info["contacts"] == 0


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://alice:s3cr%40t-pw@127.0.0.1:1/crm",
        "postgresql+psycopg://alice:s3cret-pw@127.0.0.1:1/crm",
    ],
)
def test_unreachable_server_error_hides_password(url: str) -> None:
    with pytest.raises(DatabaseError) as info:
        storage.open_engine(url)
    message = str(info.value)
    assert "cannot open database" in message
    assert "s3cr" not in message
    assert "alice:***@" in message
    assert "\n" not in message


def test_wrong_password_is_reported_without_the_password(pg_server) -> None:
    """A role with a password, asked for with the wrong one over TCP (or, under trust auth,
    at least never echoed)."""
    from sqlalchemy.engine import make_url

    url = make_url(pg_server.url_for("postgres")).set(username="nobody_here", password="Wr0ng-Secret")
    rendered = url.render_as_string(hide_password=False)
    with pytest.raises(DatabaseError) as info:
        storage.open_engine(rendered)
    assert "Wr0ng-Secret" not in str(info.value)
    assert "\n" not in str(info.value)


def test_redact_hides_url_passwords() -> None:
    url = "postgresql+psycopg://bob:hunter2@db.example/crm"
    assert storage.redact(url) == "postgresql+psycopg://bob:***@db.example/crm"
    assert "hunter2" not in storage.redact("failed for hunter2 somewhere", url)


def test_corrupt_file_and_missing_directory_fail_cleanly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(DatabaseError, match="file is not a database"):
        storage.open_engine(str(bad))
    with pytest.raises(DatabaseError, match="does not exist"):
        storage.open_engine(str(tmp_path / "missing" / "crm.db"))


def test_write_is_one_transaction(db_url: str) -> None:
    """A failure inside session_scope leaves nothing half-written."""
    from crmcli.domain import contacts

    with pytest.raises(RuntimeError):
        with storage.session_scope(db_url, write=True) as s:
            contacts.add_contact(s, name="Half Written", emails=["half@example.com"])
            raise RuntimeError("process dies here")
    with storage.session_scope(db_url) as s:
        assert contacts.list_contacts(s) == []


def test_upgrade_rewrites_name_keys_to_fold_accents(db_url: str, tmp_path: Path) -> None:
    """0006: keys stored before accents were folded are recomputed, so old records are found."""
    from crmcli.domain import lookup

    url = f"sqlite:///{tmp_path / 'keys.db'}" if db_url.startswith("sqlite") else db_url
    if db_url.startswith("sqlite"):
        _at_revision(url, "0005")
    else:
        _downgrade(url, "0005")
    with storage.get_engine(url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO contact (name, name_key, custom, created_at, updated_at) "
                "VALUES ('Anna Müller', 'anna müller', '{}', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )
    storage.dispose_all()
    with storage.session_scope(url) as s:
        assert lookup.resolve_contact(s, "anna muller").name == "Anna Müller"


def test_insert_rows_converts_values_as_the_orm_would(db_url: str) -> None:
    """importer.bulk.insert_rows (the importer's bulk path) stores what an ORM insert stores: aware
    datetimes as UTC, JSON, NULLs, booleans; read back through the models on both backends."""
    from datetime import UTC, datetime, timedelta, timezone

    from crmcli.importer import bulk
    from crmcli.models import Contact, ImportChange, ImportRun

    at = datetime(2026, 3, 4, 14, 5, tzinfo=timezone(timedelta(hours=1)))
    with storage.session_scope(db_url, write=True) as s:
        run = ImportRun(file="x.csv", sha256="0", kind="contacts", status="done", options={}, counts={}, started_at=at)
        s.add(run)
        s.flush()
        conn = s.connection()
        bulk.insert_rows(
            conn,
            Contact.__table__,
            [
                {"name": "Anna", "name_key": "anna", "custom": {"seats": "10"}, "created_at": at, "updated_at": at},
                {"name": "Bo", "name_key": "bo", "custom": {}, "created_at": at, "updated_at": at},
                # converted values are remembered within a statement: equal values, other types and
                # other instants must still come out as their own
                {"name": "Cy", "name_key": "cy", "custom": {"n": {"deep": [1]}}, "created_at": at.astimezone(UTC),
                 "updated_at": at + timedelta(days=1)},
                {"name": "Di", "name_key": "di", "custom": {}, "created_at": at + timedelta(hours=2),
                 "updated_at": at},
                {"name": "Ed", "name_key": "ed", "custom": {"seats": "10"}, "created_at": at, "updated_at": at},
                {"name": "Fy", "name_key": "fy", "custom": {"n": 1}, "created_at": at, "updated_at": at},
                {"name": "Gu", "name_key": "gu", "custom": {"n": True}, "created_at": at, "updated_at": at},
                {"name": "Ha", "name_key": "ha", "custom": {"n": 1.5}, "created_at": at, "updated_at": at},
            ],
        )  # fmt: skip
        bulk.insert_rows(
            conn,
            ImportChange.__table__,
            [
                {"import_id": run.id, "entity": "contact", "record_id": 1, "action": "updated", "row": 2,
                 "before": {"emails": ["a@x.de"]}, "after_updated_at": at},
            ],
        )  # fmt: skip
    with storage.session_scope(db_url) as s:
        anna = s.exec(select(Contact).where(Contact.name == "Anna")).one()
        assert anna.custom == {"seats": "10"} and anna.created_at == at and anna.created_at.tzinfo == UTC
        assert anna.title is None and anna.company_id is None
        rows = {c.name: c for c in s.exec(select(Contact))}
        assert rows["Bo"].custom == {} and rows["Di"].custom == {} and rows["Ed"].custom == {"seats": "10"}
        assert rows["Cy"].custom == {"n": {"deep": [1]}}
        assert [type(rows[n].custom["n"]) for n in ("Fy", "Gu", "Ha")] == [int, bool, float]
        assert rows["Cy"].created_at == at and rows["Cy"].updated_at == at + timedelta(days=1)
        assert rows["Di"].created_at == at + timedelta(hours=2) and rows["Di"].updated_at == at
        change = s.exec(select(ImportChange)).one()
        assert change.before == {"emails": ["a@x.de"]} and change.after_updated_at == at
