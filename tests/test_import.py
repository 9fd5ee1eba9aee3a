"""Bulk import: formats and encodings, self-mapping headers, clean data, every row accounted for,
duplicates, interruption, undo; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from crmcli import importer, storage
from crmcli.domain import companies, contacts, deals, lookup
from crmcli.errors import Invalid
from crmcli.importer.runs import list_imports, undo_import
from crmcli.models import Activity, Contact, Deal, FieldDef

HUBSPOT = (
    "\ufeffRecord ID,First Name,Last Name,Email,Phone Number,Lead Status,Create Date,Associated Company\n"
    "101,Anna,Müller,Anna@Acme.de,491761234567,New,3/4/2026 14:05,Acme GmbH\n"
    "102,伟明,张,zhang@yuntu.cn,+86 138 0013 8000,Open,3/5/2026 9:00,深圳云图科技有限公司\n"
    "103,Bad,Email,not-an-email,,New,3/6/2026 9:00,Acme GmbH\n"
    ",Anna,Müller,anna@acme.de; anna.m@gmail.com,,Customer,3/7/2026 9:00,ACME Inc.\n"
    ",,,,,,,\n"
    "105,,,nobody@x.de,,,,\n"
    "106,Lost,Digits,lost@x.de,4.9176E+11,,,\n"
)


def six(counts: dict) -> dict:
    """The figures that add up: read = created + updated + merged + skipped + rejected."""
    return {k: counts[k] for k in ("read", "created", "updated", "merged", "skipped", "rejected")}


def report_of(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def run_import(db_url: str, path: Path, **kw):
    engine, _ = storage.open_engine(db_url)
    with storage.make_session(engine, write=True) as s:
        kw.setdefault("region", "DE")
        return importer.import_file(s, path, **kw)


def people(db_url: str) -> dict[str, dict]:
    with storage.session_scope(db_url) as s:
        return {r["name"]: r for r in contacts.list_contacts(s)}


def test_hubspot_export_every_row_accounted_for(db_url: str, tmp_path: Path) -> None:
    """A row is kept whenever something identifies a person; what is left out of it is reported."""
    path = tmp_path / "hubspot.csv"
    path.write_text(HUBSPOT, encoding="utf-8")
    result = run_import(db_url, path)
    counts = result["counts"]
    assert six(counts) == {"read": 6, "created": 5, "updated": 0, "merged": 1, "skipped": 0, "rejected": 0}
    assert counts["read"] == sum(counts[k] for k in ("created", "updated", "merged", "skipped", "rejected"))
    assert counts["dropped"] == 2 and counts["possible"] == 0
    assert result["kind"] == "contacts"
    found = people(db_url)
    anna = found["Anna Müller"]
    assert anna["emails"] == ["anna@acme.de", "anna.m@gmail.com"]  # the row without an id merged into 101's
    assert anna["phones"] == ["+491761234567"]  # the lost '+' recovered
    assert anna["company"] == "Acme GmbH" and anna["external_id"] == "101"
    assert anna["custom"] == {"lead_status": "New"}  # merge fills empty fields only
    assert anna["created_at"] == datetime(2026, 3, 4, 14, 5, tzinfo=UTC)
    assert found["张伟明"]["company"] == "深圳云图科技有限公司"
    assert found["Bad Email"]["emails"] == [] and found["Bad Email"]["external_id"] == "103"  # kept, email left out
    assert found["nobody@x.de"]["emails"] == ["nobody@x.de"]  # no name: named after its email
    assert found["Lost Digits"]["phones"] == [] and found["Lost Digits"]["emails"] == ["lost@x.de"]
    report = tmp_path / "hubspot.import-report.csv"
    assert result["report_file"] == str(report) and report.stat().st_mode & 0o777 == 0o600
    lines = [(r["row"], r["event"], r["record"], r["column"], r["value"]) for r in report_of(report)]
    assert lines == [
        ("4", "value dropped", "", "Email", "not-an-email"),
        ("5", "merged into", f"#{anna['id']} Anna Müller", "", ""),
        ("5", "value not taken", f"#{anna['id']} Anna Müller", "Lead Status", "Customer"),
        ("7", "value filled", "", "First Name + Last Name", "nobody@x.de"),
        ("8", "value dropped", "", "Phone Number", "4.9176E+11"),
    ]
    reasons = [r["reason"] for r in report_of(report)]
    assert reasons[0].startswith("invalid email 'not-an-email'") and "scientific notation" in reasons[4]
    assert reasons[2] == "the record keeps 'New'"
    with storage.session_scope(db_url) as s:
        assert s.exec(select(FieldDef.name).where(FieldDef.entity == "contacts")).all() == ["lead_status"]

    again = run_import(db_url, path)  # the same file twice creates nothing new
    assert again["counts"]["created"] == 0 and again["counts"]["rejected"] == 0
    # identical rows are skipped; the row whose lead status differs from the record's is merged, its value reported
    assert again["counts"]["skipped"] == 5 and again["counts"]["merged"] == 1
    assert len(people(db_url)) == 5
    skipped = [r for r in report_of(report) if r["event"] == "skipped"]
    assert skipped[0] == {"row": "2", "event": "skipped", "record": f"#{anna['id']} Anna Müller", "column": "",
                          "value": "", "reason": "identical to what is stored"}  # fmt: skip


def test_different_ids_from_one_source_are_different_people(db_url: str, tmp_path: Path) -> None:
    """Two records of one export with their own ids are two contacts, whatever they share; a shared
    address with another name is a possible duplicate, reported and kept apart."""
    path = tmp_path / "shared.csv"
    path.write_text(
        "Record ID,Name,Email\n1,Anna Weber,info@acme-gmbh.de\n2,Bernd Kurz,info@acme-gmbh.de\n"
        "3,Anna Weber,info@acme-gmbh.de\n,Clara Ost,info@acme-gmbh.de\n",
        encoding="utf-8",
    )
    result = run_import(db_url, path)
    assert six(result["counts"]) == {"read": 4, "created": 4, "updated": 0, "merged": 0, "skipped": 0, "rejected": 0}
    with storage.session_scope(db_url) as s:
        assert sorted(c["name"] for c in contacts.list_contacts(s)) == ["Anna Weber", "Anna Weber", "Bernd Kurz",
                                                                       "Clara Ost"]  # fmt: skip
    lines = report_of(tmp_path / "shared.import-report.csv")
    assert [(r["row"], r["event"]) for r in lines] == [("5", "possible duplicate")] * 3
    assert lines[0]["reason"].startswith("of #1 Anna Weber: same email info@acme-gmbh.de, other name")
    assert result["counts"]["possible"] == 3


def test_later_export_updates_by_record_id(db_url: str, tmp_path: Path) -> None:
    first = tmp_path / "a.csv"
    first.write_text("Record ID,Name,Email\n7,Anna Alt,anna@old.de\n", encoding="utf-8")
    run_import(db_url, first)
    later = tmp_path / "b.csv"
    later.write_text("Record ID,Name,Email,Job Title\n7,Anna Neu,anna@new.de,CTO\n", encoding="utf-8")
    result = run_import(db_url, later, on_duplicate="update")
    assert result["counts"]["updated"] == 1 and result["counts"]["created"] == 0
    (anna,) = people(db_url).values()
    assert anna["name"] == "Anna Neu" and anna["title"] == "CTO" and anna["emails"] == ["anna@old.de", "anna@new.de"]
    skip = run_import(db_url, later, on_duplicate="skip")
    assert skip["counts"]["skipped"] == 1
    create = run_import(db_url, later, on_duplicate="create")
    assert create["counts"]["created"] == 1 and len(people(db_url)) == 1  # same name twice: one key
    with storage.session_scope(db_url) as s:
        assert len(contacts.list_contacts(s)) == 2


def test_encodings_and_delimiters(db_url: str, tmp_path: Path) -> None:
    outlook_de = "Vorname;Nachname;E-Mail-Adresse;Telefon geschäftlich;Firma\nJürgen;Weiß;jw@firma.de;030 12345678;Weiß & Söhne GmbH\n"  # noqa: E501
    (tmp_path / "outlook.csv").write_bytes(outlook_de.encode("cp1252"))
    unicode_text = "姓名\t邮箱\t电话\t公司\n王芳\twang@lvye.cn\t13800138000\t杭州绿叶电商有限公司\n"
    (tmp_path / "excel-unicode.txt").write_bytes(unicode_text.encode("utf-16"))
    excel_sep = "sep=|\nName|Email|Mobile Phone\nZoé Mercier|zoe@lumiere.fr|+33 6 12 34 56 78\n"
    (tmp_path / "pipes.csv").write_text(excel_sep, encoding="utf-8")
    google = (
        "Name,Given Name,Family Name,E-mail 1 - Type,E-mail 1 - Value,Phone 1 - Type,Phone 1 - Value,Organization 1 - Name\n"  # noqa: E501
        'Hugo Lefèvre,Hugo,Lefèvre,* Work,hugo@lumiere.fr ::: hugo@perso.fr,Mobile,"+33 6 98 76 54 32",Atelier Lumière\n'  # noqa: E501
    )
    (tmp_path / "google.csv").write_text(google, encoding="utf-8")
    for name, region in (("outlook.csv", "DE"), ("excel-unicode.txt", "CN"), ("pipes.csv", "DE"), ("google.csv", "DE")):
        result = run_import(db_url, tmp_path / name, region=region)
        assert result["counts"]["created"] == 1, (name, result)
    found = people(db_url)
    assert (
        found["Jürgen Weiß"]["phones"] == ["+493012345678"] and found["Jürgen Weiß"]["company"] == "Weiß & Söhne GmbH"
    )
    assert found["王芳"]["emails"] == ["wang@lvye.cn"] and found["王芳"]["phones"] == ["+8613800138000"]
    assert found["王芳"]["company"] == "杭州绿叶电商有限公司"
    assert found["Zoé Mercier"]["phones"] == ["+33612345678"]
    assert found["Hugo Lefèvre"]["emails"] == ["hugo@lumiere.fr", "hugo@perso.fr"]
    assert "e_mail_1_type" not in found["Hugo Lefèvre"]["custom"]  # label columns are not data


def _xlsx(path: Path, rows: list[list]) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    wb.save(path)


@pytest.mark.parametrize("reader", ["calamine", "openpyxl streaming"])
def test_excel_as_people_write_it(db_url: str, tmp_path: Path, reader: str, monkeypatch) -> None:
    """The same sheet through python-calamine and through openpyxl's streaming reader (what
    sheets too big to hold in memory take)."""
    from crmcli.importer import readers

    if reader != "calamine":
        monkeypatch.setattr(readers, "CALAMINE_LIMIT", 0)
    path = tmp_path / "messy.xlsx"
    _xlsx(
        path,
        [
            ["Leads from the fair", None, None, None, None],
            [],
            ["Name ", "E-Mail", "Mobile", "Created", "Revenue"],
            ["\u00a0Anna  Müller\u00a0", "anna@acme.de\nanna@home.de", 491761234567, datetime(2026, 5, 1, 9, 30), 12.5],
            ["Bo Li", "bo@li.cn", "０１５１ １２３４５６７８", 46000, "1,200"],
            ["Eve", "eve@x.de", "4.9176E+11", None, None],
            [None, None, None, None, None],
            [],
        ],
    )
    result = run_import(db_url, path)
    assert result["format"] == ("xlsx" if reader == "calamine" else "xlsx (streamed)")
    assert six(result["counts"]) == {"read": 3, "created": 3, "updated": 0, "merged": 0, "skipped": 0, "rejected": 0}
    found = people(db_url)
    anna, bo = found["Anna Müller"], found["Bo Li"]
    assert found["Eve"]["phones"] == [] and result["counts"]["dropped"] == 1  # digits lost to Excel: left out
    assert anna["emails"] == ["anna@acme.de", "anna@home.de"] and anna["phones"] == ["+491761234567"]
    assert anna["created_at"] == datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    assert bo["phones"] == ["+4915112345678"]  # full-width digits
    assert bo["created_at"].date().isoformat() == "2025-12-09"  # Excel serial 46000
    assert anna["custom"] == {"revenue": "12.5"} and bo["custom"] == {"revenue": "1,200"}


def test_vcard_file(db_url: str, tmp_path: Path) -> None:
    vcf = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Müller;Anna;;;\r\nFN:Anna Müller\r\nORG:Acme GmbH;Sales\r\nTITLE:CTO\r\n"
        "EMAIL;TYPE=INTERNET,WORK:anna@acme.de\r\nEMAIL;TYPE=HOME:anna@home.de\r\nTEL;TYPE=CELL:+49 151 1234\r\n 5678\r\n"  # noqa: E501
        "CATEGORIES:vip,fair\r\nNOTE:Met at the fair\\, liked the demo\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:张伟明\r\nN:张;伟明;;;\r\nEMAIL;TYPE=work:zhang@yuntu.cn\r\n"
        'TEL;VALUE=uri;TYPE="voice,cell":tel:+86-138-0013-8000\r\nUID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\r\nEND:VCARD\r\n'
    )
    path = tmp_path / "cards.vcf"
    path.write_text(vcf, encoding="utf-8")
    result = run_import(db_url, path)
    assert result["counts"]["created"] == 2
    found = people(db_url)
    anna = found["Anna Müller"]
    assert anna["emails"] == ["anna@acme.de", "anna@home.de"] and anna["phones"] == ["+4915112345678"]
    assert anna["company"] == "Acme GmbH" and anna["title"] == "CTO" and anna["tags"] == ["fair", "vip"]
    assert anna["notes"] == "Met at the fair, liked the demo"
    assert found["张伟明"]["phones"] == ["+8613800138000"]
    assert found["张伟明"]["external_id"] == "4fbe8971-0bc3-424c-9c26-36c3e1eff6b1"  # urn:uuid: is the form, not the id


def _bomb(path: Path) -> None:
    """An .xlsx whose sheet XML is a billion-laughs entity bomb."""
    _xlsx(path, [["Name", "Email"], ["x", "x@y.de"]])
    laughs = (
        '<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
        + "]>"
    )
    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    sheet = laughs + sheet[sheet.index("<worksheet") :].replace("<t>x</t>", "<t>&lol9;</t>", 1)
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)


@pytest.mark.parametrize("hostile", ["bomb.xlsx", "binary.csv", "huge.csv", "zip.xlsx", "empty.csv"])
def test_hostile_files_fail_in_one_line_and_change_nothing(db_url: str, tmp_path: Path, hostile: str) -> None:
    path = tmp_path / hostile
    if hostile == "bomb.xlsx":
        _bomb(path)
    elif hostile == "binary.csv":
        path.write_bytes(bytes(range(256)) * 40)
    elif hostile == "huge.csv":
        path.write_text("Name,Email\nAnna,a@b.de\nBo," + "x" * 40_000 + "\n", encoding="utf-8")
    elif hostile == "zip.xlsx":
        path.write_bytes(b"PK\x03\x04 not really a zip")
    else:
        path.write_text("", encoding="utf-8")
    with pytest.raises(Invalid) as info:
        run_import(db_url, path)
    assert "\n" not in str(info.value)
    assert people(db_url) == {}


@pytest.mark.parametrize("workers", [0, 1])
def test_blank_rows_and_a_huge_cell_where_the_rows_are_cleaned(db_url: str, tmp_path: Path, workers: int) -> None:
    """Blank rows are skipped (not counted) and a huge cell stops the import, in a worker process
    as in this one; a huge cell after committed batches undoes them."""
    path = tmp_path / "people.csv"
    lines = ["Name,Email"] + [f"Person {i},p{i}@x.de" if i % 4 else ",  " for i in range(1, 30)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_import(db_url, path, batch_size=5, workers=workers)
    assert result["counts"]["read"] == 22 and result["counts"]["created"] == 22  # 7 of the 29 lines are blank
    db2 = f"sqlite:///{tmp_path / 'huge.db'}"
    path.write_text("\n".join([*lines, "Huge," + "x" * 40_000, "Last,last@x.de"]) + "\n", encoding="utf-8")
    with pytest.raises(Invalid, match="people.csv row 31: a cell longer than 32,767 characters"):
        run_import(db2, path, batch_size=5, workers=workers)
    assert people(db2) == {}


def test_hostile_files_through_the_cli(cli, tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    _bomb(path)
    result = cli("import", str(path))
    assert result.exit_code == 1 and result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")
    assert cli("contacts", "list").stdout == ""


def test_interrupted_import_completes_on_rerun(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    path.write_text("Name,Email\n" + "".join(f"Person {i},p{i}@x.de\n" for i in range(50)), encoding="utf-8")

    def stop_after_two_batches(done: int, total: int | None) -> None:
        if done >= 20:
            raise KeyboardInterrupt

    with pytest.raises(importer.Interrupted, match="Run the same import again"):
        run_import(db_url, path, batch_size=10, progress=stop_after_two_batches)
    assert len(people(db_url)) == 20  # two batches committed, consistent
    result = run_import(db_url, path, batch_size=10)
    assert result["counts"]["created"] == 30 and result["counts"]["skipped"] == 20
    assert len(people(db_url)) == 50
    with storage.session_scope(db_url) as s:
        assert [r["status"] for r in list_imports(s)] == ["done", "interrupted"]


def test_undo_removes_created_and_restores_changed(db_url: str, tmp_path: Path) -> None:
    with storage.session_scope(db_url, write=True) as s:
        keep = contacts.add_contact(s, name="Old Anna", emails=["anna@acme.de"], tags=["vip"])
        keep_id = keep.id
    path = tmp_path / "in.csv"
    path.write_text(
        "Name,Email,Title,Tags\nOld Anna,anna@acme.de;anna@two.de,CTO,fair\nNew Bo,bo@x.de,,\nNew Cy,cy@x.de,,\n"
    )
    result = run_import(db_url, path)
    assert six(result["counts"]) == {"read": 3, "created": 2, "updated": 0, "merged": 1, "skipped": 0, "rejected": 0}
    with storage.session_scope(db_url, write=True) as s:  # someone edits Cy after the import
        contacts.edit_contact(s, lookup.resolve_contact(s, "cy@x.de"), title="CEO")
    with storage.session_scope(db_url, write=True) as s:
        report = undo_import(s, result["run_id"])
    assert report["removed"] == 1 and report["restored"] == 1
    assert [(k["entity"], k["reason"]) for k in report["kept"]] == [("contact", "edited since the import: not removed")]
    found = people(db_url)
    assert set(found) == {"Old Anna", "New Cy"}
    old = found["Old Anna"]
    assert (
        old["id"] == keep_id and old["emails"] == ["anna@acme.de"] and old["title"] is None and old["tags"] == ["vip"]
    )
    with storage.session_scope(db_url, write=True) as s:
        with pytest.raises(Exception, match="undone already"):
            undo_import(s, result["run_id"])


def test_undo_of_an_import_is_a_use_of_the_history(db_url: str, tmp_path: Path) -> None:
    """imports undo takes back the import's change sets from the change log: a deal the import
    filled in gets its empty amount back; an edit since that was itself undone does not keep a
    record; the undo's batches are change sets of kind undo naming the import, so `crm undo` of
    one redoes what it took back."""
    from crmcli.domain import history
    from crmcli.models import ChangeSet

    first = tmp_path / "first.csv"
    first.write_text("Record ID,Deal Name\nd1,Acme renewal\n", encoding="utf-8")
    run_import(db_url, first)
    path = tmp_path / "deals.csv"
    path.write_text("Record ID,Deal Name,Amount\nd1,Acme renewal,500\nd2,Globex pilot,1\n", encoding="utf-8")
    result = run_import(db_url, path)
    assert result["counts"]["created"] == 1 and result["counts"]["merged"] == 1
    with storage.session_scope(db_url, write=True) as s:
        assert lookup.resolve_deal(s, "Acme renewal").amount_minor == 50000
        deals.edit_deal(s, lookup.resolve_deal(s, "Globex pilot"), title="Globex pilot (big)")
    with storage.session_scope(db_url, write=True) as s:
        history.undo(s)  # the edit since the import is taken back: it no longer keeps the deal
    with storage.session_scope(db_url, write=True) as s:
        report = undo_import(s, result["run_id"])
    assert report == {"removed": 1, "restored": 1, "kept": [], "kept_count": 0}
    with storage.session_scope(db_url) as s:
        (left,) = s.exec(select(Deal)).all()
        assert left.title == "Acme renewal" and left.amount_minor is None
        undo_sets = s.exec(select(ChangeSet).where(ChangeSet.kind == "undo", ChangeSet.import_id == result["run_id"]))
        batches = undo_sets.all()
    assert len(batches) == 2  # restore the deals it changed, then remove those it made
    with storage.session_scope(db_url, write=True) as s:
        for batch in reversed(batches):
            history.undo(s, batch.id)  # the undo of the undo: what the import wrote is back
    with storage.session_scope(db_url) as s:
        assert sorted(d.title for d in s.exec(select(Deal))) == ["Acme renewal", "Globex pilot"]
        assert lookup.resolve_deal(s, "Acme renewal").amount_minor == 50000


def test_an_import_made_before_the_history_is_not_undone_record_by_record(db_url: str, tmp_path: Path) -> None:
    """A run from before the change log (migration 0011) has no change sets: undo says so, and
    what to do instead, and changes nothing."""
    from sqlalchemy import update

    from crmcli import changelog
    from crmcli.errors import Conflict
    from crmcli.models import ChangeSet

    path = tmp_path / "in.csv"
    path.write_text("Name,Email\nBo,bo@x.de\n", encoding="utf-8")
    result = run_import(db_url, path)
    with storage.session_scope(db_url, write=True) as s:  # as a database upgraded from 0010 holds it
        conn = s.connection()
        with changelog.rewriting(conn):
            conn.execute(
                update(ChangeSet.__table__).where(ChangeSet.import_id == result["run_id"]).values(import_id=None)
            )
    with storage.session_scope(db_url, write=True) as s, pytest.raises(Conflict, match="before crm kept a history"):
        undo_import(s, result["run_id"])
    assert set(people(db_url)) == {"Bo"}


def test_companies_deals_and_activities(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "companies.csv").write_text(
        "Company name,Company Domain Name,Phone Number,Industry\nAcme GmbH,www.acme.de,+49 30 12345678,SaaS\n"
        "Globex Inc.,globex.com,,Retail\n",
        encoding="utf-8",
    )
    result = run_import(db_url, tmp_path / "companies.csv")
    assert result["kind"] == "companies" and result["counts"]["created"] == 2
    (tmp_path / "people.csv").write_text("Name,Email,Company\nAnna,anna@acme.de,ACME gmbh\n", encoding="utf-8")
    run_import(db_url, tmp_path / "people.csv")
    (tmp_path / "deals.csv").write_text(
        "Record ID,Deal Name,Deal Stage,Close Date,Deal owner,Amount,Pipeline,Associated Contact,Associated Company\n"
        'd1,Acme renewal,closedwon,2026-02-01,ana,"12,000.50",Sales,anna@acme.de,Acme GmbH\n'
        "d2,Globex pilot,qualifiedtobuy,2026-12-01,ben,0.10,Sales,,Globex Inc.\n"
        "d3,Mystery,nosuchstage,2026-12-01,ben,1,Sales,,\n",
        encoding="utf-8",
    )
    result = run_import(db_url, tmp_path / "deals.csv")
    assert result["kind"] == "deals"
    assert result["counts"]["created"] == 3 and result["counts"]["rejected"] == 0
    (stage,) = [r for r in report_of(tmp_path / "deals.import-report.csv") if r["event"] == "value dropped"]
    assert stage["row"] == "4" and stage["column"] == "Deal Stage" and stage["value"] == "nosuchstage"
    assert "the deal starts in Lead" in stage["reason"]
    with storage.session_scope(db_url) as s:
        rows = {d["title"]: d for d in deals.list_deals(s)}
        assert str(rows["Acme renewal"]["amount"]) == "12000.50" and rows["Acme renewal"]["status"] == "won"
        assert rows["Acme renewal"]["contact"] == "Anna" and rows["Acme renewal"]["company"] == "Acme GmbH"
        assert rows["Globex pilot"]["stage"] == "Qualified" and rows["Globex pilot"]["external_id"] == "d2"
        assert rows["Mystery"]["stage"] == "Lead"
        assert len(companies.list_companies(s)) == 2
    assert run_import(db_url, tmp_path / "deals.csv")["counts"]["created"] == 0  # re-run: nothing new
    (tmp_path / "activities.csv").write_text(
        "Type,Date,Contact,Text\nCALL,2026-03-01 10:00,anna@acme.de,Discussed renewal\nEMAIL,2026-03-02,Anna,Sent pricing\n"  # noqa: E501
        "FAX,2026-03-03,Anna,Nope\n",
        encoding="utf-8",
    )
    result = run_import(db_url, tmp_path / "activities.csv")
    assert result["kind"] == "activities" and result["counts"]["created"] == 3 and result["counts"]["rejected"] == 0
    assert result["counts"]["dropped"] == 1  # FAX is no activity type crm knows: logged as a note, reported
    assert run_import(db_url, tmp_path / "activities.csv")["counts"]["skipped"] == 3
    with storage.session_scope(db_url) as s:
        assert sorted(a.type for a in s.exec(select(Activity)).all()) == ["call", "email", "note"]
        assert len(s.exec(select(Deal)).all()) == 3


def test_dry_run_writes_nothing(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "hubspot.csv"
    path.write_text(HUBSPOT, encoding="utf-8")
    result = run_import(db_url, path, dry_run=True)
    assert result["dry_run"] and result["run_id"] is None
    assert six(result["counts"]) == {"read": 6, "created": 5, "updated": 0, "merged": 1, "skipped": 0, "rejected": 0}
    assert [m["field"] for m in result["mapping"]][:4] == ["external_id", "first_name", "last_name", "emails"]
    assert result["preview"][0]["name"] == "Anna Müller" and "key" not in result["preview"][0]
    events = [(r["row"], r["event"]) for r in result["report"]]
    assert events == [(4, "value dropped"), (5, "merged into"), (5, "value not taken"), (7, "value filled")]
    assert not (tmp_path / "hubspot.import-report.csv").exists()
    assert people(db_url) == {}
    with storage.session_scope(db_url) as s:
        assert s.exec(select(Contact)).all() == [] and s.exec(select(FieldDef)).all() == []


def test_cli_import_list_and_undo(cli, tmp_path: Path) -> None:
    path = tmp_path / "hubspot.csv"
    path.write_text(HUBSPOT, encoding="utf-8")
    dry = cli("import", str(path), "--dry-run", "-f", "table", "--region", "DE")
    assert (
        dry.exit_code == 0
        and "would be: read 6 = created 5 + updated 0 + merged 1 + skipped 0 + rejected 0" in dry.stdout
    )
    out = cli(
        "import",
        str(path),
        "--region",
        "DE",
        "-f",
        "json",
        "--tag",
        "fair-2026",
        "--owner",
        "ana",
        "--source",
        "HubSpot",
    )
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["counts"]["created"] == 5 and data["report_file"].endswith("hubspot.import-report.csv")
    assert data["undo"] == f"crm imports undo {data['run_id']}" and data["undo"] in out.stderr
    shown = json.loads(cli("contacts", "show", "anna@acme.de", "-f", "json").stdout)
    assert shown["tags"] == ["fair-2026"] and shown["owner"] == "ana" and shown["source"] == "HubSpot"
    mapped = cli(
        "import", str(path), "--region", "DE", "--map", "Lead Status=ignore", "--unknown", "ignore", "-f", "json"
    )
    assert json.loads(mapped.stdout)["counts"]["created"] == 0
    listed = json.loads(cli("imports", "list", "-f", "json").stdout)
    assert [r["created"] for r in listed] == [0, 5]
    undone = cli("imports", "undo", str(data["run_id"]), "--yes")
    assert undone.exit_code == 0 and "removed" in undone.stderr
    assert cli("contacts", "list", "-q").stdout == ""
    bad = cli("import", str(path), "--map", "Nope=name")
    assert bad.exit_code == 1 and "--map names a column the file does not have" in bad.stderr


names = st.text(alphabet=st.characters(categories=["L"], max_codepoint=0x9FFF), min_size=1, max_size=12)
locals_ = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(names, locals_, st.booleans()), min_size=1, max_size=25))
@example(rows=[("A", "a", True), ("A", "a0", True)])  # two people of one name: both kept, both emails stored
def test_generated_rows_are_all_accounted_for(tmp_path_factory, rows) -> None:
    """Whatever the rows, read = created + updated + merged + skipped + rejected, and every valid
    row's email ends up on some contact."""
    folder = tmp_path_factory.mktemp("gen")
    url = f"sqlite:///{folder / 'crm.db'}"
    path = folder / "rows.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Name", "Email"])
        for name, local, valid in rows:
            writer.writerow([name, f"{local}@example.org" if valid else f"{local}@@bad"])
    result = run_import(url, path)
    counts = result["counts"]
    assert counts["read"] == len(rows)
    assert counts["read"] == sum(counts[k] for k in ("created", "updated", "merged", "skipped", "rejected"))
    assert counts["rejected"] == 0  # a name always identifies the row: a bad email is left out, not the person
    assert counts["dropped"] == sum(1 for *_, valid in rows if not valid)
    with storage.session_scope(url) as s:  # every contact: two people may share a name
        stored = {e for r in contacts.list_contacts(s) for e in r["emails"]}
    assert {f"{local}@example.org" for _, local, valid in rows if valid} <= stored
    storage.dispose_all()


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_written_xlsx(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "lo.csv").write_text("Name,Email,Phone\nAnna Müller,anna@acme.de,+49 151 12345678\n", encoding="utf-8")
    subprocess.run(
        # the CSV filter's options: comma, double quote, UTF-8 (76), from line 1; else it reads Latin-1
        [
            "soffice",
            "--headless",
            "--infilter=CSV:44,34,76,1",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(tmp_path),
            str(tmp_path / "lo.csv"),
        ],  # fmt: skip
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert run_import(db_url, tmp_path / "lo.xlsx")["counts"]["created"] == 1
    assert people(db_url)["Anna Müller"]["phones"] == ["+4915112345678"]


def test_duplicates_across_batches_and_accents(db_url: str, tmp_path: Path) -> None:
    """Matching is by batch-wise indexed lookups: a duplicate several batches later is still found,
    and name + company match with case, accents and legal suffixes ignored."""
    with storage.session_scope(db_url, write=True) as s:
        contacts.add_contact(s, name="Anna Müller", company="Acme GmbH")
    path = tmp_path / "rows.csv"
    path.write_text(
        "Name,Company,Email\nANNA MULLER,ACME Inc.,anna@acme.de\nBo,,bo@x.de\nCy,,cy@x.de\nDi,,di@x.de\n"
        "Eve,,eve@x.de\nBo Second,,BO@X.DE\n",
        encoding="utf-8",
    )
    result = run_import(db_url, path, batch_size=2)
    assert six(result["counts"]) == {"read": 6, "created": 4, "updated": 0, "merged": 2, "skipped": 0, "rejected": 0}
    found = people(db_url)
    assert found["Anna Müller"]["emails"] == ["anna@acme.de"]
    assert "Bo Second" not in found and found["Bo"]["emails"] == ["bo@x.de"]  # same email, a compatible name
    (kept,) = [r for r in report_of(tmp_path / "rows.import-report.csv") if r["event"] == "value not taken"]
    assert (kept["row"], kept["column"], kept["value"], kept["reason"]) == ("7", "Name", "Bo Second",
                                                                          "the record keeps 'Bo'")  # fmt: skip


def test_sheet_header_row_and_no_progress_in_a_pipe(cli, tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    wb.active.append(["nothing to import here"])
    ws = wb.create_sheet("Fair 2026")
    ws.append(["Exported by hand", "", ""])
    ws.append(["", "", ""])
    ws.append(["Handy", "Mail", "Wer"])
    for i in range(2500):
        ws.append([f"+49 151 {10000000 + i}", f"p{i}@fair.de", f"Person {i}"])
    path = tmp_path / "fair.xlsx"
    wb.save(path)
    result = cli(
        "import", str(path), "--sheet", "fair 2026", "--header-row", "3", "--map", "Wer=name", "--map", "Handy=phones",
        "--map", "Mail=emails", "-f", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["sheet"] == "Fair 2026" and data["counts"]["created"] == 2500
    assert "rows/s" not in result.stdout + result.stderr  # no progress bar without a terminal
    missing = cli("import", str(path), "--sheet", "Nope")
    assert missing.exit_code == 1 and "has no sheet 'Nope' (sheets: Notes, Fair 2026)" in missing.stderr


def test_undo_after_a_merge_says_where_the_record_went(db_url: str, tmp_path: Path) -> None:
    from crmcli.domain import dedupe

    path = tmp_path / "in.csv"
    path.write_text("Name,Email\nBo One,bo1@x.de\nBo Two,bo2@x.de\n", encoding="utf-8")
    result = run_import(db_url, path)
    with storage.session_scope(db_url, write=True) as s:
        keep = contacts.add_contact(s, name="Bo Kept", emails=["bo@kept.de"])
        dedupe.merge_contacts(s, keep, [lookup.resolve_contact(s, "bo1@x.de")])
        keep_id = keep.id
    with storage.session_scope(db_url, write=True) as s:
        report = undo_import(s, result["run_id"])
    assert report["removed"] == 1
    assert report["kept"] == [
        {
            "entity": "contact",
            "id": report["kept"][0]["id"],
            "reason": f"merged into #{keep_id} since the import: its data stays there",
        }
    ]


def test_cadence_column(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("Name,Email,Cadence\nA,a@x.de,30d\nB,b@x.de,2w\nC,c@x.de,3mo\nD,d@x.de,off\nE,e@x.de,soon\n")
    result = run_import(db_url, path)
    assert result["counts"]["created"] == 5 and result["counts"]["rejected"] == 0 and result["counts"]["dropped"] == 1
    with storage.session_scope(db_url) as s:
        days = {c.name: c.cadence_days for c in s.exec(select(Contact))}
    assert days == {"A": 30, "B": 14, "C": 90, "D": None, "E": None}


def _mixed_rows(n: int) -> str:
    """Rows with duplicates across batches, bad emails and phones, a declared number field, accents."""
    lines = ["Name,Email,Phone,Company,Seats,Tags"]
    for i in range(n):
        if i % 9 == 8:
            lines.append(f"Dup {i},P{i - 5}@X.DE,,Acme GmbH,,again")  # the email of an earlier row
        elif i % 13 == 12:
            lines.append(f"Bad {i},not-an-email,,,,")
        elif i % 17 == 16:
            lines.append(f"Seats {i},s{i}@x.de,,,many,")  # not a number: left out
        else:
            lines.append(f"Jürgen Müller {i},p{i}@x.de,030 1234{i:04},Acme GmbH,{i},vip")
    return "\n".join(lines) + "\n"


def test_a_worker_process_cleans_what_one_process_would(db_url: str, tmp_path: Path) -> None:
    """Rows cleaned in a worker process (big files on several cores) end up exactly as cleaned
    in-process: same counts, records, rejects and search index."""
    from crmcli.domain import fields, search

    path = tmp_path / "mixed.csv"
    path.write_text(_mixed_rows(80), encoding="utf-8")
    serial_db = f"sqlite:///{tmp_path / 'serial.db'}"
    results = {}
    for url, workers in ((db_url, 1), (serial_db, 0)):
        with storage.session_scope(url, write=True) as s:
            fields.add_field(s, entity="contacts", name="seats", type="number")
        results[workers] = run_import(
            url, path, batch_size=7, workers=workers, report=tmp_path / f"r{workers}.report.csv"
        )
    assert results[1]["counts"] == results[0]["counts"]
    # 8 rows repeat an earlier row's email under another name: possible duplicates, kept apart (one of
    # them repeats a bad email, left out of its row); 6 bad emails and 4 bad seat counts left out
    assert results[1]["counts"] == {"read": 80, "created": 80, "updated": 0, "merged": 0, "skipped": 0, "rejected": 0,
                                    "dropped": 10, "possible": 7}  # fmt: skip
    assert [r | {"record": ""} for r in report_of(tmp_path / "r1.report.csv")] == [
        r | {"record": ""} for r in report_of(tmp_path / "r0.report.csv")
    ]

    def strip(found: dict[str, dict]) -> dict[str, tuple]:
        return {k: (v["emails"], v["phones"], v["tags"], v["company"]) for k, v in found.items()}

    assert strip(people(db_url)) == strip(people(serial_db))
    with storage.session_scope(db_url) as s:
        hits = search.search(s, "jurgen muller 7", kinds=["contact"], limit=50)
        assert "Jürgen Müller 7" in [h["title"] for h in hits]
    assert people(db_url)["Jürgen Müller 10"]["custom"] == people(serial_db)["Jürgen Müller 10"]["custom"]


def test_interrupted_while_a_worker_cleans(db_url: str, tmp_path: Path) -> None:
    """Ctrl-C with a worker process running: the batches written stay, the worker is stopped,
    and the same import run again completes it."""
    path = tmp_path / "many.csv"
    path.write_text("Name,Email\n" + "".join(f"Person {i},p{i}@x.de\n" for i in range(50)), encoding="utf-8")

    def stop_after_two_batches(done: int, total: int | None) -> None:
        if done >= 20:
            raise KeyboardInterrupt

    with pytest.raises(importer.Interrupted):
        run_import(db_url, path, batch_size=10, workers=1, progress=stop_after_two_batches)
    assert len(people(db_url)) == 20
    result = run_import(db_url, path, batch_size=10, workers=1)
    assert six(result["counts"]) == {"read": 50, "created": 30, "updated": 0, "merged": 0, "skipped": 20, "rejected": 0}
    assert len(people(db_url)) == 50


def test_matching_by_name_and_company_searches_an_index(tmp_path: Path) -> None:
    """0007's index serves the importer's name + company lookup as searches, never a scan that
    grows with the database (SQLite's plan for the very statement the importer sends)."""
    from crmcli.importer.contacts import pairs_sql

    engine, _ = storage.open_engine(f"sqlite:///{tmp_path / 'plan.db'}")
    with engine.connect() as conn:
        plan = " ".join(
            str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + pairs_sql(conn.dialect, 3), ("a", 1) * 3)
        )
        automerge = conn.exec_driver_sql("SELECT v FROM search_fts_config WHERE k = 'automerge'").scalar()
    assert plan.count("SEARCH contact USING COVERING INDEX ix_contact_name_key_company") == 3
    assert "SCAN" not in plan
    assert automerge == 16  # fewer full-text merges during bulk writes (0007)


def test_a_file_broken_halfway_leaves_no_report(db_url: str, tmp_path: Path) -> None:
    """The report is written as it comes; when the file turns out broken later, the import is
    undone and the report written so far is removed with it."""
    path = tmp_path / "late.csv"
    rows = "".join(f"P {i},{'bad' if i % 3 == 0 else f'p{i}@x.de'}\n" for i in range(30))
    path.write_text("Name,Email\n" + rows + "Huge," + "x" * 40_000 + "\n", encoding="utf-8")
    with pytest.raises(Invalid, match="longer than"):
        run_import(db_url, path, batch_size=5)
    assert people(db_url) == {}
    assert not (tmp_path / "late.import-report.csv").exists()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds the worker through /proc (Linux)")
def test_a_killed_import_takes_its_worker_with_it(tmp_path: Path) -> None:
    """kill -9 of `crm import` while a worker process cleans rows: the worker does not linger."""
    import os
    import signal
    import sys
    import time

    path = tmp_path / "big.csv"
    path.write_text("Name,Email\n" + "".join(f"P {i},p{i}@x.de\n" for i in range(30_000)), encoding="utf-8")
    from crmcli import storage

    storage.open_engine(str(tmp_path / "crm.db"))  # a --db/CRM_DB path must exist (crm init makes one)
    storage.dispose_all()
    env = {**os.environ, "CRM_DB": str(tmp_path / "crm.db"), "CRM_IMPORT_WORKERS": "1"}
    crm = [sys.executable, "-c", "import sys; from crmcli.cli import main; sys.exit(main())"]
    proc = subprocess.Popen([*crm, "import", str(path)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def children(pid: int) -> list[int]:
        found = []
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                found += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
        return found

    def is_worker(pid: int) -> bool:
        try:
            return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False

    deadline = time.monotonic() + 60
    workers: list[int] = []
    while not workers and time.monotonic() < deadline and proc.poll() is None:
        workers = [c for c in children(proc.pid) if is_worker(c)]
        time.sleep(0.05)
    assert workers, "the import started no worker process"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 15
    while any(is_worker(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(is_worker(w) for w in workers)


def test_the_cleaning_worker_does_not_import_sqlalchemy() -> None:
    """The worker process imports only what cleaning needs: no SQLAlchemy, SQLModel or pydantic
    (tens of MB in every process; the 1,000,000-row import has a memory budget)."""
    import sys

    code = (
        "import sys, pickle\n"
        "from crmcli.importer.cleaning import ContactCleaner\n"
        "c = ContactCleaner(region='DE', dayfirst=False, defs={}, owner=None, source=None, extra_tags=[])\n"
        "row = pickle.loads(pickle.dumps(c)).clean(2, {'name': ['Anna Müller'], 'emails': ['a@x.de']})\n"
        "assert row.key == 'anna muller' and row.emails == ['a@x.de'], row\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'sqlmodel', 'pydantic', 'typer'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_strict_rejects_a_row_rather_than_lose_a_value(cli, tmp_path: Path) -> None:
    path = tmp_path / "strict.csv"
    path.write_text("Name,Email,Phone\nAnna,anna@acme.de,+49 30 1234567\nBo,not-an-email,\nCy,cy@x.de,pager\n")
    done = cli("import", str(path), "--strict", "-f", "json")
    assert done.exit_code == 1 and "2 rows rejected (--strict)" in done.stderr
    assert done.stderr.count("\n") >= 1 and "Error: " in done.stderr.splitlines()[-1]
    data = json.loads(done.stdout)
    assert six(data["counts"]) == {"read": 3, "created": 1, "updated": 0, "merged": 0, "skipped": 0, "rejected": 2}
    rejected = [r for r in report_of(tmp_path / "strict.import-report.csv") if r["event"] == "rejected"]
    assert [(r["row"], r["value"]) for r in rejected] == [
        ("3", "Name=Bo; Email=not-an-email"),
        ("4", "Name=Cy; Email=cy@x.de; Phone=pager"),
    ]
    assert rejected[1]["reason"].startswith("invalid phone 'pager'")
    lenient = cli("import", str(path), "-f", "json")  # without --strict both are kept, the bad value left out
    assert lenient.exit_code == 0 and json.loads(lenient.stdout)["counts"]["created"] == 2


def test_a_dry_run_creates_no_database_and_shows_the_report(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from crmcli.cli import app

    path = tmp_path / "hubspot.csv"
    path.write_text(HUBSPOT, encoding="utf-8")
    target = tmp_path / "new" / "crm.db"
    target.parent.mkdir()
    runner = CliRunner()
    done = runner.invoke(app, ["import", str(path), "--dry-run", "-f", "json"], env={"CRM_DB": f"sqlite:///{target}"})
    assert done.exit_code == 0, done.stderr
    assert list(target.parent.iterdir()) == [] and not (tmp_path / "hubspot.import-report.csv").exists()
    data = json.loads(done.stdout)
    assert data["dry_run"] and data["run_id"] is None and data["unknown"] == ["Lead Status"]
    first = data["preview"][0]
    expected = {"row": 2, "name": "Anna Müller", "emails": ["anna@acme.de"], "phones": ["+491761234567"],
                "company": "Acme GmbH", "created_at": "2026-03-04T14:05:00Z", "external_id": "101",
                "custom": {"lead_status": "New"}}  # fmt: skip
    assert {k: first[k] for k in expected} == expected and "key" not in first and "doc" not in first
    assert [(r["row"], r["event"], r["column"]) for r in data["report"]][:2] == [(4, "value dropped", "Email"),
                                                                               (5, "merged into", "")]  # fmt: skip
    piped = runner.invoke(app, ["import", str(path), "--dry-run"], env={"CRM_DB": f"sqlite:///{target}"})
    assert piped.exit_code == 0 and "Record ID\texternal_id" in piped.stdout and "4\tvalue dropped\t" in piped.stdout
    assert list(target.parent.iterdir()) == []


def test_ignored_columns_and_json_lines_are_reported(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "people.jsonl"
    path.write_text(
        '{"name": "Anna", "email": "anna@acme.de", "custom": {"vip": true}, "calls": [{"at": "2026-01-01"}]}\n'
        "not json\n"
        '{"name": "Bo", "emails": ["bo@x.de", "bo@y.de"], "custom": {"vip": false}}\n',
        encoding="utf-8",
    )
    result = run_import(db_url, path)
    assert six(result["counts"]) == {"read": 3, "created": 2, "updated": 0, "merged": 0, "skipped": 0, "rejected": 1}
    found = people(db_url)
    assert found["Anna"]["custom"] == {"vip": True} and found["Bo"]["emails"] == ["bo@x.de", "bo@y.de"]
    lines = report_of(tmp_path / "people.import-report.csv")
    assert ("column ignored", "calls") in {(r["event"], r["column"]) for r in lines}
    assert [(r["row"], r["event"]) for r in lines if r["row"]] == [("2", "rejected")]
    with storage.session_scope(db_url) as s:
        assert {d.name: d.type for d in s.exec(select(FieldDef))} == {"vip": "bool"}


def test_a_value_longer_than_crm_keeps_is_left_out_not_the_person(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text(
        f"Name,Email,Title,Notes\nAnna,anna@acme.de,{'T' * 600},ok\n{'N' * 600},bo@x.de,CEO,\n", encoding="utf-8"
    )
    result = run_import(db_url, path)
    assert result["counts"]["created"] == 2 and result["counts"]["dropped"] == 2
    found = people(db_url)
    assert (
        found["Anna"]["title"] is None and found["bo@x.de"]["title"] == "CEO"
    )  # a 600-character name: named after the email
    reasons = {
        r["column"]: r["reason"]
        for r in report_of(tmp_path / "long.import-report.csv")
        if r["event"] == "value dropped"
    }
    assert reasons["Title"].startswith("title too long: 600 characters, at most 500")
    assert reasons["Name"].startswith("name too long")


def test_follow_ups_named_by_a_contact_column(db_url: str, tmp_path: Path) -> None:
    """A task list that names the person in a `contact` column (email or name), without subject_kind."""
    with storage.session_scope(db_url, write=True) as s:
        contacts.add_contact(s, name="Anna Müller", emails=["anna@acme.de"])
    path = tmp_path / "tasks.csv"
    path.write_text("due,contact,note\n2027-01-05 09:00,anna@acme.de,Send pricing\n2027-01-06,Nobody Known,x\n")
    result = run_import(db_url, path, kind="followups")
    assert six(result["counts"]) == {"read": 2, "created": 1, "updated": 0, "merged": 0, "skipped": 0, "rejected": 1}
    with storage.session_scope(db_url) as s:
        from crmcli.domain import followups

        (made,) = [f for f in followups.list_followups(s, window="all") if f["kind"] == "followup"]
    assert made["subject"] == "Anna Müller" and made["note"] == "Send pricing"
