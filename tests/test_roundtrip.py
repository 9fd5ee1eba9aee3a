"""Round trips are lossless: `crm export KIND FILE` then `crm import FILE` into an empty database
gives the same records, for every format and kind it carries; on the demo database and on
generated records (hypothesis). Targets run on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import unicodedata
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcli import importer, storage
from crmcli.exporter import records as export

KINDS = ("companies", "contacts", "deals", "activities", "followups")  # the order a migration imports them in
FORMATS = ("csv", "xlsx", "json", "vcf")
# What the target computes itself or numbers anew: ids (and the ids records link by), edit times,
# and what is derived from the clock or from other records.
VOLATILE = {"id", "company_id", "contact_id", "deal_id", "updated_at", "last_touch", "days_in_stage", "stalled",
            "relative", "status_now", "people"}  # fmt: skip


def _comparable(kind: str, records: list[dict[str, Any]]) -> list[str]:
    """KIND's records as sorted JSON texts without what the target numbers anew."""
    out = []
    for record in records:
        # times travel to the second, as every export writes them
        kept = {k: v.replace(microsecond=0) if isinstance(v, datetime) else v for k, v in record.items()
                if k not in VOLATILE}  # fmt: skip
        if kind == "followups" and record.get("kind") == "cadence":
            kept.pop("uid", None)  # a cadence follow-up's uid is derived from its contact's id
        out.append(json.dumps(kept, sort_keys=True, default=str, ensure_ascii=False))
    return sorted(out)


def _records(url: str, kind: str) -> list[dict[str, Any]]:
    with storage.session_scope(url) as s:
        filters = {"window": "all"} if kind == "followups" else {}
        return export.rows(s, kind, **filters)


def _export(url: str, kind: str, fmt: str, path: Path) -> None:
    with storage.session_scope(url) as s:
        filters = {"window": "all"} if kind == "followups" else {}
        records = export.rows(s, kind, **filters)
        path.write_bytes(export.render(s, kind, records, fmt))


def _round_trip(source: str, target: str, fmt: str, folder: Path, kinds: tuple[str, ...] = KINDS) -> dict[str, Any]:
    results = {}
    for kind in kinds:
        if fmt == "vcf" and kind != "contacts":
            continue
        path = folder / f"{kind}.{fmt}"
        _export(source, kind, fmt, path)
        engine, _ = storage.open_engine(target)
        with storage.make_session(engine, write=True) as s:
            results[kind] = importer.import_file(s, path, kind=kind, region="DE")
    return results


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    from crmcli import demo

    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    with storage.session_scope(url, write=True) as s:
        demo.load(s)
    storage.dispose_all()
    return url


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_demo_round_trips_in_every_format(demo_db: str, db_url: str, tmp_path: Path, fmt: str) -> None:
    results = _round_trip(demo_db, db_url, fmt, tmp_path)
    for kind, result in results.items():
        counts = result["counts"]
        assert counts["rejected"] == 0 and counts["dropped"] == 0, (kind, result["report"][:5])
        assert counts["created"] + counts["skipped"] == counts["read"], kind
    kinds = ("contacts",) if fmt == "vcf" else KINDS
    for kind in kinds:
        source = _records(demo_db, kind)
        assert _comparable(kind, _records(db_url, kind)) == _comparable(kind, source), kind
    assert len(_records(db_url, "contacts")) == 300
    if fmt != "vcf":  # vCard carries contacts only
        assert len(_records(db_url, "deals")) == len(_records(demo_db, "deals"))


def test_a_round_trip_through_the_cli_and_again(demo_db: str, cli, tmp_path: Path, monkeypatch) -> None:
    """`crm export` then `crm import` on the command line; importing the same files again changes nothing."""
    from typer.testing import CliRunner

    from crmcli.cli import app

    runner = CliRunner()
    for kind in KINDS:
        written = runner.invoke(app, ["export", kind, str(tmp_path / f"{kind}.csv")], env={"CRM_DB": demo_db})
        assert written.exit_code == 0, written.stderr
        done = cli("import", str(tmp_path / f"{kind}.csv"), "--kind", kind, "--region", "DE", "-f", "json")
        assert done.exit_code == 0, done.stderr
        assert json.loads(done.stdout)["counts"]["rejected"] == 0
    again = [
        json.loads(cli("import", str(tmp_path / f"{k}.csv"), "--kind", k, "--region", "DE", "-f", "json").stdout)
        for k in KINDS
    ]
    for kind, result in zip(KINDS, again, strict=True):
        counts = result["counts"]
        assert counts["created"] == 0 and counts["skipped"] == counts["read"], (kind, counts, result["report"][:3])


# ---------------------------------------------------------------- generated records

