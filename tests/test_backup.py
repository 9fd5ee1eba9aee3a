"""Backups that restore (issue 16, item 4): crm db backup / verify / restore on SQLite and
PostgreSQL, encrypted or not, with writers at work, and a restore killed at any moment."""

from __future__ import annotations

import gzip
import json
import os
import random
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, MetaData, inspect, select, text

from crmcli import storage
from crmcli.domain import backups

PASSPHRASE = "correct horse battery staple"
CRM = [sys.executable, "-c", "import sys; from crmcli.cli import main; sys.exit(main())"]


# ---------------------------------------------------------------- helpers


def rows_of(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the database at URL (the full-text index and the transaction
    state aside), ordered by primary key; times as aware UTC, JSON as values."""
    storage.dispose_all()
    engine = storage.get_engine(url)
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        names = [
            n
            for n in inspect(conn).get_table_names()
            if n not in ("alembic_version", "change_current") and not n.startswith(("sqlite_", "search_fts"))
        ]
        metadata = MetaData()
        metadata.reflect(bind=conn, only=names)
        for table in metadata.sorted_tables:
            columns = [c for c in table.columns if c.computed is None]
            result = conn.execute(select(*columns).order_by(*table.primary_key.columns))
            out[table.name] = [
                tuple(_plain(v, isinstance(c.type, JSON)) for v, c in zip(row, columns, strict=True)) for row in result
            ]
    storage.dispose_all()
    return out


def _plain(value: Any, is_json: bool) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if is_json and isinstance(value, str):
        return json.loads(value)
    return value


def counters(url: str) -> dict[str, int | None]:
    """Where each table's ids go on."""
    engine = storage.get_engine(url)
    with engine.connect() as conn, conn.begin():
        header, _rows = backups._snapshot(conn)
    storage.dispose_all()
    return {t["name"]: t["next_id"] for t in header["tables"]}


def fresh(db_url: str, tmp_path: Path, request: pytest.FixtureRequest, name: str = "fresh") -> str:
    """A new, empty database (as crm init makes it) on DB_URL's backend."""
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / f'{name}.db'}"
        storage.open_engine(url)
        storage.dispose_all()
        return url
    server = request.getfixturevalue("pg_server")
    url = server.create()
    request.addfinalizer(lambda: server.drop(url))
    return url


def fill(cli) -> None:
    """Contacts with emails, phones and tags, companies, deals moved through stages, activities,
    follow-ups, a custom field, an edit and a removal: every kind of row, and history."""
    for args in (
        ("fields", "add", "contacts", "tier", "--type", "choice", "--choices", "Gold,Silver"),
        (
            "contacts",
            "add",
            "Anna Müller",
            "-e",
            "anna@acme.de",
            "-p",
            "+49 151 12345678",
            "-c",
            "Acme GmbH",
            "-t",
            "vip",
        ),
        ("contacts", "add", "Bob Stone", "-e", "bob@globex.com", "-e", "b.stone@globex.com", "-t", "lead,trial"),
        ("contacts", "add", "张伟明", "-e", "wei@example.cn", "-p", "+86 138 0013 8000"),
        ("companies", "add", "Globex Corp", "--domain", "globex.com", "-t", "prospect"),
        ("contacts", "edit", "anna@acme.de", "--title", "CTO", "-F", "tier=gold", "--birthday", "1985-04-15"),
        ("deals", "add", "Acme renewal", "-c", "anna@acme.de", "--amount", "12000.50", "--close", "2026-12-31"),
        ("deals", "add", "Globex pilot", "-c", "bob@globex.com", "--amount", "800", "--currency", "USD"),
        ("deals", "move", "Acme renewal", "Proposal"),
        ("deals", "won", "Acme renewal"),
        ("deals", "lost", "Globex pilot", "--reason", "price"),
        ("log", "anna@acme.de", "--type", "call", "Discussed the renewal, send pricing"),
        ("log", "company:Globex Corp", "--type", "note", "Budget cycle starts in October"),
        ("followups", "add", "anna@acme.de", "--due", "2030-01-02 09:30", "--note", "Send the pricing"),
        ("followups", "add", "company:Globex Corp", "--due", "2030-02-01", "--every", "monthly", "--note", "Review"),
        ("contacts", "cadence", "bob@globex.com", "30d"),
        ("contacts", "add", "Temporary Person", "-e", "temp@example.com"),
        ("contacts", "rm", "temp@example.com", "--yes"),
    ):
        result = cli(*args)
        assert result.exit_code == 0, (args, result.output)


