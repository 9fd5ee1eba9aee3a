"""The fields people keep (issue 11, item 7): contacts' address, birthday and website, companies'
address and industry. Cleaning, show, list --where, search, export, and migration 0008, on
SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_cli import ok, one_line_error

from crmcli import storage
from crmcli.domain import companies, contacts, fields, lookup, search, views
from crmcli.errors import Invalid, UsageError
from crmcli.exporter import records as export
from crmcli.models import SearchDoc
from crmcli.values.addressbook import address_line, normalize_birthday, normalize_website, show_birthday
from crmcli.values.documents import company_document, contact_document, document_parts
from crmcli.values.normalize import clean_text

# ---------------------------------------------------------------- cleaning, no database


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("1985-04-15", "1985-04-15"),
        (" 1985-04-15 ", "1985-04-15"),
        ("--04-15", "--04-15"),
        ("--0415", "--04-15"),  # vCard 4's basic form
        ("19850415", "1985-04-15"),
        ("1985/4/5", "1985-04-05"),  # a year written first is followed by the month
        ("15 April 1985", "1985-04-15"),
        ("April 15, 1985", "1985-04-15"),
        ("15.04.1985", "1985-04-15"),
        ("04/15/1985", "1985-04-15"),  # 15 is no month: only one reading
        ("April 15", "--04-15"),
        ("15 Apr", "--04-15"),
        ("--02-29", "--02-29"),
        ("1985-04-15T10:00:00+02:00", "1985-04-15"),
        ("", None),
        (None, None),
    ],
)
def test_birthdays_are_stored_as_vcard_4_writes_them(text: str | None, stored: str | None) -> None:
    assert normalize_birthday(text) == stored
    if stored:
        assert normalize_birthday(stored) == stored  # what is stored reads back as itself


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("04/05/1985", "ambiguous birthday '04/05/1985'"),  # April 5 or May 4
        ("April 1985", "needs a day and a month"),
        ("1985", "needs a day and a month"),
        ("1985-02-29", "no such day"),
        ("--02-30", "no such day"),
        ("2999-01-01", "in the future"),
        ("soon", "use YYYY-MM-DD, or --MM-DD"),
    ],
)
def test_birthdays_that_are_not_one_day_are_refused(text: str, reason: str) -> None:
    with pytest.raises(Invalid, match=reason):
        normalize_birthday(text)


def test_a_birthday_without_its_year_is_shown_as_such() -> None:
    assert show_birthday("--04-15") == "04-15 (year unknown)"
    assert show_birthday("1985-04-15") == "1985-04-15"
    assert show_birthday(None) is None


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("acme.de", "https://acme.de"),
        ("www.acme.de/about", "https://www.acme.de/about"),
        ("HTTP://Acme.DE/Path?q=1#top", "http://acme.de/Path?q=1#top"),
        ("https://acme.de/", "https://acme.de"),
        ("//acme.de", "https://acme.de"),
        ("acme.de:8080", "https://acme.de:8080"),
        ("https://münchen.de", "https://münchen.de"),
        ("http://10.0.0.1/crm", "http://10.0.0.1/crm"),
        ("", None),
    ],
)
def test_websites_are_web_addresses(text: str, stored: str | None) -> None:
    assert normalize_website(text) == stored
    if stored:
        assert normalize_website(stored) == stored


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("anna@acme.de", "an email address, not a web address"),
        ("mailto:anna@acme.de", "an email address"),
        ("ftp://acme.de", "use a web address such as https://example.com"),
        ("acme", "use a web address"),
        ("acme .de", "use a web address"),
        ("javascript:alert(1)", "use a web address"),
        ("https://acme.de:http", "use a web address"),
        ("https://-acme.de", "use a web address"),
    ],
)
def test_what_is_not_a_web_address_is_refused(text: str, reason: str) -> None:
    with pytest.raises(Invalid, match=reason):
        normalize_website(text)


def test_an_address_reads_as_one_line_in_the_order_of_its_country() -> None:
    berlin = {"street": "Hauptstraße 5", "city": "Berlin", "postcode": "10115", "country": "Germany"}
    assert address_line(berlin) == "Hauptstraße 5, 10115 Berlin, Germany"
    springfield = {"street": "1 Main St", "city": "Springfield", "region": "IL", "postcode": "62701", "country": "USA"}
    assert address_line(springfield) == "1 Main St, Springfield, IL 62701, USA"
    assert address_line({"city": "Lyon", "region": "Auvergne-Rhône-Alpes"}) == "Lyon, Auvergne-Rhône-Alpes"
    assert address_line({"country": "Japan"}) == "Japan"
    assert address_line({"city": "Hamburg", "region": "hamburg", "postcode": "20095"}) == "20095 Hamburg"
    assert address_line({"street": None, "city": ""}) is None


def test_documents_stay_what_they_were_without_the_new_parts() -> None:
    """The importer calls contact_document positionally: the old call gives the old document."""
    old = contact_document("Anna Müller", "CTO", "Acme", ["anna@acme.de"], [], ["vip"], None, {"industry": "SaaS"})
    assert old == "Anna Müller CTO Acme anna@acme.de vip SaaS Anna Muller CTO Acme anna@acme.de vip SaaS"
    full = contact_document(
        "Anna Müller", None, None, [], [], [], None, {}, street="Hauptstraße 5", city="Berlin", region="BE",
        postcode="10115", country="Germany", website="https://acme.de",
    )  # fmt: skip
    assert full.startswith("Anna Müller Hauptstraße 5 Berlin BE 10115 Germany https://acme.de")
    parts = document_parts("A", None, None, [], [], [], None, {})
    assert parts[-6:] == [None] * 6
    assert company_document("Acme") == "Acme"
    assert (
        company_document("Acme", tags=["b", "a"], city="Köln", industry="SaaS")
        == "Acme a b Köln SaaS Acme a b Koln SaaS"
    )


# ---------------------------------------------------------------- the domain, on both backends


def _anna(session, **extra):
    return contacts.add_contact(
        session, name="Anna Müller", emails=["anna@acme.de"], street="  Hauptstraße\u00a05 ", city="Berlin",
        state="Berlin", postcode="10115", country="Germany", birthday="15 April 1985", website="acme.de", **extra,
    )  # fmt: skip


def test_contacts_keep_address_birthday_and_website(session) -> None:
    anna = _anna(session)
    assert (anna.street, anna.city, anna.region, anna.postcode, anna.country) == (
        "Hauptstraße 5",
        "Berlin",
        "Berlin",
        "10115",
        "Germany",
    )
    assert (anna.birthday, anna.website) == ("1985-04-15", "https://acme.de")
    (row,) = contacts.list_contacts(session)
    assert {k: row[k] for k in ("street", "city", "region", "postcode", "country", "birthday", "website")} == {
        "street": "Hauptstraße 5",
        "city": "Berlin",
        "region": "Berlin",
        "postcode": "10115",
        "country": "Germany",
        "birthday": "1985-04-15",
        "website": "https://acme.de",
    }
    view = views.contact_view(session, anna)
    assert view["birthday"] == "1985-04-15" and view["city"] == "Berlin"


def test_contact_edits_change_and_clear_the_new_fields(session) -> None:
    anna = _anna(session)
    contacts.edit_contact(session, anna, city="Hamburg", postcode="20095", birthday="--04-15", website="")
    assert (anna.city, anna.postcode, anna.birthday, anna.website, anna.street) == (
        "Hamburg",
        "20095",
        "--04-15",
        None,
        "Hauptstraße 5",  # not given: left as it is
    )
    contacts.edit_contact(session, anna, street="", city=" ", state="", postcode="", country="", birthday="")
    assert (anna.street, anna.city, anna.region, anna.postcode, anna.country, anna.birthday) == (None,) * 6


def test_a_bad_birthday_or_website_stores_nothing(session) -> None:
    with pytest.raises(Invalid, match="ambiguous birthday"):
        contacts.add_contact(session, name="Bo", birthday="04/05/1985")
    with pytest.raises(Invalid, match="not a web address"):
        contacts.add_contact(session, name="Bo", website="bo@x.de")
    assert contacts.list_contacts(session) == []
    anna = _anna(session)
    with pytest.raises(Invalid, match="no such day"):
        contacts.edit_contact(session, anna, birthday="1985-02-30")
    with pytest.raises(Invalid, match="invalid website"):
        companies.add_company(session, name="Acme", website="not a site")


def test_companies_keep_address_and_industry_and_a_clean_website(session) -> None:
    acme = companies.add_company(
        session, name="Acme Inc.", website="Acme.com/", street="1 Main St", city="Springfield", state="IL",
        postcode="62701", country="USA", industry=" Manufacturing ",
    )  # fmt: skip
    assert (acme.website, acme.region, acme.industry) == ("https://acme.com", "IL", "Manufacturing")
    (row,) = companies.list_companies(session)
    assert {k: row[k] for k in ("street", "city", "region", "postcode", "country", "industry")} == {
        "street": "1 Main St",
        "city": "Springfield",
        "region": "IL",
        "postcode": "62701",
        "country": "USA",
        "industry": "Manufacturing",
    }
    companies.edit_company(session, acme, city="Chicago", industry="", website="www.acme.com")
    assert (acme.city, acme.industry, acme.website, acme.street) == (
        "Chicago",
        None,
        "https://www.acme.com",
        "1 Main St",
    )
    companies.edit_company(session, acme, street="", state="", postcode="", country="")
    assert (acme.street, acme.region, acme.postcode, acme.country) == (None,) * 4
    assert views.company_view(session, acme)["city"] == "Chicago"


def test_list_where_filters_the_new_fields(session) -> None:
    _anna(session)
    contacts.add_contact(session, name="Bo", city="Paris", country="France", birthday="1990-04-15", website="bo.fr")
    contacts.add_contact(session, name="Cy", city="Berlin", birthday="--12-24")

    def names(*where: str) -> list[str]:
        return [r["name"] for r in contacts.list_contacts(session, where=list(where))]

    assert names("city=Berlin") == ["Anna Müller", "Cy"]
    assert names("city= Berlin ", "country=Germany") == ["Anna Müller"]
    assert names("postcode=10115") == names("street=Hauptstraße 5") == names("region=Berlin") == ["Anna Müller"]
    assert names("state=Berlin") == ["Anna Müller"]
    assert names("city=") == []  # nobody lacks a city here
    assert names("country=") == ["Cy"]  # no country
    assert names("birthday=1985-04-15") == ["Anna Müller"]
    assert names("birthday=--04-15") == ["Anna Müller", "Bo"]  # a day without a year: that day, any year
    assert names("birthday=24 December") == ["Cy"]
    assert names("website=bo.fr") == names("website=https://bo.fr") == ["Bo"]
    with pytest.raises(UsageError, match="ambiguous birthday"):  # a filter's value: a usage error (exit 2)
        names("birthday=04/05/1985")

    companies.add_company(session, name="Acme", city="Berlin", industry="SaaS", country="DE", website="acme.de")
    companies.add_company(session, name="Globex", city="Springfield", state="IL", industry="Retail", postcode="62701")

    def firms(*where: str) -> list[str]:
        return [r["name"] for r in companies.list_companies(session, where=list(where))]

    assert firms("industry=SaaS") == firms("city=Berlin") == firms("country=DE") == ["Acme"]
    assert firms("region=IL") == firms("state=IL") == firms("postcode=62701") == ["Globex"]
    assert firms("website=acme.de") == ["Acme"]
    assert firms("street=") == ["Acme", "Globex"]


def test_where_on_a_custom_field_still_reaches_it(session) -> None:
    fields.add_field(session, entity="contacts", name="industry", type="choice", choices=["SaaS", "Retail"])
    _anna(session, custom={"industry": "SaaS"})
    assert [r["name"] for r in contacts.list_contacts(session, where=["industry=saas", "city=Berlin"])] == [
        "Anna Müller"
    ]


def test_search_finds_people_and_companies_by_address_and_industry(session) -> None:
    anna = _anna(session)
    companies.add_company(session, name="Globex", city="Springfield", industry="Logistics", country="USA")
    session.flush()
    assert [h["id"] for h in search.search(session, "berlin", kinds=["contact"])] == [anna.id]
    assert [h["id"] for h in search.search(session, "anna germany")] == [anna.id]
    assert [h["id"] for h in search.search(session, "10115")] == [anna.id]
    assert [h["title"] for h in search.search(session, "logistics")] == ["Globex"]
    assert [h["title"] for h in search.search(session, "springfield usa")] == ["Globex"]
    contacts.edit_contact(session, anna, city="Hamburg", state="")
    session.flush()
    assert search.search(session, "berlin") == []  # the index follows edits
    assert [h["id"] for h in search.search(session, "hamburg")] == [anna.id]


def test_company_search_document_is_what_company_document_writes(session) -> None:
    """The importer writes company documents without the domain layer: the same text."""
    from sqlmodel import select

    fields.add_field(session, entity="companies", name="employees", type="number")
    acme = companies.add_company(
        session, name="Acme", domain="acme.de", website="acme.de", phone="+49 30 1234567", tags=["b", "a"],
        notes="Key", custom={"employees": "40"}, street="Weg 1", city="Köln", postcode="50667", country="DE",
        industry="SaaS",
    )  # fmt: skip
    session.flush()
    body = session.exec(select(SearchDoc.body).where(SearchDoc.kind == "company", SearchDoc.ref_id == acme.id)).one()
    assert body == company_document(
        "Acme", domain="acme.de", website="https://acme.de", phone="+49301234567", tags=["a", "b"], notes="Key",
        custom={"employees": "40"}, street="Weg 1", city="Köln", postcode="50667", country="DE", industry="SaaS",
    )  # fmt: skip


def test_doctor_finds_birthdays_and_websites_stored_before_they_were_checked(session) -> None:
    from sqlalchemy import update

    from crmcli.domain import doctor
    from crmcli.models import Company, Contact

    anna = _anna(session)
    acme = companies.add_company(session, name="Acme")
    assert doctor.items(session, "invalid_values") == []
    session.execute(update(Company).where(Company.id == acme.id).values(website="acme.de"))  # as crm stored it before
    session.execute(update(Contact).where(Contact.id == anna.id).values(birthday="04/05/1985", website="x"))
    session.flush()
    found = {(i["problem"], i["fix"]) for i in doctor.items(session, "invalid_values")}
    assert found == {
        (
            "ambiguous birthday '04/05/1985': write it as YYYY-MM-DD (or --MM-DD)",
            f"crm contacts edit {anna.id} --birthday BIRTHDAY",
        ),
        (
            "invalid website 'x': use a web address such as https://example.com",
            f"crm contacts edit {anna.id} --website WEBSITE",
        ),
        (
            "website 'acme.de' would be stored as 'https://acme.de'",
            f"crm companies edit {acme.id} --website https://acme.de",
        ),
    }


# ---------------------------------------------------------------- the command line


def test_cli_contacts_add_show_edit_and_list(cli) -> None:
    added = ok(
        cli(
            "contacts", "add", "Anna Müller", "-e", "anna@acme.de", "--street", "Hauptstraße 5", "--city", "Berlin",
            "--postcode", "10115", "--country", "Germany", "--birthday", "--04-15", "--website", "acme.de",
            "-f", "json",
        )
    )  # fmt: skip
    record = json.loads(added.stdout)
    assert (record["birthday"], record["website"], record["city"]) == ("--04-15", "https://acme.de", "Berlin")
    cid = str(record["id"])
    plain = ok(cli("contacts", "show", cid, "-f", "plain")).stdout
    assert "Address\tHauptstraße 5, 10115 Berlin, Germany\n" in plain
    assert "Birthday\t04-15 (year unknown)\n" in plain and "Website\thttps://acme.de\n" in plain
    shown = json.loads(ok(cli("contacts", "show", cid, "-f", "json")).stdout)
    assert "address" not in shown and shown["postcode"] == "10115"  # data formats keep the parts
    ok(cli("contacts", "edit", cid, "--birthday", "1985-04-15", "--city", "", "--state", "BE", "--website", ""))
    plain = ok(cli("contacts", "show", cid, "-f", "plain")).stdout
    assert "Address\tHauptstraße 5, 10115, BE, Germany\n" in plain and "Birthday\t1985-04-15\n" in plain
    assert "Website" not in plain
    ok(cli("contacts", "add", "Bo", "--city", "Paris"))
    assert ok(cli("contacts", "list", "--where", "region=BE", "-q")).stdout.split() == [cid]
    assert ok(cli("contacts", "list", "--where", "city=Paris", "-f", "json")).stdout.count('"name"') == 1
    assert [h["title"] for h in json.loads(ok(cli("search", "paris", "-f", "json")).stdout)] == ["Bo"]
    one_line_error(cli("contacts", "add", "Cy", "--birthday", "04/05/1985"), 1, "ambiguous birthday '04/05/1985'")
    one_line_error(cli("contacts", "edit", cid, "--website", "anna@acme.de"), 1, "not a web address")


def test_cli_companies_add_show_edit_and_list(cli) -> None:
    added = ok(
        cli(
            "companies", "add", "Globex Corp", "--street", "1 Main St", "--city", "Springfield", "--state", "IL",
            "--postcode", "62701", "--country", "USA", "--industry", "Logistics", "--website", "globex.com",
        )
    )  # fmt: skip
    gid = added.stdout.strip()
    plain = ok(cli("companies", "show", gid, "-f", "plain")).stdout
    assert "Address\t1 Main St, Springfield, IL 62701, USA\n" in plain
    assert "Industry\tLogistics\n" in plain and "Website\thttps://globex.com\n" in plain
    ok(cli("companies", "edit", gid, "--industry", "Retail", "--postcode", ""))
    shown = json.loads(ok(cli("companies", "show", gid, "-f", "json")).stdout)
    assert (shown["industry"], shown["postcode"], shown["region"]) == ("Retail", None, "IL")
    assert ok(cli("companies", "list", "--where", "industry=Retail", "-q")).stdout.split() == [gid]
    assert ok(
        cli("companies", "list", "--where", "country=USA", "--where", "city=Springfield", "-q")
    ).stdout.split() == [gid]


def test_cli_help_names_the_new_options(cli) -> None:
    for group, options in (
        ("contacts", ("--street", "--city", "--state", "--postcode", "--country", "--birthday", "--website")),
        ("companies", ("--street", "--city", "--state", "--postcode", "--country", "--industry")),
    ):
        for command in ("add", "edit"):
            text = ok(cli(group, command, "--help", env={"COLUMNS": "200"})).stdout
            assert all(o in text for o in options), (group, command)


# ---------------------------------------------------------------- export


def _filled(session) -> None:
    fields.add_field(session, entity="contacts", name="seats", type="number")
    fields.add_field(session, entity="contacts", name="signed", type="date")
    fields.add_field(session, entity="contacts", name="vip", type="bool")
    fields.add_field(session, entity="contacts", name="tier", type="choice", choices=["Gold", "A|B", "C\\D"])
    fields.add_field(session, entity="contacts", name="mood", type="text")
    fields.add_field(session, entity="contacts", name="blog", type="url")
    _anna(
        session,
        custom={"seats": "25", "signed": "2026-11-01", "vip": "yes", "tier": "a|b", "mood": "=calm", "free": "x"},
        company="Acme; Sons, Ltd",
        notes="Semi; colon, comma \\ backslash",
    )
    contacts.add_contact(session, name="Bo", emails=["bo@x.de"])
    companies.edit_company(
        session, lookup.resolve_company(session, "Acme; Sons, Ltd"), city="Köln", industry="SaaS", country="DE"
    )
    session.commit()


def test_csv_carries_the_new_columns_and_typed_custom_headers(session) -> None:
    _filled(session)
    records = contacts.list_contacts(session, sort="name")
    data = export.render(session, "contacts", records, "csv").decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(data, newline=""))
    assert reader.fieldnames is not None
    custom = [h for h in reader.fieldnames if h.startswith("custom.")]
    assert custom == [
        "custom.free", "custom.mood", "custom.seats:number", "custom.signed:date",
        "custom.tier:choice(Gold|A\\|B|C\\\\D)", "custom.vip:bool",
    ]  # fmt: skip
    assert reader.fieldnames[-8:-1] == ["street", "city", "region", "postcode", "country", "birthday", "website"]
    anna = next(reader)
    assert (anna["street"], anna["postcode"], anna["birthday"], anna["website"]) == (
        "Hauptstraße 5",
        "10115",
        "1985-04-15",
        "https://acme.de",
    )
    assert anna["custom.tier:choice(Gold|A\\|B|C\\\\D)"] == "A|B" and anna["custom.vip:bool"] == "true"
    assert anna["custom.mood"] == "'=calm"  # neutralised as any cell
    companies_csv = export.render(session, "companies", export.rows(session, "companies"), "csv").decode("utf-8-sig")
    (acme,) = csv.DictReader(io.StringIO(companies_csv, newline=""))
    assert (acme["city"], acme["country"], acme["industry"]) == ("Köln", "DE", "SaaS")
    assert list(acme)[-6:] == ["street", "city", "region", "postcode", "country", "industry"]


def test_empty_exports_have_the_columns_a_full_one_has(session) -> None:
    _anna(session, company="Acme")
    for kind in ("contacts", "companies"):
        (row,) = export.rows(session, kind)
        assert export.HEADERS[kind] == [k for k in row if k != "custom"], kind


def test_empty_exports_have_the_new_columns_in_their_header() -> None:
    header = export.csv_bytes("contacts", [], bom=False).decode().splitlines()[0].split(",")
    assert header[-8:] == ["street", "city", "region", "postcode", "country", "birthday", "website", "cadence_days"]
    header = export.csv_bytes("companies", [], bom=False).decode().splitlines()[0].split(",")
    assert header[-6:] == ["street", "city", "region", "postcode", "country", "industry"]


def test_xlsx_headers_are_typed_and_cells_stay_typed(session) -> None:
    from openpyxl import load_workbook

    _filled(session)
    data = export.render(session, "contacts", contacts.list_contacts(session, sort="name"), "xlsx")
    sheet = load_workbook(io.BytesIO(data)).active
    header = [c.value for c in sheet[1]]
    assert "custom.seats:number" in header and "custom.tier:choice(Gold|A\\|B|C\\\\D)" in header
    anna = dict(zip(header, sheet[2], strict=True))
    assert anna["custom.seats:number"].value == 25 and anna["custom.signed:date"].is_date
    assert anna["custom.vip:bool"].value is True and anna["city"].value == "Berlin"
    assert anna["birthday"].value == "1985-04-15"  # text: a year-less birthday is no Excel date


def test_vcard_writes_adr_bday_url_and_typed_fields(session) -> None:
    import vobject

    _filled(session)
    contacts.edit_contact(session, lookup.resolve_contact(session, "bo@x.de"), birthday="--12-24")
    text = export.render(session, "contacts", contacts.list_contacts(session, sort="name"), "vcf").decode()
    anna, bo = vobject.readComponents(text)
    adr = anna.adr
    assert adr.params["TYPE"] == ["WORK"]
    assert (adr.value.street, adr.value.city, adr.value.region, adr.value.code, adr.value.country) == (
        "Hauptstraße 5",
        "Berlin",
        "Berlin",
        "10115",
        "Germany",
    )
    assert anna.bday.value == "1985-04-15" and anna.url.value == "https://acme.de"
    assert "BDAY:--12-24\r\n" in text and "adr" not in bo.contents and "url" not in bo.contents
    assert [f.value for f in anna.contents["x-crm-field"]] == [
        "free=x", "mood==calm", "seats:number=25", "signed:date=2026-11-01", "tier:choice(Gold|A\\|B|C\\\\D)=A|B",
        "vip:bool=true",
    ]  # fmt: skip


def test_json_types_the_declared_fields_json_cannot(session) -> None:
    _filled(session)
    anna, bo = json.loads(export.render(session, "contacts", contacts.list_contacts(session, sort="name"), "json"))
    assert anna["custom"] == {
        "free": "x", "mood": "=calm", "seats:number": "25", "signed:date": "2026-11-01",
        "tier:choice(Gold|A\\|B|C\\\\D)": "A|B", "vip": True,
    }  # fmt: skip
    assert bo["custom"] == {} and anna["city"] == "Berlin" and anna["birthday"] == "1985-04-15"


def test_contacts_export_their_keep_in_touch_cadence(session) -> None:
    import vobject

    from crmcli.domain import followups

    anna = _anna(session)
    followups.set_cadence(session, anna, 30)
    session.commit()
    records = export.rows(session, "contacts")
    assert records[0]["cadence_days"] == 30
    (card,) = vobject.readComponents(export.render(session, "contacts", records, "vcf").decode())
    assert card.contents["x-crm-cadence"][0].value == "30"
    assert card.contents["x-crm-id"][0].value == str(anna.id)  # as CSV's id: namesakes stay apart on import
    row = next(csv.DictReader(io.StringIO(export.render(session, "contacts", records, "csv").decode("utf-8-sig"))))
    assert row["cadence_days"] == "30"


def test_vcard_escapes_semicolons_commas_backslashes_and_line_breaks(session) -> None:
    import vobject

    nasty = "Semi; colon, comma \\ back\nslash"
    records = [
        {
            "name": "Müller, Anna; Jr.", "emails": [], "phones": [], "company": "Acme; Sons, Ltd", "title": nasty,
            "notes": nasty, "tags": ["a,b", "c;d"], "street": "Hof 1; Tor 2, links", "city": "Köln\\Deutz",
            "region": None, "postcode": "50679", "country": "DE", "owner": "a;b", "source": "x,y",
            "custom": {"note": nasty}, "external_id": "id;1", "birthday": None, "website": "https://a.de/x;y,z",
        }
    ]  # fmt: skip
    text = export.vcf_bytes(records).decode()
    for line in text.split("\r\n"):
        assert "\n" not in line  # a line break in a value never ends the line
    assert "NOTE:Semi\\; colon\\, comma \\\\ back\\nslash\r\n" in text
    assert "ADR;TYPE=WORK:;;Hof 1\\; Tor 2\\, links;Köln\\\\Deutz;;50679;DE\r\n" in text
    assert "ORG:Acme\\; Sons\\, Ltd\r\n" in text and "CATEGORIES:a\\,b,c\\;d\r\n" in text
    (card,) = vobject.readComponents(text)
    assert card.fn.value == "Müller, Anna; Jr." and card.note.value == nasty and card.title.value == nasty
    assert card.org.value == ["Acme; Sons, Ltd"] and card.categories.value == ["a,b", "c;d"]
    assert card.adr.value.street == "Hof 1; Tor 2, links" and card.adr.value.city == "Köln\\Deutz"
    assert card.contents["x-crm-field"][0].value == f"note={nasty}"
    assert card.contents["x-crm-owner"][0].value == "a;b" and card.uid.value == "id;1"


def test_no_company_ever_becomes_a_card(session, cli, tmp_path: Path) -> None:
    """A person whose name is their company's is still a person; companies are refused."""
    from crmcli.errors import UsageError

    contacts.add_contact(session, name="Acme GmbH", company="Acme GmbH", emails=["info@acme.de"])
    session.commit()
    text = export.render(session, "contacts", export.rows(session, "contacts"), "vcf").decode()
    assert text.count("BEGIN:VCARD") == 1
    assert "KIND" not in text.upper().replace("\r\n ", "") and "X-ABSHOWAS" not in text.upper()
    with pytest.raises(UsageError, match="vCard holds contacts only"):
        export.render(session, "companies", export.rows(session, "companies"), "vcf")
    one_line_error(cli("export", "companies", str(tmp_path / "c.vcf")), 2, "vCard holds contacts only")
    assert not (tmp_path / "c.vcf").exists()