_text = (
    st.text(
        alphabet=st.characters(categories=["L", "N", "Zs"], max_codepoint=0x30FF, exclude_characters="\x85\xa0"),
        min_size=1,
        max_size=14,
    )
    .map(lambda t: " ".join(unicodedata.normalize("NFC", t).split()))  # text as crm stores it
    .filter(bool)
)
_words = st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöüßéñ", min_size=1, max_size=8), min_size=1, max_size=3)
_names = st.tuples(_words, _words).map(lambda p: " ".join(w.capitalize() for w in p[0] + p[1]))
_notes = st.lists(_text, min_size=1, max_size=3).map("\n".join)
_phone = st.integers(min_value=1000000, max_value=9999999).map(lambda n: f"+49 30 {n}")


@st.composite
def _contact(draw: Any, i: int) -> dict[str, Any]:
    return {
        "name": draw(_names),
        "emails": draw(
            st.lists(st.sampled_from(["info@acme.de", f"p{i}@x.de", f"p{i}.b@y.org"]), max_size=2, unique=True)
        ),  # fmt: skip
        "phones": draw(st.lists(_phone, max_size=2, unique=True)),
        "title": draw(st.none() | _text),
        "company": draw(st.none() | st.sampled_from(["Acme GmbH", "ACME Inc.", "Globex", "北京云图"])),
        "tags": draw(st.lists(st.sampled_from(["vip", "fair-2026", "key-account"]), max_size=2, unique=True)),
        "owner": draw(st.none() | st.sampled_from(["ana", "ben"])),
        "source": draw(st.none() | st.sampled_from(["HubSpot", "fair"])),
        "notes": draw(st.none() | _notes),
        "custom": {
            k: v
            for k, v in draw(
                st.fixed_dictionaries(
                    {
                        "newsletter": st.none() | st.booleans(),
                        "renewal": st.none() | st.dates(date(1990, 1, 1), date(2030, 12, 31)).map(date.isoformat),
                        "seats": st.none() | st.integers(0, 5000).map(str),
                        "tier": st.none() | st.sampled_from(["Gold", "Silver"]),
                        "motto": st.none() | _text,
                    }
                )
            ).items()
            if v is not None
        },  # fmt: skip
        "external_id": draw(st.none() | st.just(f"ext-{i}")),
        "street": draw(st.none() | _text),
        "city": draw(st.none() | st.sampled_from(["Berlin", "São Paulo", "東京"])),
        "country": draw(st.none() | st.sampled_from(["Germany", "Brazil", "Japan"])),
        "birthday": draw(st.none() | st.sampled_from(["1985-04-15", "--02-29", "1970-01-01"])),
        "website": draw(st.none() | st.sampled_from(["https://acme.de", "https://example.org/team"])),
    }


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])  # fmt: skip
@given(data=st.data(), fmt=st.sampled_from(FORMATS))
def test_generated_contacts_round_trip(tmp_path_factory: pytest.TempPathFactory, data: Any, fmt: str) -> None:
    """Whatever the contacts hold (shared role mailboxes, namesakes, typed custom fields, line breaks in
    notes, CJK, no company), export then import into an empty database gives them back."""
    from crmcli.domain import contacts, fields, indexing

    folder = tmp_path_factory.mktemp("gen")
    source, target = f"sqlite:///{folder / 'a.db'}", f"sqlite:///{folder / 'b.db'}"
    people = [data.draw(_contact(i)) for i in range(data.draw(st.integers(1, 6)))]
    with storage.session_scope(source, write=True) as s:
        fields.add_field(s, entity="contacts", name="newsletter", type="bool")
        fields.add_field(s, entity="contacts", name="renewal", type="date")
        fields.add_field(s, entity="contacts", name="seats", type="number")
        fields.add_field(s, entity="contacts", name="tier", type="choice", choices=["Gold", "Silver"])
        for person in people:
            custom = {k: ("yes" if v is True else "no" if v is False else v) for k, v in person["custom"].items()}
            made = contacts.add_contact(
                s,
                **{k: v for k, v in person.items() if k not in ("custom", "external_id", "notes")},
                custom=custom,
                allow_duplicate=True,
                region="DE",
            )
            made.external_id = person["external_id"]
            made.notes = person["notes"]
            indexing.reindex_contacts(s, [made.id])
    _round_trip(source, target, fmt, folder, kinds=("contacts",))
    assert _comparable("contacts", _records(target, "contacts")) == _comparable(
        "contacts", _records(source, "contacts")
    )
    with storage.session_scope(target) as s:
        declared = {d.name: d.type for d in fields.list_fields(s, "contacts")}
    # every format carries each field's declared type (csv/xlsx headers, JSON keys, vCard X-CRM-FIELD)
    types = {"newsletter": "bool", "renewal": "date", "seats": "number", "tier": "choice", "motto": "text"}
    used = {k for p in people for k in p["custom"]}
    assert {k: declared.get(k) for k in used} == {k: types[k] for k in used}
    storage.dispose_all()
