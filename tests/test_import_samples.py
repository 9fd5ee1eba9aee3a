"""Real exports (tests/data: Outlook, Google, Thunderbird, HubSpot, Salesforce Data Loader, Twenty,
sheets in Italian, Portuguese, Vietnamese and French, vCards from phones and mail clients; their
sources are in each folder's SOURCES.md) go in whole: every row is accounted for, nobody is lost
for one bad value, and nothing writes to stderr. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from crmcli import importer, storage
from crmcli.domain import companies, contacts

DATA = Path(__file__).parent / "data"
SAMPLES = sorted(p for folder in ("csv", "xlsx", "vcard") for p in (DATA / folder).iterdir() if p.name != "SOURCES.md")
# file → (kind, read, rejected); everything read and not rejected is a new record in an empty database
EXPECTED = {
    "broken-among-good.vcf": ("contacts", 6, 3),
    "gmail-30.vcf": ("contacts", 3, 0),
    "legacy-charsets-21.vcf": ("contacts", 3, 0),
    "android-21.vcf": ("contacts", 3, 0),
    "android-21-quirks.vcf": ("contacts", 4, 0),  # the AGENT card nested in one is not one of its own
    "macos-30.vcf": ("contacts", 2, 0),
    "outlook-2007.vcf": ("contacts", 2, 0),
    "utf16le-bom.vcf": ("contacts", 2, 0),
    "khard-40.vcf": ("contacts", 3, 0),
    "hubspot-contacts.csv": ("contacts", 6, 0),
    "salesforce-accounts.csv": ("companies", 5, 0),
    "salesforce-accounts-insert.csv": ("companies", 4, 0),
    "salesforce-opportunities.csv": ("deals", 8, 0),
    "twenty-spreadsheet-import.csv": ("contacts", 6, 0),
    "linkedin-outlook-format.csv": ("contacts", 3, 0),
    "thunderbird-basic.csv": ("contacts", 2, 0),
    "thunderbird-semicolon.csv": ("contacts", 2, 0),
    "it-clienti.xlsx": ("companies", 2, 0),
    "it-fornitori.xlsx": ("companies", 2, 0),
}


def _import(db_url: str, path: Path, tmp_path: Path, **kw: Any) -> dict[str, Any]:
    engine, _ = storage.open_engine(db_url)
    with storage.make_session(engine, write=True) as s:
        return importer.import_file(s, path, report=tmp_path / "report.csv", force=True, **kw)


def _report(tmp_path: Path) -> list[dict[str, str]]:
    path = tmp_path / "report.csv"
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))) if path.exists() else []


def _people(db_url: str) -> dict[str, dict[str, Any]]:
    with storage.session_scope(db_url) as s:
        return {r["name"]: r for r in contacts.list_contacts(s)}


def _companies(db_url: str) -> dict[str, dict[str, Any]]:
    with storage.session_scope(db_url) as s:
        return {r["name"]: r for r in companies.list_companies(s)}


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_every_real_sample_goes_in_whole(db_url: str, tmp_path: Path, sample: Path, capfd) -> None:
    result = _import(db_url, sample, tmp_path)
    counts = result["counts"]
    assert counts["read"] == sum(counts[k] for k in ("created", "updated", "merged", "skipped", "rejected"))
    assert counts["read"] > 0 and counts["created"] + counts["merged"] == counts["read"] - counts["rejected"]
    if sample.name in EXPECTED:
        kind, read, rejected = EXPECTED[sample.name]
        assert (result["kind"], counts["read"], counts["rejected"]) == (kind, read, rejected)
    else:
        assert counts["rejected"] == 0, result["report"][:5]
    lines = _report(tmp_path)
    assert sum(1 for r in lines if r["event"] == "rejected") == counts["rejected"]
    assert sum(1 for r in lines if r["event"] == "value dropped") == counts["dropped"]
    assert all(r["reason"] for r in lines if r["event"] != "merged into")
    assert capfd.readouterr().err == ""  # no library talks on stderr


def test_vcards_of_companies_and_their_people(db_url: str, tmp_path: Path) -> None:
    """Organisation cards become companies; people whose ORG names them are linked; what could not
    be used is reported with the card's line."""
    _import(db_url, DATA / "vcard" / "macos-30.vcf", tmp_path)
    _import(db_url, DATA / "vcard" / "outlook-2007.vcf", tmp_path)
    _import(db_url, DATA / "vcard" / "khard-40.vcf", tmp_path, region="US")
    dropped = [r for r in _report(tmp_path) if r["event"] == "value dropped"]
    found, firms = _people(db_url), _companies(db_url)
    assert firms["Brauerei Aying GmbH"]["city"] == "Aying"
    astrid = found["Astrid Lindqvist"]
    assert astrid["company"] == "Brauerei Aying GmbH" and astrid["birthday"] == "--04-15"
    siobhan = next(p for name, p in found.items() if "Siobhan" in name)
    assert siobhan["company"] == "Harbour Logistics" and siobhan["custom"]["department"] == "Customs, Dublin Port"
    assert "ACME Inc." in firms and found["Wile E. Coyote"]["company"] == "ACME Inc." and "Road Runner" in found
    assert "Wile E. Coyote" not in firms and "Brauerei Aying GmbH" not in found  # a company card is no person
    assert ("birthday", "circa 1949") in {(r["column"], r["value"]) for r in dropped}


