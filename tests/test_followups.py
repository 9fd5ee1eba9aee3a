"""The follow-ups domain module, on SQLite and PostgreSQL, with frozen time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crmcli.domain import activities, companies, contacts, followups, lookup, views
from crmcli.errors import Conflict, Invalid, NotFound, UsageError
from crmcli.models import Deal
from crmcli.values import clock

NOW = "2026-11-23T10:00:00+00:00"  # a Monday


@pytest.fixture(autouse=True)
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_NOW", NOW)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC) if "+" not in text else datetime.fromisoformat(text)


def make_deal(session, title: str = "Acme renewal", contact=None, company=None) -> Deal:
    """A deal row written directly (the deals module is not needed here); pipeline 1 always exists."""
    from sqlmodel import select

    from crmcli.models import Stage

    stage = session.exec(select(Stage).where(Stage.pipeline_id == 1).order_by(Stage.position)).first()
    now = clock.now()
    deal = Deal(
        title=title,
        title_key=title.casefold(),
        pipeline_id=1,
        stage_id=stage.id,
        contact_id=contact.id if contact else None,
        company_id=company.id if company else None,
        currency="EUR",
        stage_entered_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(deal)
    session.flush()
    return deal


def test_open_followups_of_a_contact_soonest_first_with_relative_wording(session) -> None:
    anna = contacts.add_contact(session, name="Anna Müller")
    bert = contacts.add_contact(session, name="Bert")
    followups.add_followup(session, due_at=at("2026-11-26T09:00"), note="send pricing", contact=anna, owner="ana")
    followups.add_followup(session, due_at=at("2026-11-21T10:00"), note="call back", contact=anna, owner="ana")
    followups.add_followup(session, due_at=at("2026-11-23T13:00"), note="today", contact=anna)
    followups.add_followup(session, due_at=at("2026-11-22T10:00"), note="not hers", contact=bert)
    rows = followups.open_followups(session, contact_id=anna.id)
    assert [r["note"] for r in rows] == ["call back", "today", "send pricing"]
    assert [r["relative"] for r in rows] == ["2 days overdue", "in 3 h", "in 3 days"]
    assert [r["status"] for r in rows] == ["overdue", "today", "upcoming"]
    first = rows[0]
    assert first["subject"] == "Anna Müller" and first["subject_kind"] == "contact"
    assert first["owner"] == "ana" and first["every"] is None and isinstance(first["id"], int)
    assert first["due_at"] == at("2026-11-21T10:00") and first["due_at"].tzinfo is not None


def test_open_followups_of_a_deal_and_a_company(session) -> None:
    acme = companies.add_company(session, name="Acme GmbH")
    deal = make_deal(session, company=acme)
    followups.add_followup(session, due_at=at("2026-11-24T09:00"), note="chase", deal=deal, origin="stage")
    followups.add_followup(session, due_at=at("2026-11-25T09:00"), note="budget", company=acme)
    (row,) = followups.open_followups(session, deal_id=deal.id)
    assert row["subject"] == "Acme renewal" and row["subject_kind"] == "deal" and row["origin"] == "stage"
    assert row["relative"] == "tomorrow 09:00"
    (row,) = followups.open_followups(session, company_id=acme.id)
    assert row["subject"] == "Acme GmbH" and row["subject_kind"] == "company"
    with pytest.raises(UsageError):
        followups.open_followups(session)


# ---------------------------------------------------------------- parsing


BERLIN = "Europe/Berlin"


@pytest.mark.parametrize(
    ("text", "local"),
    [
        ("today", "2026-11-23 09:00"),
        ("tomorrow", "2026-11-24 09:00"),
        ("tomorrow 9am", "2026-11-24 09:00"),
        ("Tomorrow at 2:30 pm", "2026-11-24 14:30"),
        ("in 3 days", "2026-11-26 09:00"),
        ("3d", "2026-11-26 09:00"),
        ("2w", "2026-12-07 09:00"),
        ("in 2 weeks", "2026-12-07 09:00"),
        ("next monday", "2026-11-30 09:00"),
        ("monday", "2026-11-30 09:00"),  # a weekday is never today
        ("fri 14:00", "2026-11-27 14:00"),
        ("friday 14h", "2026-11-27 14:00"),
        ("eom", "2026-11-30 17:00"),  # "end of": the end of the working day
        ("eow", "2026-11-27 17:00"),
        ("2026-12-01", "2026-12-01 09:00"),
        ("2026-12-01 15:30", "2026-12-01 15:30"),
        ("2026-12-01T15:30+00:00", "2026-12-01 16:30"),
        ("in 3 h", "2026-11-23 14:00"),
        ("30 min", "2026-11-23 11:30"),
        ("14:00", "2026-11-23 14:00"),  # a time still ahead today
        ("9am", "2026-11-24 09:00"),  # a time already past: tomorrow
        ("noon", "2026-11-23 12:00"),
        ("1mo", "2026-12-23 09:00"),
        ("now", "2026-11-23 11:00"),
        # outside the grammar: dateparser, English, same rules for the time of day
        ("next week", "2026-11-30 09:00"),
        ("dec 1", "2026-12-01 09:00"),
        ("december 1 3pm", "2026-12-01 15:00"),
    ],
)
def test_parse_when_reads_what_people_type(text: str, local: str) -> None:
    from crmcli.values.when import parse_when

    clock.set_local_zone(BERLIN)
    assert clock.show_local(parse_when(text)) == local


@pytest.mark.parametrize("text", ["garbage", "3", "fri 25:00", "13pm", "", "in x days"])
def test_unreadable_when_is_refused_with_examples(text: str) -> None:
    from crmcli.values.when import parse_when

    with pytest.raises(UsageError, match="tomorrow 9am.*next monday"):
        parse_when(text)


def test_parse_when_follows_the_clock_across_a_dst_change(monkeypatch: pytest.MonkeyPatch) -> None:
    from crmcli.values.when import parse_when

    clock.set_local_zone(BERLIN)
    monkeypatch.setenv("CRM_NOW", "2026-10-24T08:00:00Z")  # Saturday 10:00 CEST; clocks go back that night
    assert parse_when("tomorrow 9am") == at("2026-10-25T08:00")  # 09:00 CET = 08:00 UTC
    assert parse_when("today 9am") == at("2026-10-24T07:00")  # 09:00 CEST = 07:00 UTC
    assert parse_when("in 24 h") == at("2026-10-25T08:00")  # hours are hours, whatever the wall clock


@pytest.mark.parametrize(
    ("spec", "stored", "rule"),
    [
        ("daily", "daily", {"FREQ": "DAILY"}),
        ("Weekly", "weekly", {"FREQ": "WEEKLY"}),
        ("2w", "2w", {"FREQ": "WEEKLY", "INTERVAL": 2}),
        ("14d", "2w", {"FREQ": "WEEKLY", "INTERVAL": 2}),
        ("3d", "3d", {"FREQ": "DAILY", "INTERVAL": 3}),
        ("monthly", "monthly", {"FREQ": "MONTHLY"}),
        ("quarterly", "quarterly", {"FREQ": "MONTHLY", "INTERVAL": 3}),
        ("3mo", "quarterly", {"FREQ": "MONTHLY", "INTERVAL": 3}),
        ("2mo", "2mo", {"FREQ": "MONTHLY", "INTERVAL": 2}),
        ("yearly", "yearly", {"FREQ": "YEARLY"}),
    ],
)
def test_repeat_specs_and_their_rrule(spec: str, stored: str, rule: dict) -> None:
    assert followups.parse_every(spec) == stored
    assert followups.rrule(stored) == rule


def test_bad_repeat_and_cadence_specs_are_usage_errors() -> None:
    assert followups.parse_every("none") is None and followups.parse_every("") is None
    for bad in ("hourly", "0d", "2x"):
        with pytest.raises(UsageError, match="daily, weekly, 2w, monthly, quarterly"):
            followups.parse_every(bad)
    assert [followups.parse_cadence(s) for s in ("30d", "30", "2w", "3mo", "off", None)] == [30, 30, 14, 90, None, None]
    with pytest.raises(UsageError, match="30d"):
        followups.parse_cadence("soon")


@pytest.mark.parametrize(
    ("due", "words", "status"),
    [
        ("2026-11-21T18:00", "2 days overdue", "overdue"),
        ("2026-11-22T23:59", "1 day overdue", "overdue"),
        ("2026-11-23T00:00", "due 10 h ago", "today"),  # earlier today is not overdue yet
        ("2026-11-23T09:45", "due 15 min ago", "today"),
        ("2026-11-23T10:00", "due now", "today"),
        ("2026-11-23T10:20", "in 20 min", "today"),
        ("2026-11-23T13:00", "in 3 h", "today"),
        ("2026-11-24T09:00", "tomorrow 09:00", "upcoming"),
        ("2026-11-28T09:00", "in 5 days", "upcoming"),
        ("2026-12-14T09:00", "in 3 weeks", "upcoming"),
        ("2027-03-01T09:00", "on 2027-03-01", "upcoming"),
    ],
)
def test_relative_wording(due: str, words: str, status: str) -> None:
    frame = followups.Frame.at()
    assert frame.relative(at(due)) == words
    assert frame.status(at(due)) == status


def test_today_and_overdue_are_local_days(monkeypatch: pytest.MonkeyPatch) -> None:
    # 00:30 on Sunday 25 October in Berlin, the night clocks go back (a 25-hour day)
    monkeypatch.setenv("CRM_NOW", "2026-10-24T22:30:00Z")
    clock.set_local_zone(BERLIN)
    frame = followups.Frame.at()
    assert frame.today_start == at("2026-10-24T22:00")  # midnight CEST
    assert frame.tomorrow_start == at("2026-10-25T23:00")  # midnight CET: 25 hours later
    assert frame.status(at("2026-10-24T21:30")) == "overdue"  # 23:30 on Saturday, local
    assert frame.status(at("2026-10-24T22:10")) == "today"  # the same UTC date, but Sunday here
    assert frame.status(at("2026-10-25T22:30")) == "today"  # 23:30 CET, still Sunday
    assert frame.relative(at("2026-10-24T21:30")) == "1 day overdue"
    clock.set_local_zone("America/New_York")  # 18:30 on Saturday there
    assert followups.Frame.at().status(at("2026-10-24T21:30")) == "today"


# ---------------------------------------------------------------- lists


def test_list_windows_owner_and_order(session) -> None:
    anna = contacts.add_contact(session, name="Anna", owner="ana")
    for due, owner, note in [
        ("2026-11-20T09:00", "ana", "old"),
        ("2026-11-23T08:00", "ben", "this morning"),
        ("2026-11-23T16:00", "ana", "this afternoon"),
        ("2026-11-27T09:00", "ana", "friday"),
        ("2026-12-20T09:00", "ben", "later"),
    ]:
        followups.add_followup(session, due_at=at(due), note=note, owner=owner, contact=anna)
    done = followups.add_followup(session, due_at=at("2026-11-19T09:00"), note="done", contact=anna)
    followups.complete(session, done.id)

    def notes(**kwargs) -> list[str]:
        return [r["note"] for r in followups.list_followups(session, cadence=False, **kwargs)]

    assert notes() == ["old", "this morning", "this afternoon"]  # due: overdue and today
    assert notes(window="overdue") == ["old"]
    assert notes(window="today") == ["this morning", "this afternoon"]
    assert notes(window="upcoming", days=7) == ["this morning", "this afternoon", "friday"]
    assert notes(window="all") == ["old", "this morning", "this afternoon", "friday", "later"]
    assert notes(window="all", owner="ben") == ["this morning", "later"]
    assert notes(window="all", limit=2) == ["old", "this morning"]
    with pytest.raises(UsageError):
        followups.list_followups(session, window="someday")


def test_cadence_follow_up_counts_from_the_last_activity(session) -> None:
    anna = contacts.add_contact(session, name="Anna", owner="ana")
    anna.created_at = at("2026-09-01T12:00")
    row = followups.set_cadence(session, anna, 30)
    assert row["id"] == f"c{anna.id}" and row["due_at"] == at("2026-10-01T12:00")  # from creation
    assert row["relative"] == "53 days overdue" and row["kind"] == "cadence"
    activities.log_activity(session, type="call", text="Catch-up", contact=anna, at=at("2026-11-10T15:00"))
    (row,) = followups.list_followups(session, window="all")
    assert row["due_at"] == at("2026-12-10T15:00") and row["note"] == "Keep in touch (every 30 days)"
    assert followups.list_followups(session, window="overdue") == []
    # shown beside the dated ones, in due order
    followups.add_followup(session, due_at=at("2026-12-01T09:00"), note="dated", contact=anna, owner="ana")
    assert [r["id"] for r in followups.list_followups(session, window="all")][1] == f"c{anna.id}"
    assert [r["id"] for r in followups.list_followups(session, window="all", owner="ben")] == []
    # done on a cadence one logs an activity, which moves it on
    result = followups.complete(session, f"c{anna.id}", log="Lunch", log_type="meeting", by="ana")
    assert result["next_due"] == at("2026-12-23T10:00")
    assert views.contact_view(session, anna)["activities"][0]["text"] == "Lunch"
    assert followups.complete(session, f"C{anna.id}")["activity_id"] is not None  # default text
    # a cadence cannot be snoozed, edited or removed: it says what to do instead
    for action in (
        lambda: followups.snooze(session, f"c{anna.id}", at("2026-12-30T09:00")),
        lambda: followups.edit_followup(session, f"c{anna.id}", note="x"),
        lambda: followups.remove_followup(session, f"c{anna.id}"),
    ):
        with pytest.raises(Invalid, match="the contact.s cadence sets how often"):
            action()
    followups.set_cadence(session, anna, None)
    assert [r["kind"] for r in followups.list_followups(session, window="all")] == ["followup"]
    with pytest.raises(NotFound, match="no keep-in-touch cadence"):
        followups.complete(session, f"c{anna.id}")
    with pytest.raises(Invalid, match="between 1 and 3660"):
        followups.set_cadence(session, anna, 5000)


# ---------------------------------------------------------------- acting


def test_done_logs_on_the_same_record(session) -> None:
    acme = companies.add_company(session, name="Acme GmbH")
    anna = contacts.add_contact(session, name="Anna", company="Acme GmbH")
    deal = make_deal(session, contact=anna, company=acme)
    on_contact = followups.add_followup(session, due_at=at("2026-11-22T09:00"), note="call", contact=anna)
    on_company = followups.add_followup(session, due_at=at("2026-11-22T09:00"), note="budget", company=acme)
    on_deal = followups.add_followup(session, due_at=at("2026-11-22T09:00"), note="chase", deal=deal)
    quiet = followups.add_followup(session, due_at=at("2026-11-22T09:00"), note="no log", contact=anna)
    r1 = followups.complete(session, on_contact.id, log="Called her", log_type="call", by="ana")
    r2 = followups.complete(session, on_company.id, log="Budget is set")
    r3 = followups.complete(session, f"#{on_deal.id}", log="Proposal chased")
    r4 = followups.complete(session, quiet.id)
    logged = {a.id: a for a in session.exec(select_activities())}
    assert (logged[r1["activity_id"]].contact_id, logged[r1["activity_id"]].type) == (anna.id, "call")
    assert logged[r2["activity_id"]].company_id == acme.id and logged[r2["activity_id"]].contact_id is None
    assert logged[r3["activity_id"]].deal_id == deal.id
    assert r4["activity_id"] is None and r4["next_due"] is None and r4["done_at"] == clock.now()
    assert followups.open_followups(session, contact_id=anna.id) == []
    assert followups.followup_view(session, quiet.id)["status"] == "done"
    with pytest.raises(Conflict, match="already done"):
        followups.complete(session, quiet.id)
    with pytest.raises(NotFound, match="no follow-up with id 999"):
        followups.complete(session, 999)
    with pytest.raises(UsageError, match="no follow-up id"):
        followups.complete(session, "abc")


def select_activities():
    from sqlmodel import select

    from crmcli.models import Activity

    return select(Activity)


def test_recurring_done_moves_on_from_the_due_date_skipping_past_occurrences(session) -> None:
    anna = contacts.add_contact(session, name="Anna")
    weekly = followups.add_followup(
        session, due_at=at("2026-11-02T09:00"), note="status call", contact=anna, every="weekly"
    )
    uid = weekly.uid
    result = followups.complete(session, weekly.id)
    # 2 Nov + 1 w = 9 Nov, 16 Nov: past; 23 Nov 09:00 is before now (10:00) too; so 30 Nov
    assert result["next_due"] == at("2026-11-30T09:00")
    (row,) = followups.open_followups(session, contact_id=anna.id)
    assert row["id"] == weekly.id and row["uid"] == uid and row["every"] == "weekly"  # same id, same UID
    history = followups._stored_rows(session, followups.Frame.at(), contact_id=anna.id, open_only=False)
    done = [r for r in history if r["status"] == "done"]
    assert len(done) == 1 and done[0]["due_at"] == at("2026-11-02T09:00") and done[0]["uid"] != uid
    # early completion: the next one is one step on from this one's date
    monthly = followups.add_followup(session, due_at=at("2026-11-30T09:00"), contact=anna, every="monthly")
    assert followups.complete(session, monthly.id)["next_due"] == at("2026-12-30T09:00")
    # from done: one step from today, at its usual time of day
    from_done = followups.add_followup(session, due_at=at("2026-11-01T16:00"), contact=anna, every="2w", from_done=True)
    assert followups.complete(session, from_done.id)["next_due"] == at("2026-12-07T16:00")
    with pytest.raises(UsageError, match="only a recurring follow-up"):
        followups.add_followup(session, due_at=at("2026-11-30T09:00"), contact=anna, from_done=True)


def test_recurrence_keeps_the_local_time_across_dst_and_month_ends() -> None:
    clock.set_local_zone(BERLIN)
    before = at("2026-10-19T07:00")  # Monday 09:00 CEST
    assert followups.advance(before, "weekly") == at("2026-10-26T08:00")  # 09:00 CET
    assert followups.advance(at("2026-01-31T08:00"), "monthly") == at("2026-02-28T08:00")  # clamped
    assert followups.advance(at("2026-11-30T08:00"), "quarterly") == at("2027-02-28T08:00")
    assert followups.next_due(before, "daily", from_done=False, done_at=at("2026-10-28T12:00")) == at(
        "2026-10-29T08:00"
    )


def test_snooze_edit_and_remove(session) -> None:
    anna = contacts.add_contact(session, name="Anna")
    f = followups.add_followup(session, due_at=at("2026-11-20T09:00"), note="call", owner="ana", contact=anna)
    followups.snooze(session, f.id, at("2026-11-25T09:00"))
    assert followups.followup_view(session, f.id)["relative"] == "in 2 days"
    followups.edit_followup(session, f.id, note="call about the renewal", owner="", every="2w", from_done=True)
    view = followups.followup_view(session, f.id)
    assert (view["note"], view["owner"], view["every"], view["from_done"]) == (
        "call about the renewal",
        None,
        "2w",
        True,
    )
    followups.edit_followup(session, f.id, every="none")
    view = followups.followup_view(session, f.id)
    assert view["every"] is None and view["from_done"] is False  # from-done means nothing without a repeat
    followups.remove_followup(session, f.id)
    with pytest.raises(NotFound):
        followups.followup_view(session, f.id)
    g = followups.add_followup(session, due_at=at("2026-11-20T09:00"), contact=anna)
    followups.complete(session, g.id)
    with pytest.raises(Conflict):
        followups.snooze(session, g.id, at("2026-11-25T09:00"))


def test_add_checks_its_input(session) -> None:
    anna = contacts.add_contact(session, name="Anna")
    with pytest.raises(Invalid, match="needs a contact, a company or a deal"):
        followups.add_followup(session, due_at=at("2026-11-25T09:00"))
    with pytest.raises(Invalid, match="origin"):
        followups.add_followup(session, due_at=at("2026-11-25T09:00"), contact=anna, origin="magic")
    naive_local = followups.add_followup(session, due_at=datetime(2026, 11, 25, 9, 0), contact=anna)
    assert naive_local.due_at == at("2026-11-25T09:00")  # TZ=UTC in the tests
    assert lookup.resolve_subject(session, "Anna")[0].id == anna.id


def test_contact_view_has_cadence_and_open_follow_ups(session) -> None:
    anna = contacts.add_contact(session, name="Anna")
    followups.add_followup(session, due_at=at("2026-11-25T09:00"), note="send pricing", contact=anna)
    followups.set_cadence(session, anna, 14)
    view = views.contact_view(session, anna)
    assert view["cadence_days"] == 14
    assert [(r["kind"], r["note"]) for r in view["followups"]] == [
        ("followup", "send pricing"),
        ("cadence", "Keep in touch (every 14 days)"),
    ]


def test_open_and_overdue_queries_use_the_index(session) -> None:
    """The cron query, as sent, reads ix_followup_open_due (per owner: ix_followup_owner_open_due)."""
    from sqlalchemy import event

    anna = contacts.add_contact(session, name="Anna")
    followups.add_followup(session, due_at=at("2026-11-20T09:00"), contact=anna, owner="ana")
    engine = session.get_bind()
    sent: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, context, executemany) -> None:
        if "FROM followup" in statement:
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        assert len(followups.list_followups(session, window="overdue", cadence=False)) == 1
        assert len(followups.list_followups(session, window="overdue", owner="ana", cadence=False)) == 1
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    conn = session.connection()
    postgres = engine.dialect.name == "postgresql"
    if postgres:  # a handful of rows: make the planner show whether it can use the index at all
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    for (statement, parameters), index in zip(
        sent, ("ix_followup_open_due", "ix_followup_owner_open_due"), strict=True
    ):
        explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(explain + statement, parameters))
        assert index in plan, plan