def auto_backups() -> list[Path]:
    folder = backups.backups_dir() / "auto"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def integrity_ok(url: str) -> None:
    path = storage.sqlite_path(url)
    if path is None:
        return
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("name", ["backup.db", "backup.crmdump.gz"])
def test_backup_verify_restore_into_an_empty_database_gives_the_same_rows(
    cli, db_url: str, tmp_path: Path, request: pytest.FixtureRequest, name: str
) -> None:
    if name.endswith(".db") and not db_url.startswith("sqlite"):
        pytest.skip("a PostgreSQL database is backed up as a crm dump")
    fill(cli)
    before, counted = rows_of(db_url), counters(db_url)
    assert before["change"] and before["change_set"] and before["stage_history"] and before["followup"]
    path = tmp_path / name
    done = cli("db", "backup", str(path))
    assert done.exit_code == 0, done.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes()[:2] == (b"\x1f\x8b" if name.endswith(".gz") else b"SQ")

    checked = cli("db", "verify", str(path), "-f", "json")
    assert checked.exit_code == 0, checked.output
    found = json.loads(checked.stdout)
    assert found["state"] == "ok" and found["revision"] == storage.SCHEMA_HEAD
    assert (found["contact_rows"], found["company_rows"], found["deal_rows"]) == (3, 2, 2)

    empty = fresh(db_url, tmp_path, request)
    done = cli("--db", empty, "db", "restore", str(path), "--yes")
    assert done.exit_code == 0, done.output
    assert "Restored" in done.output
    after = rows_of(empty)
    assert after == before  # every table, change and change_set included, ids and types alike
    assert counters(empty) == counted  # ids go on where they did: the removed contact's is not given again
    integrity_ok(empty)
    # the restored database works on: a new contact gets the id after the removed one
    added = cli("--db", empty, "contacts", "add", "New Person", "-q")
    assert added.exit_code == 0 and int(added.stdout) == counted["contact"]
    assert cli("--db", empty, "history", "anna@acme.de").exit_code == 0


def test_a_postgresql_backup_is_a_dump_whatever_its_name(cli, db_url: str, tmp_path: Path) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL only")
    done = cli("db", "backup", str(tmp_path / "team.db"))
    assert done.exit_code == 1 and "crm dump" in done.output and not (tmp_path / "team.db").exists()


def test_the_default_backup_goes_to_the_user_data_directory(cli, db_url: str, tmp_path: Path) -> None:
    done = cli("db", "backup", "-f", "json")
    assert done.exit_code == 0, done.output
    path = Path(json.loads(done.stdout)["file"])
    assert path.parent == tmp_path / "xdg-data" / "crmcli" / "backups"
    assert path.name.startswith("crm-") and path.name.endswith(".db" if db_url.startswith("sqlite") else ".crmdump.gz")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert cli("db", "verify", str(path)).exit_code == 0
    # an existing file is never replaced without --force
    again = cli("db", "backup", str(path))
    assert again.exit_code == 1 and "exists" in again.output
    assert cli("db", "backup", str(path), "--force").exit_code == 0


