"""Safe by default (issue 12): a destructive command without a terminal does nothing unless --yes, on SQLite
and PostgreSQL. CliRunner's stdin is not a terminal, as a pipe's or cron's is not. The walk over the Typer app
holds commands added later to the rule: one named rm, remove, delete, merge, undo or prune, or whose summary
says so, or with --auto, needs --yes/-y and a case in CASES."""

from __future__ import annotations

import os
import re

import pytest
from test_cli import ok, one_line_error

DESTRUCTIVE = re.compile(r"\b(rm|remove[sd]?|delete[sd]?|merge[sd]?|undo|prune[sd]?)\b", re.I)

# command → (its arguments against _fill's database, what the refusal names)
CASES: dict[str, tuple[list[str], str]] = {
    "contacts rm": (["contacts", "rm", "Anna Müller"], "remove #1 Anna Müller"),
    "contacts merge": (["contacts", "merge", "1", "2"], "merge #2 Anna into #1 Anna Müller"),
    "contacts dedupe": (["contacts", "dedupe", "--auto"], "merge 1 duplicate contacts into 1"),
    "companies rm": (["companies", "rm", "Acme GmbH"], "remove #1 Acme GmbH"),
    "companies merge": (["companies", "merge", "1", "2"], "merge #2 ACME into #1 Acme GmbH"),
    "companies dedupe": (["companies", "dedupe", "--auto"], "merge 1 duplicate companies into 1"),
    "deals rm": (["deals", "rm", "Acme renewal"], "remove #1 Acme renewal"),
    "followups rm": (["followups", "rm", "1"], "remove follow-up #1 Anna Müller (Send the pricing)"),
    "pipeline stage rm": (["pipeline", "stage", "rm", "Demo"], "remove stage Demo of Sales"),
    "fields rm": (["fields", "rm", "contacts", "size"], "remove the declaration of contacts field 'size'"),
    "targets rm": (["targets", "rm", "1"], "remove target #1"),
    "imports undo": (["imports", "undo", "1"], "undo import #1 of people.csv"),
    "config rates rm": (["config", "rates", "rm", "usd"], "remove the rate of USD (1 USD = 0.92 EUR)"),
    "undo": (["undo"], "undo your last change"),
    "rules rm": (["rules", "rm", "1"], "remove rule #1"),
    "history prune": (["history", "prune", "--before", "2030-01-01"], "remove the history before 2030-01-01 00:00"),
    "team remove": (["team", "remove", "tom_TEAM", "--reassign-to", "ana_TEAM"], "remove tom_TEAM from the team"),
}
NEEDS_POSTGRESQL = {"team remove"}  # a team is a PostgreSQL database's: on SQLite there is none to remove from


def _leaves(command, path):
    subs = getattr(command, "commands", None)
    if not subs:
        yield path, command
    for name, sub in (subs or {}).items():
        yield from _leaves(sub, [*path, name])


def _destructive() -> dict[str, list[str]]:
    """Every destructive command of the app → its options."""
    import typer.main

    from crmcli.cli import app

    found = {}
    for path, command in _leaves(typer.main.get_command(app), []):
        options = [o for p in command.params for o in getattr(p, "opts", [])]
        summary = (command.help or "").strip().splitlines()[0] if command.help else ""
        if DESTRUCTIVE.search(" ".join(path)) or DESTRUCTIVE.search(summary) or "--auto" in options:
            found[" ".join(path)] = options
    return found


def test_every_destructive_command_has_yes_and_a_case_here() -> None:
    found = _destructive()
    assert {"contacts rm", "imports undo", "pipeline stage rm", "contacts dedupe"} <= set(found)
    for name, options in found.items():
        assert "--yes" in options and "-y" in options, f"crm {name} has no --yes/-y"
        assert name in CASES, f"crm {name} is destructive: add a case to CASES (refused without --yes)"
    assert set(CASES) <= set(found)


