"""crm doctor: findings with their fixes, the integrity check and the exit codes, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import text, update
from test_cli import ok

from crmcli import storage
from crmcli.domain import companies, contacts, deals, doctor, fields, followups
from crmcli.models import Company, Contact, ContactEmail, ContactPhone
from crmcli.values import clock


def _counts(session) -> dict[str, int]:
    return {f["id"]: f["count"] for f in doctor.report(session)["findings"]}


def test_a_clean_database_has_nothing_to_report(session) -> None:
    contacts.add_contact(session, name="Anna Müller", emails=["anna@acme.de"], company="Acme GmbH", owner="ana")
    deals.add_deal(session, title="Renewal", amount="100", close_date="2026-12-31")
    result = doctor.report(session)
    assert result["ok"] is True and result["problems"] == 0
    assert result["integrity"]["problems"] == []
    assert result["backend"] in ("sqlite", "postgresql")
    assert all(f["count"] == 0 and f["examples"] == [] and f["fix"] is None for f in result["findings"])
    assert [f["id"] for f in result["findings"]] == doctor.CHECK_IDS[1:]


def test_findings_and_their_fixes(session) -> None:
    nobody = contacts.add_contact(session, name="No Way", owner="ana")
    orphan = contacts.add_contact(session, name="Nobody's", emails=["n@x.de"])
    contacts.add_contact(session, name="Anna Müller", emails=["anna@acme.de"], company="Acme", owner="ana")
    contacts.add_contact(session, name="Anna Mueller", emails=["anna@acme.de"], owner="ana", allow_duplicate=True)
    companies.add_company(session, name="Globex GmbH")
    companies.add_company(session, name="GLOBEX Inc.")
    bare = deals.add_deal(session, title="Bare")
    half = deals.add_deal(session, title="Half", amount="10")
    won = deals.add_deal(session, title="Won free")
    deals.win(session, won)
    followups.add_followup(session, due_at=clock.now() - timedelta(days=3), contact=nobody, note="Call back")
    followups.add_followup(session, due_at=clock.now() + timedelta(days=3), contact=nobody, note="Later")
    counts = _counts(session)
    assert counts == {
        "unreachable": 1,
        "no_owner": 1,
        "invalid_values": 0,
        "duplicate_contacts": 1,
        "duplicate_companies": 1,
        "open_deals_incomplete": 2,
        "won_deals_without_amount": 1,
        "untouched": 0,
        "overdue_followups": 1,
    }
    assert doctor.items(session, "unreachable") == [
        {
            "id": nobody.id,
            "record": f"#{nobody.id} No Way",
            "problem": "no email and no phone",
            "fix": f"crm contacts edit {nobody.id} --add-email EMAIL --add-phone PHONE",
        }
    ]
    assert doctor.items(session, "no_owner")[0]["fix"] == f"crm contacts edit {orphan.id} --owner NAME"
    incomplete = {i["id"]: (i["problem"], i["fix"]) for i in doctor.items(session, "open_deals_incomplete")}
    assert incomplete == {
        bare.id: ("no amount and no close date", f"crm deals edit {bare.id} --amount AMOUNT --close YYYY-MM-DD"),
        half.id: ("no close date", f"crm deals edit {half.id} --close YYYY-MM-DD"),
    }
    assert doctor.items(session, "won_deals_without_amount")[0]["fix"] == f"crm deals edit {won.id} --amount AMOUNT"
    (overdue,) = doctor.items(session, "overdue_followups")
    assert overdue["problem"] == "3 days overdue" and overdue["fix"].startswith(f"crm followups done {overdue['id']}")
    (dupes,) = doctor.items(session, "duplicate_contacts")
    assert dupes["fix"].startswith("crm contacts merge ") and "same email anna@acme.de" in dupes["problem"]
    report = doctor.report(session, examples=1)
    owner = next(f for f in report["findings"] if f["id"] == "no_owner")
    assert owner["examples"] == [f"#{orphan.id} Nobody's: no owner"] and owner["fix"].startswith("crm contacts edit")


def test_invalid_stored_values(session) -> None:
    anna = contacts.add_contact(session, name="Anna", emails=["anna@acme.de"], phones=["+4915112345678"], owner="a")
    acme = companies.add_company(session, name="Acme", domain="acme.de", phone="+4930123456", custom={"size": "big"})
    fields.add_field(session, entity="companies", name="size", type="number")  # declared after the value was stored
    session.execute(update(ContactEmail).where(ContactEmail.contact_id == anna.id).values(email="Anna@@acme"))
    session.execute(update(ContactPhone).where(ContactPhone.contact_id == anna.id).values(phone="+1234"))
    session.execute(update(Company).where(Company.id == acme.id).values(domain="not a domain", phone="030 123"))
    session.execute(update(Contact).where(Contact.id == anna.id).values(name_key="someone else"))
    session.flush()
    found = doctor.items(session, "invalid_values")
    problems = {(i["id"], i["problem"].split(":")[0].split(" ")[0]) for i in found}
    assert len(found) == 6, found
    fixes = [i["fix"] for i in found]
    assert f"crm contacts edit {anna.id} --rm-email Anna@@acme --add-email EMAIL" in fixes
    assert f"crm contacts edit {anna.id} --rm-phone +1234 --add-phone PHONE" in fixes
    assert f"crm companies edit {acme.id} --domain DOMAIN" in fixes
    assert f"crm companies edit {acme.id} --phone PHONE" in fixes
    assert f"crm contacts edit {anna.id} --name Anna" in fixes
    assert f"crm companies edit {acme.id} -F size=VALUE" in fixes
    assert (acme.id, "field") in problems


def test_integrity_failure_on_sqlite(tmp_path, cli, db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        return
    ok(cli("contacts", "add", "Anna", "-e", "anna@acme.de"))
    import sqlite3

    storage.dispose_all()
    raw = sqlite3.connect(storage.sqlite_path(db_url))  # foreign keys are off on a bare connection
    raw.execute("INSERT INTO contact_email (contact_id, email, is_primary) VALUES (999, 'x@y.de', 0)")
    raw.commit()
    raw.close()
    result = cli("doctor")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].startswith("integrity\tDatabase integrity (sqlite: PRAGMA integrity_check")
    assert "contact_email row" in result.stdout and "refers to a missing contact" in result.stdout
    assert result.stderr == "Integrity check failed: 1 problem(s).\n"
    data = json.loads(cli("doctor", "-f", "json").stdout)
    assert data["ok"] is False and data["integrity"]["problems"][0].startswith("contact_email row ")
    checked = cli("doctor", "--check", "integrity")
    assert checked.exit_code == 1 and "restore a backup" in checked.stdout


def test_integrity_failure_on_postgresql(cli, db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        return
    ok(cli("contacts", "add", "Anna", "-e", "anna@acme.de"))
    engine, _ = storage.open_engine(db_url)
    with engine.begin() as conn:
        name = conn.execute(
            text("SELECT conname FROM pg_constraint WHERE conrelid = 'contact_email'::regclass AND contype = 'f'")
        ).scalar_one()
        conn.exec_driver_sql(f'ALTER TABLE contact_email DROP CONSTRAINT "{name}"')
        conn.exec_driver_sql("INSERT INTO contact_email (contact_id, email, is_primary) VALUES (999, 'x@y.de', false)")
        conn.exec_driver_sql(
            "ALTER TABLE contact_email ADD CONSTRAINT fk_again "
            "FOREIGN KEY (contact_id) REFERENCES contact(id) NOT VALID"
        )
    storage.dispose_all()
    result = cli("doctor", "-f", "json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["integrity"]["problems"]
    assert "contact_email.contact_id: 1 rows refer to a missing contact (999)" in problems
    assert "constraint fk_again on contact_email is not validated" in problems


def test_cli_doctor_formats_and_exit_codes(cli) -> None:
    clean = cli("doctor")
    assert clean.exit_code == 0
    assert [line.split("\t")[0] for line in clean.stdout.splitlines()] == doctor.CHECK_IDS
    assert ok(cli("doctor", "-q")).stdout == ""
    assert ok(cli("doctor", "--strict")).exit_code == 0
    person = ok(cli("contacts", "add", "Nobody", "--owner", "")).stdout.strip()
    found = cli("doctor")
    assert found.exit_code == 0  # findings alone do not fail the command
    lines = {line.split("\t")[0]: line.split("\t") for line in found.stdout.splitlines()}
    assert lines["no_owner"][2] == "1" and lines["no_owner"][3] == f"#{person} Nobody: no owner"
    assert lines["no_owner"][4] == "crm contacts edit ID --owner NAME"
    assert cli("doctor", "--strict").exit_code == 1
    assert ok(cli("doctor", "-q")).stdout == "unreachable\nno_owner\n"
    assert ok(cli("doctor", "--check", "no_owner", "-q")).stdout == f"{person}\n"
    assert cli("doctor", "--check", "no_owner", "--strict").exit_code == 1
    plain = ok(cli("doctor", "--check", "unreachable")).stdout
    fix = f"crm contacts edit {person} --add-email EMAIL --add-phone PHONE"
    assert plain == f"{person}\t#{person} Nobody\tno email and no phone\t{fix}\n"
    data = json.loads(ok(cli("doctor", "-f", "json")).stdout)
    assert data["ok"] is True and data["problems"] == 2
    assert next(f for f in data["findings"] if f["id"] == "no_owner")["examples"] == [f"#{person} Nobody: no owner"]
    table = ok(cli("doctor", "-f", "table", env={"COLUMNS": "200"}))
    assert "Contacts without owner" in table.stdout and table.stderr.startswith("Integrity: ok. 2 kind(s)")
    result = cli("doctor", "--check", "nope")
    assert result.exit_code == 2 and "unknown check 'nope'" in result.stderr


def test_the_suggested_fix_for_an_invalid_email_works(cli, db_url: str) -> None:
    person = ok(cli("contacts", "add", "Anna", "-e", "anna@acme.de", "--owner", "ana")).stdout.strip()
    engine, _ = storage.open_engine(db_url)
    with engine.begin() as conn:
        conn.execute(update(ContactEmail).values(email="anna@@acme"))
    storage.dispose_all()
    (fix,) = [line.split("\t")[3] for line in ok(cli("doctor", "--check", "invalid_values")).stdout.splitlines()]
    assert fix == f"crm contacts edit {person} --rm-email anna@@acme --add-email EMAIL"
    ok(cli("contacts", "edit", person, "--rm-email", "anna@@acme", "--add-email", "anna@acme.de"))
    assert ok(cli("doctor", "--check", "invalid_values")).stdout == ""
    assert ok(cli("doctor", "--strict")).exit_code == 0
