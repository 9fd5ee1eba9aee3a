"""The vCard reader (crmcli.importer.vcard): every card of a file is a row or an Unreadable with its
line number, as 2.1, 3.0 and 4.0 writers make them. No database: these test the reader alone.

tests/data/vcard/ holds files in the shapes real writers produce (see SOURCES.md there); set
CRM_VCARD_SAMPLES to a folder of other .vcf files to hold them to the same rules.
"""

from __future__ import annotations

import codecs
import logging
import os
import pickle
import re
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcli.errors import Invalid
from crmcli.importer import readers, vcard
from crmcli.importer.table import Unreadable
from crmcli.importer.vcard import VCARD_HEADERS
from crmcli.values.normalize import clean_text

DATA = Path(__file__).parent / "data" / "vcard"
SAMPLES = sorted(DATA.glob("*.vcf"))
EXTRA = sorted(Path(os.environ["CRM_VCARD_SAMPLES"]).rglob("*.vcf")) if os.environ.get("CRM_VCARD_SAMPLES") else []


def rows(path: Path) -> list[tuple[int, dict[str, str] | Unreadable]]:
    """(line, the row's non-empty cells by header, or the Unreadable) for each card."""
    table = readers.open_table(path)
    assert table.headers == VCARD_HEADERS and table.format == "vcard"
    out: list[tuple[int, dict[str, str] | Unreadable]] = []
    for number, cells in table.rows:
        if isinstance(cells, Unreadable):
            out.append((number, cells))
        else:
            assert len(cells) == len(VCARD_HEADERS) and all(isinstance(c, str) for c in cells)
            out.append((number, {h: c for h, c in zip(VCARD_HEADERS, cells, strict=True) if c}))
    return out


def write(tmp_path: Path, data: bytes | str, name: str = "cards.vcf") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def one(tmp_path: Path, text: str) -> dict[str, str]:
    """The one row of a file holding TEXT's lines (CRLF)."""
    found = rows(write(tmp_path, "\r\n".join(text.strip().splitlines()) + "\r\n"))
    assert len(found) == 1 and isinstance(found[0][1], dict), found
    return found[0][1]


def card_count(path: Path) -> int:
    """Cards in the file, counted apart from the reader: BEGIN:VCARD lines less the nested AGENT cards."""
    raw = path.read_bytes()
    head = raw[:512]
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = raw.decode("utf-16")
    elif head[0::2].count(0) > len(head) // 4:
        text = raw.decode("utf-16-be")
    elif head[1::2].count(0) > len(head) // 4:
        text = raw.decode("utf-16-le")
    else:
        text = raw.removeprefix(codecs.BOM_UTF8).decode("latin-1")
    begins = len(re.findall(r"^[ \t]*BEGIN[ \t]*:[ \t]*VCARD[ \t]*\r*$", text, re.I | re.M))
    nested = len(re.findall(r"^AGENT[^:\n]*:[ \t]*\r*\n[ \t]*BEGIN:VCARD", text, re.I | re.M))
    return begins - nested


# ---------------------------------------------------------------- every sample, every card


