"""One date reader everywhere (crmcli.values.when): a table of phrases × reference times and zones, with
daylight-saving changes in Berlin and New York; the date order (config date_order, else the
locale's); the refusal of a time already past where only the future makes sense; and every date
option and import date cell through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from test_cli import ok, one_line_error

from crmcli.values import clock
from crmcli.values.when import locale_order, read

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")

MON = "2026-11-23T10:00"  # Monday 11:00 in Berlin
FRI_10 = "2026-11-27T09:00"  # Friday 10:00 in Berlin
FRI_18 = "2026-11-27T17:00"  # Friday 18:00 in Berlin
SAT = "2026-11-28T11:00"  # Saturday 12:00 in Berlin
LAST_DAY_18 = "2026-11-30T17:00"  # Monday 30 November 18:00 in Berlin
BERLIN_SPRING = "2027-03-27T11:00"  # Saturday 12:00 CET; clocks go forward that night (02:00 → 03:00)
BERLIN_FALL = "2026-10-22T10:00"  # Thursday 12:00 CEST; clocks go back on Sunday 25 October
BERLIN_AFTER_FALL = "2026-10-26T11:00"  # Monday 12:00 CET, the day after
NY_SPRING = "2027-03-13T17:00"  # Saturday 12:00 EST; clocks go forward that night
NY_FALL = "2026-10-28T14:00"  # Wednesday 10:00 EDT; clocks go back on Sunday 1 November


@pytest.fixture(autouse=True)
def _plain_locale(monkeypatch: pytest.MonkeyPatch):
    """The C locale (date order mdy) unless a test says otherwise; no date order left configured."""
    for var in ("LC_ALL", "LC_TIME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    clock.set_date_order(None)
    yield
    clock.set_date_order(None)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(reading, zone) -> str:
    return reading.at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


# ---------------------------------------------------------------- the table: phrase × now × zone

# (phrase, now in UTC, zone, lean, order, what it means there, whether a time of day was named)
TABLE = [
    # leaning ahead (--due, snooze --until, --close): a day is 09:00, "end of" 17:00
    ("today", MON, BERLIN, "future", "mdy", "2026-11-23 09:00 CET", False),
    ("tomorrow 9am", MON, BERLIN, "future", "mdy", "2026-11-24 09:00 CET", True),
    ("9am tomorrow", MON, BERLIN, "future", "mdy", "2026-11-24 09:00 CET", True),
    ("Tomorrow at 2:30 p.m.", MON, BERLIN, "future", "mdy", "2026-11-24 14:30 CET", True),
    ("yesterday 15:00", MON, BERLIN, "future", "mdy", "2026-11-22 15:00 CET", True),
    ("in 3 weeks", MON, BERLIN, "future", "mdy", "2026-12-14 09:00 CET", False),
    ("in 3 days at noon", MON, BERLIN, "future", "mdy", "2026-11-26 12:00 CET", True),
    ("3d", MON, BERLIN, "future", "mdy", "2026-11-26 09:00 CET", False),
    ("1y", MON, BERLIN, "future", "mdy", "2027-11-23 09:00 CET", False),
    ("a week ago", MON, BERLIN, "future", "mdy", "2026-11-16 09:00 CET", False),
    ("2027-01-02 9:30", MON, BERLIN, "future", "mdy", "2027-01-02 09:30 CET", True),
    ("2027-01-02T09:30Z", MON, BERLIN, "future", "mdy", "2027-01-02 10:30 CET", True),
    ("1/2/2027", MON, BERLIN, "future", "mdy", "2027-01-02 09:00 CET", False),
    ("1/2/2027", MON, BERLIN, "future", "dmy", "2027-02-01 09:00 CET", False),
    ("1/2/2027 15:00", MON, BERLIN, "future", "dmy", "2027-02-01 15:00 CET", True),
    ("1/2", MON, BERLIN, "future", "mdy", "2027-01-02 09:00 CET", False),  # the next 2 January
    ("dec 1", MON, BERLIN, "future", "mdy", "2026-12-01 09:00 CET", False),
    ("1st of december 2027 3pm", MON, BERLIN, "future", "mdy", "2027-12-01 15:00 CET", True),
    ("monday", MON, BERLIN, "future", "mdy", "2026-11-30 09:00 CET", False),  # a weekday is never today
    ("next monday", MON, BERLIN, "future", "mdy", "2026-11-30 09:00 CET", False),
    ("last fri", MON, BERLIN, "future", "mdy", "2026-11-20 09:00 CET", False),
    ("fri 14:00", MON, BERLIN, "future", "mdy", "2026-11-27 14:00 CET", True),
    ("14:00", MON, BERLIN, "future", "mdy", "2026-11-23 14:00 CET", True),  # still ahead today
    ("9am", MON, BERLIN, "future", "mdy", "2026-11-24 09:00 CET", True),  # already past: tomorrow
    ("in 3 h", MON, BERLIN, "future", "mdy", "2026-11-23 14:00 CET", True),
    ("now", MON, BERLIN, "future", "mdy", "2026-11-23 11:00 CET", True),
    ("end of month", MON, BERLIN, "future", "mdy", "2026-11-30 17:00 CET", False),
    ("eom", MON, BERLIN, "future", "mdy", "2026-11-30 17:00 CET", False),
    ("eow", MON, BERLIN, "future", "mdy", "2026-11-27 17:00 CET", False),
    ("end of quarter", MON, BERLIN, "future", "mdy", "2026-12-31 17:00 CET", False),
    ("end of the year", MON, BERLIN, "future", "mdy", "2026-12-31 17:00 CET", False),
    ("end of next month", MON, BERLIN, "future", "mdy", "2026-12-31 17:00 CET", False),
    ("end of last month", MON, BERLIN, "future", "mdy", "2026-10-31 17:00 CET", False),
    ("start of next month", MON, BERLIN, "future", "mdy", "2026-12-01 09:00 CET", False),
    ("eod", MON, BERLIN, "future", "mdy", "2026-11-23 17:00 CET", False),
    # "end of …" is never over at the time of asking: once passed, the next one
    ("eow", FRI_10, BERLIN, "future", "mdy", "2026-11-27 17:00 CET", False),  # Friday 10:00: today 17:00
    ("end of week", FRI_10, BERLIN, "future", "mdy", "2026-11-27 17:00 CET", False),
    ("eow 9am", FRI_10, BERLIN, "future", "mdy", "2026-12-04 09:00 CET", True),  # today 09:00 has passed
    ("eow", FRI_18, BERLIN, "future", "mdy", "2026-12-04 17:00 CET", False),  # Friday 18:00: next Friday
    ("end of this week", FRI_18, BERLIN, "future", "mdy", "2026-11-27 17:00 CET", False),  # said "this"
    ("eow", SAT, BERLIN, "future", "mdy", "2026-12-04 17:00 CET", False),
    ("eom", LAST_DAY_18, BERLIN, "future", "mdy", "2026-12-31 17:00 CET", False),
    ("eod", FRI_18, BERLIN, "future", "mdy", "2026-11-28 17:00 CET", False),
    # leaning back (--at, --since, period bounds): a day is its midnight, an age keeps the time of day
    ("today", MON, BERLIN, "past", "mdy", "2026-11-23 00:00 CET", False),
    ("yesterday", MON, BERLIN, "past", "mdy", "2026-11-22 00:00 CET", False),
    ("yesterday 15:00", MON, BERLIN, "past", "mdy", "2026-11-22 15:00 CET", True),
    ("3d", MON, BERLIN, "past", "mdy", "2026-11-20 11:00 CET", True),
    ("2 weeks ago", MON, BERLIN, "past", "mdy", "2026-11-09 11:00 CET", True),
    ("30 min", MON, BERLIN, "past", "mdy", "2026-11-23 10:30 CET", True),
    ("fri", MON, BERLIN, "past", "mdy", "2026-11-20 00:00 CET", False),  # the last Friday
    ("14:00", MON, BERLIN, "past", "mdy", "2026-11-22 14:00 CET", True),  # not yet today: yesterday's
    ("9am", MON, BERLIN, "past", "mdy", "2026-11-23 09:00 CET", True),
    ("start of month", MON, BERLIN, "past", "mdy", "2026-11-01 00:00 CET", False),
    ("end of last month", MON, BERLIN, "past", "mdy", "2026-10-31 00:00 CET", False),
    ("dec 1", MON, BERLIN, "past", "mdy", "2025-12-01 00:00 CET", False),  # the last 1 December
    ("1/2", MON, BERLIN, "past", "dmy", "2026-02-01 00:00 CET", False),
    # daylight saving: days are local days, hours are hours
    ("tomorrow 9:00", BERLIN_SPRING, BERLIN, "future", "mdy", "2027-03-28 09:00 CEST", True),
    ("tomorrow", BERLIN_SPRING, BERLIN, "future", "mdy", "2027-03-28 09:00 CEST", False),
    ("in 24 h", BERLIN_SPRING, BERLIN, "future", "mdy", "2027-03-28 13:00 CEST", True),
    ("2027-03-28 02:30", BERLIN_SPRING, BERLIN, "future", "mdy", "2027-03-28 03:30 CEST", True),  # skipped
    ("tomorrow 9:00", NY_SPRING, NEW_YORK, "future", "mdy", "2027-03-14 09:00 EDT", True),
    ("in 1 week", NY_SPRING, NEW_YORK, "future", "mdy", "2027-03-20 09:00 EDT", False),
    ("in 1 week", BERLIN_FALL, BERLIN, "future", "mdy", "2026-10-29 09:00 CET", False),
    ("in 168 h", BERLIN_FALL, BERLIN, "future", "mdy", "2026-10-29 11:00 CET", True),
    ("2026-10-25 02:30", BERLIN_FALL, BERLIN, "future", "mdy", "2026-10-25 02:30 CEST", True),  # twice: first
    ("in 1 week", NY_FALL, NEW_YORK, "future", "mdy", "2026-11-04 09:00 EST", False),
    ("next wed 10:00", NY_FALL, NEW_YORK, "future", "mdy", "2026-11-04 10:00 EST", True),
    ("eow", NY_FALL, NEW_YORK, "future", "mdy", "2026-10-30 17:00 EDT", False),
    ("3d", BERLIN_AFTER_FALL, BERLIN, "past", "mdy", "2026-10-23 12:00 CEST", True),  # the same wall time
    ("yesterday", BERLIN_AFTER_FALL, BERLIN, "past", "mdy", "2026-10-25 00:00 CEST", False),
    # outside the grammar: dateparser, English
    ("next week", MON, BERLIN, "future", "mdy", "2026-11-30 09:00 CET", False),
]


@pytest.mark.parametrize(("text", "now", "zone", "lean", "order", "expected", "timed"), TABLE)
def test_the_reader_table(text: str, now: str, zone, lean: str, order: str, expected: str, timed: bool) -> None:
    found = read(text, now=utc(now), zone=zone, order=order, lean=lean)
    assert found is not None, text
    assert (local(found, zone), found.timed) == (expected, timed)
    assert found.at.tzinfo is not None and found.at.utcoffset().total_seconds() == 0
    assert found.day == found.at.astimezone(zone).date()


def test_dst_times_are_the_right_instants() -> None:
    assert read("tomorrow 9:00", now=utc(BERLIN_SPRING), zone=BERLIN).at == utc("2027-03-28T07:00")
    assert read("tomorrow 9:00", now=utc(NY_SPRING), zone=NEW_YORK).at == utc("2027-03-14T13:00")
    assert read("in 1 week", now=utc(BERLIN_FALL), zone=BERLIN).at == utc("2026-10-29T08:00")
    assert read("in 1 week", now=utc(NY_FALL), zone=NEW_YORK).at == utc("2026-11-04T14:00")


@pytest.mark.parametrize(
    "text", ["garbage", "3", "13pm", "fri 25:00", "in x days", "31/02/2027", "2/30", "in 3 days ago", "", "   "]
)
def test_what_is_no_date_reads_as_nothing(text: str) -> None:
    for lean in ("future", "past"):
        assert read(text, now=utc(MON), zone=BERLIN, order="dmy", lean=lean) is None


@pytest.mark.parametrize(
    ("text", "order", "day"),
    [
        ("1/2/2027", "dmy", date(2027, 2, 1)),
        ("1/2/2027", "mdy", date(2027, 1, 2)),
        ("1/2/2027", "ymd", date(2027, 1, 2)),  # the year written last: month, then day
        ("27/1/2", "ymd", date(2027, 1, 2)),
        ("27/1/2", "dmy", date(2002, 1, 27)),
        ("2027/1/2", "dmy", date(2027, 1, 2)),  # a four-digit year first is always year-month-day
        ("2027-1-2", "mdy", date(2027, 1, 2)),
        ("01.02.27", "dmy", date(2027, 2, 1)),
        ("01.02.27", "mdy", date(2027, 1, 2)),
        ("1.2.2027.", "dmy", date(2027, 2, 1)),
        ("12-31-99", "mdy", date(1999, 12, 31)),  # two-digit years: within 50 years ahead
        ("31/12/2026", "mdy", None),
        ("31/12/2026", "dmy", date(2026, 12, 31)),
    ],
)
def test_numeric_dates_follow_the_date_order(text: str, order: str, day: date | None) -> None:
    found = read(text, now=utc(MON), zone=BERLIN, order=order, lean="future")
    assert (found.day if found else None) == day


@pytest.mark.parametrize(
    ("environ", "order"),
    [
        ({"LANG": "de_DE.UTF-8"}, "dmy"),
        ({"LANG": "en_GB.UTF-8"}, "dmy"),
        ({"LANG": "en_US.UTF-8"}, "mdy"),
        ({"LANG": "en_US.UTF-8", "LC_TIME": "ja_JP.UTF-8"}, "ymd"),  # LC_TIME ranks above LANG
        ({"LC_ALL": "en_US.UTF-8", "LC_TIME": "de_DE.UTF-8"}, "mdy"),  # and LC_ALL above both
        ({"LANG": "sv_SE"}, "ymd"),
        ({"LANG": "C.UTF-8"}, "mdy"),
        ({"LANG": "POSIX"}, "mdy"),
        ({}, "mdy"),
        ({"LANG": "xx_YY.UTF-8"}, "mdy"),
    ],
)
def test_the_default_date_order_is_the_locales(environ: dict[str, str], order: str) -> None:
    assert locale_order(environ) == order


def test_no_configured_order_reads_as_the_locale_says(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LC_TIME", "de_DE.UTF-8")
    assert read("1/2/2027", now=utc(MON), zone=BERLIN).day == date(2027, 2, 1)
    monkeypatch.setenv("LC_TIME", "en_US.UTF-8")
    assert read("1/2/2027", now=utc(MON), zone=BERLIN).day == date(2027, 1, 2)


@pytest.mark.parametrize(
    ("text", "now", "past"),
    [
        ("today", "2026-11-23T15:00", False),  # today is not over: a day is past once it is
        ("today 9am", "2026-11-23T15:00", True),  # 09:00 has passed
        ("now", MON, False),
        ("yesterday", MON, True),
        ("eow", FRI_10, False),
        ("eow", FRI_18, False),
        ("2026-11-23 10:59", MON, True),
        ("in 1 min", MON, False),
    ],
)
def test_what_is_in_the_past(text: str, now: str, past: bool) -> None:
    found = read(text, now=utc(now), zone=BERLIN)
    assert found.is_past(utc(now), BERLIN) is past


def test_the_dateparser_fallback_is_lazy() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from datetime import datetime, UTC\n"
        "from crmcli.values.when import read\n"
        "now = datetime(2026, 11, 23, 10, tzinfo=UTC)\n"
        "for text in ('tomorrow 9am', 'eow', '1/2/2027', 'yesterday 15:00', 'in 3 weeks', 'dec 1'):\n"
        "    assert read(text, now=now, order='dmy') is not None\n"
        "assert 'dateparser' not in sys.modules and 'babel' not in sys.modules\n"
        "assert read('next week', now=now) is not None and 'dateparser' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- through the CLI


def as_json(cli, *args: str):
    return json.loads(ok(cli(*args, "-f", "json")).stdout)


@pytest.fixture
def berlin(cli, monkeypatch: pytest.MonkeyPatch):
    """A database in Berlin time with Anna, her company and a deal; now is Monday 23 Nov, 11:00."""
    monkeypatch.setenv("CRM_NOW", MON + ":00Z")
    ok(cli("config", "set", "timezone", "Europe/Berlin"))
    ok(cli("contacts", "add", "Anna Müller", "-e", "anna@acme.de", "-c", "Acme GmbH"))
    ok(cli("deals", "add", "Acme renewal", "-c", "anna@acme.de", "--amount", "1200", "--close", "in 3 weeks"))
    return cli


def test_the_reported_faults(berlin, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = berlin
    # crm deals add --close "in 3 weeks"
    assert as_json(cli, "deals", "show", "1")["close_date"] == "2026-12-14"
    # crm log --at "yesterday 15:00"
    logged = as_json(cli, "log", "anna@acme.de", "Called", "--type", "call", "--at", "yesterday 15:00")
    assert logged["at"] == "2026-11-22T14:00:00Z"  # 15:00 in Berlin
    # 2027-01-02 9:30
    added = as_json(cli, "followups", "add", "anna@acme.de", "--due", "2027-01-02 9:30")
    assert added["due_at"] == "2027-01-02T08:30:00Z"
    ok(cli("deals", "edit", "1", "--close", "2027-01-02 9:30"))
    assert as_json(cli, "deals", "show", "1")["close_date"] == "2027-01-02"
    # 1/2/2027, in the configured order
    ok(cli("config", "set", "date_order", "dmy"))
    ok(cli("deals", "edit", "1", "--close", "1/2/2027"))
    assert as_json(cli, "deals", "show", "1")["close_date"] == "2027-02-01"
    assert as_json(cli, "followups", "add", "anna@acme.de", "--due", "1/2/2027")["due_at"] == "2027-02-01T08:00:00Z"
    ok(cli("config", "set", "date_order", "mdy"))
    ok(cli("deals", "edit", "1", "--close", "1/2/2027"))
    assert as_json(cli, "deals", "show", "1")["close_date"] == "2027-01-02"
    # end of month
    ok(cli("deals", "edit", "1", "--close", "end of month"))
    assert as_json(cli, "deals", "show", "1")["close_date"] == "2026-11-30"
    due = as_json(cli, "followups", "add", "anna@acme.de", "--due", "end of month")["due_at"]
    assert due == "2026-11-30T16:00:00Z"  # 17:00 in Berlin
    one_line_error(cli("deals", "edit", "1", "--close", "someday"), 1, "cannot read the close date 'someday'")


def test_eow_on_a_friday_morning_is_not_already_due(berlin, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = berlin
    monkeypatch.setenv("CRM_NOW", FRI_10 + ":00Z")
    added = as_json(cli, "followups", "add", "anna@acme.de", "--due", "eow", "--note", "Send the contract")
    assert added["due_at"] == "2026-11-27T16:00:00Z"  # Friday 17:00 in Berlin, 7 hours ahead
    assert added["relative"] == "in 7 h"
    assert as_json(cli, "followups", "overdue") == []
    monkeypatch.setenv("CRM_NOW", FRI_18 + ":00Z")  # the working week is over: next Friday's end
    assert as_json(cli, "followups", "add", "anna@acme.de", "--due", "eow")["due_at"] == "2026-12-04T16:00:00Z"


def test_a_time_already_past_is_refused_where_only_the_future_makes_sense(berlin) -> None:
    cli = berlin
    ok(cli("followups", "add", "anna@acme.de", "--due", "tomorrow 9am", "--note", "Call back"))
    one_line_error(
        cli("followups", "snooze", "1", "--until", "yesterday"),
        2,
        "the time to snooze until 'yesterday' is 2026-11-22 09:00, in the past: use --allow-past to set it anyway",
    )
    assert as_json(cli, "followups", "show", "1")["due_at"] == "2026-11-24T08:00:00Z"  # unchanged
    one_line_error(cli("followups", "snooze", "1", "--until", "9am today"), 2, "is 2026-11-23 09:00, in the past")
    one_line_error(cli("followups", "add", "anna@acme.de", "--due", "3 days ago"), 2, "is 2026-11-20 09:00")
    one_line_error(cli("followups", "add", "anna@acme.de", "--due", "last fri"), 2, "in the past")
    one_line_error(cli("followups", "edit", "1", "--due", "2026-11-01"), 2, "--allow-past")
    assert [r["id"] for r in as_json(cli, "followups", "list", "--all")] == [1]  # nothing was added
    # allowed on purpose, or not in the past at all
    snoozed = as_json(cli, "followups", "snooze", "1", "--until", "yesterday", "--allow-past")
    assert snoozed["due_at"] == "2026-11-22T08:00:00Z"
    ok(cli("followups", "edit", "1", "--due", "2026-11-01 10:00", "--allow-past"))
    assert as_json(cli, "followups", "show", "1")["due_at"] == "2026-11-01T09:00:00Z"
    assert as_json(cli, "followups", "add", "anna@acme.de", "--due", "today")["due_at"] == "2026-11-23T08:00:00Z"
    assert as_json(cli, "followups", "add", "anna@acme.de", "--due", "now")["due_at"] == "2026-11-23T10:00:00Z"
    past = as_json(cli, "followups", "add", "anna@acme.de", "--due", "2026-11-02", "--allow-past")
    assert past["due_at"] == "2026-11-02T08:00:00Z"


def test_every_list_filter_and_period_bound_reads_the_same_phrases(berlin, tmp_path: Path) -> None:
    cli = berlin
    ok(cli("log", "anna@acme.de", "Two weeks ago", "--at", "2 weeks ago"))
    ok(cli("log", "anna@acme.de", "Last week", "--at", "sat 10:00"))  # Saturday 21 November
    ok(cli("log", "anna@acme.de", "This morning", "--at", "today 8:30"))
    ok(cli("deals", "add", "Later deal", "--amount", "10", "--close", "end of next quarter"))
    assert as_json(cli, "deals", "show", "Later deal")["close_date"] == "2027-03-31"
    # --since (created at or after): contacts and companies
    assert [c["name"] for c in as_json(cli, "contacts", "list", "--since", "yesterday")] == ["Anna Müller"]
    assert as_json(cli, "contacts", "list", "--since", "tomorrow") == []
    assert [c["name"] for c in as_json(cli, "companies", "list", "--since", "start of month")] == ["Acme GmbH"]
    # export activities --since
    out = tmp_path / "acts.json"
    ok(cli("export", "activities", str(out), "--since", "last fri"))
    assert [a["text"] for a in json.loads(out.read_text())] == ["Last week", "This morning"]
    ok(cli("export", "activities", str(out), "--since", "today 8:00", "--force"))
    assert [a["text"] for a in json.loads(out.read_text())] == ["This morning"]
    # --closing-before, deals list and export deals
    assert [d["title"] for d in as_json(cli, "deals", "list", "--closing-before", "eoq")] == ["Acme renewal"]
    assert len(as_json(cli, "deals", "list", "--closing-before", "in 1 year")) == 2
    deals_file = tmp_path / "deals.json"
    ok(cli("export", "deals", str(deals_file), "--closing-before", "end of year"))
    assert [d["title"] for d in json.loads(deals_file.read_text())] == ["Acme renewal"]
    # period bounds: kpi and reports
    period = as_json(cli, "kpi", "--since", "start of month", "--until", "yesterday")["period"]
    assert (period["first_day"], period["last_day"]) == ("2026-11-01", "2026-11-22")
    period = as_json(cli, "kpi", "--since", "start of last quarter", "--until", "end of last quarter")["period"]
    assert (period["first_day"], period["last_day"]) == ("2026-07-01", "2026-09-30")
    months = as_json(cli, "report", "trend", "--since", "1/10/2026", "--until", "end of last month", "-m", "2")
    assert [m["month"] for m in months] == ["2026-09", "2026-10"]  # 1/10/2026 is 10 January (mdy)
    one_line_error(cli("kpi", "--since", "someday"), 2, "invalid --since 'someday'")
    one_line_error(cli("log", "anna@acme.de", "x", "--at", "next blue moon"), 1, "cannot read the time")


def test_the_date_order_setting(cli) -> None:
    assert ok(cli("config", "get", "date_order")).stdout.strip() == ""  # the locale's
    rows = {r["key"]: r for r in as_json(cli, "config", "list")}
    assert "dmy, mdy or ymd" in rows["date_order"]["help"]
    assert "dmy" in ok(cli("config", "set", "date_order", "DMY")).stderr
    assert ok(cli("config", "get", "date_order")).stdout.strip() == "dmy"
    ok(cli("config", "set", "date_order", "yyyy-mm-dd"))
    assert ok(cli("config", "get", "date_order")).stdout.strip() == "ymd"
    one_line_error(cli("config", "set", "date_order", "dym"), 1, "unknown date order 'dym': use dmy (31/12/2026)")
    ok(cli("config", "unset", "date_order"))
    assert ok(cli("config", "get", "date_order")).stdout.strip() == ""


def test_without_a_setting_the_locale_decides(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_NOW", MON + ":00Z")
    ok(cli("deals", "add", "Acme renewal", "--close", "1/2/2027", env={"LC_TIME": "de_DE.UTF-8"}))
    ok(cli("deals", "add", "Globex", "--close", "1/2/2027", env={"LC_TIME": "en_US.UTF-8"}))
    closes = {d["title"]: d["close_date"] for d in as_json(cli, "deals", "list")}
    assert closes == {"Acme renewal": "2027-02-01", "Globex": "2027-01-02"}


def test_import_cells_go_through_the_same_reader(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_NOW", MON + ":00Z")
    ok(cli("contacts", "add", "Anna Müller", "-e", "anna@acme.de"))
    deals = tmp_path / "deals.csv"
    deals.write_text(
        "Title,Amount,Close Date\nAlpha,100,1/2/2027\nBeta,100,end of month\n"
        "Gamma,100,in 3 weeks\nDelta,100,2027-03-04\n"
    )
    ok(cli("config", "set", "date_order", "dmy"))
    ok(cli("import", str(deals), "--kind", "deals"))
    closes = {d["title"]: d["close_date"] for d in as_json(cli, "deals", "list")}
    assert closes == {"Alpha": "2027-02-01", "Beta": "2026-11-30", "Gamma": "2026-12-14", "Delta": "2027-03-04"}
    activities = tmp_path / "activities.csv"
    activities.write_text(
        "Date,Type,Text,Email\n2/1/2027 15:00,call,New year,anna@acme.de\nyesterday 15:00,note,Noted,anna@acme.de\n"
    )
    ok(cli("import", str(activities), "--kind", "activities"))
    ats = {a["text"]: a["at"] for a in as_json(cli, "contacts", "show", "anna@acme.de")["activities"]}
    assert ats == {"New year": "2027-01-02T15:00:00Z", "Noted": "2026-11-22T15:00:00Z"}  # TZ=UTC here
    # --dayfirst wins over a configured month-first order
    ok(cli("config", "set", "date_order", "mdy"))
    more = tmp_path / "more.csv"
    more.write_text("Title,Amount,Close Date\nEpsilon,100,3/4/2027\n")
    ok(cli("import", str(more), "--kind", "deals", "--dayfirst"))
    ok(cli("import", str(more), "--kind", "deals", "--on-duplicate", "create"))
    epsilon = sorted(d["close_date"] for d in as_json(cli, "deals", "list") if d["title"] == "Epsilon")
    assert epsilon == ["2027-03-04", "2027-04-03"]
