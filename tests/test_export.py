"""crm export: formats, typed XLSX cells, formula injection, filters, files, lean imports, and the
round trip through crm import, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import stat
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from test_cli import ok, one_line_error
from test_lazy_imports import loaded

from crmcli import storage
from crmcli.domain import activities, companies, contacts, deals, fields, followups, lookup
from crmcli.exporter import records as export
from crmcli.values import cells, clock

# ---------------------------------------------------------------- formula injection


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("=1+2", "'=1+2"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("+4915112345678", "+4915112345678"),  # a phone in E.164 is a plain number
        ("-5", "-5"),
        ("-12.50", "-12.50"),
        ("'=x", "''=x"),  # already looks neutralised: one more, so the inverse is exact
        ("'tis", "'tis"),
        ("Anna", "Anna"),
        ("", ""),
    ],
)
def test_neutralize_and_its_inverse(text: str, safe: str) -> None:
    assert cells.neutralize(text) == safe
    assert cells.unneutralize(safe) == text


def test_format_from_extension_or_option() -> None:
    assert export.format_for("a.CSV", None) == "csv"
    assert export.format_for("a.xlsx", None) == "xlsx"
    assert export.format_for("a.vcard", None) == "vcf"
    assert export.format_for("a.csv", "json") == "json"
    assert export.format_for("-", None) == "csv"
    with pytest.raises(Exception, match="extension"):
        export.format_for("a.txt", None)


# ---------------------------------------------------------------- data


def _fill(session) -> dict:
    acme = companies.add_company(session, name="Acme GmbH", domain="acme.de", tags=["customer"], owner="ana")
    anna = contacts.add_contact(
        session,
        name="Anna Müller",
        emails=["anna@acme.de", "anna@acme.com"],
        phones=["+49 151 12345678"],
        title="CTO",
        company="Acme GmbH",
        tags=["vip", "key-account"],
        owner="ana",
        source="fair",
        notes='=HYPERLINK("http://evil")',
        custom={"industry": "SaaS", "score": "-5"},
    )
    wei = contacts.add_contact(
        session, name="黄伟明", emails=["wm@yuanhang.cn"], company="上海远航物流有限公司", tags=["china"], owner="ben"
    )
    deal = deals.add_deal(
        session, title="Acme renewal", contact=str(anna.id), amount="12000.50", close_date="2026-12-31"
    )
    activities.log_activity(
        session, type="call", text="Pricing call", contact=anna, at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC), by="ana"
    )
    activities.log_activity(session, type="note", text="Budget in October", company=acme, by="ana")
    activities.log_activity(session, type="meeting", text="Demo", deal=deal, by="ben")
    followups.add_followup(session, due_at=clock.now() + timedelta(days=3), contact=anna, note="Send pricing")
    session.commit()
    return {"acme": acme.id, "anna": anna.id, "wei": wei.id, "deal": deal.id}


# ---------------------------------------------------------------- formats


def test_csv_headers_are_the_list_keys_with_bom_crlf_and_neutralised_cells(session) -> None:
    _fill(session)
    records = contacts.list_contacts(session, sort="id")
    data = export.csv_bytes("contacts", records)
    assert data.startswith(b"\xef\xbb\xbfid,name,title,company,company_id,email,emails,phone,phones,tags,owner,")
    text = data.decode("utf-8-sig")
    assert "\r\n" in text
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert list(rows[0]) == [
        "id", "name", "title", "company", "company_id", "email", "emails", "phone", "phones", "tags", "owner",
        "source", "last_touch", "notes", "custom.industry", "custom.score", "external_id", "created_at", "updated_at",
        "street", "city", "region", "postcode", "country", "birthday", "website", "cadence_days",
    ]  # fmt: skip
    anna = rows[0]
    assert anna["notes"] == '\'=HYPERLINK("http://evil")'
    assert anna["phone"] == "+4915112345678" and anna["custom.score"] == "-5"
    assert anna["emails"] == "anna@acme.de; anna@acme.com" and anna["tags"] == "key-account; vip"
    assert anna["created_at"].endswith("Z") and anna["last_touch"] == "2026-11-02T09:30:00Z"
    assert rows[1]["name"] == "黄伟明"
    assert not export.csv_bytes("contacts", records, bom=False).startswith(b"\xef\xbb\xbf")


def test_empty_export_still_has_its_header(session) -> None:
    assert export.csv_bytes("deals", [], bom=False).decode().splitlines()[0].startswith("id,title,pipeline,stage,")
    assert json.loads(export.json_bytes([])) == []


def test_xlsx_cells_are_typed_with_a_bold_frozen_filtered_header(session) -> None:
    from openpyxl import load_workbook

    fields.add_field(session, entity="deals", name="seats", type="number")
    fields.add_field(session, entity="deals", name="signed", type="date")
    fields.add_field(session, entity="deals", name="priority", type="bool")
    ids = _fill(session)
    deals.edit_deal(
        session, lookup.resolve_deal(session, str(ids["deal"])), custom={"seats": "25", "signed": "2026-11-01"}
    )
    deals.edit_deal(session, lookup.resolve_deal(session, str(ids["deal"])), custom={"priority": "yes"})
    records = deals.list_deals(session)
    book = load_workbook(io.BytesIO(export.xlsx_bytes("deals", records, export.field_types(session, "deals"))))
    sheet = book["deals"]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    assert all(c.font.b for c in sheet[1])
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}2"
    row = {h: c for h, c in zip(header, sheet[2], strict=True)}
    assert row["id"].value == ids["deal"] and row["id"].data_type == "n"
    assert row["amount"].value == 12000.5 and row["amount"].number_format == "#,##0.00"
    assert row["close_date"].is_date and row["close_date"].value.date() == date(2026, 12, 31)
    assert row["created_at"].is_date and row["created_at"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert row["stalled"].value is False
    assert row["custom.seats"].value == 25 and row["custom.signed"].is_date and row["custom.priority"].value is True
    assert row["contact"].value == "Anna Müller" and row["currency"].value == "EUR"


def test_xlsx_neutralises_text_but_not_phones_or_numbers(session) -> None:
    from openpyxl import load_workbook

    _fill(session)
    book = load_workbook(io.BytesIO(export.xlsx_bytes("contacts", contacts.list_contacts(session, sort="id"))))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    anna = {h: c.value for h, c in zip(header, sheet[2], strict=True)}
    assert anna["notes"] == '\'=HYPERLINK("http://evil")'
    assert anna["phone"] == "+4915112345678" and anna["custom.score"] == "-5"
    assert anna["tags"] == "key-account; vip"


def test_json_is_what_the_list_prints(cli, tmp_path: Path) -> None:
    ok(cli("contacts", "add", "Anna Müller", "-e", "anna@acme.de", "-t", "vip", "-F", "industry=SaaS"))
    ok(cli("export", "contacts", str(tmp_path / "c.json")))
    assert (tmp_path / "c.json").read_text(encoding="utf-8") == ok(cli("contacts", "list", "-f", "json")).stdout


def test_vcard_has_one_card_per_contact_with_types_and_crm_extras(session) -> None:
    import vobject

    _fill(session)
    cards = list(vobject.readComponents(export.vcf_bytes(contacts.list_contacts(session, sort="id")).decode()))
    assert len(cards) == 2
    anna, wei = cards
    assert anna.fn.value == "Anna Müller" and anna.n.value.family == "Müller" and anna.n.value.given == "Anna"
    emails = [(e.value, e.params["TYPE"]) for e in anna.contents["email"]]
    assert emails == [("anna@acme.de", ["INTERNET", "PREF"]), ("anna@acme.com", ["INTERNET"])]
    assert [(t.value, t.params["TYPE"]) for t in anna.contents["tel"]] == [("+4915112345678", ["VOICE", "PREF"])]
    assert anna.org.value == ["Acme GmbH"] and anna.title.value == "CTO"
    assert anna.note.value == '=HYPERLINK("http://evil")'  # an address book runs no formulas
    assert anna.categories.value == ["key-account", "vip"]
    assert anna.contents["x-crm-owner"][0].value == "ana" and anna.contents["x-crm-source"][0].value == "fair"
    assert [f.value for f in anna.contents["x-crm-field"]] == ["industry=SaaS", "score=-5"]
    assert anna.contents["x-crm-created"][0].value.endswith("Z") and anna.rev.value.endswith("Z")
    assert wei.fn.value == "黄伟明" and wei.n.value.family == "黄伟明" and wei.org.value == ["上海远航物流有限公司"]


def test_activity_rows_name_their_contact_company_and_deal(session) -> None:
    ids = _fill(session)
    rows = export.activity_rows(session)
    assert [r["text"] for r in rows][0] == "Pricing call"  # oldest first
    call = rows[0]
    assert call["contact"] == "anna@acme.de" and call["contact_id"] == ids["anna"] and call["by"] == "ana"
    demo = next(r for r in rows if r["text"] == "Demo")
    assert demo["deal"] == "Acme renewal" and demo["deal_id"] == ids["deal"]
    assert [r["text"] for r in export.activity_rows(session, type="note")] == ["Budget in October"]
    assert {r["text"] for r in export.activity_rows(session, company="Acme GmbH")} == {
        "Pricing call",
        "Budget in October",
    }
    assert [r["text"] for r in export.activity_rows(session, deal="Acme renewal")] == ["Demo"]
    assert [r["text"] for r in export.activity_rows(session, contact="anna@acme.de", by="ana")] == ["Pricing call"]
    with pytest.raises(Exception, match="unknown activity type"):
        export.activity_rows(session, type="fax")


# ---------------------------------------------------------------- CLI


def test_cli_export_every_kind_and_format(cli, tmp_path: Path) -> None:
    ok(cli("contacts", "add", "Anna Müller", "-e", "anna@acme.de", "-c", "Acme GmbH", "-t", "vip"))
    ok(cli("contacts", "add", "Bo", "-e", "bo@x.de"))
    ok(cli("deals", "add", "Acme renewal", "-c", "anna@acme.de", "--amount", "100"))
    ok(cli("log", "anna@acme.de", "Called"))
    ok(cli("followups", "add", "anna@acme.de", "--due", "tomorrow 9am", "--note", "Chase"))
    for kind in export.KINDS:
        for fmt in ("csv", "xlsx", "json"):
            target = tmp_path / f"{kind}.{fmt}"
            result = ok(cli("export", kind, str(target)))
            assert result.stdout == "" and result.stderr.startswith("Exported ") and f"({fmt.upper()})" in result.stderr
            assert target.stat().st_size > 0
            assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert (
        ok(cli("export", "contacts", str(tmp_path / "c.vcf"))).stderr
        == f"Exported 2 contacts to {tmp_path / 'c.vcf'} (VCF)\n"
    )
    assert ok(cli("export", "followups", str(tmp_path / "f.csv"))).stderr.startswith("Exported 1 follow-up to ")
    assert json.loads((tmp_path / "activities.json").read_text())[0]["contact"] == "anna@acme.de"


def test_cli_export_takes_the_list_filters(cli, tmp_path: Path) -> None:
    ok(cli("contacts", "add", "Anna", "-e", "anna@acme.de", "-t", "vip", "--owner", "ana"))
    ok(cli("contacts", "add", "Bo", "-e", "bo@x.de", "--owner", "ben"))
    ok(cli("contacts", "add", "Cy", "-e", "cy@x.de", "-t", "vip", "--owner", "ben", "-F", "industry=SaaS"))
    ok(cli("companies", "add", "Acme", "-t", "customer"))
    ok(cli("companies", "add", "Globex"))
    ok(cli("deals", "add", "Big", "--amount", "10"))
    ok(cli("deals", "add", "Small", "--amount", "5"))
    ok(cli("deals", "won", "Small"))

    def names(*args: str, key: str = "name") -> list[str]:
        out = ok(cli("export", *args, "-", "--format", "json")).stdout
        return [r[key] for r in json.loads(out)]

    assert names("contacts", "--tag", "vip") == ["Anna", "Cy"]
    assert names("contacts", "--owner", "ben", "--sort", "-name") == ["Cy", "Bo"]
    assert names("contacts", "--where", "industry=SaaS") == ["Cy"]
    assert names("contacts", "--limit", "1") == ["Anna"]
    assert names("companies", "--tag", "customer") == ["Acme"]
    assert names("deals", "--won", key="title") == ["Small"]
    assert names("deals", "--open", "--sort", "-amount", key="title") == ["Big"]
    plain = ok(cli("export", "contacts", "-", "-t", "vip")).stdout_bytes  # '-' alone: CSV, no BOM
    assert plain.startswith(b"id,name,") and plain.count(b"\r\n") == 3
    one_line_error(cli("export", "deals", "-", "--open", "--won"), 2, "one of --open")
    one_line_error(cli("export", "contacts", "-", "--sort", "shoe"), 1, "cannot sort by 'shoe'")


def test_cli_export_refuses_what_it_should(cli, tmp_path: Path) -> None:
    ok(cli("contacts", "add", "Anna", "-e", "anna@acme.de"))
    target = tmp_path / "c.csv"
    ok(cli("export", "contacts", str(target)))
    before = target.read_bytes()
    one_line_error(cli("export", "contacts", str(target)), 1, "exists: use --force to replace it")
    ok(cli("contacts", "add", "Bo"))
    ok(cli("export", "contacts", str(target), "--force"))
    assert target.read_bytes() != before and target.read_bytes().count(b"\r\n") == 3
    one_line_error(cli("export", "deals", str(tmp_path / "d.vcf")), 2, "vCard holds contacts only")
    one_line_error(cli("export", "contacts", str(tmp_path / "c.txt")), 2, "cannot tell the format")
    one_line_error(cli("export", "contacts", str(tmp_path / "no" / "c.csv")), 1, "does not exist")
    one_line_error(cli("export", "contacts", str(tmp_path), "-f", "csv"), 1, "is a directory")
    one_line_error(cli("export", "contacts", str(tmp_path / "x.csv"), "-f", "pdf"), 2, "--format")
    assert ok(cli("export", "contacts", str(tmp_path / "c.txt"), "-f", "csv")).stderr.endswith("(CSV)\n")
    assert not list(tmp_path.glob(".c.csv.*"))  # no temporary files left behind


def test_export_loads_only_the_library_of_its_format(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    storage.open_engine(str(db))
    storage.dispose_all()
    env = {"CRM_DB": str(db)}
    assert not loaded(["contacts", "list"], env) & {"openpyxl", "vobject", "rapidfuzz"}
    assert not loaded(["export", "contacts", str(tmp_path / "a.csv")], env) & {"openpyxl", "vobject", "rapidfuzz"}
    assert not loaded(["export", "contacts", str(tmp_path / "a.vcf")], env) & {"openpyxl", "rapidfuzz"}
    assert "openpyxl" in loaded(["export", "contacts", str(tmp_path / "a.xlsx")], env)
    assert not loaded(["contacts", "show", "1"], env) & {"rapidfuzz", "openpyxl", "vobject"}


# ---------------------------------------------------------------- the round trip through crm import


@pytest.fixture
def empty_url(db_url: str, request: pytest.FixtureRequest, tmp_path: Path):
    """A second, empty, migrated database on the same backend as db_url."""
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'empty.db'}"
        storage.open_engine(url)
        yield url
        return
    server = request.getfixturevalue("pg_server")
    url = server.create()
    yield url
    server.drop(url)


def _round_trip_data(session) -> None:
    fields.add_field(session, entity="contacts", name="seats", type="number")
    fields.add_field(session, entity="contacts", name="signed", type="date")
    fields.add_field(session, entity="contacts", name="vip", type="bool")
    fields.add_field(session, entity="contacts", name="tier", type="choice", choices=["Gold", "Silver"])
    companies.add_company(
        session, name="Acme GmbH", domain="acme.de", tags=["customer"], owner="ana", notes="Key",
        website="https://www.acme.de", street="Hauptstraße 5", city="Berlin", state="Berlin", postcode="10115",
        country="Germany", industry="Manufacturing",
    )  # fmt: skip
    companies.add_company(session, name="上海远航物流有限公司", phone="+86 21 6123 4567", source="fair")
    anna = contacts.add_contact(
        session, name="Anna Müller", emails=["anna@acme.de", "anna@acme.com"], phones=["+49 151 12345678"],
        title="CTO", company="Acme GmbH", tags=["vip", "key-account"], owner="ana", source="fair",
        notes="Met at the fair; likes 'quotes', commas, and \"doubles\"", custom={"industry": "SaaS", "score": "-5"},
        street="Hof 1; Tor 2, links", city="Köln", postcode="50679", country="Germany", birthday="1985-04-15",
        website="https://anna-mueller.de/about",
    )  # fmt: skip
    contacts.add_contact(
        session, name="Cy Typed", emails=["cy@x.de"], birthday="--12-24", city="Springfield", state="IL",
        custom={"seats": "25", "signed": "2026-11-01", "vip": "yes", "tier": "gold"},
    )  # fmt: skip
    contacts.add_contact(
        session, name="黄伟明", emails=["wm@yuanhang.cn"], phones=["+86 138 0013 8000"], company="上海远航物流有限公司"
    )
    contacts.add_contact(session, name="Bo Lonely", phones=["+1 415 555 2671"], owner="ben")
    deals.add_deal(session, title="Acme renewal", contact=str(anna.id), amount="12000.50", close_date="2026-12-31")
    deals.add_deal(session, title="Yuanhang pilot", company="上海远航物流有限公司", amount="8000", currency="CNY")
    activities.log_activity(
        session, type="call", text="Pricing call", contact=anna, at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC), by="ana"
    )
    session.commit()


_DERIVED = {"id", "company_id", "contact_id", "deal_id", "updated_at", "days_in_stage", "stalled"}


def _same(kind: str, before: list[dict], after: list[dict], key: str) -> None:
    """The same records, ids and what derives from them aside; times to the second, as exports carry them."""

    def value(v: object) -> object:
        return v.replace(microsecond=0) if isinstance(v, datetime) else v

    def plain(rows: list[dict]) -> dict:
        return {r[key]: {k: value(v) for k, v in r.items() if k not in _DERIVED} for r in rows}

    a, b = plain(before), plain(after)
    assert a.keys() == b.keys(), kind
    for name in a:
        assert a[name] == b[name], (kind, name)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_into_an_empty_database_gives_the_same_records(
    session, empty_url: str, tmp_path: Path, fmt: str
) -> None:
    importer = pytest.importorskip("crmcli.importer")
    _round_trip_data(session)
    kinds = {"companies": "name", "contacts": "name", "deals": "title", "activities": "text"}
    before = {kind: export.rows(session, kind) for kind in kinds}
    for kind in kinds:
        (tmp_path / f"{kind}.{fmt}").write_bytes(export.render(session, kind, before[kind], fmt))
    for kind in kinds:
        with storage.session_scope(empty_url, write=True) as target:
            result = importer.import_file(target, tmp_path / f"{kind}.{fmt}", kind=kind)
            assert result["counts"]["rejected"] == 0, (kind, result)
    with storage.session_scope(empty_url) as target:
        after = {kind: export.rows(target, kind) for kind in kinds}
        declared = {
            n: (d.type, d.choices) for n, d in fields.field_defs(target, "contacts").items() if d.type != "text"
        }
    assert declared == {n: (d.type, d.choices) for n, d in fields.field_defs(session, "contacts").items()}
    for kind, key in kinds.items():
        _same(kind, before[kind], after[kind], key)


def test_round_trip_keeps_text_that_looks_like_a_formula(session, empty_url: str, tmp_path: Path) -> None:
    importer = pytest.importorskip("crmcli.importer")
    contacts.add_contact(session, name="Eve", emails=["eve@x.de"], notes="=1+2", title="-")
    session.commit()
    (tmp_path / "c.csv").write_bytes(export.render(session, "contacts", export.rows(session, "contacts"), "csv"))
    with storage.session_scope(empty_url, write=True) as target:
        importer.import_file(target, tmp_path / "c.csv", kind="contacts")
    with storage.session_scope(empty_url) as target:
        (eve,) = export.rows(target, "contacts")
    assert (eve["notes"], eve["title"]) == ("=1+2", "-")


def test_vcard_round_trip_keeps_owner_source_fields_and_creation(session, empty_url: str, tmp_path: Path) -> None:
    importer = pytest.importorskip("crmcli.importer")
    _round_trip_data(session)
    before = export.rows(session, "contacts")
    (tmp_path / "c.vcf").write_bytes(export.render(session, "contacts", before, "vcf"))
    with storage.session_scope(empty_url, write=True) as target:
        importer.import_file(target, tmp_path / "c.vcf", kind="contacts")
    with storage.session_scope(empty_url) as target:
        after = export.rows(target, "contacts")
    for record in before + after:
        record["last_touch"] = None  # activities are not in a vCard
    _same("contacts", before, after, "name")


def test_xlsx_amounts_are_exact_decimals(session) -> None:
    from openpyxl import load_workbook

    deals.add_deal(session, title="Cents", amount="0.10")
    deals.add_deal(session, title="Yen", amount="1234", currency="JPY")
    book = load_workbook(io.BytesIO(export.xlsx_bytes("deals", deals.list_deals(session, sort="title"))))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    cells = [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)]
    assert [(c["title"].value, Decimal(str(c["amount"].value)), c["amount"].number_format) for c in cells] == [
        ("Cents", Decimal("0.1"), "#,##0.00"),
        ("Yen", Decimal("1234"), "#,##0"),
    ]