@pytest.mark.parametrize("path", SAMPLES + EXTRA, ids=lambda p: p.name)
def test_every_card_is_a_row_or_unreadable_with_its_line(
    path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    if not card_count(path):  # an empty file, a symbolic link stored as text
        with pytest.raises(Invalid, match="no vCard in it"):
            readers.open_table(path)
        return
    found = rows(path)
    assert len(found) == card_count(path)
    numbers = [n for n, _ in found]
    assert numbers == sorted(set(numbers)) and all(n >= 1 for n in numbers)
    text = path.read_bytes().removeprefix(codecs.BOM_UTF8).decode("latin-1")
    lines = text.split("\n") if "\n" in text else text.split("\r")
    if not path.read_bytes()[:4].count(0):  # line numbers checked where the file reads as 8-bit text
        for n, _ in found:
            assert lines[n - 1].strip().upper().replace(" ", "") == "BEGIN:VCARD"
    assert capfd.readouterr() == ("", "")
    assert caplog.records == []


def test_the_samples_cover_the_writers() -> None:
    assert len(SAMPLES) >= 20
    assert (DATA / "SOURCES.md").read_text(encoding="utf-8").count("| `") >= len(SAMPLES)
    for path in SAMPLES:
        assert f"`{path.name}`" in (DATA / "SOURCES.md").read_text(encoding="utf-8"), path.name


# What a person would read off each sample's cards (the cells named; others may hold more).
EXPECTED: dict[str, list[tuple[int, dict[str, str] | str]]] = {
    "android-21.vcf": [
        (1, {"emails": "lucia.ferrer@example.es", "tags": "My Contacts", "kind": "person"}),
        (
            6,
            {
                "name": "José Ibáñez",
                "first_name": "José",
                "last_name": "Ibáñez",
                "phones": "+34 612 345 678\n91 123 45 67\n91 765 43 21",
                "company": "Construcciones Ibáñez S.L.",
                "notes": "Llamar después de las 10\nPrefiere WhatsApp",
            },
        ),
        (20, {"last_name": "Ñúñez Castañeda Ñúñez Castañeda", "company": "Peñalara Ingeniería S.A."}),
    ],
    "android-21-shift-jis.vcf": [
        (
            1,
            {
                "name": "能登 表ソ子",
                "last_name": "能登",
                "first_name": "表ソ子",
                "street": "東京都渋谷区桜丘町26-1",
                "postcode": "150-0031",
                "notes": "メモ",
            },
        )
    ],
    "android-21-quirks.vcf": [
        (
            1,
            {
                "name": "Conference Room 4",
                "notes": "Dial in with the pin (# ->#<- hash) and wait.",
                "external_id": "357",
            },
        ),
        (11, {"emails": '"Omar Haddad" <omar.haddad@example.org>'}),
        (18, {"street": "Hermann Brandt, c/o Paketstation 12, Postfach 9", "city": "Hamburg", "phones": "040 123456"}),
        (27, {"name": "Bea Wong", "emails": "bea.wong@example.hk"}),  # the AGENT's card is not a row
    ],
    "blackberry-21-photo.vcf": [
        (1, {"name": "Kwame Mensah", "phones": "+233 24 412 3456\n+233 30 277 1234", "company": "Accra Shipping Ltd"})
    ],
    "iphone-30.vcf": [
        (
            1,
            {
                "name": "Dr. Chidi Emeka Obi Okafor",
                "middle_name": "Emeka Obi",
                "prefix": "Dr.",
                "emails": "chidi.okafor@example.ng",
                "phones": "+234 803 123 4567\n+234 1 270 1234\n+234 1 270 9999",
                "custom_pairs": "department=Cardiology\nnickname=Chi",
                "street": "Plot 5, Marina Tower, Floor 8",
                "website": "http://www.lhp.example.ng",
                "birthday": "1975-11-02",
            },
        )
    ],
    "macos-30.vcf": [
        (1, {"name": "Brauerei Aying GmbH", "company": "Brauerei Aying GmbH", "kind": "org", "city": "Aying"}),
        (
            14,
            {
                "name": "Astrid Lindqvist",
                "kind": "person",
                "birthday": "--04-15",
                "custom_pairs": "department=Export",
                "notes": 'Met at drinktec; wants the "Export" price list\nCall in May',
            },
        ),
    ],
    "apple-utf16be-nobom.vcf": [(1, {"name": "Ďurica Ľubomír", "street": "Námestie SNP 15", "city": "Bratislava"})],
    "utf16le-bom.vcf": [
        (1, {"name": "Zofia Wiśniewska", "emails": "zofia@example.pl", "birthday": "1980-02-29"}),
        (11, {"name": "Łódzkie Młyny Sp. z o.o.", "kind": "org"}),
    ],
    "outlook-2003.vcf": [
        (
            1,
            {
                "name": "Jürgen Müller",
                "prefix": "Herr",
                "company": "Müller & Söhne, KG",
                "custom_pairs": "department=Vertrieb\nnickname=Jüppi\nrole=Vertriebsleitung",
                "notes": "Erster Kontakt auf der Messe\nZweite Zeile\n\nDritte Zeile ist leer",
                "street": "Lämmerweg 12",
                "emails": "j.mueller@mueller-soehne.example.de",
                "birthday": "1965-03-21",
            },
        )
    ],
    "outlook-2007.vcf": [
        (
            1,
            {
                "middle_name": "Mary Kate",
                "company": "Harbour Logistics",
                "custom_pairs": "department=Customs, Dublin Port",
                "notes": "Prefers email\nOut of office on Fridays\nAsk about the Q3 tender",
                "street": "Alexandra Road, Unit 4",
                "kind": "person",
            },
        ),
        (34, {"name": "Harbour Logistics", "kind": "org", "emails": "info@harbour-logistics.example.ie"}),
    ],
    "lotus-notes-30.vcf": [
        (
            1,
            {
                "name": "Mrs. Rania Layla Haddad",
                "custom_pairs": "department=Treasury, Risk\nnickname=Rani,Lulu\nrole=Counting risks",
                "external_id": "0e7602cc-443e-4b82-b4b1-90f62f99a199",
                "street": "Rue Verdun 14, Building 5, floor 3",
            },
        )
    ],
    "evolution-30.vcf": [
        (
            1,
            {
                "name": "Mart Jaan, Peeter Tamm",
                "middle_name": "Jaan, Peeter",
                "emails": "mart.tamm@tartu-timber.example.ee",
                "phones": "+372 5123 4567\n+372 7 123 456",
                "tags": "Customers\nTimber",
                "street": "Riia 15, PK 12",
                "country": "Eesti",
                "website": "http://www.tartu-timber.example.ee",
                "notes": "Likes long calls; prefers Estonian or English. Sends prices every quarter.",
            },
        )
    ],
    "evolution-21-qp.vcf": [
        (1, {"name": "Michaela Brüning", "last_name": "Brüning", "region": "Baden-Württemberg", "postcode": "89073"})
    ],
    "gmail-30.vcf": [
        (
            1,
            {
                "emails": "priya.r@example.in\npriya@infra.example.in",
                "street": "14 MG Road, Indiranagar, Bengaluru 560038, India",
                "website": "http://infra.example.in",
                "notes": 'Met at PyCon India\nInterested in the "pro" plan; call back in June',
            },
        ),
        (22, {"name": "Tom Becker"}),
        (28, {"name": "Ana Costa"}),
    ],
    "thebat-21.vcf": [(1, {"name": "Lucía García"})],  # no CHARSET anywhere: Windows-1252
    "thunderbird-40.vcf": [
        (
            1,
            {
                "emails": "info@kita-sonnenschein.example.de\ngerlinde.home@example.de",  # PREF=1 first
                "birthday": "19723101",  # no date: left for the importer to report
                "external_id": "9e49143d-201c-46cc-b1ca-b84cac8211e9",
            },
        )
    ],
    "rfc6350-example.vcf": [
        (
            1,
            {
                "name": "Simon Perreault",
                "suffix": "ing. jr M.Sc.",
                "phones": "+1 418 656 9254 ext. 102\n+1 418 262 6501",
                "street": "2875 Laurier, Suite D2-630",
                "city": "Quebec",
                "birthday": "--02-03",
                "company": "Viagenie",
            },
        )
    ],
    "khard-40.vcf": [
        (1, {"name": "ACME Inc.", "kind": "org", "phones": "+1 555 555 5555 ext. 5555"}),
        (9, {"name": "Wile E. Coyote", "kind": "person", "phones": "67545678", "birthday": "circa 1949"}),
        (20, {"name": "Road Runner", "emails": "beep@acme.example"}),  # no END:VCARD at the end
    ],
    "legacy-charsets-21.vcf": [
        (1, {"name": "Sören Nüßlein", "city": "Mößlitz"}),
        (8, {"street": "Lämmerweg 7"}),
        (16, {"name": "Βαγγέλης Παπαδόπουλος", "city": "Αθήνα"}),
    ],
    "broken-among-good.vcf": [
        (1, {"name": "First Good"}),
        (6, "no vCard property"),
        (10, "an empty card"),
        (13, "contact group"),
        (19, {"name": "Never Closed", "phones": "+44 20 7946 0000"}),
        (23, {"name": "Last Good", "emails": "last@example.com"}),
    ],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_reads_as_a_person_would(name: str) -> None:
    found = dict(rows(DATA / name))
    for number, expected in EXPECTED[name]:
        got = found[number]
        if isinstance(expected, str):
            assert isinstance(got, Unreadable) and expected in got.reason
        else:
            assert isinstance(got, dict)
            assert {k: got.get(k, "") for k in expected} == expected


def test_every_sample_is_named_in_the_expectations_or_broken_on_purpose() -> None:
    assert {p.name for p in SAMPLES} <= set(EXPECTED)


def test_ignored_lists_the_properties_not_taken() -> None:
    table = readers.open_table(DATA / "outlook-2007.vcf")
    assert table.ignored == ["X-MS-TEL", "LABEL", "PHOTO", "X-MS-OL-DESIGN", "REV"]
    assert table.estimate == 2
    table = readers.open_table(DATA / "iphone-30.vcf")
    assert table.ignored == ["PRODID", "X-ABLabel", "X-ABADR", "PHOTO"]  # grouped: the name without item1.
    assert readers.open_table(DATA / "rfc6350-example.vcf").ignored == [
        "ANNIVERSARY",
        "GENDER",
        "LANG",
        "GEO",
        "KEY",
        "TZ",
    ]


# ---------------------------------------------------------------- the rules, one by one


@pytest.mark.parametrize(
    ("charset", "encoded", "text"),
    [
        ("ISO-8859-1", "Fran=E7ois M=FCller-Lef=E8vre", "François Müller-Lefèvre"),
        ("windows-1252", "=93Quoted=94 =80 5", "“Quoted” € 5"),
        ("Shift_JIS", "=88=C0=93=A1", "安藤"),
        ("UTF-8", "Bj=C3=B6rk Gu=C3=B0mundsd=C3=B3ttir", "Björk Guðmundsdóttir"),
    ],
)
def test_quoted_printable_with_soft_breaks_and_a_charset(tmp_path: Path, charset: str, encoded: str, text: str) -> None:
    half = len(encoded) // 2
    cut = half + 2 if encoded[half - 1] == "=" else half + 1 if encoded[half - 2] == "=" else half
    row = one(
        tmp_path,
        f"""
BEGIN:VCARD
VERSION:2.1
FN;CHARSET={charset};ENCODING=QUOTED-PRINTABLE:{encoded[:cut]}=
{encoded[cut:]}
NOTE;QUOTED-PRINTABLE;CHARSET={charset}:{encoded}=0D=0A=
second line
END:VCARD
""",
    )
    assert row["name"] == text and row["notes"] == f"{text}\nsecond line"


def test_a_soft_break_before_a_blank_line_ends_the_value_or_goes_on(tmp_path: Path) -> None:
    row = one(
        tmp_path,
        """
BEGIN:VCARD
VERSION:2.1
ORG;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Caf=C3=A9 Ol=C3=A9=

TITLE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Ma=C3=AEtre =

d'h=C3=B4tel
END:VCARD
""",
    )
    assert row["company"] == "Café Olé" and row["title"] == "Maître d'hôtel"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-16", "utf-8-sig", "utf-32"])
def test_whole_files_in_utf16_with_or_without_bom(tmp_path: Path, codec: str) -> None:
    text = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ǽgean Ľuboš\r\nEMAIL:l@example.sk\r\nEND:VCARD\r\n" * 2
    found = rows(write(tmp_path, text.encode(codec)))
    assert [(n, r["name"]) for n, r in found if isinstance(r, dict)] == [(1, "Ǽgean Ľuboš"), (6, "Ǽgean Ľuboš")]


def test_a_legacy_file_without_any_charset_reads_as_windows_1252(tmp_path: Path) -> None:
    found = rows(write(tmp_path, "BEGIN:VCARD\nVERSION:2.1\nN:Doë;Zoë\nEND:VCARD\n".encode("cp1252")))
    assert found == [(1, {"first_name": "Zoë", "last_name": "Doë", "kind": "person"})]


@pytest.mark.parametrize("end", ["\r\n", "\n", "\r", "\r\r\n"])
def test_any_line_end(tmp_path: Path, end: str) -> None:
    text = end.join(
        ["BEGIN:VCARD", "VERSION:3.0", "FN:Ada", " Lovelace", "END:VCARD", "BEGIN:VCARD", "FN:Bo", "END:VCARD", ""]
    )
    assert [(n, r["name"]) for n, r in rows(write(tmp_path, text))] == [(1, "AdaLovelace"), (6, "Bo")]


def test_a_broken_card_among_good_ones(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:One\r\nEND:VCARD\r\n"
        b"BEGIN:VCARD\r\n\x00\x00\x00\xff\r\n\x01\x02\r\nEND:VCARD\r\n"
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Three\r\nEND:VCARD\r\n",
    )
    found = rows(path)
    assert [n for n, _ in found] == [1, 5, 9]
    assert found[0][1]["name"] == "One" and found[2][1]["name"] == "Three"
    assert isinstance(found[1][1], Unreadable) and "no vCard property" in found[1][1].reason


def test_a_card_that_fails_the_reader_is_unreadable_and_the_rest_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = vcard.card_cells

    def fragile(card: Any, decoder: Any) -> Any:
        if any(p.name == "FN" and b"boom" in b"".join(p.pieces) for p in card.props):
            raise ValueError("boom")
        return real(card, decoder)

    monkeypatch.setattr(vcard, "card_cells", fragile)
    path = write(tmp_path, "".join(f"BEGIN:VCARD\nFN:{n}\nEND:VCARD\n" for n in ("a", "boom", "c")))
    found = rows(path)
    assert [n for n, _ in found] == [1, 4, 7]
    assert isinstance(found[1][1], Unreadable) and "ValueError: boom" in found[1][1].reason


def test_a_21_photo_folded_the_21_way_is_skipped(tmp_path: Path) -> None:
    body = "\r\n".join("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx" for _ in range(40))
    found = rows(
        write(
            tmp_path,
            "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Photo;Pia\r\nPHOTO;ENCODING=BASE64;TYPE=JPEG:/9j/4AAQSkZJRg\r\n"
            f"{body}\r\n\r\nTEL;CELL:+49 151 2345678\r\nEND:VCARD\r\n"
            # Android's v21_base64_no_2_crlf: no blank line, the next property ends the data
            f"BEGIN:VCARD\r\nVERSION:2.1\r\nN:Photo;Paul\r\nPHOTO;JPEG;B:\r\n{body}\r\nEMAIL:paul@example.com\r\nEND:VCARD\r\n",
        )
    )
    assert [r for _, r in found] == [
        {"first_name": "Pia", "last_name": "Photo", "phones": "+49 151 2345678", "kind": "person"},
        {"first_name": "Paul", "last_name": "Photo", "emails": "paul@example.com", "kind": "person"},
    ]


def test_a_huge_photo_is_skipped_in_little_memory(tmp_path: Path) -> None:
    photo = b"QUJD" * (5 * 1024 * 1024)  # 20 MB of base64 on one line (vCard 4's data: URI, unfolded)
    path = write(
        tmp_path,
        b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Big Photo\r\nPHOTO:data:image/jpeg;base64," + photo + b"\r\n"
        b"EMAIL:big@example.com\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:2.1\r\nFN:Old Photo\r\nPHOTO;BASE64:\r\n"
        + b"\r\n".join(photo[i : i + 76] for i in range(0, len(photo), 76))
        + b"\r\n\r\nEND:VCARD\r\n",
    )
    del photo
    tracemalloc.start()
    try:
        found = rows(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [r["name"] for _, r in found] == ["Big Photo", "Old Photo"]
    assert peak < 8 * 1024 * 1024  # the file is 40 MB


def test_a_value_past_the_cell_limit_is_cut_and_noted(tmp_path: Path) -> None:
    note = "x" * (readers.MAX_CELL + 10)
    table = readers.open_table(write(tmp_path, f"BEGIN:VCARD\nFN:Long\nNOTE:{note}\nEND:VCARD\n"))
    [(number, cells)] = list(table.rows)
    assert len(cells[VCARD_HEADERS.index("notes")]) == readers.MAX_CELL
    assert f"line 1: notes cut to {readers.MAX_CELL:,} characters" in table.notes


def test_escapes_are_undone_and_an_escaped_semicolon_in_an_email_is_kept(tmp_path: Path) -> None:
    row = one(
        tmp_path,
        r"""
BEGIN:VCARD
VERSION:3.0
FN:Semi\;Colon\, Jr.
EMAIL:first\;second@example.com
NOTE:one\ntwo\nthree\\four\, five\; six \"quoted\"
URL:http\://example.com/a\,b
END:VCARD
""",
    )
    assert row["name"] == "Semi;Colon, Jr."
    assert row["emails"] == "first;second@example.com"  # the importer judges whether that is an address
    assert row["notes"] == 'one\ntwo\nthree\\four, five; six "quoted"'
    assert row["website"] == "http://example.com/a,b"


def test_several_values_in_one_n_component(tmp_path: Path) -> None:
    row = one(tmp_path, "BEGIN:VCARD\nVERSION:3.0\nN:Doe,Smith;John,Paul;;Dr.,Prof.;\nEND:VCARD")
    assert row == {"last_name": "Doe Smith", "first_name": "John Paul", "prefix": "Dr. Prof.", "kind": "person"}
    row = one(tmp_path, "BEGIN:VCARD\nVERSION:3.0\nN:Doe\\, Jr.;John;;;\nEND:VCARD")
    assert row["last_name"] == "Doe, Jr."


@pytest.mark.parametrize(
    ("value", "phone"),
    [
        ("tel:+1-555-555-5555;ext=102", "+1 555 555 5555 ext. 102"),
        ("tel:+1-418-262-6501", "+1 418 262 6501"),
        ("tel:+44.20.7946.0000;phone-context=example.com", "+44 20 7946 0000"),
        ("TEL:+49-30-1234567;EXT=12", "+49 30 1234567 ext. 12"),
        ("+1 (555) 555-5555", "+1 (555) 555-5555"),
        ("(111) 555-1212 ;ext=7", "(111) 555-1212 ext. 7"),
        ("p1234p5678w9", "p1234p5678w9"),
    ],
)
def test_tel_uris_keep_their_extension(value: str, phone: str) -> None:
    import phonenumbers

    assert vcard.phone_text(value) == phone
    if "ext" in phone:
        assert phonenumbers.parse(phone, "US").extension == phone.rsplit(" ", 1)[1]


def test_tel_values_in_a_card(tmp_path: Path) -> None:
    row = one(
        tmp_path,
        """
BEGIN:VCARD
VERSION:4.0
FN:Ext
TEL;VALUE=uri;TYPE="work,voice";PREF=2:tel:+1-418-656-9254;ext=102
TEL;VALUE=uri;PREF=1:tel:+1-418-262-6501
TEL:+1 418 000 0000
END:VCARD
""",
    )
    assert row["phones"] == "+1 418 262 6501\n+1 418 656 9254 ext. 102\n+1 418 000 0000"


@pytest.mark.parametrize(
    ("lines", "kind", "name"),
    [
        (["VERSION:4.0", "KIND:org", "FN:Acme Ltd", "ORG:Acme Ltd"], "org", "Acme Ltd"),
        (["VERSION:4.0", "KIND:Organization", "ORG:Acme Ltd"], "org", "Acme Ltd"),
        (["VERSION:3.0", "N:;;;;", "FN:Acme Ltd", "ORG:Acme Ltd;", "X-ABShowAs:COMPANY"], "org", "Acme Ltd"),
        (["VERSION:3.0", "N:Doe;Jane;;;", "FN:Acme", "ORG:Acme", "X-ABShowAs:COMPANY"], "org", "Acme"),
        (["VERSION:2.1", "N:;;;;", "FN:Acme Ltd", "ORG:Acme Ltd"], "org", "Acme Ltd"),
        (["VERSION:2.1", "ORG:Acme Ltd", "EMAIL:info@acme.example"], "org", "Acme Ltd"),
        (["VERSION:3.0", "N:Doe;Jane;;;", "FN:Jane Doe", "ORG:Acme Ltd"], "person", "Jane Doe"),
        (["VERSION:3.0", "N:Doe;Jane;;;", "FN:Acme Ltd", "ORG:Acme Ltd"], "person", "Acme Ltd"),
        (["VERSION:3.0", "FN:Jane Doe", "ORG:Acme Ltd"], "person", "Jane Doe"),
        (["VERSION:4.0", "KIND:individual", "FN:Acme Ltd", "ORG:Acme Ltd"], "person", "Acme Ltd"),
    ],
)
def test_organisation_cards(tmp_path: Path, lines: list[str], kind: str, name: str) -> None:
    row = one(tmp_path, "\n".join(["BEGIN:VCARD", *lines, "END:VCARD"]))
    assert (row["kind"], row["name"]) == (kind, name)
    if kind == "org":
        assert row["company"] == name and not {"first_name", "last_name"} & set(row)


def test_a_contact_group_is_no_contact(tmp_path: Path) -> None:
    for lines in (
        ["VERSION:4.0", "KIND:group", "FN:Team"],
        ["VERSION:3.0", "X-ADDRESSBOOKSERVER-KIND:group", "FN:Team"],
    ):
        [(number, found)] = rows(write(tmp_path, "\n".join(["BEGIN:VCARD", *lines, "END:VCARD"])))
        assert isinstance(found, Unreadable) and "contact group" in found.reason


def test_org_departments_go_to_custom_pairs(tmp_path: Path) -> None:
    row = one(tmp_path, "BEGIN:VCARD\nVERSION:3.0\nFN:Ann\nORG:Acme\\; Sons;Sales;;EMEA\nEND:VCARD")
    assert row["company"] == "Acme; Sons" and row["custom_pairs"] == "department=Sales, EMEA"


@pytest.mark.parametrize(
    ("value", "params", "birthday"),
    [
        ("19850415", {}, "1985-04-15"),
        ("1985-04-15", {}, "1985-04-15"),
        ("1985-04-15T00:00:00Z", {}, "1985-04-15"),
        ("19850415T103000", {}, "1985-04-15"),
        ("--0415", {}, "--04-15"),
        ("--04-15", {}, "--04-15"),
        ("1604-04-15", {}, "--04-15"),
        ("2000-02-29", {"X-APPLE-OMIT-YEAR": ["2000"]}, "--02-29"),
        ("--0229", {}, "--02-29"),
        ("19723101", {}, "19723101"),
        ("circa 1800", {}, "circa 1800"),
        ("1985", {}, "1985"),
    ],
)
def test_birthday_forms(value: str, params: dict[str, list[str]], birthday: str) -> None:
    assert vcard.birthday_text(value, params) == birthday


def test_grouped_properties_profile_and_uid(tmp_path: Path) -> None:
    table = readers.open_table(
        write(
            tmp_path,
            "BEGIN:VCARD\nVERSION:3.0\nPROFILE:VCARD\nFN:Grace Hopper\nitem1.EMAIL;type=INTERNET:grace@example.com\n"
            "item1.X-ABLabel:_$!<Work>!$_\nitem2.TEL:+1 202 555 0100\nitem2.X-ABLabel:mobile\n"
            "UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\nEND:VCARD\n",
        )
    )
    [(number, cells)] = list(table.rows)
    row = dict(zip(VCARD_HEADERS, cells, strict=True))
    assert (row["emails"], row["phones"]) == ("grace@example.com", "+1 202 555 0100")
    assert row["external_id"] == "4fbe8971-0bc3-424c-9c26-36c3e1eff6b1"
    assert table.ignored == ["X-ABLabel"]  # PROFILE, like VERSION, is the card's frame


def test_address_prefers_work_then_pref_and_joins_box_and_extended(tmp_path: Path) -> None:
    row = one(
        tmp_path,
        """
BEGIN:VCARD
VERSION:3.0
FN:A
ADR;TYPE=home:;;1 Home St;Hometown;;11111;Homeland
ADR;TYPE=work:PO Box 7;Floor 3;2 Work Rd\\nBuilding B;Worktown;WS;22222;Workland
ADR;TYPE=work,pref:;;3 Pref Ave;Preftown;;33333;Prefland
END:VCARD
""",
    )
    assert (row["street"], row["city"], row["postcode"]) == ("3 Pref Ave", "Preftown", "33333")
    row = one(
        tmp_path,
        "BEGIN:VCARD\nFN:A\nADR;TYPE=work:PO Box 7;Floor 3;2 Work Rd\\nBuilding B;Worktown;WS;22222;\nEND:VCARD",
    )
    assert row["street"] == "2 Work Rd, Building B, Floor 3, PO Box 7" and row["region"] == "WS"


def test_emails_and_phones_keep_their_order_pref_first(tmp_path: Path) -> None:
    row = one(
        tmp_path,
        """
BEGIN:VCARD
VERSION:2.1
FN:Order
EMAIL;INTERNET:b@example.com
EMAIL;PREF;INTERNET:a@example.com
EMAIL;INTERNET:c@example.com
TEL;HOME:3
TEL;WORK;PREF:1
TEL;CELL:4
END:VCARD
""",
    )
    assert row["emails"] == "a@example.com\nb@example.com\nc@example.com" and row["phones"] == "1\n3\n4"


def test_crm_own_cards_round_trip(tmp_path: Path) -> None:
    from crmcli.exporter import records as export

    records = [
        {
            "name": "Anna Müller",
            "emails": ["anna@acme.de", "a.m@home.de"],
            "phones": ["+4915112345678"],
            "company": "Acme GmbH",
            "title": "CTO",
            "notes": "Line one\nLine two; with, punctuation",
            "external_id": "hs-42",
            "tags": ["vip", "fair"],
            "owner": "ana",
            "source": "fair",
            "custom": {"industry": "SaaS", "seats": 12},
            "street": "Hauptstr. 5; Hinterhaus",
            "city": "Berlin",
            "region": "BE",
            "postcode": "10115",
            "country": "Germany",
            "birthday": "--04-15",
            "website": "https://acme.example.de/a,b",
        }
    ]
    [(number, row)] = rows(write(tmp_path, export.vcf_bytes(records)))
    assert isinstance(row, dict)
    assert row["name"] == "Anna Müller" and row["emails"] == "anna@acme.de\na.m@home.de"
    assert row["phones"] == "+4915112345678" and row["company"] == "Acme GmbH" and row["title"] == "CTO"
    assert row["notes"] == "Line one\nLine two; with, punctuation" and row["external_id"] == "hs-42"
    assert row["tags"] == "vip\nfair" and row["owner"] == "ana" and row["source"] == "fair"
    assert row["custom_pairs"] == "industry=SaaS\nseats=12"
    assert [row[k] for k in ("street", "city", "region", "postcode", "country")] == [
        "Hauptstr. 5; Hinterhaus",
        "Berlin",
        "BE",
        "10115",
        "Germany",
    ]
    assert (row["birthday"], row["website"], row["kind"]) == ("--04-15", "https://acme.example.de/a,b", "person")


def test_nicknames_roles_and_tags(tmp_path: Path) -> None:
    row = one(
        tmp_path,
        "BEGIN:VCARD\nVERSION:3.0\nFN:N\nNICKNAME:Bob,Bobby\nNICKNAME:Rob\nROLE:Lead\\, EMEA\n"
        "CATEGORIES:vip,Trade Fair\nCATEGORIES:vip;newsletter\nEND:VCARD",
    )
    assert row["custom_pairs"] == "nickname=Bob, Bobby, Rob\nrole=Lead, EMEA"
    assert row["tags"] == "vip\nTrade Fair\nnewsletter"


def test_a_card_without_end_is_read_and_noted(tmp_path: Path) -> None:
    table = readers.open_table(
        write(tmp_path, "BEGIN:VCARD\nFN:Open\nBEGIN:VCARD\nFN:Next\nEND:VCARD\nBEGIN:VCARD\nFN:Last\n")
    )
    assert [(n, c[0]) for n, c in table.rows] == [(1, "Open"), (3, "Next"), (6, "Last")]
    assert table.notes[1:] == [
        "line 1: the card has no END:VCARD; read up to where the next begins",
        "line 6: the card has no END:VCARD; read up to where the next begins",
    ]


def test_a_file_without_cards_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match="no vCard in it"):
        readers.open_table(write(tmp_path, "Name,Email\nAnn,ann@example.com\n"))
    with pytest.raises(Invalid, match="no vCard in it"):
        readers.open_table(write(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 50))


def test_dot_vcard_is_a_vcard(tmp_path: Path) -> None:
    assert readers.open_table(write(tmp_path, "BEGIN:VCARD\nFN:X\nEND:VCARD\n", "x.vcard")).format == "vcard"


def test_unreadable_pickles_for_the_worker() -> None:
    again = pickle.loads(pickle.dumps(Unreadable("an empty card")))
    assert isinstance(again, Unreadable) and again.reason == "an empty card"


def test_the_reader_imports_no_database_stack() -> None:
    code = (
        "import sys; from crmcli.importer import readers, vcard; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'sqlmodel', 'vobject'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "[]" and result.stderr == ""


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40).map(clean_text)


@settings(max_examples=300, deadline=None)
@given(
    name=_TEXT.filter(bool),
    company=_TEXT,
    notes=_TEXT,
    tags=st.lists(_TEXT.filter(bool), max_size=3, unique=True),
    street=_TEXT,
    city=_TEXT,
    custom=_TEXT,
)
def test_crm_own_cards_read_back_whatever_the_text(
    name: str, company: str, notes: str, tags: list[str], street: str, city: str, custom: str
) -> None:
    """What crm's export escapes, this reader unescapes: the text comes back as it was written."""
    from crmcli.exporter import records as export

    record = {
        "name": name, "emails": [], "phones": [], "company": company or None, "notes": notes or None,
        "tags": tags, "street": street or None, "city": city or None, "custom": {"k": custom} if custom else {},
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:  # hypothesis runs the body many times: no tmp_path
        [(number, row)] = rows(write(Path(folder), export.vcf_bytes([record])))
    assert isinstance(row, dict)
    row = {key: row.get(key, "") for key in VCARD_HEADERS}
    assert (row["name"], row["company"], row["notes"]) == (name, company, notes)
    assert row["tags"].split("\n") == tags if tags else row["tags"] == ""
    assert (row["street"], row["city"]) == (street, city)
    assert row["custom_pairs"] == (f"k={custom}" if custom else "")
