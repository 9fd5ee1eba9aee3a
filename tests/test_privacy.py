"""GDPR (issue 16 item 3): everything about a person exported, a person forgotten without a
trace in any table, their emails and phones suppressed for add and import; on both backends."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import inspect, text

from crmcli import storage

NAME, EMAIL, PHONE = "Ann Smith", "ann@example.org", "+49 30 1234567"
TRACES = ("ann smith", "ann@example.org", "301234567", "ann.smith@old.example")


def build(cli, tmp_path: Path) -> None:
    steps = [
        ["contacts", "add", NAME, "-e", EMAIL, "-p", PHONE, "--company", "Acme GmbH", "--tag", "vip"],
        ["contacts", "add", "Ann Smith", "-e", "ann.smith@old.example", "--allow-duplicate"],
        ["contacts", "merge", EMAIL, "ann.smith@old.example", "--yes"],
        ["contacts", "add", "Bob Jones", "-e", "bob@example.org", "--notes", f"met {NAME} ({EMAIL}) at the fair"],
        ["contacts", "edit", EMAIL, "--title", "CEO"],
        ["log", EMAIL, f"call with {NAME} about the rollout"],
        ["log", "bob@example.org", f"Bob asked about {NAME}"],
        ["deals", "add", f"{NAME} rollout", "-c", EMAIL, "--amount", "1200"],
        ["deals", "move", f"{NAME} rollout", "Qualified"],
        ["followups", "add", EMAIL, "--due", "tomorrow", "--note", f"send {NAME} the offer"],
    ]
    for step in steps:
        ran = cli(*step)
        assert ran.exit_code == 0, (step, ran.output)
    sheet = tmp_path / "people.csv"
    sheet.write_text(f"Name,Email,Phone,Notes\n{NAME},{EMAIL},{PHONE},imported again\nCarl Diaz,carl@example.org,,\n")
    ran = cli("import", str(sheet))
    assert ran.exit_code == 0, ran.output


def every_text(url: str) -> list[tuple[str, str, str]]:
    """(table, column, value) of every text-like value in every table, JSON included."""
    engine, _ = storage.open_engine(url)
    out = []
    with engine.connect() as conn:
        names = inspect(conn).get_table_names()
        if conn.dialect.name == "sqlite":
            names += [
                n
                for n in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'").scalars()
                if n not in names
            ]
        for table in names:
            for row in conn.execute(text(f'SELECT * FROM "{table}"')).mappings():
                for column, value in row.items():
                    if isinstance(value, (str, dict, list)):
                        out.append((table, column, json.dumps(value) if not isinstance(value, str) else value))
    return out


def test_export_person_holds_everything_about_them(cli, tmp_path) -> None:
    build(cli, tmp_path)
    target = tmp_path / "ann.json"
    ran = cli("contacts", "export-person", EMAIL, str(target))
    assert ran.exit_code == 0, ran.output
    data = json.loads(target.read_text())
    assert target.stat().st_mode & 0o777 == 0o600
    assert data["contact"]["name"] == NAME and data["contact"]["title"] == "CEO"
    assert {e["email"] for e in data["emails"]} == {EMAIL, "ann.smith@old.example"}
    assert [p["phone"] for p in data["phones"]] == ["+49301234567"]
    assert data["tags"] == ["vip"] and data["company"]["name"] == "Acme GmbH"
    assert [a["text"] for a in data["activities"]] == [f"call with {NAME} about the rollout"]
    assert [d["title"] for d in data["deals"]] == [f"{NAME} rollout"] and len(data["stage_moves"]) == 2
    assert [f["note"] for f in data["followups"]] == [f"send {NAME} the offer"]
    assert len(data["merges"]) == 1 and data["merges"][0]["merged_name"] == NAME
    assert [r["file"].endswith("people.csv") for r in data["imports"]] == [True]
    assert data["history"] and {h["table"] for h in data["history"]} >= {"contact", "contact_email"}
    again = cli("contacts", "export-person", EMAIL, str(target))
    assert again.exit_code == 1 and "exists" in again.stderr


def test_forget_leaves_no_trace_in_any_table(cli, db_url, tmp_path) -> None:
    build(cli, tmp_path)
    before = every_text(db_url)
    assert any(t in v.lower() for _t, _c, v in before for t in TRACES)
    refused = cli("contacts", "forget", EMAIL)
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    ran = cli("contacts", "forget", EMAIL, "--yes")
    assert ran.exit_code == 0, ran.output
    left = [(t, c, v[:120]) for t, c, v in every_text(db_url) if any(trace in v.lower() for trace in TRACES)]
    assert left == []
    assert "Ann" not in cli("search", "Smith").stdout
    engine, _ = storage.open_engine(db_url)
    with engine.connect() as conn:
        erasures = conn.execute(text("SELECT * FROM erasure")).mappings().all()
        suppressed = conn.execute(text("SELECT kind FROM suppression ORDER BY kind")).scalars().all()
        deals = conn.execute(text("SELECT title, contact_id FROM deal")).all()
    assert len(erasures) == 1 and erasures[0]["by"]
    counts = erasures[0]["counts"] if isinstance(erasures[0]["counts"], dict) else json.loads(erasures[0]["counts"])
    assert counts["emails"] == 2 and counts["phones"] == 1 and counts["activities"] == 1
    assert suppressed == ["email", "email", "phone"]
    assert deals == [("[erased] rollout", None)]  # the deal stays, without the person
    assert cli("contacts", "show", "Bob Jones", "--format", "json").exit_code == 0


def test_suppressed_addresses_are_refused_by_add_and_skipped_by_import(cli, tmp_path) -> None:
    cli("contacts", "add", NAME, "-e", EMAIL, "-p", PHONE)
    assert cli("contacts", "forget", EMAIL, "--yes").exit_code == 0
    refused = cli("contacts", "add", "A. Smith", "-e", "ANN@example.org")
    assert refused.exit_code == 1
    assert "erased on request" in refused.stderr and "--allow-suppressed" in refused.stderr
    by_phone = cli("contacts", "add", "Someone", "-p", "030 1234567", "--region", "DE")
    assert by_phone.exit_code == 1 and "erased on request" in by_phone.stderr
    cli("contacts", "add", "Carl Diaz", "-e", "carl@example.org")
    edit = cli("contacts", "edit", "carl@example.org", "--add-email", EMAIL)
    assert edit.exit_code == 1 and "erased on request" in edit.stderr
    sheet = tmp_path / "again.csv"
    sheet.write_text(f"Name,Email\n{NAME},{EMAIL}\nDora Lee,dora@example.org\n")
    report = tmp_path / "again.report.csv"
    ran = cli("import", str(sheet), "--report", str(report), "--format", "json")
    assert ran.exit_code == 0, ran.output
    counts = json.loads(ran.stdout)["counts"]
    assert counts["created"] == 1 and counts["skipped"] == 1
    assert "erased on request" in report.read_text()
    assert cli("contacts", "show", EMAIL).exit_code == 1
    allowed = cli("import", str(sheet), "--allow-suppressed", "--report", str(report), "--force")
    assert allowed.exit_code == 0, allowed.output
    assert cli("contacts", "show", EMAIL).exit_code == 0
    assert cli("contacts", "add", "Eve", "-e", "eve@example.org").exit_code == 0


def test_an_import_is_change_sets_of_kind_import_naming_the_run(cli, db_url, tmp_path) -> None:
    sheet = tmp_path / "few.csv"
    sheet.write_text("Name,Email\nGus Grey,gus@example.org\n")
    assert cli("import", str(sheet)).exit_code == 0
    engine, _ = storage.open_engine(db_url)
    with engine.connect() as conn:
        sets = conn.execute(text("SELECT kind, import_id FROM change_set ORDER BY id")).all()
    assert ("import", 1) in sets
    rows = json.loads(cli("history", "gus@example.org", "--format", "json").stdout)
    assert rows and all(r["via"].startswith("crm import") for r in rows)


def test_doctor_lists_contacts_untouched_for_longer_than_the_retention(cli, monkeypatch) -> None:
    cli("contacts", "add", "Old Timer", "-e", "old@example.org")
    cli("contacts", "add", "Still Here", "-e", "here@example.org")
    monkeypatch.setenv("CRM_NOW", "2031-01-15T09:00:00Z")
    cli("log", "here@example.org", "still a customer")
    found = json.loads(cli("doctor", "--check", "untouched", "--format", "json").stdout)
    assert [item["record"] for item in found] == ["#1 Old Timer"]
    assert "forget 1" in found[0]["fix"]
    assert cli("config", "set", "retention", "off").exit_code == 0
    assert json.loads(cli("doctor", "--check", "untouched", "--format", "json").stdout) == []
    assert cli("config", "set", "retention", "soon").exit_code != 0
