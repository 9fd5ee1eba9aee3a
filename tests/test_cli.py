"""The crm command through Typer's CliRunner, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*(3[0-9]|4[0-9]|9[0-7])[0-9;]*m")


def ok(result, code: int = 0):
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    return result


def one_line_error(result, code: int, fragment: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert fragment in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def add_people(cli) -> dict[str, str]:
    ids = {}
    for args in (
        [
            "Anna Müller",
            "-e",
            "anna@acme.de",
            "-p",
            "+49 151 12345678",
            "-c",
            "Acme GmbH",
            "-t",
            "vip",
            "-F",
            "industry=SaaS",
        ],
        ["张伟明", "-e", "zhang@yuntu.cn", "-p", "+86 138 0013 8000", "-c", "深圳云图科技有限公司", "-t", "vip,china"],
        ["Hugo Lefèvre", "-e", "hugo@lumiere.fr", "-c", "Atelier Lumière SARL", "--owner", "ben"],
    ):
        result = ok(cli("contacts", "add", *args))
        ids[args[0]] = result.stdout.strip()
    return ids


def test_add_prints_id_for_scripts_and_message_for_people(cli, me) -> None:
    result = ok(cli("contacts", "add", "Anna Müller", "-e", "Anna@Acme.de"))
    assert result.stdout.strip().isdigit()
    assert result.stderr.strip() == f"Added contact #{result.stdout.strip()}: Anna Müller"
    as_json = ok(cli("contacts", "add", "Bert", "--format", "json"))
    record = json.loads(as_json.stdout)
    assert record["name"] == "Bert" and record["owner"] == me


@pytest.mark.parametrize("name", ["张伟明", "Hugo Lefèvre", "Anna Müller"])
def test_unicode_names_round_trip_through_every_format(cli, name: str) -> None:
    ids = add_people(cli)
    cid = ids[name]
    # show, in every format
    shown = json.loads(ok(cli("contacts", "show", name, "-f", "json")).stdout)
    assert shown["name"] == name and str(shown["id"]) == cid
    assert name in ok(cli("contacts", "show", cid, "-f", "table")).stdout
    assert f"Name\t{name}" in ok(cli("contacts", "show", cid)).stdout
    rows = list(csv.DictReader(io.StringIO(ok(cli("contacts", "show", cid, "-f", "csv")).stdout)))
    assert rows[0]["name"] == name
    assert ok(cli("contacts", "show", cid, "-q")).stdout == f"{cid}\n"
    # list, in every format
    listed = json.loads(ok(cli("contacts", "list", "-f", "json")).stdout)
    assert name in [r["name"] for r in listed]
    assert name in ok(cli("contacts", "list", "-f", "table")).stdout
    assert any(line.split("\t")[1] == name for line in ok(cli("contacts", "list")).stdout.splitlines())
    assert name in [r["name"] for r in csv.DictReader(io.StringIO(ok(cli("contacts", "list", "-f", "csv")).stdout))]
    assert cid in ok(cli("contacts", "list", "-q")).stdout.split()
    # search finds it by a part of the name
    part = name[1:3] if len(name) == 3 else name.split()[-1][:4]
    hits = json.loads(ok(cli("search", part, "-f", "json")).stdout)
    assert any(h["kind"] == "contact" and str(h["id"]) == cid for h in hits)
    assert name in ok(cli("search", part, "-f", "table")).stdout


def test_json_is_stable_snake_case_with_iso_times(cli) -> None:
    add_people(cli)
    rows = json.loads(ok(cli("contacts", "list", "-f", "json")).stdout)
    assert isinstance(rows, list) and len(rows) == 3
    for row in rows:
        assert list(row) == [
            "id",
            "name",
            "title",
            "company",
            "company_id",
            "email",
            "emails",
            "phone",
            "phones",
            "tags",
            "owner",
            "source",
            "last_touch",
            "notes",
            "custom",
            "external_id",
            "created_at",
            "updated_at",
            "street",
            "city",
            "region",
            "postcode",
            "country",
            "birthday",
            "website",
            "cadence_days",
        ]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["created_at"])
    anna = next(r for r in rows if r["name"] == "Anna Müller")
    assert anna["phones"] == ["+4915112345678"]
    assert anna["custom"] == {"industry": "SaaS"}


def test_csv_has_header_and_flattened_fields(cli) -> None:
    add_people(cli)
    text = ok(cli("contacts", "list", "-f", "csv")).stdout
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames is not None and reader.fieldnames[:2] == ["id", "name"]
    assert "custom.industry" in reader.fieldnames
    rows = {r["name"]: r for r in reader}
    assert rows["张伟明"]["tags"] == "china; vip"


def test_plain_output_when_piped_has_no_boxes_or_colour(cli) -> None:
    add_people(cli)
    out = ok(cli("contacts", "list", env={"FORCE_COLOR": "1", "NO_COLOR": "1"})).stdout
    assert "─" not in out and "\x1b" not in out
    assert all(len(line.split("\t")) == 8 for line in out.splitlines())
    table = ok(cli("contacts", "list", "-f", "table", env={"FORCE_COLOR": "1", "NO_COLOR": "1"})).stdout
    assert "Anna Müller" in table
    assert not ANSI_COLOUR.search(table)


def test_table_fits_80_columns(cli) -> None:
    add_people(cli)
    out = ok(cli("contacts", "list", "-f", "table", env={"COLUMNS": "80"})).stdout
    from rich.cells import cell_len

    assert max(cell_len(line) for line in out.splitlines()) <= 80
    assert "ID" in out and "Name" in out


def test_list_filters_through_the_cli(cli) -> None:
    ids = add_people(cli)
    assert ok(cli("contacts", "list", "--tag", "china", "-q")).stdout.split() == [ids["张伟明"]]
    assert ok(cli("contacts", "list", "--owner", "ben", "-q")).stdout.split() == [ids["Hugo Lefèvre"]]
    assert ok(cli("contacts", "list", "--where", "industry=SaaS", "-q")).stdout.split() == [ids["Anna Müller"]]
    assert ok(cli("contacts", "list", "--company", "Acme GmbH", "-q")).stdout.split() == [ids["Anna Müller"]]
    assert len(ok(cli("contacts", "list", "--limit", "2", "-q")).stdout.split()) == 2
    assert ok(cli("contacts", "list", "--since", "1d", "--sort", "-id", "-q")).stdout.split()[0] == ids["Hugo Lefèvre"]
    assert ok(cli("contacts", "list", "--tag", "nobody-has-this")).stdout == ""


def test_errors_are_one_line_with_exit_codes(cli) -> None:
    add_people(cli)
    one_line_error(cli("contacts", "show", "nobody"), 1, "no contact matches 'nobody'")
    one_line_error(cli("contacts", "add", "X", "-e", "not-an-email"), 1, "invalid email 'not-an-email'")
    one_line_error(cli("contacts", "add", "X", "-p", "12345"), 1, "invalid phone '12345'")
    one_line_error(cli("contacts", "add", "A. Müller", "-e", "anna@acme.de"), 1, "already belongs to")
    one_line_error(cli("contacts", "list", "--bogus"), 2, "No such option")
    one_line_error(cli("contacts", "list", "--format", "yaml"), 2, "--format")
    one_line_error(cli("contacts", "add"), 2, "missing argument NAME")
    one_line_error(cli("log", "Anna Müller"), 2, "missing argument TEXT")
    assert ok(cli("contacts", "add", "Anna Müller", "--allow-duplicate", "-q")).stdout.strip().isdigit()
    one_line_error(cli("contacts", "show", "Anna Müller"), 1, "matches 2 contacts")


@pytest.mark.in_process
def test_prompts_on_a_terminal(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import questionary

    from crmcli.commands import _prompts as prompts

    class Answer:
        def __init__(self, value):
            self.value = value

        def ask(self):
            return self.value

    monkeypatch.setattr(prompts, "interactive", lambda: True)
    monkeypatch.setattr(questionary, "text", lambda *a, **k: Answer("Prompted Person"))
    result = ok(cli("contacts", "add", "-e", "p@x.de"))
    assert "Added contact" in result.stderr
    assert json.loads(ok(cli("contacts", "show", "p@x.de", "-f", "json")).stdout)["name"] == "Prompted Person"
    monkeypatch.setattr(questionary, "text", lambda *a, **k: Answer(None))  # Ctrl-C at the prompt
    one_line_error(cli("contacts", "add"), 1, "cancelled")


def test_edit_and_rm(cli) -> None:
    ids = add_people(cli)
    ok(
        cli(
            "contacts",
            "edit",
            ids["Anna Müller"],
            "--title",
            "CTO",
            "--add-email",
            "anna@neu.de",
            "--primary-email",
            "anna@neu.de",
            "--untag",
            "vip",
            "-F",
            "industry=",
        )
    )
    shown = json.loads(ok(cli("contacts", "show", "anna@neu.de", "-f", "json")).stdout)
    assert (
        shown["title"] == "CTO"
        and shown["emails"][0] == "anna@neu.de"
        and shown["tags"] == []
        and shown["custom"] == {}
    )
    ok(cli("contacts", "rm", ids["Anna Müller"], ids["张伟明"], "--yes"))
    assert ok(cli("contacts", "list", "-q")).stdout.split() == [ids["Hugo Lefèvre"]]


def test_companies_commands(cli) -> None:
    add_people(cli)
    ok(cli("companies", "add", "Globex Corp", "--domain", "globex.com", "-t", "prospect"))
    rows = json.loads(ok(cli("companies", "list", "-f", "json")).stdout)
    assert {r["name"]: r["people"] for r in rows}["Acme GmbH"] == 1
    shown = json.loads(ok(cli("companies", "show", "深圳云图科技有限公司", "-f", "json")).stdout)
    assert [p["name"] for p in shown["contacts"]] == ["张伟明"]
    ok(cli("companies", "edit", "globex.com", "--name", "Globex Inc", "--untag", "prospect", "-t", "customer"))
    assert (
        ok(cli("companies", "list", "--tag", "customer", "-f", "csv")).stdout.splitlines()[1].split(",")[1]
        == "Globex Inc"
    )
    table = ok(cli("companies", "show", "Acme GmbH", "-f", "table")).stdout
    assert "People (1)" in table and "Anna Müller" in table
    ok(cli("companies", "rm", "Acme GmbH", "--yes"))
    assert json.loads(ok(cli("contacts", "show", "anna@acme.de", "-f", "json")).stdout)["company"] is None


def test_log_and_timeline(cli) -> None:
    add_people(cli)
    ok(cli("log", "anna@acme.de", "--type", "call", "Discussed the renewal", "--at", "2026-11-20 15:00"))
    ok(cli("log", "Anna Müller", "Sent pricing", "-t", "email", "--at", "2026-11-21"))
    ok(cli("log", "company:Acme GmbH", "Big account", "--at", "2026-11-01"))
    shown = json.loads(ok(cli("contacts", "show", "anna@acme.de", "-f", "json")).stdout)
    assert [a["text"] for a in shown["activities"]] == ["Sent pricing", "Discussed the renewal"]
    assert shown["activities"][1]["at"] == "2026-11-20T15:00:00Z"
    assert shown["last_touch"] == "2026-11-21T00:00:00Z"
    company = json.loads(ok(cli("companies", "show", "Acme GmbH", "-f", "json")).stdout)
    assert [a["text"] for a in company["activities"]] == ["Sent pricing", "Discussed the renewal", "Big account"]
    one_line_error(cli("log", "anna@acme.de", "x", "--at", "next blue moon"), 1, "cannot read the time")
    one_line_error(cli("log", "anna@acme.de", "x", "--type", "fax"), 2, "--type")
    hits = json.loads(ok(cli("search", "renewal", "-f", "json")).stdout)
    assert hits[0]["kind"] == "activity"


def test_times_show_in_the_configured_zone(cli) -> None:
    add_people(cli)
    ok(cli("log", "anna@acme.de", "Call", "--at", "2026-07-01T12:00:00+00:00"))
    ok(cli("config", "set", "timezone", "Europe/Berlin"))
    table = ok(cli("contacts", "show", "anna@acme.de", "-f", "table")).stdout
    assert "2026-07-01 14:00" in table  # CEST
    data = json.loads(ok(cli("contacts", "show", "anna@acme.de", "-f", "json")).stdout)
    assert data["activities"][0]["at"] == "2026-07-01T12:00:00Z"  # stored and exported in UTC


def test_config_and_fields(cli) -> None:
    one_line_error(cli("config", "set", "default_region", "XX"), 1, "unknown region")
    ok(cli("config", "set", "default_region", "de"))
    assert ok(cli("config", "get", "default_region")).stdout == "DE\n"
    cid = ok(cli("contacts", "add", "Lena", "-p", "0151 12345678")).stdout.strip()
    assert json.loads(ok(cli("contacts", "show", cid, "-f", "json")).stdout)["phone"] == "+4915112345678"
    ok(cli("fields", "add", "contacts", "industry", "--type", "choice", "--choices", "SaaS,Retail"))
    one_line_error(cli("contacts", "edit", cid, "-F", "industry=Mining"), 1, "not one of SaaS, Retail")
    ok(cli("contacts", "edit", cid, "-F", "industry=retail"))
    assert json.loads(ok(cli("contacts", "show", cid, "-f", "json")).stdout)["custom"] == {"industry": "Retail"}
    fields_json = json.loads(ok(cli("fields", "list", "-f", "json")).stdout)
    assert fields_json[0]["choices"] == ["SaaS", "Retail"]
    settings_rows = json.loads(ok(cli("config", "list", "-f", "json")).stdout)
    assert {r["key"]: r["value"] for r in settings_rows}["default_region"] == "DE"


def test_db_status(cli, db_url: str) -> None:
    status = json.loads(ok(cli("db", "status", "-f", "json")).stdout)
    assert status["state"] == "up to date" and status["contacts"] == 0
    assert ok(cli("db", "upgrade")).stderr.startswith("Already at schema")


def test_password_never_printed(cli) -> None:
    url = "postgresql+psycopg://crm:Sup3rSecret@127.0.0.1:1/crm"
    for args in (["--db", url, "contacts", "list"], ["--db", url, "db", "status"]):
        result = cli(*args)
        one_line_error(result, 1, "cannot open database postgresql+psycopg://crm:***@127.0.0.1:1/crm")
        assert "Sup3rSecret" not in result.stdout + result.stderr


def test_demo_fills_and_then_refuses(cli) -> None:
    result = ok(cli("init", "--demo", env={"CRM_NOW": "2026-11-23T09:00:00Z"}))
    assert "contacts" in result.stderr
    counts = json.loads(ok(cli("db", "status", "-f", "json")).stdout)
    assert 200 <= counts["contacts"] <= 500 and 20 <= counts["companies"] <= 60 and counts["activities"] > 300
    names = [r["name"] for r in json.loads(ok(cli("contacts", "list", "-f", "json")).stdout)]
    assert any(re.search(r"[\u4e00-\u9fff]", n) for n in names) and any(re.search(r"[äöüéèß]", n) for n in names)
    one_line_error(cli("init", "--demo"), 1, "only goes into an empty one")


def test_demo_is_deterministic(tmp_path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from crmcli.cli import app

    monkeypatch.setenv("CRM_NOW", "2026-11-23T09:00:00Z")
    runner = CliRunner()
    dumps = []
    for name in ("one.db", "two.db"):
        db = str(tmp_path / name)
        ok(runner.invoke(app, ["--db", db, "init", "--demo"]))
        dumps.append(ok(runner.invoke(app, ["--db", db, "contacts", "list", "-f", "csv", "--sort", "id"])).stdout)
    assert dumps[0] == dumps[1]
    assert dumps[0].count("\n") > 200


def _walk(command, path):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _walk(sub, [*path, name])


def test_every_command_has_help_with_an_example() -> None:
    import typer.main
    from typer.testing import CliRunner

    from crmcli.cli import app

    root = typer.main.get_command(app)
    runner = CliRunner()
    for path, command in _walk(root, []):
        assert command.help, path
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        if not getattr(command, "commands", None):
            assert "Example:" in command.help, path


def test_version() -> None:
    from typer.testing import CliRunner

    from crmcli import __version__
    from crmcli.cli import app

    assert CliRunner().invoke(app, ["--version"]).stdout == f"crm {__version__}\n"
