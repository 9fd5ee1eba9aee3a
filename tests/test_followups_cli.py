"""crm followups through the CLI, on SQLite and PostgreSQL, with frozen time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import ok, one_line_error

NOW = "2026-11-23T10:00:00Z"  # Monday 10:00 UTC


@pytest.fixture(autouse=True)
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_NOW", NOW)


def people(cli) -> None:
    ok(cli("contacts", "add", "Anna Müller", "-e", "anna@acme.de", "-c", "Acme GmbH", "--owner", "ana"))
    ok(cli("contacts", "add", "张伟明", "-e", "zhang@yuntu.cn", "--owner", "ben"))


def add(cli, *args: str) -> str:
    return ok(cli("followups", "add", *args)).stdout.strip()


def as_json(cli, *args: str):
    return json.loads(ok(cli(*args, "-f", "json")).stdout)


def test_add_reads_phrases_and_says_when(cli, me) -> None:
    people(cli)
    result = ok(cli("followups", "add", "anna@acme.de", "--due", "tomorrow 9am", "--note", "Send the pricing"))
    assert result.stdout.strip() == "1"  # the id, for scripts
    assert result.stderr.strip() == "Added follow-up #1 on Anna Müller: due 2026-11-24 09:00 (tomorrow 09:00)"
    record = as_json(cli, "followups", "show", "1")
    assert record["due_at"] == "2026-11-24T09:00:00Z" and record["owner"] == me
    assert record["subject_kind"] == "contact" and record["note"] == "Send the pricing" and record["every"] is None
    added = json.loads(
        ok(cli("followups", "add", "张伟明", "-d", "fri 14:00", "--every", "2w", "--owner", "ben", "-f", "json")).stdout
    )
    assert added["due_at"] == "2026-11-27T14:00:00Z" and added["every"] == "2w" and added["owner"] == "ben"
    assert add(cli, "company:Acme GmbH", "--due", "eom") == "3"
    assert as_json(cli, "followups", "show", "3")["subject"] == "Acme GmbH"


def test_bad_input_is_one_line_with_the_right_exit_code(cli) -> None:
    people(cli)
    one_line_error(cli("followups", "add", "anna@acme.de", "--due", "someday soonish"), 2, "try tomorrow 9am")
    one_line_error(cli("followups", "add", "anna@acme.de", "--due", "3d", "--every", "hourly"), 2, "daily, weekly")
    one_line_error(cli("followups", "add", "anna@acme.de"), 2, "--due")
    one_line_error(cli("followups", "add", "nobody", "--due", "3d"), 1, "no contact, company or deal matches")
    one_line_error(cli("followups", "done", "42"), 1, "no follow-up with id 42")
    one_line_error(cli("followups", "done", "x1"), 2, "no follow-up id")
    one_line_error(cli("followups", "list", "--today", "--all"), 2, "one of --overdue")
    one_line_error(cli("followups", "list", "--owner", "ana", "--mine"), 2, "--owner or --mine")
    one_line_error(cli("followups", "list", "--upcoming", "soon"), 2, "cannot read --upcoming 'soon'")
    one_line_error(cli("followups", "add", "anna@acme.de", "-d", "3d", "--from-done"), 2, "--every")


def test_list_windows_owner_and_mine(cli, me) -> None:
    people(cli)
    add(cli, "anna@acme.de", "--allow-past", "--due", "2026-11-20", "--note", "overdue", "--owner", "ana")
    add(cli, "anna@acme.de", "--due", "today 16:00", "--note", "today", "--owner", me)
    add(cli, "张伟明", "--due", "in 3 days", "--note", "soon", "--owner", "ben")
    add(cli, "张伟明", "--due", "in 3 weeks", "--note", "later", "--owner", "ben")

    def notes(*args: str) -> list[str]:
        return [r["note"] for r in as_json(cli, "followups", "list", *args)]

    assert notes() == ["overdue", "today"]
    assert notes("--overdue") == ["overdue"]
    assert notes("--today") == ["today"]
    assert notes("--upcoming", "7d") == ["today", "soon"]
    assert notes("--all") == ["overdue", "today", "soon", "later"]
    assert notes("--all", "--owner", "ben") == ["soon", "later"]
    assert notes("--all", "--mine") == ["today"]
    plain = ok(cli("followups", "list", "--all")).stdout.splitlines()
    assert plain[0].split("\t") == ["1", "2026-11-20 09:00", "3 days overdue", "Anna Müller", "overdue", "ana", ""]
    assert plain[1].split("\t")[2] == "in 6 h"
    assert ok(cli("followups", "list", "--all", "-q")).stdout.split() == ["1", "2", "3", "4"]
    table = ok(cli("followups", "list", "--all", "-f", "table", env={"COLUMNS": "100"})).stdout
    assert "3 days overdue" in table and "张伟明" in table and "in 3 weeks" in table
    csv_text = ok(cli("followups", "list", "-f", "csv")).stdout
    assert csv_text.splitlines()[0].startswith("id,kind,due_at,relative,status,subject_kind,subject,note,owner")


def test_overdue_for_cron(cli) -> None:
    people(cli)
    add(cli, "anna@acme.de", "--due", "today 16:00", "--note", "not overdue yet")
    # nothing overdue: not a byte on either stream, exit 0 even with --exit-code
    quiet = ok(cli("followups", "overdue", "--exit-code"))
    assert quiet.stdout == "" and quiet.stderr == ""
    assert json.loads(ok(cli("followups", "overdue", "-f", "json")).stdout) == []
    add(cli, "anna@acme.de", "--allow-past", "--due", "2026-11-21 09:00", "--note", "Call back", "--owner", "ana")
    add(cli, "张伟明", "--allow-past", "--due", "2026-11-22 18:00", "--note", "Send the quote", "--owner", "ben")
    result = ok(cli("followups", "overdue"))
    assert result.stderr == ""
    assert result.stdout.splitlines() == [
        "2\t2026-11-21 09:00\t2 days overdue\tAnna Müller\tCall back\tana\t",
        "3\t2026-11-22 18:00\t1 day overdue\t张伟明\tSend the quote\tben\t",
    ]
    assert ok(cli("followups", "overdue", "--exit-code"), 1).stdout.count("\n") == 2
    mine = ok(cli("followups", "overdue", "--owner", "ben", "-f", "json")).stdout
    assert [r["id"] for r in json.loads(mine)] == [3]
    assert ok(cli("followups", "overdue", "--owner", "nobody", "--exit-code")).stdout == ""


def test_overdue_never_prompts_or_needs_a_terminal(tmp_path: Path) -> None:
    """A real process, as cron runs it: no terminal on any stream."""
    from crmcli import storage

    db = tmp_path / "crm.db"
    storage.open_engine(str(db))
    storage.dispose_all()
    env = {**os.environ, "CRM_DB": str(db), "CRM_NOW": NOW}
    run = subprocess.run(
        [sys.executable, "-m", "crmcli", "followups", "overdue", "--exit-code"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")


def test_done_snooze_edit_rm(cli) -> None:
    people(cli)
    add(cli, "anna@acme.de", "--allow-past", "--due", "2026-11-20", "--note", "Call back")
    add(cli, "anna@acme.de", "--allow-past", "--due", "2026-11-16 09:00", "--every", "weekly", "--note", "Status call")
    done = ok(cli("followups", "done", "1", "--log", "Called, sending the contract", "--type", "call"))
    assert done.stdout == "1\n" and "Done follow-up #1 on Anna Müller, logged activity #1" in done.stderr
    shown = as_json(cli, "contacts", "show", "anna@acme.de")
    assert shown["activities"][0]["text"] == "Called, sending the contract" and shown["activities"][0]["type"] == "call"
    assert as_json(cli, "followups", "show", "1")["status"] == "done"
    one_line_error(cli("followups", "done", "1"), 1, "already done")
    # recurring: moves on from its due date, past occurrences skipped (16 Nov → 30 Nov, not 23 Nov 09:00)
    moved = ok(cli("followups", "done", "2"))
    assert "next due 2026-11-30 09:00" in moved.stderr
    assert as_json(cli, "followups", "show", "2")["due_at"] == "2026-11-30T09:00:00Z"
    snoozed = ok(cli("followups", "snooze", "2", "--until", "next monday 10am"))
    assert "until 2026-11-30 10:00 (in 7 days)" in snoozed.stderr
    ok(cli("followups", "edit", "2", "--note", "Weekly status", "--every", "monthly", "--from-done", "--due", "3d"))
    record = as_json(cli, "followups", "show", "2")
    assert (record["note"], record["every"], record["from_done"], record["due_at"]) == (
        "Weekly status",
        "monthly",
        True,
        "2026-11-26T09:00:00Z",
    )
    one_line_error(cli("followups", "snooze", "2", "--until", "whenever"), 2, "cannot read the time to snooze until")
    removed = ok(cli("followups", "rm", "2", "--yes"))
    assert "Removed 1 follow-up: #2 Anna Müller (Weekly status)" in removed.stderr
    one_line_error(cli("followups", "show", "2"), 1, "no follow-up with id 2")


def test_cadence_through_the_cli(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    people(cli)  # created now, 23 Nov
    set_ = ok(cli("contacts", "cadence", "anna@acme.de", "30d"))
    assert "every 30 days: follow-up c1 due 2026-12-23 10:00 (in 4 weeks)" in set_.stderr
    rows = as_json(cli, "followups", "list", "--all")
    assert [(r["id"], r["kind"], r["subject"]) for r in rows] == [("c1", "cadence", "Anna Müller")]
    monkeypatch.setenv("CRM_NOW", "2027-01-02T10:00:00Z")  # 40 days on, nobody called
    assert [(r["id"], r["relative"]) for r in as_json(cli, "followups", "overdue")] == [("c1", "10 days overdue")]
    add(cli, "anna@acme.de", "--allow-past", "--due", "2026-12-30", "--note", "dated")
    assert [r["id"] for r in as_json(cli, "followups", "list")] == ["c1", 1]  # side by side, by due time
    assert ok(cli("followups", "list", "--no-cadence", "-q")).stdout.split() == ["1"]
    ok(cli("log", "anna@acme.de", "--type", "call", "Catch-up", "--at", "2026-12-31 15:00"))  # logging pushes it back
    assert as_json(cli, "followups", "show", "c1")["due_at"] == "2027-01-30T15:00:00Z"
    ok(cli("followups", "done", "c1", "--log", "Lunch", "--type", "meeting"))  # done = an activity now
    assert as_json(cli, "followups", "show", "c1")["due_at"] == "2027-02-01T10:00:00Z"
    assert as_json(cli, "contacts", "show", "anna@acme.de")["activities"][0]["text"] == "Lunch"
    one_line_error(cli("followups", "snooze", "c1", "--until", "3d"), 1, "crm contacts cadence 1")
    one_line_error(cli("followups", "rm", "c1", "--yes"), 1, "crm contacts cadence 1")
    table = ok(cli("contacts", "show", "anna@acme.de", "-f", "table", env={"COLUMNS": "100"})).stdout
    assert "Follow-ups (2)" in table and "Keep in touch" in table and "3 days overdue" in table
    assert "Cadence (days)" in table
    ok(cli("contacts", "cadence", "anna@acme.de", "off"))
    assert as_json(cli, "contacts", "show", "anna@acme.de")["cadence_days"] is None
    one_line_error(cli("contacts", "cadence", "anna@acme.de", "often"), 2, "cannot read the cadence")


def test_follow_ups_on_deals_list_show_and_export(cli, tmp_path: Path) -> None:
    people(cli)
    deal = ok(cli("deals", "add", "Acme renewal", "-c", "anna@acme.de", "--amount", "12000")).stdout.strip()
    add(cli, f"deal:{deal}", "--allow-past", "--due", "2026-11-22", "--note", "Chase the proposal")
    add(cli, "Acme renewal", "--due", "tomorrow", "--note", "Send the contract")
    rows = as_json(cli, "followups", "list", "--all")
    assert [(r["subject_kind"], r["subject"], r["deal_id"]) for r in rows] == [("deal", "Acme renewal", int(deal))] * 2
    ok(cli("followups", "export", "--ics", str(tmp_path / "f.ics")))
    assert "Chase the proposal – Acme renewal" in (tmp_path / "f.ics").read_text()
    ok(cli("followups", "done", "1", "--log", "Chased"))


def test_export_ics_is_strict_stable_and_updates(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ical.calendar_stream import IcsCalendarStream

    people(cli)
    add(cli, "anna@acme.de", "--allow-past", "--due", "2026-11-20 14:00", "--note", "Call back")
    add(cli, "张伟明", "--due", "tomorrow 9am", "--every", "2w", "--note", "Status", "--owner", "ben")
    ok(cli("contacts", "cadence", "张伟明", "2w"))
    target = tmp_path / "followups.ics"
    written = ok(cli("followups", "export", "--ics", str(target)))
    assert written.stdout == "" and f"Wrote 3 follow-ups to {target}" in written.stderr
    raw = target.read_bytes()
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n") and all(len(line) <= 75 for line in raw.split(b"\r\n"))
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    cal = IcsCalendarStream.calendar_from_ics(raw.decode())  # strict RFC 5545 parser (pydantic models)
    events = {e.summary: e for e in cal.events}
    assert set(events) == {"Call back – Anna Müller", "Status – 张伟明", "Keep in touch (every 14 days) – 张伟明"}
    call, status = events["Call back – Anna Müller"], events["Status – 张伟明"]
    assert call.dtstart.isoformat() == "2026-11-20T14:00:00+00:00" and call.rrule is None
    assert str(status.rrule.freq.value) == "WEEKLY" and status.rrule.interval == 2
    assert all(e.alarm and e.alarm[0].action == "DISPLAY" for e in cal.events)
    assert b"DTSTART:20261120T140000Z" in raw  # UTC
    # the same UIDs on the next export; a change raises SEQUENCE, so calendars update the event
    monkeypatch.setenv("CRM_NOW", "2026-11-23T11:00:00Z")
    ok(cli("followups", "snooze", "1", "--until", "2026-11-25 09:00"))
    again = IcsCalendarStream.calendar_from_ics(ok(cli("followups", "export", "--ics", "-")).stdout)
    assert {e.uid for e in again.events} == {e.uid for e in cal.events}
    moved = next(e for e in again.events if e.uid == call.uid)
    assert moved.dtstart.isoformat() == "2026-11-25T09:00:00+00:00" and moved.sequence > (call.sequence or 0)
    # also readable by the icalendar library itself
    import icalendar

    assert len(icalendar.Calendar.from_ical(raw).walk("VEVENT")) == 3
    only_ben = ok(cli("followups", "export", "--ics", "-", "--owner", "ben")).stdout
    assert "Call back" not in only_ben and "Status" in only_ben
    one_line_error(cli("followups", "export", "--ics", str(tmp_path / "no" / "f.ics")), 1, "does not exist")


def test_local_zone_for_display_and_for_today(cli) -> None:
    people(cli)
    ok(cli("config", "set", "timezone", "Asia/Shanghai"))  # 18:00 there
    add(cli, "anna@acme.de", "--due", "tomorrow 9am", "--note", "Shanghai morning")
    record = as_json(cli, "followups", "show", "1")
    assert record["due_at"] == "2026-11-24T01:00:00Z"  # stored in UTC
    assert ok(cli("followups", "list", "--all")).stdout.split("\t")[1:3] == ["2026-11-24 09:00", "tomorrow 09:00"]
    # 23:30 UTC on 23 Nov is already 24 Nov in Shanghai: "today" there, not in UTC
    add(cli, "anna@acme.de", "--due", "2026-11-23T23:30:00+00:00", "--note", "late")
    assert [r["note"] for r in as_json(cli, "followups", "list", "--today")] == []
    ok(cli("config", "unset", "timezone"))
    assert [r["note"] for r in as_json(cli, "followups", "list", "--today")] == ["late"]


def test_demo_has_follow_ups_of_every_kind(cli) -> None:
    result = ok(cli("init", "--demo"))
    assert "follow-ups" in result.stderr
    rows = as_json(cli, "followups", "list", "--all")
    assert {r["status"] for r in rows} == {"overdue", "today", "upcoming"}
    assert {r["subject_kind"] for r in rows} == {"contact", "company", "deal"}
    assert any(r["every"] for r in rows if r["kind"] == "followup")
    assert any(r["kind"] == "cadence" for r in rows)
    assert as_json(cli, "followups", "overdue")


HARNESS = """
import json, sys
from crmcli.cli import app
try:
    app(prog_name="crm")
except SystemExit:
    pass
sys.stdout.flush()
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def loaded(args: list[str], env_extra: dict[str, str]) -> set[str]:
    env = {**os.environ, **env_extra}
    result = subprocess.run(
        [sys.executable, "-c", HARNESS, *args], capture_output=True, text=True, env=env, timeout=120
    )
    return {m.split(".")[0] for m in json.loads(result.stderr.strip().splitlines()[-1])}


def test_the_cron_path_imports_only_what_it_uses(tmp_path: Path) -> None:
    from crmcli import storage

    db = tmp_path / "crm.db"
    storage.open_engine(str(db))
    storage.dispose_all()
    env = {"CRM_DB": str(db), "CRM_NOW": NOW}
    never = {"dateparser", "icalendar", "openpyxl", "questionary", "alembic", "pgserver", "phonenumbers", "babel"}
    modules = loaded(["followups", "overdue", "--format", "json"], env)
    assert "sqlalchemy" in modules  # it did query the database
    assert not (modules & never), modules & never
    assert not ({"dateparser", "icalendar"} & loaded(["followups", "list", "--all"], env))
    assert "dateparser" not in loaded(["followups", "add", "--help"], env)