# ---------------------------------------------------------------- migration 0008


def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(storage.__file__).parent / "migrations"))
    with storage.get_engine(url).begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def test_migration_0008_adds_the_columns_and_keeps_what_was_there(tmp_path: Path) -> None:
    from sqlalchemy import inspect

    url = f"sqlite:///{tmp_path / 'old.db'}"
    _migrate(url, "0007")
    with storage.get_engine(url).begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO contact (name, name_key, custom, created_at, updated_at) "
            "VALUES ('Anna', 'anna', '{}', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
        conn.exec_driver_sql("INSERT INTO contact_email (contact_id, email, is_primary) VALUES (1, 'a@b.de', 1)")
    storage.dispose_all()
    engine, _ = storage.open_engine(url)  # upgrades, with a backup
    assert (tmp_path / "old.db.bak-0007").exists()
    columns = {t: {c["name"] for c in inspect(engine).get_columns(t)} for t in ("contact", "company", "import_run")}
    assert {"street", "city", "region", "postcode", "country", "birthday", "website"} <= columns["contact"]
    assert {"street", "city", "region", "postcode", "country", "industry", "website"} <= columns["company"]
    assert "report_file" in columns["import_run"]
    indexes = {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("import_change")}
    assert indexes["ix_import_change_entity_source"] == ["entity", "source_id"]
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT name, city, birthday FROM contact").one() == ("Anna", None, None)
    storage.dispose_all()
    _migrate(url, "0007", down=True)  # in place: the emails survive (a copied table would cascade them away)
    with storage.get_engine(url).connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM contact_email").scalar() == 1
        assert "city" not in {c["name"] for c in inspect(conn).get_columns("contact")}