def test_vcards_as_phones_and_mail_clients_write_them(db_url: str, tmp_path: Path) -> None:
    _import(db_url, DATA / "vcard" / "rfc6350-example.vcf", tmp_path, region="CA")
    simon = _people(db_url)["Simon Perreault"]
    assert simon["phones"] == ["+14186569254 ext. 102", "+14182626501"] and simon["birthday"] == "--02-03"
    _import(db_url, DATA / "vcard" / "outlook-2003.vcf", tmp_path, region="DE")
    juergen = _people(db_url)["Jürgen Müller"]
    assert "+4989123456" in juergen["phones"]
    assert {r["value"] for r in _report(tmp_path) if r["event"] == "value dropped"} >= {"BusinessPhone", "MobilePhone"}
    _import(db_url, DATA / "vcard" / "utf16le-bom.vcf", tmp_path)
    zofia = _people(db_url)["Zofia Wiśniewska"]
    assert zofia["birthday"] == "1980-02-29" and "Łódzkie Młyny Sp. z o.o." in _companies(db_url)
    _import(db_url, DATA / "vcard" / "legacy-charsets-21.vcf", tmp_path)
    assert {"Sören Nüßlein", "Βαγγέλης Παπαδόπουλος"} <= set(_people(db_url))
    result = _import(db_url, DATA / "vcard" / "broken-among-good.vcf", tmp_path)
    rejected = [r for r in _report(tmp_path) if r["event"] == "rejected"]
    assert [r["row"] for r in rejected] == ["6", "10", "13"] and result["counts"]["created"] == 3


def test_salesforce_opportunities_link_to_their_accounts(db_url: str, tmp_path: Path) -> None:
    """Only a record's own ID is its external id; ACCOUNTID links the deal to the account imported with
    that id; Closed Won / Closed Lost become won / lost."""
    from crmcli.domain import deals

    _import(db_url, DATA / "csv" / "salesforce-accounts.csv", tmp_path)
    with storage.session_scope(db_url) as s:
        accounts = {c["external_id"]: c["name"] for c in companies.list_companies(s)}
    result = _import(db_url, DATA / "csv" / "salesforce-opportunities.csv", tmp_path)
    assert result["counts"]["created"] == 8
    rows = list(csv.DictReader((DATA / "csv" / "salesforce-opportunities.csv").open(encoding="utf-8-sig")))
    with storage.session_scope(db_url) as s:
        stored = {d["external_id"]: d for d in deals.list_deals(s)}
    assert set(stored) == {r["ID"] for r in rows}  # 8 deals, each under its own id
    for row in rows:
        deal = stored[row["ID"]]
        if row["ACCOUNTID"] in accounts:
            assert deal["company"] == accounts[row["ACCOUNTID"]]
        if row["STAGENAME"] == "Closed Won":
            assert deal["status"] == "won"
        elif row["STAGENAME"] == "Closed Lost":
            assert deal["status"] == "lost"
