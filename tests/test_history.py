"""The change log (issue 16 items 1–2): every write is traced by the database, `crm history`
shows it, `crm undo` takes it back; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

from crmcli import changelog, storage
from crmcli.domain import contacts, history
from crmcli.errors import Conflict, NotFound
from crmcli.models import Contact
from crmcli.values import clock

SETUP = [
    ["contacts", "add", "Ann Smith", "-e", "ann@example.org", "-p", "+49 30 1234567", "--company", "Acme GmbH"],
    ["contacts", "add", "Bob Jones", "-e", "bob@example.org"],
    ["contacts", "add", "Bobby Jones", "-e", "bobby@example.org"],
    ["deals", "add", "Acme rollout", "-c", "ann@example.org", "--amount", "1200"],
    ["log", "ann@example.org", "called about the rollout"],
    ["followups", "add", "ann@example.org", "--due", "tomorrow"],
]

# Every kind of command that writes: each must leave a change set naming its command line, and
# `crm undo` must bring every logged table back to exactly what it held before.
WRITES = [
    ["contacts", "add", "Cleo Park", "-e", "cleo@example.org", "--tag", "vip"],
    ["contacts", "edit", "ann@example.org", "--title", "CEO", "--add-email", "ann@acme.example"],
    ["contacts", "rm", "bob@example.org", "--yes"],
    ["contacts", "cadence", "ann@example.org", "30d"],
    ["contacts", "merge", "bob@example.org", "bobby@example.org", "--yes"],
    ["companies", "add", "Globex", "--domain", "globex.example"],
    ["companies", "edit", "Acme GmbH", "--industry", "Software"],
    ["companies", "rm", "Acme GmbH", "--yes"],
    ["deals", "add", "Second deal", "-c", "bob@example.org", "--amount", "300"],
    ["deals", "move", "Acme rollout", "Qualified"],
    ["deals", "won", "Acme rollout"],
    ["deals", "edit", "Acme rollout", "--amount", "1500"],
    ["deals", "rm", "Acme rollout", "--yes"],
    ["log", "bob@example.org", "met at the fair", "--type", "meeting"],
    ["followups", "add", "bob@example.org", "--due", "in 3 days"],
    ["followups", "done", "1"],
    ["followups", "rm", "1", "--yes"],
    ["pipeline", "add", "Renewals"],
    ["pipeline", "stage", "add", "Demo", "--probability", "20"],
    ["fields", "add", "contacts", "tier", "--type", "text"],
    ["config", "set", "currency", "USD"],
    ["targets", "set", "won_count", "5", "--period", "month"],
]


def snapshot(url: str) -> dict[str, list]:
    engine, _ = storage.open_engine(url)
    out = {}
    with engine.connect() as conn:
        for table in changelog.LOGGED:
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).mappings().all()
            out[table] = sorted(json.dumps(dict(r), default=str, sort_keys=True) for r in rows)
    return out


def newest_set(url: str) -> dict:
    engine, _ = storage.open_engine(url)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM change_set ORDER BY id DESC LIMIT 1")).mappings().first()
        return dict(row) if row else {}


@pytest.mark.parametrize("args", WRITES, ids=lambda a: " ".join(a[:2]))
def test_every_write_is_traced_and_undone(cli, db_url, args) -> None:
    for setup in SETUP:
        assert cli(*setup).exit_code == 0, setup
    before = snapshot(db_url)
    ran = cli(*args)
    assert ran.exit_code == 0, ran.output
    written = newest_set(db_url)
    assert written["via"].startswith("crm " + " ".join(args[:2])), written
    assert written["kind"] == "command" and written["who"]
    assert snapshot(db_url) != before
    shown = cli("history", "--change", str(written["id"]), "--format", "json")
    assert shown.exit_code == 0 and json.loads(shown.stdout), shown.output
    undone = cli("undo", "--yes")
    assert undone.exit_code == 0, undone.output
    assert f"Undid change {written['id']}" in undone.output
    assert snapshot(db_url) == before
    # the undo is a change too, and undoing it writes the command's effect again
    redo = newest_set(db_url)
    assert redo["kind"] == "undo" and redo["undoes"] == written["id"]
    again = cli("undo", str(redo["id"]), "--yes")
    assert again.exit_code == 0, again.output
    assert snapshot(db_url) != before


def test_history_of_a_record_newest_first_with_fields(cli) -> None:
    for setup in SETUP:
        cli(*setup)
    cli("contacts", "edit", "ann@example.org", "--title", "CEO")
    cli("contacts", "edit", "ann@example.org", "--title", "CFO")
    ran = cli("history", "ann@example.org", "--format", "json")
    assert ran.exit_code == 0, ran.output
    rows = json.loads(ran.stdout)
    titles = [r["fields"]["title"] for r in rows if r["op"] == "update" and "title" in r["fields"]]
    assert titles == [["CEO", "CFO"], [None, "CEO"]]
    assert rows[-1]["op"] == "insert" and rows[-1]["table"] == "contact"
    assert {r["table"] for r in rows} >= {"contact", "contact_email", "contact_phone"}
    assert all(r["kind"] == "contact" for r in rows)
    plain = cli("history", "ann@example.org")
    assert "title: CEO → CFO" in plain.stdout


def test_history_filters_by_kind_who_and_time(cli, db_url, monkeypatch) -> None:
    monkeypatch.setenv("CRM_USER", "ana")
    cli(*SETUP[0])
    cli(*SETUP[3])
    monkeypatch.setenv("CRM_USER", "ben")
    cli("deals", "move", "Acme rollout", "Qualified")
    deals_only = json.loads(cli("history", "--kind", "deal", "--format", "json").stdout)
    assert deals_only and {r["kind"] for r in deals_only} == {"deal"}
    # who: CRM_USER (or the login) on SQLite; on PostgreSQL the database role, whatever CRM_USER says
    ben = "ben" if db_url.startswith("sqlite") else newest_set(db_url)["who"]
    by_ben = json.loads(cli("history", "--by", ben, "--format", "json").stdout)
    assert by_ben and {r["who"] for r in by_ben} == {ben}
    if db_url.startswith("sqlite"):
        assert {r["via"] for r in by_ben} == {"crm deals move 'Acme rollout' Qualified"}
    assert json.loads(cli("history", "--since", "7d", "--format", "json").stdout)
    assert cli("history", "--since", "tomorrow", "--format", "json").stdout.strip() in ("", "[]")


def test_undo_stops_at_a_later_change_of_the_same_fields_unless_forced(cli, db_url) -> None:
    cli(*SETUP[0])
    cli("contacts", "edit", "ann@example.org", "--title", "CEO")
    first = newest_set(db_url)["id"]
    cli("contacts", "edit", "ann@example.org", "--title", "CFO")
    refused = cli("undo", str(first), "--yes")
    assert refused.exit_code == 1
    assert "changed again since" in refused.stderr and "title" in refused.stderr and "--force" in refused.stderr
    dry = cli("undo", str(first), "--dry-run", "--force")
    assert dry.exit_code == 0 and "Would undo" in dry.output
    forced = cli("undo", str(first), "--force", "--yes")
    assert forced.exit_code == 0, forced.output
    assert "over a later change" in forced.output
    shown = json.loads(cli("contacts", "show", "ann@example.org", "--format", "json").stdout)
    assert shown["title"] in (None, "")
    twice = cli("undo", str(first), "--force", "--yes")
    assert twice.exit_code == 1 and "undone already" in twice.stderr


def test_undo_of_a_removal_brings_back_ids_emails_and_search(cli) -> None:
    cli(*SETUP[0])
    cli(*SETUP[4])
    cli("contacts", "rm", "ann@example.org", "--yes")
    assert cli("contacts", "show", "1").exit_code == 1
    assert cli("undo", "--yes").exit_code == 0
    back = json.loads(cli("contacts", "show", "1", "--format", "json").stdout)
    assert back["name"] == "Ann Smith" and "ann@example.org" in json.dumps(back)
    found = cli("search", "Smith", "--format", "json")
    assert "Ann Smith" in found.stdout
    activities = cli("contacts", "show", "1", "--format", "json").stdout
    assert "called about the rollout" in activities


def test_the_log_is_append_only_and_prune_is_the_way_to_shorten_it(session, db_url) -> None:
    contacts.add_contact(session, name="Dora Lee", emails=["dora@example.org"])
    session.commit()
    with pytest.raises(Exception, match="append-only"):
        session.connection().execute(text("UPDATE change SET kind = 'x'"))
    session.rollback()
    with pytest.raises(Exception, match="append-only"):
        session.connection().execute(text("DELETE FROM change"))
    session.rollback()
    assert history.changes(session)
    removed = history.prune(session, clock.now() + timedelta(days=1))
    session.commit()
    assert removed["rows"] >= 2 and removed["changes"] >= 1
    assert history.changes(session) == []


def test_writes_around_crm_are_logged_without_a_change_set(session) -> None:
    contacts.add_contact(session, name="Eve Adams", emails=["eve@example.org"])
    session.commit()
    engine = session.get_bind()
    with engine.begin() as conn:  # a SQL shell, not crm
        conn.execute(text("UPDATE contact SET title = 'Boss' WHERE name = 'Eve Adams'"))
    rows = history.changes(session, kind="contact")
    assert rows[0]["change"] is None and rows[0]["fields"]["title"] == [None, "Boss"]


def test_undo_without_changes_and_unknown_change(session) -> None:
    with pytest.raises(NotFound):
        history.undo(session)
    with pytest.raises(NotFound):
        history.undo(session, 999)


def test_domain_undo_is_one_change_set_of_kind_undo(session) -> None:
    with changelog.acting(via="script", kind="api"):
        c = contacts.add_contact(session, name="Finn Olsen", emails=["finn@example.org"])
        session.commit()
    cid = c.id
    result = history.undo(session)
    session.commit()
    assert result["rows"] == 2 and result["undo"] is not None
    assert session.exec(select(Contact).where(Contact.id == cid)).first() is None
    again = history.changes(session, change=result["undo"])
    assert {r["op"] for r in again} == {"delete"}
    with pytest.raises(Conflict):
        history.undo(session, result["change"])


def test_an_undo_of_more_than_100_rows_takes_a_backup_first(session) -> None:
    from pathlib import Path

    for i in range(60):
        contacts.add_contact(session, name=f"Person {i}", emails=[f"p{i}@example.org"])
    session.commit()
    result = history.undo(session)
    session.commit()
    assert result["rows"] == 120
    backup = Path(result["backup"])
    assert backup.exists() and backup.stat().st_mode & 0o777 == 0o600
    small = contacts.add_contact(session, name="One More", emails=["one@example.org"])
    assert small.id is not None
    session.commit()
    assert "backup" not in history.undo(session)


def test_undoing_an_add_stops_at_records_added_to_it_since(cli, db_url) -> None:
    cli("contacts", "add", "Gia Gold", "-e", "gia@example.org")
    added = newest_set(db_url)["id"]
    cli("log", "gia@example.org", "first call")
    refused = cli("undo", str(added), "--yes")
    assert refused.exit_code == 1 and "added activity" in refused.stderr, refused.output
    assert cli("contacts", "show", "gia@example.org").exit_code == 0


def test_a_commit_that_begins_its_transaction_closes_its_change_set(session, db_url) -> None:
    """A session with pending changes and no transaction yet (an import's last status update)
    begins one inside commit: its change set is closed too, and nothing points at it afterwards."""
    c = contacts.add_contact(session, name="Hal Hart", emails=["hal@example.org"])
    session.commit()
    c.title = "CEO"  # pending, no transaction open
    session.commit()
    engine = session.get_bind()
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            assert conn.execute(text("SELECT count(*) FROM change_current")).scalar() == 0
        empty = conn.execute(
            text("SELECT count(*) FROM change_set s WHERE NOT EXISTS (SELECT 1 FROM change c WHERE c.set_id = s.id)")
        ).scalar()
    assert empty == 0
    assert history.changes(session, kind="contact")[0]["fields"]["title"] == [None, "CEO"]