def test_migration_0008_goes_down_and_up_again(db_url: str) -> None:
    engine, _ = storage.open_engine(db_url)
    with storage.session_scope(db_url, write=True) as s:
        _anna(s)
    _migrate(db_url, "0007", down=True)
    with engine.connect() as conn:
        assert storage.current_revision(conn) == "0007"
        assert conn.exec_driver_sql("SELECT count(*) FROM contact_email").scalar() == 1
    _migrate(db_url, "head")
    with storage.session_scope(db_url) as s:
        (row,) = contacts.list_contacts(s)
        assert row["city"] is None and row["email"] == "anna@acme.de"


# ---------------------------------------------------------------- the demo


def test_the_demo_has_addresses_birthdays_websites_and_industries(tmp_path: Path, monkeypatch) -> None:
    from crmcli import demo

    monkeypatch.setenv("CRM_NOW", "2026-11-23T09:00:00Z")
    with storage.session_scope(str(tmp_path / "demo.db"), write=True) as s:
        demo.load(s)
        people = contacts.list_contacts(s)
        firms = companies.list_companies(s)
    assert all(f["city"] and f["country"] and f["industry"] and f["street"] for f in firms)
    assert next(f for f in firms if f["name"] == "Lyon Data Services SAS")["city"] == "Lyon"
    with_city = [p for p in people if p["city"]]
    birthdays = [p["birthday"] for p in people if p["birthday"]]
    assert 30 < len(with_city) < 150 and 10 < sum(1 for p in people if p["website"]) < 100
    assert any(b.startswith("--") for b in birthdays) and any(not b.startswith("--") for b in birthdays)
    assert all(normalize_birthday(b) == b for b in birthdays)


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40).map(clean_text)


