"""Issue 12, storage: secrets never printed, no database made by mistake, one upgrade at a time,
ids never reused, merged ids followed, no duplicate contacts from concurrent adds on PostgreSQL."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select
from test_cli import ok, one_line_error
from typer.testing import CliRunner

from crmcli import storage
from crmcli.cli import app
from crmcli.domain import activities, companies, contacts, deals, dedupe, followups, lookup, views
from crmcli.errors import Conflict, DatabaseError
from crmcli.models import Activity, AssignmentRule, Company, Contact, ContactEmail, ContactPhone, Deal, FollowUp

CRM = [sys.executable, "-c", "import sys; from crmcli.cli import main; sys.exit(main())"]


def crm(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env=env)


# ---------------------------------------------------------------- secrets in URLs

URLS = [
    # (url, secret, what may be shown)
    ("postgresql+psycopg://u:p@ss@127.0.0.1:1/db", "p@ss", "postgresql+psycopg://u:***@127.0.0.1:1/db"),
    ("postgresql+psycopg://u:p@ss@/db", "p@ss", "postgresql+psycopg://u:***@/db"),
    ("postgresql+psycopg://u:pa ss@127.0.0.1:1/db", "pa ss", "postgresql+psycopg://u:***@127.0.0.1:1/db"),
    ("postgresql+psycopg://u:s3cr%40t%20pw@127.0.0.1:1/db", "s3cr", "postgresql+psycopg://u:***@127.0.0.1:1/db"),
    ("postgresql+psycopg://u@127.0.0.1:1/db?password=Hunter22&sslmode=disable", "Hunter22", "password=***"),
    ("postgresql+psycopg://u@127.0.0.1:1/db?sslmode=disable&password=a%20b%20c", "a b c", "password=***"),
    ("postgresql+psycopg://u:pa/ss@127.0.0.1:1/db", "pa/ss", "postgresql+psycopg://u:***@127.0.0.1:1/db"),
]


@pytest.mark.parametrize(("url", "secret", "shown"), URLS)
def test_show_url_hides_every_form_of_the_password(url: str, secret: str, shown: str) -> None:
    from urllib.parse import quote

    display = storage.show_url(url)
    assert shown in display
    for form in (secret, quote(secret, safe=""), secret.replace(" ", "+")):
        assert form not in display
    assert "ss@" not in display.split("://", 1)[1].split("/", 1)[0].replace("***@", "")


def test_redact_hides_a_password_quoted_by_a_driver_and_libpq_keywords() -> None:
    url = "postgresql+psycopg://bob:pa ss w0rd@db.example/crm"
    said = 'connection failed: FATAL: password "pa ss w0rd" rejected for host=db password=pa ss w0rd'
    out = storage.redact(said, url)
    assert "pa ss" not in out and "w0rd" not in out
    assert storage.redact("dsn: host=h password='x y' port=5432") == "dsn: host=h password=*** port=5432"
    # a short password is hidden where it stands alone, without mangling the words around it
    assert storage.redact('password "pw" failed at postgresql', "postgresql://u:pw@h/d") == (
        'password "***" failed at postgresql'
    )


@pytest.mark.parametrize(("url", "secret", "shown"), URLS)
def test_commands_never_print_the_password(url: str, secret: str, shown: str) -> None:
    for args in (["init"], ["db", "status"], ["contacts", "list"], ["db", "upgrade"]):
        result = crm("--db", url, *args)
        one_line_error(result, 1, "cannot open database")
        assert secret not in result.stderr + result.stdout, (args, result.stderr)
        assert shown in result.stderr
        result = crm(*args, env={"CRM_DB": url})
        assert secret not in result.stderr + result.stdout


def test_init_and_status_show_a_postgresql_url_without_its_password(pg_server) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(pg_server.create()).update_query_dict({"password": "Qu3ry-Secret"})
    url = url.render_as_string(hide_password=False)
    try:
        done = ok(crm("--db", url, "init"))
        assert "Qu3ry-Secret" not in done.stderr and "password=***" in done.stderr
        status = ok(crm("--db", url, "db", "status", "-f", "json"))
        assert "Qu3ry-Secret" not in status.stdout and "password=***" in status.stdout
    finally:
        pg_server.drop(url)


# ---------------------------------------------------------------- no database made by mistake


def test_a_missing_database_named_by_db_or_crm_db_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    for args, env in (
        (["--db", str(missing), "contacts", "list"], None),
        (["contacts", "add", "Anna"], {"CRM_DB": str(missing)}),
        (["db", "status"], {"CRM_DB": str(missing)}),
        (["db", "upgrade"], {"CRM_DB": f"sqlite:///{missing}"}),
    ):
        result = crm(*args, env=env)
        one_line_error(result, 1, f"no database at {missing}; crm --db {missing} init creates one")
        assert not missing.exists()
    ok(crm("--db", str(missing), "init"))
    assert stat.S_IMODE(os.stat(missing).st_mode) == 0o600
    assert ok(crm("--db", str(missing), "contacts", "list", "-f", "json")).stdout.strip() == "[]"


def test_the_default_database_is_still_made_on_first_use(tmp_path: Path) -> None:
    ok(crm("contacts", "list"))
    made = tmp_path / "xdg-data" / "crmcli" / "crm.db"
    assert made.exists() and stat.S_IMODE(os.stat(made).st_mode) == 0o600


def test_an_empty_file_is_not_made_a_crm_but_init_may(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch(mode=0o644)
    os.chmod(empty, 0o644)
    one_line_error(crm("--db", str(empty), "contacts", "list"), 1, f"{empty} is an empty file, not a CRM database")
    assert empty.stat().st_size == 0
    ok(crm("--db", str(empty), "init"))
    assert stat.S_IMODE(os.stat(empty).st_mode) == 0o600
    ok(crm("--db", str(empty), "contacts", "list"))


def test_a_sqlite_database_of_another_program_is_not_filled_with_crm_tables(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE notes (x)")
    conn.commit()
    conn.close()
    one_line_error(crm("--db", str(other), "contacts", "list"), 1, "not a CRM one")
    conn = sqlite3.connect(other)
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")] == ["notes"]
    conn.close()


def _filled(path: Path) -> None:
    with storage.session_scope(str(path), write=True) as s:
        contacts.add_contact(s, name="Anna Müller", emails=["anna@acme.de"])
    storage.dispose_all()


def test_a_database_in_a_read_only_directory_can_be_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """WAL needs a -shm file beside the database: where it cannot be made, crm opens the file as
    a read-only snapshot; reads work, writes fail in one line."""
    path = tmp_path / "crm.db"
    _filled(path)
    monkeypatch.setattr(storage, "_writable_dir", lambda folder: False)
    listed = ok(crm("--db", str(path), "contacts", "list", "-f", "json"))
    assert "Anna Müller" in listed.stdout
    one_line_error(crm("--db", str(path), "contacts", "add", "Bo"), 1, "can only be read")
    assert "read-only" in ok(crm("--db", str(path), "db", "status", "-f", "json")).stdout


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_a_read_only_directory_for_real(tmp_path: Path) -> None:
    """The directory really refuses new files: chmod 0555, or for root (who ignores permissions)
    the immutable attribute."""
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "crm.db"
    _filled(path)
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
            pytest.skip("root, and no chattr +i here")
        undo = ["chattr", "-i", str(folder)]
    else:
        os.chmod(folder, 0o555)
        undo = ["chmod", "755", str(folder)]
    try:
        listed = ok(crm("--db", str(path), "contacts", "list", "-f", "json"))
        assert "Anna Müller" in listed.stdout
        one_line_error(crm("--db", str(path), "contacts", "add", "Bo"), 1, "can only be read")
        assert not [p.name for p in folder.iterdir() if p.name.endswith(("-wal", "-shm"))]
    finally:
        subprocess.run(undo, check=True)


# ---------------------------------------------------------------- one upgrade at a time


def _at_revision(url: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(storage.__file__).parent / "migrations"))
    with storage.get_engine(url).begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    storage.dispose_all()


def _four_at_once(db: str, cwd: Path) -> list[subprocess.CompletedProcess]:
    env = {**os.environ, "CRM_DB": db}
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    procs = [subprocess.Popen([*CRM, "contacts", "list"], env=env, cwd=cwd, **pipes) for _ in range(4)]
    done = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return done


def test_four_commands_on_an_old_sqlite_database_upgrade_it_once(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _at_revision(f"sqlite:///{path}", "0005")
    for result in _four_at_once(str(path), tmp_path):
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
    assert [p.name for p in tmp_path.glob("old.db.bak-*")] == ["old.db.bak-0005"]
    with storage.get_engine(f"sqlite:///{path}").connect() as conn:
        assert storage.current_revision(conn) == storage.SCHEMA_HEAD


@pytest.mark.skipif(sys.platform == "win32", reason="fcntl")
def test_an_upgrade_waits_for_the_one_under_way(tmp_path: Path) -> None:
    """The lock beside the file is held for the whole migration, however long it takes (SQLite's
    busy timeout alone would give up after 10 s): a second command waits for it, then goes on."""
    import fcntl
    import time

    path = tmp_path / "old.db"
    _at_revision(f"sqlite:///{path}", "0007")
    with open(f"{path}.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        proc = subprocess.Popen([*CRM, "--db", str(path), "contacts", "list"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
        time.sleep(2)
        assert proc.poll() is None  # waiting
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert [p.name for p in tmp_path.glob("old.db.bak-*")] == ["old.db.bak-0007"]


def test_four_commands_on_an_old_postgresql_database_upgrade_it_once(pg_server, tmp_path: Path) -> None:
    url = pg_server.create(migrated=False)
    try:
        _at_revision(url, "0005")
        for result in _four_at_once(url, tmp_path):
            assert result.returncode == 0, result.stderr
            assert result.stderr == ""
        with storage.get_engine(url).connect() as conn:
            assert storage.current_revision(conn) == storage.SCHEMA_HEAD
        # one crm dump of the database as it was, taken by the one that upgraded (issue 16 item 4)
        (dump,) = (tmp_path / "xdg-data").rglob("*-upgrade-0005.crmdump.gz")
        verified = crm("--db", url, "db", "verify", str(dump), "--format", "json")
        assert verified.exit_code == 0 and json.loads(verified.stdout)["revision"] == "0005", verified.output
    finally:
        pg_server.drop(url)


def test_db_upgrade_of_a_newer_schema_fails_in_one_line_without_a_backup(db_url: str, tmp_path: Path) -> None:
    with storage.get_engine(db_url).begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0042'"))
    storage.dispose_all()
    result = crm("--db", db_url, "db", "upgrade")
    one_line_error(result, 1, "schema revision 0042, newer than this crmcli knows")
    assert list(tmp_path.glob("*.bak-*")) == []
    one_line_error(crm("--db", db_url, "contacts", "list"), 1, "newer than this crmcli knows")


# ---------------------------------------------------------------- ids are never reused


def test_ids_of_deleted_records_are_never_given_again(session) -> None:
    def newest_gone_then_new(make, model) -> None:  # noqa: ANN001
        first, last = make(), make()
        last_id = last.id
        session.delete(last)
        session.flush()
        assert make().id > last_id, model
        assert session.get(model, first.id) is not None

    n = iter(range(1000))
    newest_gone_then_new(lambda: contacts.add_contact(session, name=f"Person {next(n)}"), Contact)
    newest_gone_then_new(lambda: companies.add_company(session, name=f"Firm {next(n)}"), Company)
    holder = contacts.add_contact(session, name="Holder")
    newest_gone_then_new(lambda: deals.add_deal(session, title=f"Deal {next(n)}", contact=str(holder.id)), Deal)
    newest_gone_then_new(lambda: activities.log_activity(session, type="note", text="x", contact=holder), Activity)
    from datetime import UTC, datetime

    due = datetime(2030, 1, 1, tzinfo=UTC)
    newest_gone_then_new(lambda: followups.add_followup(session, due_at=due, contact=holder), FollowUp)
    session.commit()


def test_a_merged_away_id_is_never_given_again(session) -> None:
    keep = contacts.add_contact(session, name="Ann Keep")
    other = contacts.add_contact(session, name="Ann Other")
    other_id = other.id
    dedupe.merge_contacts(session, keep, [other])
    assert contacts.add_contact(session, name="Someone New").id > other_id
    session.commit()


def test_a_merged_away_id_resolves_to_the_kept_record_with_a_note(session) -> None:
    a = contacts.add_contact(session, name="Ann A")
    b = contacts.add_contact(session, name="Ann B")
    c = contacts.add_contact(session, name="Ann C")
    a_id, b_id = a.id, b.id
    dedupe.merge_contacts(session, b, [a])
    dedupe.merge_contacts(session, c, [b])
    lookup.take_notes()
    assert lookup.resolve_contact(session, str(a_id)).id == c.id
    assert lookup.resolve_contact(session, f"#{b_id}").id == c.id
    notes = lookup.take_notes()
    assert notes[0].startswith(f"#{a_id} was merged into #{c.id} Ann C on ") and notes[0].endswith(f"using #{c.id}")
    x = companies.add_company(session, name="X GmbH")
    y = companies.add_company(session, name="X AG")
    y_id = y.id
    dedupe.merge_companies(session, x, [y])
    assert lookup.resolve_company(session, str(y_id)).id == x.id
    assert lookup.take_notes()[0].startswith(f"#{y_id} was merged into #{x.id} X GmbH")


def test_commands_on_a_merged_away_id_act_on_the_kept_record(cli) -> None:
    keep = ok(cli("contacts", "add", "Anna Müller", "-e", "anna@acme.de")).stdout.strip()
    other = ok(cli("contacts", "add", "Anna Mueller", "-e", "a2@acme.de")).stdout.strip()
    ok(cli("contacts", "merge", keep, other, "--yes"))
    shown = ok(cli("contacts", "show", other, "-f", "json"))
    assert f'"id": {keep}' in shown.stdout
    assert shown.stderr.startswith(f"#{other} was merged into #{keep} Anna Müller on ")
    edited = ok(cli("contacts", "edit", other, "--title", "CTO"))
    assert f"#{other} was merged into #{keep}" in edited.stderr
    assert '"title": "CTO"' in ok(cli("contacts", "show", keep, "-f", "json")).stdout
    one_line_error(cli("contacts", "show", "999"), 1, "no contact with id 999")


def _old_database_with_data(url: str) -> dict[str, int]:
    """A database at 0008 (before AUTOINCREMENT) holding a bit of everything; the counts."""
    from datetime import UTC, datetime

    _at_revision(url, "0008")
    # today's models write columns later revisions added: they exist while the data is written
    # through the models, and are gone again before the upgrade under test
    later = [("contact", "private"), ("company", "private"), ("deal", "private"), ("activity", "direction")]
    with storage.get_engine(url).begin() as conn:
        for table, column in later:
            conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column}")
        AssignmentRule.__table__.create(conn)  # type: ignore[attr-defined]  # adding consults the rules
    with storage.make_session(storage.get_engine(url), write=True) as s:
        acme = companies.add_company(s, name="Acme GmbH", domain="acme.de")
        anna = contacts.add_contact(s, name="Anna", emails=["anna@acme.de", "a@x.de"], phones=["+49 30 1234567"],
                                    company=str(acme.id), tags=["vip"])  # fmt: skip
        bo = contacts.add_contact(s, name="Bo", emails=["bo@acme.de"], company=str(acme.id))
        deal = deals.add_deal(s, title="Big one", contact=str(anna.id))
        activities.log_activity(s, type="call", text="Hello", contact=anna, company=acme, deal=deal)
        followups.add_followup(s, due_at=datetime(2030, 1, 1, tzinfo=UTC), contact=anna, deal=deal)
        followups.add_followup(s, due_at=datetime(2030, 1, 2, tzinfo=UTC), company=acme)
        gone = contacts.add_contact(s, name="Gone Later")
        dedupe.merge_contacts(s, bo, [gone])  # the newest id, remembered only by the merge log
        s.commit()
    with storage.get_engine(url).begin() as conn:
        for table, column in later:
            conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
        conn.exec_driver_sql("DROP TABLE assignment_rule")
    storage.dispose_all()
    return _counts(url)


def _counts(url: str) -> dict[str, int]:
    tables = ("company", "contact", "contact_email", "contact_phone", "contact_tag", "company_tag", "deal",
              "activity", "followup", "stage_history", "search_doc", "merge_log")  # fmt: skip
    with storage.get_engine(url).connect() as conn:
        return {t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar() for t in tables}


def test_0009_keeps_every_row_that_points_at_the_rebuilt_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    before = _old_database_with_data(url)
    assert before["contact_email"] == 3 and before["followup"] == 2 and before["activity"] == 1
    with storage.get_engine(url).connect() as conn:
        gone_id = conn.exec_driver_sql("SELECT max(merged_id) FROM merge_log").scalar()
    storage.dispose_all()
    engine, _ = storage.open_engine(url, create=False)
    assert _counts(url) == before
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        for table in ("contact", "company", "deal", "activity", "followup"):
            sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).scalar()
            assert "AUTOINCREMENT" in sql, table
    with storage.session_scope(url, write=True) as s:
        anna = lookup.resolve_contact(s, "anna@acme.de")
        view = views.contact_view(s, anna)
        assert view["emails"] == ["anna@acme.de", "a@x.de"] and view["company"] == "Acme GmbH"
        assert contacts.add_contact(s, name="After").id > gone_id  # not the merged-away id
        assert len(s.exec(select(ContactEmail)).all()) == 3 and len(s.exec(select(ContactPhone)).all()) == 1
        # the cascades still work after the rebuild
        contacts.remove_contact(s, anna)
        s.flush()
        assert s.exec(select(ContactEmail).where(ContactEmail.contact_id == anna.id)).all() == []


def test_postgresql_sequences_never_reuse_ids(pg_server) -> None:
    url = pg_server.create()
    try:
        with storage.session_scope(url, write=True) as s:
            keep = contacts.add_contact(s, name="Keep")
            last = contacts.add_contact(s, name="Last")
            last_id = last.id
            contacts.remove_contact(s, last)
        storage.dispose_all()  # a new connection, as the next command would have
        with storage.session_scope(url, write=True) as s:
            assert contacts.add_contact(s, name="Next").id > last_id > keep.id
    finally:
        pg_server.drop(url)


# ---------------------------------------------------------------- no duplicates under concurrency


def _add_at_once(engine, name: str, **values) -> list[str]:  # noqa: ANN001, ANN003
    """Four threads, each with its own session (its own connection), add one contact at the same
    moment; what became of each."""
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def add() -> None:
        s = storage.make_session(engine, write=True)
        try:
            barrier.wait()
            contacts.add_contact(s, name=name, **values)
            s.commit()
            outcomes.append("added")
        except Conflict:
            s.rollback()
            outcomes.append("refused")
        finally:
            s.close()

    threads = [threading.Thread(target=add) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return sorted(outcomes)


@pytest.mark.parametrize("kind", ["email", "phone"])
def test_simultaneous_adds_of_one_person_store_one_contact_on_postgresql(pg_server, kind: str) -> None:
    url = pg_server.create()
    try:
        engine, _ = storage.open_engine(url)
        for n in range(5):
            values = {"emails": [f"same{n}@acme.de"]} if kind == "email" else {"phones": [f"+49 30 55500{n}"]}
            outcomes = _add_at_once(engine, f"Same Person {n}", region="DE", **values)
            assert outcomes == ["added", "refused", "refused", "refused"], (n, outcomes)
        with storage.session_scope(url) as s:
            assert len(s.exec(select(Contact)).all()) == 5
    finally:
        pg_server.drop(url)


def test_a_shared_address_with_other_names_is_still_added_on_postgresql(pg_server) -> None:
    """The lock serialises the check; it is no unique constraint: info@ shared by four different
    people is four possible duplicates, all stored."""
    url = pg_server.create()
    try:
        engine, _ = storage.open_engine(url)
        barrier = threading.Barrier(4)
        names = ["Anna Weber", "Bernd Kurz", "Cora Lind", "Dirk Ott"]

        def add(name: str) -> None:
            with storage.make_session(engine, write=True) as s:
                barrier.wait()
                contacts.add_contact(s, name=name, emails=["info@acme.de"])
                s.commit()

        threads = [threading.Thread(target=add, args=(name,)) for name in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        with storage.session_scope(url) as s:
            assert sorted(c.name for c in s.exec(select(Contact))) == names
    finally:
        pg_server.drop(url)


def test_advisory_locks_are_nothing_on_sqlite(tmp_path: Path) -> None:
    with storage.session_scope(str(tmp_path / "crm.db"), write=True) as s:
        storage.advisory_locks(s, [("email", "a@x.de")])
    assert storage.advisory_key("email", "a@x.de") == storage.advisory_key("email", "a@x.de")
    assert -(2**63) <= storage.advisory_key("phone", "+4930") < 2**63


def test_database_error_is_one_line_for_an_unreadable_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"x" * 4096)
    with pytest.raises(DatabaseError) as info:
        storage.open_engine(str(bad), create=False)
    assert "\n" not in str(info.value)


def test_an_import_batch_takes_its_locks_in_one_statement(session) -> None:
    """Thousands of emails of one batch: locked in one round trip on PostgreSQL, nothing on SQLite."""
    from crmcli import storage

    keys = [("email", f"p{i}@x.de") for i in range(3000)]
    storage.advisory_locks(session, keys)
    if session.connection().dialect.name == "postgresql":
        held = (
            session.connection()
            .exec_driver_sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
            .scalar()
        )
        assert held == 3000
