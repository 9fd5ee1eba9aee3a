"""The library speaks about the data: its errors, notes and report lines name no command-line
option; what the caller can do is a Hint in the terms of the call, which the command line spells
as its options (crmcli.commands._common.said / option_of)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from crmcli import importer
from crmcli.commands._common import option_of, said
from crmcli.domain import contacts, followups
from crmcli.errors import CrmError, Invalid, UsageError
from crmcli.importer.headers import map_headers


def worded_about_the_data(exc: CrmError) -> str:
    """EXC's message names no option; the line the command line makes of it (returned) does."""
    assert "--" not in str(exc) and "--" not in exc.message, exc.message
    assert exc.hint is not None
    line = said(exc)
    assert "--" in line
    return line


def write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


@pytest.mark.parametrize(
    ("keyword", "value", "line"),
    [
        ("on_duplicate", "ignore", "--on-duplicate takes skip, update, merge, create, not 'ignore'"),
        ("unknown", "drop", "--unknown takes field, ignore, not 'drop'"),
        ("kind", "leads", "--kind takes contacts, companies, deals, activities, followups, not 'leads'"),
    ],
)
def test_a_bad_choice_of_import_file_is_worded_about_the_value(
    session, tmp_path: Path, keyword: str, value: str, line: str
) -> None:
    path = write(tmp_path / "c.csv", [["Name"], ["Anna"]])
    with pytest.raises(UsageError) as caught:
        importer.import_file(session, path, **{keyword: value})
    assert f"'{value}' is no " in caught.value.message
    assert worded_about_the_data(caught.value) == line


def test_a_mapping_the_file_cannot_take_is_worded_about_the_columns(session, tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", [["Name", "Mail"], ["Anna", "anna@acme.de"]])
    with pytest.raises(Invalid) as missing:
        importer.import_file(session, path, mapping={"Nope": "name"})
    assert missing.value.message == "the mapping names a column the file does not have: nope"
    assert worded_about_the_data(missing.value) == "--map names a column the file does not have: nope"
    with pytest.raises(Invalid) as no_field:
        map_headers(["Name", "Mail"], "contacts", {"Mail": "mailbox"})
    assert no_field.value.message.startswith("column Mail cannot go to 'mailbox': contacts have no field 'mailbox'")
    assert worded_about_the_data(no_field.value).startswith("--map Mail=mailbox: contacts have no field 'mailbox' (")


def test_a_file_nothing_maps_from_gets_a_hint_with_a_mapping_example(session, tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", [["Kundenkennung", "{Spalte}"], ["1", "x"]])
    with pytest.raises(Invalid) as caught:
        importer.import_file(session, path, kind="contacts", unknown="ignore")
    message = caught.value.message
    assert message.startswith("none of the columns of c.csv maps to a contacts field.")
    assert "Contacts need a name, an email or a phone" in message
    assert caught.value.hint is not None and caught.value.hint.keywords == ("mapping",)
    assert "with mapping." in caught.value.hint.text()  # in the terms of import_file(mapping=…)
    line = worded_about_the_data(caught.value)
    assert line.endswith(
        "need a name, an email or a phone: say which columns hold them with --map.\n"
        'For example: --map "Kundenkennung=name" --map "{Spalte}=phones"'
    )


def test_import_hints_and_report_lines_name_no_option(session, tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", [["Name", "Phone", "Lead Score"], ["Anna", "030 1234567", "9"]])
    result = importer.import_file(session, path, unknown="ignore", workers=0)
    (hint,) = result["hints"]  # German numbers read as US ones
    assert "--" not in hint and hint == "1 phones without a country code were no valid US number"
    assert hint.hint is not None  # type: ignore[attr-defined]
    assert hint.hint.line(hint, option_of) == (  # type: ignore[attr-defined]
        f"{hint}: if the file is from another country, import it again with --region (e.g. --region FR)"
    )
    reasons = {line["column"]: line["reason"] for line in result["report"]}
    assert reasons["Lead Score"] == "not recognised (unknown columns ignored)"
    again = importer.import_file(session, path, region="DE", on_duplicate="skip", workers=0)
    assert again["counts"]["skipped"] == 1 and again["hints"] == []
    skipped = [line for line in again["report"] if line["event"] == "skipped"]
    assert [line["reason"] for line in skipped] == ["matches it; left as it is (duplicates skipped)"]
    assert not [line for line in result["report"] + again["report"] if "--" in str(line["reason"])]


def test_the_command_line_spells_the_import_hints_as_options(cli, tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", [["Name", "Phone"], ["Anna", "030 1234567"]])
    out = cli("import", str(path), "-f", "json")
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout)["hints"] == [
        "1 phones without a country code were no valid US number: "
        "if the file is from another country, import it again with --region (e.g. --region FR)"
    ]
    table = cli("import", str(path), "-f", "table")
    assert "import it again with --region (e.g. --region FR)" in table.stderr
    nothing = write(tmp_path / "n.csv", [["Kundenkennung"], ["1"]])
    refused = cli("import", str(nothing), "--kind", "contacts", "--unknown", "ignore")
    assert refused.exit_code == 1 and refused.stderr.count("Error: ") == 1
    assert 'say which columns hold them with --map. For example: --map "Kundenkennung=name"' in refused.stderr
    rejected = cli("import", str(nothing), "--kind", "contacts")  # a custom field each: every row rejected
    assert rejected.exit_code == 1
    assert (
        "Contacts need a name, an email or a phone: say which columns hold them with --map.\n"
        'For example: --map "Kundenkennung=name"\n'
    ) in rejected.stderr


def test_a_cadence_follow_up_is_refused_in_terms_of_the_data(session) -> None:
    anna = contacts.add_contact(session, name="Anna")
    followups.set_cadence(session, anna, 30)
    with pytest.raises(Invalid) as caught:
        followups.get_followup(session, f"c{anna.id}")
    message = caught.value.message
    assert message.startswith(f"c{anna.id} is the keep-in-touch cadence of contact #{anna.id}")
    assert "--" not in message and "crm " not in message