def test_a_dump_moves_between_backends(cli, db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """A crm dump is the same on both backends: one made from SQLite restores into PostgreSQL and back."""
    if not db_url.startswith("sqlite"):
        pytest.skip("runs once, from SQLite")
    fill(cli)
    before = rows_of(db_url)
    dump = tmp_path / "moving.crmdump.gz"
    assert cli("db", "backup", str(dump)).exit_code == 0
    server = request.getfixturevalue("pg_server")
    pg = server.create()
    request.addfinalizer(lambda: server.drop(pg))
    assert cli("--db", pg, "db", "restore", str(dump), "--yes").exit_code == 0
    assert rows_of(pg) == before
    back = tmp_path / "back.crmdump.gz"
    assert cli("--db", pg, "db", "backup", str(back)).exit_code == 0
    empty = fresh(db_url, tmp_path, request)
    assert cli("--db", empty, "db", "restore", str(back), "--yes").exit_code == 0
    assert rows_of(empty) == before
    # and a SQLite file restores into PostgreSQL too
    copy = tmp_path / "copy.db"
    assert cli("db", "backup", str(copy)).exit_code == 0
    other = server.create()
    request.addfinalizer(lambda: server.drop(other))
    assert cli("--db", other, "db", "restore", str(copy), "--yes").exit_code == 0
    assert rows_of(other) == before


# ---------------------------------------------------------------- encryption


def test_an_encrypted_backup_restores_with_its_passphrase_only(
    cli, db_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    fill(cli)
    before = rows_of(db_url)
    path = tmp_path / ("secret.db" if db_url.startswith("sqlite") else "secret.crmdump.gz")
    no_pass = cli("db", "backup", str(path), "--encrypt", env={"CRM_BACKUP_PASSPHRASE": None})
    assert no_pass.exit_code == 2 and "CRM_BACKUP_PASSPHRASE" in no_pass.output and not path.exists()
    done = cli("db", "backup", str(path), "--encrypt", env={"CRM_BACKUP_PASSPHRASE": PASSPHRASE})
    assert done.exit_code == 0, done.output
    data = path.read_bytes()
    assert data.startswith(backups.MAGIC) and b"anna@acme.de" not in data and b"SQLite" not in data

    wrong = {"CRM_BACKUP_PASSPHRASE": "wrong horse"}
    for args in (("db", "verify", str(path)), ("db", "restore", str(path), "--yes")):
        result = cli(*args, env=wrong)
        assert result.exit_code == 1
        assert result.output.count("\n") == 1 and "wrong passphrase" in result.output, result.output
    checked = cli("db", "verify", str(path), "-f", "json", env={"CRM_BACKUP_PASSPHRASE": PASSPHRASE})
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["encrypted"] is True

    empty = fresh(db_url, tmp_path, request)
    done = cli("--db", empty, "db", "restore", str(path), "--yes", env={"CRM_BACKUP_PASSPHRASE": PASSPHRASE})
    assert done.exit_code == 0, done.output
    assert rows_of(empty) == before


def test_a_changed_encrypted_file_does_not_decrypt(cli, db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "secret.crmdump.gz"
    env = {"CRM_BACKUP_PASSPHRASE": PASSPHRASE}
    assert cli("db", "backup", str(path), "--encrypt", env=env).exit_code == 0
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    result = cli("db", "verify", str(path), env=env)
    assert result.exit_code == 1 and result.output.startswith("Error: ")
    path.write_bytes(bytes(data[: len(data) - 10]))
    assert cli("db", "verify", str(path), env=env).exit_code == 1


# ---------------------------------------------------------------- broken backups


@pytest.mark.parametrize("name", ["b.db", "b.crmdump.gz"])
def test_verify_finds_a_truncated_or_damaged_backup(cli, db_url: str, tmp_path: Path, name: str) -> None:
    if name.endswith(".db") and not db_url.startswith("sqlite"):
        pytest.skip("a PostgreSQL database is backed up as a crm dump")
    fill(cli)
    path = tmp_path / name
    assert cli("db", "backup", str(path)).exit_code == 0
    data = path.read_bytes()
    cut = tmp_path / f"cut-{name}"
    cut.write_bytes(data[: len(data) // 2])
    result = cli("db", "verify", str(cut))
    assert result.exit_code == 1, result.output
    assert "State\tbroken" in result.stdout and "Error: " in result.output
    # a restore of it changes nothing
    before = rows_of(db_url)
    assert cli("db", "restore", str(cut), "--yes").exit_code == 1
    assert rows_of(db_url) == before
    assert auto_backups() == []  # refused before anything was done

    if name.endswith(".gz"):  # a row changed inside an intact gzip stream: the counts no longer hold
        lines = gzip.decompress(data).decode().splitlines(keepends=True)
        damaged = tmp_path / "short.crmdump.gz"
        damaged.write_bytes(gzip.compress("".join(lines[:5] + lines[6:]).encode()))
        result = cli("db", "verify", str(damaged))
        assert result.exit_code == 1 and "broken" in result.output
        (tmp_path / "not.gz").write_bytes(b"hello")
        assert cli("db", "verify", str(tmp_path / "not.gz")).exit_code == 1
    else:  # a page overwritten in the middle
        broken = bytearray(data)
        page = 4096 * 3
        broken[page : page + 4096] = os.urandom(4096)
        bad = tmp_path / "bad.db"
        bad.write_bytes(bytes(broken))
        assert cli("db", "verify", str(bad)).exit_code == 1
    missing = cli("db", "verify", str(tmp_path / "nothing.db"))
    assert missing.exit_code == 1 and "no backup at" in missing.output


def test_a_backup_of_another_schema_revision_is_refused(cli, db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "old.crmdump.gz"
    assert cli("db", "backup", str(path)).exit_code == 0
    lines = gzip.decompress(path.read_bytes()).decode().splitlines(keepends=True)
    header = json.loads(lines[0])
    header["revision"] = "0010"
    path.write_bytes(gzip.compress((json.dumps(header) + "\n" + "".join(lines[1:])).encode()))
    result = cli("db", "restore", str(path), "--yes")
    assert result.exit_code == 1 and "schema revision 0010" in result.output and "its own revision" in result.output


# ---------------------------------------------------------------- confirmation and automatic backups


def test_restore_without_a_terminal_needs_yes(cli, db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "b.crmdump.gz"
    assert cli("db", "backup", str(path)).exit_code == 0
    fill(cli)
    before = rows_of(db_url)
    result = cli("db", "restore", str(path))
    assert result.exit_code == 2
    assert "not a terminal: add --yes to replace every record of" in result.output
    assert rows_of(db_url) == before and auto_backups() == []


def test_restore_takes_an_automatic_backup_of_the_state_before(
    cli, db_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    path = tmp_path / "empty.crmdump.gz"
    assert cli("db", "backup", str(path)).exit_code == 0
    empty_rows = rows_of(db_url)
    fill(cli)
    filled = rows_of(db_url)
    done = cli("db", "restore", str(path), "--yes")
    assert done.exit_code == 0, done.output
    assert rows_of(db_url) == empty_rows
    [auto] = auto_backups()
    assert "restore" in auto.name and str(auto) in done.output
    assert stat.S_IMODE(auto.stat().st_mode) == 0o600
    # the automatic backup holds the state before the restore: restoring it brings that back
    assert cli("db", "restore", str(auto), "--yes").exit_code == 0
    assert rows_of(db_url) == filled
    assert len(auto_backups()) == 2


def test_automatic_backups_keep_the_newest_of_each_database(cli, db_url: str) -> None:
    assert cli("config", "set", "backup.keep", "2").exit_code == 0
    assert cli("config", "set", "backup.keep", "0").exit_code == 1
    made = []
    for n in range(4):
        made.append(backups.automatic(db_url, f"test {n}"))
        time.sleep(0.01)
    assert auto_backups() == sorted(made[-2:])
    assert made[-1].name.endswith("-test-3." + ("db" if db_url.startswith("sqlite") else "crmdump.gz"))
    storage.dispose_all()


def test_undoing_an_import_takes_an_automatic_backup_first(cli, db_url: str, tmp_path: Path) -> None:
    sheet = tmp_path / "people.csv"
    sheet.write_text("Name,Email\nJana Roth,jana@nordwind.de\nKai Lorenz,kai@nordwind.de\n", encoding="utf-8")
    assert cli("import", str(sheet)).exit_code == 0
    assert auto_backups() == []
    done = cli("imports", "undo", "1", "--yes")
    assert done.exit_code == 0, done.output
    [auto] = auto_backups()
    assert "imports-undo-1" in auto.name
    assert cli("db", "verify", str(auto)).exit_code == 0


# ---------------------------------------------------------------- writers at work


WRITER = """
import sys, time
from pathlib import Path
from crmcli import storage
from crmcli.domain import activities, contacts

db, tag, stop = sys.argv[1], sys.argv[2], Path(sys.argv[3])
n, deadline = 0, time.monotonic() + 90
while not stop.exists() and time.monotonic() < deadline:
    with storage.session_scope(db, write=True) as s:
        c = contacts.add_contact(s, name=f"Writer {tag} {n}", emails=[f"w{tag}.{n}@example.com"])
        activities.log_activity(s, type="note", text=f"note {n} of writer {tag}", contact=c)
    n += 1
print(n)
"""


def _count(url: str, table: str) -> int:
    with storage.get_engine(url).connect() as conn:
        return int(conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one())


def test_a_backup_made_while_four_writers_write_is_one_moment(
    cli, db_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    stop = tmp_path / "stop"
    env = {**os.environ, "CRM_DB": db_url}
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, db_url, str(n), str(stop)], env=env, stdout=subprocess.PIPE)
        for n in range(4)
    ]
    try:
        deadline = time.monotonic() + 60
        while _count(db_url, "contact") < 40 and time.monotonic() < deadline:
            time.sleep(0.2)
        at_start = _count(db_url, "contact")
        assert at_start >= 40, "the writers did not get going"
        path = tmp_path / ("busy.db" if db_url.startswith("sqlite") else "busy.crmdump.gz")
        done = cli("db", "backup", str(path))
        assert done.exit_code == 0, done.output
        time.sleep(0.5)
        assert _count(db_url, "contact") > at_start  # they were writing all along
    finally:
        stop.touch()
        written = [int(w.communicate(timeout=120)[0] or 0) for w in writers]
        storage.dispose_all()
    assert all(n > 0 for n in written)
    assert cli("db", "verify", str(path)).exit_code == 0
    empty = fresh(db_url, tmp_path, request)
    assert cli("--db", empty, "db", "restore", str(path), "--yes").exit_code == 0
    integrity_ok(empty)
    contacts_, emails, activities_ = (_count(empty, t) for t in ("contact", "contact_email", "activity"))
    # every writer's transaction is there whole, or not at all
    assert at_start <= contacts_ <= sum(written)
    assert contacts_ == emails == activities_
    assert _count(empty, "search_doc") == contacts_ + activities_
    with storage.get_engine(empty).connect() as conn:
        logged = conn.execute(text("SELECT count(*) FROM change WHERE tbl = 'contact' AND op = 'insert'")).scalar()
        sets = conn.execute(text("SELECT count(*) FROM change_set")).scalar()
        orphans = conn.execute(
            text("SELECT count(*) FROM activity a LEFT JOIN contact c ON c.id = a.contact_id WHERE c.id IS NULL")
        ).scalar()
    assert logged == contacts_ == sets and orphans == 0
    storage.dispose_all()


# ---------------------------------------------------------------- kill -9


def _restore_process(db_url: str, path: Path, delay: float) -> subprocess.Popen:
    env = {**os.environ, "CRM_DB": db_url, "CRM_SERVER": "0", backups.TEST_DELAY: str(delay)}
    return subprocess.Popen(
        [*CRM, "db", "restore", str(path), "--yes"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _kill_after_steps(proc: subprocess.Popen, steps: int) -> int:
    """Kill PROC (SIGKILL) once it has reported STEPS steps of its restore; the steps seen."""
    seen = 0
    assert proc.stderr is not None
    while seen < steps:
        line = proc.stderr.readline()
        if not line:
            break
        seen += line.startswith(b"crm-test: restore step")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return seen


def test_a_restore_killed_at_any_moment_leaves_the_old_database_whole(cli, db_url: str, tmp_path: Path) -> None:
    assert cli("init", "--demo").exit_code == 0
    path = tmp_path / ("demo.db" if db_url.startswith("sqlite") else "demo.crmdump.gz")
    assert cli("db", "backup", str(path)).exit_code == 0
    backed_up = rows_of(db_url)
    # the database moves on: the backup is no longer what it holds
    assert cli("contacts", "rm", "1", "2", "3", "--yes").exit_code == 0
    assert cli("contacts", "add", "After The Backup", "-e", "after@example.com").exit_code == 0
    old = rows_of(db_url)
    assert old != backed_up
    storage.dispose_all()

    rng = random.Random(16)
    killed_mid = 0
    for steps in (1, 2, 5, 9, 13):  # at chosen steps of the copy (SQLite) or of the tables (PostgreSQL)
        seen = _kill_after_steps(_restore_process(db_url, path, 0.02), steps)
        killed_mid += seen == steps
        assert rows_of(db_url) == old, f"killed after {seen} steps"
        integrity_ok(db_url)
    assert killed_mid >= 3
    for _ in range(4):  # and at random moments, the automatic backup and the checks included
        proc = _restore_process(db_url, path, 0.01)
        time.sleep(rng.uniform(0.2, 2.0))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        now = rows_of(db_url)
        assert now in (old, backed_up)  # the old database whole, or (killed after the commit) the backup whole
        if now == backed_up:
            break
        integrity_ok(db_url)

    done = subprocess.run([*CRM, "db", "restore", str(path), "--yes"], env={**os.environ, "CRM_DB": db_url})
    assert done.returncode == 0
    assert rows_of(db_url) == backed_up
    integrity_ok(db_url)
    assert not list(tmp_path.glob(".*.restore-*"))  # a restore that ran to its end leaves no temporary file


def test_the_database_itself_is_no_backup(cli, db_url: str) -> None:
    path = storage.sqlite_path(db_url)
    if path is None:
        pytest.skip("SQLite only")
    result = cli("db", "restore", str(path), "--yes")
    assert result.exit_code == 1 and "the database itself" in result.output


def test_upgrading_postgresql_takes_a_dump_first(cli, db_url: str) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("a SQLite file is copied by every upgrade (crm.db.bak-REVISION)")
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(storage.__file__).parent / "migrations"))
    with storage.get_engine(db_url).begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, storage.SCHEMA_REVISIONS[-2])
    storage.dispose_all()
    done = cli("db", "upgrade")
    assert done.exit_code == 0, done.output
    [auto] = auto_backups()
    assert f"upgrade-{storage.SCHEMA_REVISIONS[-2]}" in auto.name and str(auto) in done.output
    header = json.loads(gzip.open(auto, "rt").readline())
    assert header["revision"] == storage.SCHEMA_REVISIONS[-2]


def test_a_connection_open_during_the_restore_reads_the_restored_rows(cli, db_url: str, tmp_path: Path) -> None:
    path = storage.sqlite_path(db_url)
    if path is None:
        pytest.skip("SQLite only: PostgreSQL's sessions see a committed transaction as a matter of course")
    fill(cli)
    backup = tmp_path / "b.db"
    assert cli("db", "backup", str(backup)).exit_code == 0
    assert cli("contacts", "add", "Later Person", "-e", "later@example.com").exit_code == 0
    other = sqlite3.connect(path)  # another program's connection, open all along
    try:
        assert other.execute("SELECT count(*) FROM contact").fetchone() == (4,)
        assert cli("db", "restore", str(backup), "--yes").exit_code == 0
        assert other.execute("SELECT count(*) FROM contact").fetchone() == (3,)
        assert other.execute("SELECT name FROM contact WHERE name = 'Later Person'").fetchall() == []
        assert other.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        other.close()