def _fill(cli, tmp_path) -> None:
    """One record of everything a destructive command removes; contact 2 and company 2 are exact duplicates."""
    ok(cli("companies", "add", "Acme GmbH", "--domain", "acme.de"))
    ok(cli("companies", "add", "ACME", "--domain", "acme.de"))
    ok(cli("contacts", "add", "Anna Müller", "-e", "anna@acme.de"))
    ok(cli("contacts", "add", "Anna", "-e", "anna@acme.de", "--allow-duplicate"))
    ok(cli("deals", "add", "Acme renewal", "-c", "1", "--company", "1", "--amount", "12000"))
    ok(cli("followups", "add", "contact:1", "--due", "2030-01-01", "--note", "Send the pricing"))
    ok(cli("pipeline", "stage", "add", "Demo", "--probability", "40"))
    ok(cli("fields", "add", "contacts", "size", "--type", "number"))
    ok(cli("targets", "set", "won_count", "10"))
    ok(cli("config", "rates", "set", "USD", "0.92"))
    ok(cli("rules", "add", "contacts", "--tag", "vip", "--owner", "ana"))
    sheet = tmp_path / "people.csv"
    sheet.write_text("name,email\nZoe Import,zoe@example.com\n")
    ok(cli("import", str(sheet)))


def _snapshot(db_url: str) -> dict[str, list]:
    """Every row of every table, to show that a refusal wrote nothing."""
    from sqlalchemy import inspect, text

    from crmcli import storage

    engine, _ = storage.open_engine(db_url)
    rows = {}
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            quoted = conn.dialect.identifier_preparer.quote(table)
            rows[table] = sorted(map(repr, conn.execute(text(f"SELECT * FROM {quoted}"))))
    return rows


@pytest.mark.parametrize("name", sorted(CASES))
def test_refused_without_a_terminal_unless_yes(cli, db_url, tmp_path, name: str) -> None:
    args, action = CASES[name]
    if name in NEEDS_POSTGRESQL:
        if not db_url.startswith("postgresql"):
            ran = cli(*args, "--yes")
            one_line_error(ran, 2, "a team needs a PostgreSQL database")
            return
        suffix = f"{os.getpid()}_{tmp_path.name[-12:]}".replace("-", "_").lower()
        args = [a.replace("TEAM", suffix) for a in args]
        action = action.replace("TEAM", suffix)
        ok(cli("team", "setup"))
        ok(cli("team", "add", f"tom_{suffix}", "--role", "member"))
        ok(cli("team", "add", f"ana_{suffix}", "--role", "manager"))
    _fill(cli, tmp_path)
    if name in NEEDS_POSTGRESQL:
        ok(cli("contacts", "edit", "1", "--owner", f"tom_{suffix}"))  # work to hand over
    before = _snapshot(db_url)
    refused = cli(*args)
    one_line_error(refused, 2, f"not a terminal: add --yes to {action}")
    assert refused.stdout == ""
    assert _snapshot(db_url) == before
    ok(cli(*args, "--yes"))
    assert _snapshot(db_url) != before  # the refused command had work to do


def test_short_yes_and_nothing_to_do(cli, db_url, tmp_path) -> None:
    _fill(cli, tmp_path)
    ok(cli("contacts", "rm", "2", "-y"))
    result = ok(cli("contacts", "dedupe", "--auto"))  # nothing to merge: nothing to confirm
    assert result.stderr == "No exact duplicate contacts.\n"
    one_line_error(cli("contacts", "rm", "99"), 1, "no contact with id 99")  # the reference is checked first


@pytest.mark.in_process
def test_a_terminal_is_asked_and_no_keeps_everything(cli, db_url, tmp_path, monkeypatch) -> None:
    import questionary

    from crmcli.commands import _prompts as prompts

    _fill(cli, tmp_path)
    before = _snapshot(db_url)
    asked = []

    class Answer:
        def __init__(self, question: str, default: bool) -> None:
            asked.append((question, default))

        def ask(self) -> bool:
            return False

    monkeypatch.setattr(prompts, "interactive", lambda: True)
    monkeypatch.setattr(questionary, "confirm", Answer)
    one_line_error(cli("contacts", "rm", "1"), 1, "nothing removed")
    assert asked == [("Remove #1 Anna Müller?", False)]
    assert _snapshot(db_url) == before


def test_the_refusal_names_the_action() -> None:
    from crmcli.commands._prompts import _action

    assert _action("Remove #12 Anna Müller?") == "remove #12 Anna Müller"
    assert _action("Remove #3 Who? Ltd? Their people stay, without a company.") == "remove #3 Who? Ltd"
    assert _action("Undo import #3 of a.csv?") == "undo import #3 of a.csv"
