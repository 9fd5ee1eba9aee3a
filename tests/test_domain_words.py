"""The domain speaks the domain (issue 14, item 5): a library error or note says what is wrong with
the data, and its hint names the keyword argument that changes the outcome; the command line words
the hint with its options, so its one line is what it always was. The library changes no
process-wide state: the time zone and date order are the caller's, for a block of work."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime

import pytest

from crmcli import storage
from crmcli.analytics import targets
from crmcli.commands._common import option_of, said
from crmcli.domain import companies, contacts, deals, fields, followups, lookup, pipeline, settings
from crmcli.errors import Conflict, CrmError, Hint, Invalid, UsageError
from crmcli.values import clock, files, periods
from crmcli.values.when import PastTime, parse_when
from tests.test_cli import ok, one_line_error

BERLIN = "Europe/Berlin"


def spoken_plainly(exc: CrmError) -> None:
    """EXC speaks about data: no option in its message, a hint that names keywords only."""
    assert "--" not in exc.message, exc.message
    assert str(exc) == exc.message
    assert exc.hint is not None and exc.hint.keywords
    assert "--" not in exc.hint.text()


# ---------------------------------------------------------------- the hint


def test_a_hint_names_keywords_and_the_command_line_spells_them_as_options() -> None:
    hint = Hint("{allow_duplicate} adds it anyway")
    assert hint.keywords == ("allow_duplicate",)
    assert hint.text() == "allow_duplicate adds it anyway"
    assert hint.line("email a@b.de already belongs to #3 Anna") == (
        "email a@b.de already belongs to #3 Anna (allow_duplicate adds it anyway)"
    )
    assert said(Conflict("email a@b.de already belongs to #3 Anna", hint=hint)) == (
        "email a@b.de already belongs to #3 Anna (--allow-duplicate adds it anyway)"
    )
    assert said(Conflict("{data} with braces")) == "{data} with braces"  # a message is never formatted
    # where the option is not --keyword-with-dashes, the command layer says so
    assert [option_of(k) for k in ("move_deals_to", "custom", "fmt")] == ["--move-deals-to", "--field", "--format"]


# ---------------------------------------------------------------- the library's words


def test_a_refused_duplicate_says_whose_the_email_is_and_hints_allow_duplicate(session) -> None:
    anna = contacts.add_contact(session, name="Anna Müller", emails=["anna@acme.de"])
    with pytest.raises(Conflict) as caught:
        contacts.add_contact(session, name="Anna Mueller", emails=["anna@acme.de"])
    spoken_plainly(caught.value)
    assert caught.value.message == f"email anna@acme.de already belongs to #{anna.id} Anna Müller"
    assert caught.value.hint.keywords == ("allow_duplicate",)
    other = contacts.add_contact(session, name="Anna Mueller", emails=["anna@acme.de"], allow_duplicate=True)
    assert other.id != anna.id  # the keyword the hint names does what it says


def test_field_definition_errors_speak_of_choices_not_options(session) -> None:
    with pytest.raises(Invalid) as needs:
        fields.add_field(session, entity="contacts", name="tier", type="choice")
    with pytest.raises(Invalid) as only:
        fields.add_field(session, entity="contacts", name="tier", type="text", choices=["Gold"])
    with pytest.raises(Invalid) as builtin:
        fields.validate(session, "contacts", {"email": "x@y.de"})
    for caught in (needs, only, builtin):
        spoken_plainly(caught.value)
    assert said(needs.value) == "a choice field needs --choices, e.g. --choices SaaS,Retail"
    assert said(only.value) == "--choices goes with --type choice"
    assert said(builtin.value) == "'email' is a built-in field; use its own option instead of --field"


def test_stage_target_followup_and_file_errors_keep_options_out_of_the_message(session, tmp_path) -> None:
    sales = pipeline.get_pipeline(session)
    stage = pipeline.stages(session, sales)[0]
    deals.add_deal(session, title="Rollout", stage=stage.name)
    with pytest.raises(Conflict) as sitting:
        deals.remove_stage(session, stage)
    assert sitting.value.message == f"1 deal sit in {stage.name}"
    assert said(sitting.value) == f"1 deal sit in {stage.name}: say where they go with --move-deals-to STAGE"

    counted = next(m for m, spec in targets.METRICS.items() if spec[0] != "money")
    with pytest.raises(Invalid) as currency:
        targets.set_target(session, metric=counted, value="3", currency="EUR")
    assert said(currency.value) == f"{counted} is not an amount of money: leave out --currency"

    anna = contacts.add_contact(session, name="Anna")
    with pytest.raises(UsageError) as once:
        followups.add_followup(session, due_at=clock.now(), contact=anna, from_done=True)
    assert said(once.value) == "--from-done only applies to a recurring follow-up (give --every)"

    there = tmp_path / "out.csv"
    there.write_text("mine")
    with pytest.raises(Conflict) as exists:
        files.target(str(there), force=False)
    assert exists.value.message == f"{there} exists"
    assert said(exists.value) == f"{there} exists: use --force to replace it"
    for caught in (sitting, currency, once, exists):
        spoken_plainly(caught.value)


def test_period_and_past_time_errors_name_keywords(monkeypatch) -> None:
    monkeypatch.setenv("CRM_NOW", "2026-11-23T09:00Z")
    cases = [
        (("month", "2026-11-01", None), "give either --period or --since/--until, not both"),
        ((None, None, "2026-11-30"), "--until needs --since"),
        ((None, "2026-11-30", "2026-11-01"), "--until 2026-11-01 is before --since 2026-11-30"),
        ((None, "{not a day}", None), "invalid --since '{not a day}': use a date such as 2026-11-01"),
    ]
    for args, line in cases:
        with pytest.raises(UsageError) as caught:
            periods.window(*args)
        spoken_plainly(caught.value)
        assert said(caught.value).startswith(line)
    with pytest.raises(PastTime) as past:
        parse_when("yesterday", what="due time", allow_past=False)
    spoken_plainly(past.value)
    assert said(past.value).endswith("in the past: use --allow-past to set it anyway")


def test_a_near_company_note_carries_its_hint(session) -> None:
    firm = companies.add_company(session, name="Müller & Söhne GmbH")
    lookup.take_notes()
    assert companies.find_or_create(session, "Müller und Söhne").id == firm.id
    [note] = lookup.take_notes()
    assert note == f"using company #{firm.id} Müller & Söhne GmbH for 'Müller und Söhne'"
    assert note.hint is not None and note.hint.keywords == ("new_company",)
    assert note.hint.line(note, option_of).endswith("(--new-company makes a new one)")


# ---------------------------------------------------------------- the command line's words


def test_cli_lines_are_the_options_wording(cli, tmp_path) -> None:
    one_line_error(
        cli("fields", "add", "contacts", "tier", "--type", "choice"),
        1,
        "a choice field needs --choices, e.g. --choices SaaS,Retail",
    )
    one_line_error(cli("fields", "add", "contacts", "tier", "--choices", "A,B"), 1, "--choices goes with --type choice")
    one_line_error(
        cli("contacts", "add", "Anna", "-F", "email=a@b.de"),
        1,
        "'email' is a built-in field; use its own option instead of --field",
    )
    one_line_error(cli("kpi", "--until", "2026-11-01"), 2, "--until needs --since")
    one_line_error(
        cli("export", "contacts", str(tmp_path / "out.txt")),
        2,
        "from its extension: use .csv, .xlsx, .json or .vcf, or --format",
    )


# ---------------------------------------------------------------- no process-wide state


def test_the_library_sets_no_zone_and_a_block_of_work_uses_the_one_it_is_given(db_url) -> None:
    with storage.session_scope(db_url, write=True) as s:
        settings.set_value(s, "timezone", BERLIN)
        settings.set_value(s, "date_order", "dmy")
    before = (os.environ.get("TZ"), time.tzname, clock.local_zone(), clock.date_order())
    with storage.session_scope(db_url, write=True) as s:
        anna = contacts.add_contact(s, name="Anna")
        system = followups.add_followup(s, due_at=datetime(2026, 12, 1, 9, 0), contact=anna)
        assert (clock.local_zone(), clock.date_order()) == (None, None)  # opening a session set nothing
        with clock.local_time(settings.get(s, "timezone"), settings.get(s, "date_order")):
            berlin = followups.add_followup(s, due_at=datetime(2026, 12, 1, 9, 0), contact=anna)
            assert clock.show_local(berlin.due_at) == "2026-12-01 09:00"
            assert clock.show_local(parse_when("1/12/2026 10:00")) == "2026-12-01 10:00"  # dmy
        assert (os.environ.get("TZ"), time.tzname, clock.local_zone(), clock.date_order()) == before
    # TZ=UTC in the tests: 09:00 in Berlin is 08:00 UTC in December, 09:00 on the system's clock is 09:00
    assert clock.iso_utc(berlin.due_at) == "2026-12-01T08:00:00Z"
    assert clock.iso_utc(system.due_at) == "2026-12-01T09:00:00Z"


def test_the_command_line_shows_the_configured_zone_and_leaves_none_behind(cli) -> None:
    ok(cli("config", "set", "timezone", BERLIN))
    anna = ok(cli("contacts", "add", "Anna", "-q")).stdout.strip()
    ok(cli("followups", "add", anna, "--due", "2026-12-01 09:00", "--allow-past"))
    [row] = json.loads(ok(cli("followups", "list", "--all", "-f", "json")).stdout)
    assert row["due_at"] == "2026-12-01T08:00:00Z"  # read in Berlin
    assert "2026-12-01 09:00" in ok(cli("followups", "list", "--all", "-f", "plain")).stdout  # shown in Berlin
    assert (clock.local_zone(), clock.date_order()) == (None, None)  # the invocation's, not the process's