@settings(max_examples=200, deadline=None)
@given(
    name=_TEXT.filter(bool),
    company=_TEXT,
    notes=_TEXT,
    tags=st.lists(_TEXT.filter(bool), max_size=3, unique=True),
    street=_TEXT,
    city=_TEXT,
    custom=_TEXT,
)
def test_vcard_text_reads_back_as_written(
    name: str, company: str, notes: str, tags: list[str], street: str, city: str, custom: str
) -> None:
    """Whatever the text, a vCard reader gets back what the export wrote: escaping loses nothing."""
    import vobject

    record = {
        "name": name, "emails": [], "phones": [], "company": company or None, "notes": notes or None,
        "tags": tags, "street": street or None, "city": city or None, "custom": {"k": custom} if custom else {},
    }  # fmt: skip
    (card,) = vobject.readComponents(export.vcf_bytes([record]).decode("utf-8"))
    assert card.fn.value == name
    assert card.org.value == [company] if company else "org" not in card.contents
    assert card.note.value == notes if notes else "note" not in card.contents
    assert card.categories.value == tags if tags else "categories" not in card.contents
    if street or city:
        assert (card.adr.value.street, card.adr.value.city) == (street, city)
    if custom:
        assert card.contents["x-crm-field"][0].value == f"k={custom}"


def test_custom_fields_cannot_take_a_built_in_name_of_their_record(session) -> None:
    """city is a contact's and a company's own field; industry a company's (contacts may keep one)."""
    for entity, name in (("contacts", "city"), ("contacts", "birthday"), ("companies", "industry"),
                         ("companies", "postcode")):  # fmt: skip
        with pytest.raises(Invalid, match="built-in field"):
            fields.add_field(session, entity=entity, name=name)
    assert fields.add_field(session, entity="contacts", name="industry").name == "industry"
    with pytest.raises(Invalid, match="built-in field"):
        contacts.add_contact(session, name="Anna", custom={"city": "Berlin"})


def test_choices_carry_their_escapes() -> None:
    from crmcli.values.fieldtypes import split_choices

    assert split_choices(r"Gold|Silver|A\|B|C\\D") == ["Gold", "Silver", "A|B", "C\\D"]
    assert split_choices("") == [] and split_choices(None) == []
