"""KPIs and reports from the domain layer, on SQLite and PostgreSQL, against the hand-built
fixture of tests/kpi_data.py: every expected figure is written out here."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
from kpi_data import NOW, at, build
from sqlalchemy import event, literal
from sqlmodel import select

from crmcli.analytics import kpi, reports, targets
from crmcli.analytics.summary import attainment, kpi_summary
from crmcli.domain import deals, rates, settings
from crmcli.errors import Invalid, NotFound, UsageError
from crmcli.models import Deal
from crmcli.values import clock, periods


@pytest.fixture(autouse=True)
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_NOW", NOW)


@pytest.fixture
def data(session, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    return build(session, monkeypatch)


def november() -> periods.Window:
    return periods.window("month")


def figures(summary: dict) -> dict[str, tuple]:
    return {
        f["key"] + (f" {f['currency']}" if f["currency"] else ""): (f["current"], f["previous"], f["change"])
        for f in summary["figures"]
    }


# ---------------------------------------------------------------- periods


def test_periods_are_local_calendar_units_with_the_one_before(monkeypatch: pytest.MonkeyPatch) -> None:
    w = periods.window("month")
    assert (w.first, w.last, w.label, w.days) == (date(2026, 11, 1), date(2026, 11, 30), "November 2026", 30)
    assert (w.previous().first, w.previous().last, w.previous().label) == (
        date(2026, 10, 1),
        date(2026, 10, 31),
        "October 2026",
    )
    assert w.elapsed() == pytest.approx(0.65)
    q = periods.window("quarter")
    assert (q.first, q.last, q.label) == (date(2026, 10, 1), date(2026, 12, 31), "Q4 2026")
    assert (q.previous().first, q.previous().last) == (date(2026, 7, 1), date(2026, 9, 30))
    wk = periods.window("week")
    assert (wk.first, wk.last, wk.label) == (date(2026, 11, 16), date(2026, 11, 22), "Week 47 2026")
    y = periods.window("year")
    assert (y.first, y.last, y.previous().label) == (date(2026, 1, 1), date(2026, 12, 31), "2025")
    assert periods.window("2026-03").label == "March 2026"
    assert periods.window("2026-q1").last == date(2026, 3, 31)
    assert periods.window("2026-W01").first == date(2025, 12, 29)
    custom = periods.window(since="2026-11-01", until="2026-11-10")
    assert (custom.days, custom.previous().first, custom.previous().last) == (
        10,
        date(2026, 10, 22),
        date(2026, 10, 31),
    )
    assert periods.window(since="2026-11-15").last == date(2026, 11, 20)  # until: today
    for bad in (
        dict(period="fortnight"),
        dict(since="2026-13-01"),
        dict(until="2026-11-01"),
        dict(period="month", since="2026-11-01"),
        dict(since="2026-11-10", until="2026-11-01"),
    ):
        with pytest.raises(UsageError):
            periods.window(**bad)
    # bounds are local midnights: in Berlin November starts at 23:00 UTC on 31 October
    clock.set_local_zone("Europe/Berlin")
    w = periods.window("month")
    assert w.start == datetime(2026, 10, 31, 23, 0, tzinfo=UTC) and w.end == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    assert periods.window("2026-10").start == datetime(2026, 9, 30, 22, 0, tzinfo=UTC)  # summer time


# ---------------------------------------------------------------- the one screen


EXPECTED_NOVEMBER = {
    "open_deals": (4, 7, -3),
    "open_value EUR": (D("96000.00"), D("93000.00"), D("3000.00")),
    "open_value USD": (D("0.00"), D("9000.50"), D("-9000.50")),
    "open_weighted EUR": (D("20500.00"), D("25250.00"), D("-4750.00")),
    "open_weighted USD": (D("0.00"), D("900.05"), D("-900.05")),
    "stalled": (1, 3, -2),
    "forecast EUR": (D("15500.00"), None, None),
    "won_count": (6, 1, 5),
    "won_value EUR": (D("42000.00"), D("0.00"), D("42000.00")),
    "won_value USD": (D("9000.50"), D("8000.00"), D("1000.50")),
    "lost_count": (2, 1, 1),
    "lost_value EUR": (D("3000.00"), D("7000.00"), D("-4000.00")),
    "win_rate": (D("75.0"), D("50.0"), D("25.0")),
    "avg_won EUR": (D("8400.00"), None, None),
    "avg_won USD": (D("9000.50"), D("8000.00"), D("1000.50")),
    "median_won EUR": (D("6000.00"), None, None),
    "median_won USD": (D("9000.50"), D("8000.00"), D("1000.50")),
    "cycle_median_days": (D("22.5"), D("44.0"), D("-21.5")),
    "cycle_p80_days": (D("33.0"), D("44.0"), D("-11.0")),
    "activities": (7, 3, 4),
    "followups_on_time": (2, 1, 1),
    "followups_late": (1, 1, 0),
    "followups_overdue": (1, 1, 0),
    "speed_to_lead_hours": (D("6.0"), D("36.0"), D("-30.0")),
    "new_contacts": (4, 2, 2),
    "new_companies": (1, 1, 0),
}


def test_every_figure_of_the_month_beside_the_month_before(session, data) -> None:
    summary = kpi_summary(session, november())
    assert figures(summary) == EXPECTED_NOVEMBER
    assert [f["key"] for f in summary["figures"]][:3] == ["open_deals", "open_value", "open_value"]
    assert summary["period"] == {
        "label": "November 2026",
        "kind": "month",
        "first_day": date(2026, 11, 1),
        "last_day": date(2026, 11, 30),
        "elapsed": 0.65,
    }
    assert summary["previous"]["label"] == "October 2026" and summary["empty"] is False
    changes = {f["key"] + (f["currency"] or ""): f["change_pct"] for f in summary["figures"]}
    assert changes["won_count"] == D("500.0") and changes["open_deals"] == D("-42.9")
    assert changes["win_rate"] is None  # a rate changes by points, not by percent
    assert changes["won_valueEUR"] is None  # from nothing


def test_details_stages_conversion_reasons_activity_followups_leads(session, data) -> None:
    summary = kpi_summary(session, november())
    sales = [s for s in summary["open_pipeline"] if s["pipeline"] == "Sales"]
    assert [
        (s["stage"], s["count"], s["stalled"], [(t["currency"], t["amount"], t["weighted"]) for t in s["totals"]])
        for s in sales
    ] == [
        ("Lead", 1, 0, [("EUR", D("30000.00"), D("3000.00"))]),
        ("Qualified", 2, 1, [("EUR", D("62000.00"), D("15500.00"))]),
        ("Proposal", 1, 0, [("EUR", D("4000.00"), D("2000.00"))]),
        ("Negotiation", 0, 0, []),
    ]
    assert {s["pipeline"] for s in summary["open_pipeline"]} == {"Sales", "Renewals"}
    conv = [
        (
            c["pipeline"],
            c["stage"],
            c["entered"],
            c["moved_on"],
            c["moved_on_pct"],
            c["won"],
            c["won_pct"],
            c["previous_entered"],
        )
        for c in summary["conversion"]
        if c["entered"] or c["previous_entered"]
    ]
    assert conv == [
        ("Sales", "Lead", 4, 2, D("50.0"), 1, D("25.0"), 7),  # Gamma won from Lead: skipping a stage is moving on
        ("Sales", "Qualified", 2, 2, D("100.0"), 1, D("50.0"), 2),
        ("Sales", "Proposal", 3, 1, D("33.3"), 1, D("33.3"), 3),  # Theta went back, Eta came back from Lost
        ("Sales", "Negotiation", 1, 1, D("100.0"), 1, D("100.0"), 0),
        ("Sales", "Won", 5, None, None, 5, D("100.0"), 1),
        ("Renewals", "Lead", 1, 1, D("100.0"), 1, D("100.0"), 0),
        ("Renewals", "Won", 1, None, None, 1, D("100.0"), 0),
    ]
    assert [(r["reason"], r["count"], r["value"], r["share"], r["previous"]) for r in summary["lost_reasons"]] == [
        ("(no reason)", 1, {"EUR": D("0.00")}, D("50.0"), 0),  # Lambda had no amount
        ("price", 1, {"EUR": D("3000.00")}, D("50.0"), 1),
    ]  # Eta was lost for timing, then reopened: not lost
    assert summary["activity"] == [
        {"owner": "ana", "current": 4, "previous": 1, "change": 3},
        {"owner": "ben", "current": 2, "previous": 2, "change": 0},
        {"owner": "mei", "current": 1, "previous": 0, "change": 1},
    ]
    assert summary["followups"] == {
        "due": 6,
        "on_time": 2,
        "late": 1,
        "overdue": 1,
        "open": 2,
        "on_time_pct": D("66.7"),
    }
    assert summary["speed_to_lead"] == {"contacts": 4, "reached": 3, "not_reached": 1, "median_hours": D("6.0")}


def test_one_pipeline(session, data) -> None:
    got = figures(kpi_summary(session, november(), pipeline="Sales"))
    assert got["won_count"] == (5, 1, 4)
    assert got["won_value EUR"] == (D("41000.00"), D("0.00"), D("41000.00"))
    assert got["win_rate"] == (D("71.4"), D("50.0"), D("21.4"))
    assert got["avg_won EUR"][0] == D("10250.00") and got["median_won EUR"][0] == D("8000.00")
    assert got["cycle_median_days"][0] == D("24.0") and got["cycle_p80_days"][0] == D("35.0")
    assert got["open_value EUR"] == EXPECTED_NOVEMBER["open_value EUR"]
    assert got["activities"] == EXPECTED_NOVEMBER["activities"]  # activity is not per pipeline
    summary = kpi_summary(session, november(), pipeline="Sales")
    assert {s["pipeline"] for s in summary["open_pipeline"]} == {"Sales"} and summary["pipeline"] == "Sales"
    with pytest.raises(NotFound):
        kpi_summary(session, november(), pipeline="Nope")


def test_one_owner(session, data) -> None:
    got = figures(kpi_summary(session, november(), owner="ben"))
    assert got["won_count"] == (2, 1, 1)
    assert got["won_value EUR"][0] == D("20000.00") and got["won_value USD"][0] == D("9000.50")
    assert got["lost_count"] == (1, 0, 1) and got["win_rate"][0] == D("66.7")
    assert got["open_deals"][0] == 2 and got["open_weighted EUR"][0] == D("6000.00")
    assert got["cycle_median_days"][0] == D("22.5") and got["cycle_p80_days"][0] == D("23.4")
    assert got["activities"] == (2, 2, 0)
    assert (got["followups_on_time"][0], got["followups_late"][0], got["followups_overdue"][0]) == (0, 1, 0)
    assert got["speed_to_lead_hours"][0] == D("24.0") and got["new_contacts"][0] == 2


def test_removed_stage_shows_by_name_and_october_conversion(session, data) -> None:
    october = periods.window("2026-10")
    rows = kpi.conversion(session, kpi.Scope(october))
    got = [
        (r["pipeline"], r["stage"], r["removed"], r["entered"], r["moved_on_pct"], r["won_pct"])
        for r in rows
        if r["entered"]
    ]
    assert got == [
        ("Sales", "Lead", False, 7, D("85.7"), D("57.1")),
        ("Sales", "Qualified", False, 2, D("50.0"), D("50.0")),
        ("Sales", "Proposal", False, 3, D("66.7"), D("66.7")),
        ("Sales", "Won", False, 1, None, D("100.0")),
        ("Sales", "Demo", True, 1, None, D("100.0")),  # removed after Mu passed through it
    ]
    negotiation = next(r for r in rows if r["stage"] == "Negotiation" and r["pipeline"] == "Sales")
    assert (negotiation["entered"], negotiation["moved_on_pct"], negotiation["won_pct"]) == (0, None, None)


def test_open_pipeline_rebuilt_from_history_at_any_time(session, data) -> None:
    scope = kpi.Scope(november(), pipeline_id=1)
    then = kpi.open_pipeline(session, scope, at=at("2026-10-13 00:00"))
    # Epsilon in Lead, Delta and Iota in Qualified, Alpha and Eta in Proposal, Mu in Demo (removed since)
    assert [(s["stage"], s["count"], s["removed"]) for s in then["stages"]] == [
        ("Lead", 1, False),
        ("Qualified", 2, False),
        ("Proposal", 2, False),
        ("Negotiation", 0, False),
        ("Demo", 1, True),
    ]
    assert then["value"] == {"EUR": D("77000.00"), "USD": D("8000.00")}
    assert kpi.open_pipeline(session, scope, at=at("2024-01-01 00:00"))["count"] == 0
    later = kpi.open_pipeline(session, scope, at=at("2030-01-01 00:00"))  # never beyond now
    assert later["count"] == 4 and later["at"] == clock.now()


def test_stalled_forecast_owners_customers_lost_reasons_trend(session, data) -> None:
    scope = kpi.make_scope(session, november())
    assert [
        (r["title"], r["stage"], r["days_in_stage"], r["rot_days"], r["days_over"], r["amount"])
        for r in reports.stalled(session, scope)
    ] == [("Iota", "Qualified", 107, 30, 77, D("50000.00"))]
    assert [r["title"] for r in reports.stalled(session, scope, periods.window("2026-09"))] == ["Iota"]  # since Sep 4
    assert reports.stalled(session, scope, periods.window("2026-10")) == []
    assert [
        (r["label"], r["currency"], r["deals"], r["amount"], r["weighted"]) for r in reports.forecast(session, scope)
    ] == [
        ("Nov 2026", "EUR", 2, D("80000.00"), D("15500.00")),
        ("Dec 2026", "EUR", 1, D("4000.00"), D("2000.00")),
        ("Jan 2027", "EUR", 0, D("0.00"), D("0.00")),
        ("Feb 2027", "EUR", 0, D("0.00"), D("0.00")),
        ("Mar 2027", "EUR", 0, D("0.00"), D("0.00")),
        ("Apr 2027", "EUR", 0, D("0.00"), D("0.00")),
        ("No close date", "EUR", 1, D("12000.00"), D("3000.00")),
    ]
    later = kpi.Scope(periods.window("2026-12"))
    assert reports.forecast(session, later, 1)[0] == {
        "month": "earlier",
        "label": "Earlier (overdue)",
        "currency": "EUR",
        "deals": 2,
        "amount": D("80000.00"),
        "weighted": D("15500.00"),
    }
    assert [
        (
            r["rank"],
            r["owner"],
            r["won"],
            r["won_value"],
            r["lost"],
            r["win_rate"],
            r["activities"],
            r["open_deals"],
            r["overdue_followups"],
        )
        for r in reports.owners(session, scope)
    ] == [
        (1, "ana", 3, {"EUR": D("21000.00")}, 1, D("75.0"), 4, 2, 1),
        (2, "ben", 2, {"EUR": D("20000.00"), "USD": D("9000.50")}, 1, D("66.7"), 2, 2, 1),
        (3, "mei", 1, {"EUR": D("1000.00")}, 0, D("100.0"), 1, 0, 0),
    ]
    assert [
        (
            r["company"],
            r["segment"],
            r["purchases"],
            r["lifetime_value"],
            r["first_purchase"],
            r["last_purchase"],
            r["days_since_last"],
            r["won_in_period"],
        )
        for r in reports.customers(session, scope)
    ] == [
        (
            "Globex",
            "champions",
            3,
            {"EUR": D("20000.00"), "USD": D("17000.50")},
            at("2026-10-15"),
            at("2026-11-18"),
            2,
            2,
        ),
        ("Acme", "champions", 2, {"EUR": D("15000.00")}, at("2026-11-03"), at("2026-11-11"), 9, 2),
        ("Initech", "loyal", 1, {"EUR": D("6000.00")}, at("2026-11-15"), at("2026-11-15"), 5, 1),
        ("Umbrella", "at risk", 1, {"EUR": D("1500.00")}, at("2026-05-01"), at("2026-05-01"), 203, 0),
        ("Old Co", "lost", 1, {"EUR": D("2000.00")}, at("2025-02-01"), at("2025-02-01"), 657, 0),
    ]
    october = [
        (r["company"], r["segment"], r["purchases"], r["days_since_last"])
        for r in reports.customers(session, kpi.Scope(periods.window("2026-10")))
    ]
    assert october == [("Globex", "loyal", 1, 16), ("Umbrella", "at risk", 1, 183), ("Old Co", "lost", 1, 637)]
    assert [
        (r["reason"], r["count"], r["previous"], r["change"]) for r in reports.lost_reasons_report(session, scope)
    ] == [("(no reason)", 1, 0, 1), ("price", 1, 1, 0)]
    rows = reports.trend(session, scope, 12)
    assert [r["month"] for r in rows][:2] == ["2025-12", "2026-01"] and len(rows) == 12
    by_month = {r["month"]: r for r in rows}
    assert by_month["2026-11"] == {
        "month": "2026-11",
        "label": "Nov 2026",
        "won": 6,
        "lost": 2,
        "win_rate": D("75.0"),
        "won_value": {"EUR": D("42000.00"), "USD": D("9000.50")},
        "new_contacts": 4,
        "activities": 7,
    }
    assert (by_month["2026-10"]["won"], by_month["2026-10"]["won_value"], by_month["2026-10"]["activities"]) == (
        1,
        {"EUR": D("0.00"), "USD": D("8000.00")},
        3,
    )
    assert (by_month["2026-09"]["new_contacts"], by_month["2026-05"]["won_value"]["EUR"]) == (1, D("1500.00"))
    assert sum(r["won"] for r in rows) == 8  # Omicron (Feb 2025) is older than twelve months


def test_funnel_is_one_pipeline(session, data) -> None:
    funnel = reports.funnel(session, kpi.Scope(november()))
    assert funnel["pipeline"] == "Sales"
    assert [(r["stage"], r["entered"], r["moved_on_pct"], r["won_pct"]) for r in funnel["stages"]] == [
        ("Lead", 4, D("50.0"), D("25.0")),
        ("Qualified", 2, D("100.0"), D("50.0")),
        ("Proposal", 3, D("33.3"), D("33.3")),
        ("Negotiation", 1, D("100.0"), D("100.0")),
        ("Won", 5, None, D("100.0")),
    ]
    renewals = reports.funnel(session, kpi.make_scope(session, november(), pipeline="Renewals"))
    assert [(r["stage"], r["entered"]) for r in renewals["stages"]][0] == ("Lead", 1)


def test_local_zone_moves_the_month_bounds(session) -> None:
    """23:30 UTC on 31 October is 00:30 on 1 November in Berlin: a November win there."""
    settings.set_value(session, "timezone", "Europe/Berlin")
    clock.set_local_zone("Europe/Berlin")
    early = deals.add_deal(session, title="Early", amount="100", created_at=at("2026-10-01"))
    deals.win(session, early, at=datetime(2026, 10, 31, 23, 30, tzinfo=UTC))
    late = deals.add_deal(session, title="Late", amount="200", created_at=at("2026-10-01"))
    deals.win(session, late, at=datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    won = kpi.closed(session, kpi.Scope(periods.window("month")))["won"]
    assert (won["count"], won["value"]) == (1, {"EUR": D("100.00")})
    clock.set_local_zone(None)
    won = kpi.closed(session, kpi.Scope(periods.window("month")))["won"]
    assert (won["count"], won["value"]) == (1, {"EUR": D("200.00")})


def test_no_data_is_an_empty_state_not_a_division_by_zero(session) -> None:
    summary = kpi_summary(session, november())
    assert summary["empty"] is True
    got = figures(summary)
    assert got["win_rate"] == (None, None, None) and got["cycle_median_days"] == (None, None, None)
    assert got["won_count"] == (0, 0, 0) and got["speed_to_lead_hours"] == (None, None, None)
    assert not any(k.startswith(("won_value", "avg_won", "open_value")) for k in got)  # no currency seen
    assert summary["followups"]["on_time_pct"] is None and summary["lost_reasons"] == []
    scope = kpi.Scope(november())
    assert reports.owners(session, scope) == [] and reports.customers(session, scope) == []
    assert reports.stalled(session, scope) == [] and reports.lost_reasons_report(session, scope) == []
    assert reports.forecast(session, scope) == [] and all(r["won"] == 0 for r in reports.trend(session, scope))
    assert all(r["entered"] == 0 and r["won_pct"] is None for r in reports.funnel(session, scope)["stages"])


# ---------------------------------------------------------------- targets


def test_targets_pace_and_attainment(session, data) -> None:
    made = [
        targets.set_target(session, metric="won_value", value="60000", period="month")[0],
        targets.set_target(session, metric="win_rate", value="60%", period="month")[0],
        targets.set_target(session, metric="activities", value="20", period="month")[0],
        targets.set_target(session, metric="cycle_days", value="20", period="month")[0],
        targets.set_target(session, metric="speed_to_lead_hours", value="12", period="month")[0],
        targets.set_target(session, metric="won_count", value="3", period="month", owner="ben")[0],
        targets.set_target(session, metric="new_contacts", value="30", period="quarter")[0],
    ]
    assert made[0].currency == "EUR" and made[0].value == "60000.00" and made[1].value == "60"
    again, created = targets.set_target(session, metric="won_value", value="60000", period="month")
    assert again.id == made[0].id and not created  # the same target, replaced
    got = {
        (t["metric"], t["owner"]): (t["target"], t["actual"], t["expected"], t["attainment_pct"], t["status"])
        for t in attainment(session, november())
    }
    assert got == {
        ("won_value", None): (D("60000.00"), D("42000.00"), D("39000.00"), D("70.0"), "on pace"),
        ("win_rate", None): (D("60"), D("75.0"), None, D("125.0"), "on target"),
        ("activities", None): (D("20"), D("7"), D("13.00"), D("35.0"), "behind"),
        ("cycle_days", None): (D("20"), D("22.5"), None, None, "behind"),  # lower is better
        ("speed_to_lead_hours", None): (D("12"), D("6.0"), None, None, "on target"),
        ("won_count", "ben"): (D("3"), D("2"), D("1.95"), D("66.7"), "on pace"),
        # the quarter: 50.5 of 92 days gone, 6 new contacts (October and November) of 30
        ("new_contacts", None): (D("30"), D("6"), D("16.47"), D("20.0"), "behind"),
    }
    october = {t["metric"]: t["status"] for t in attainment(session, periods.window("2026-10"))}
    assert october["win_rate"] == "missed"  # 50 % < 60 %, and October is over
    # October's only win is $8,000 (Delta): without a USD rate the EUR target cannot be judged, not €0 missed
    assert october["won_value"] == "incomplete"
    rates.set_rate(session, "USD", "0.92")
    october = {t["metric"]: (t["actual"], t["status"]) for t in attainment(session, periods.window("2026-10"))}
    assert october["won_value"] == (D("7360.00"), "missed")  # 8,000 × 0.92 of 60,000
    assert [t["metric"] for t in attainment(session, november(), owner="ben")] == ["won_count"]
    assert [r["metric"] for r in targets.list_targets(session)][:2] == ["won_value", "win_rate"]
    removed = targets.remove_target(session, made[2].id)
    assert removed["metric"] == "activities" and len(targets.list_targets(session)) == 6
    for bad in (
        dict(metric="revenue", value="1"),
        dict(metric="won_count", value="1.5"),
        dict(metric="win_rate", value="120"),
        dict(metric="won_value", value="-5"),
        dict(metric="won_count", value="3", currency="EUR"),
        dict(metric="won_count", value="3", period="week"),
        dict(metric="won_value", value="0.001"),
    ):
        with pytest.raises(Invalid):
            targets.set_target(session, **bad)
    with pytest.raises(NotFound):
        targets.remove_target(session, 999)


# ---------------------------------------------------------------- SQL, not Python


def test_percentiles_match_the_textbook_and_postgresql(session) -> None:
    from sqlalchemy import union_all

    rng = random.Random(4)
    for n in (1, 2, 3, 4, 5, 10, 11):
        values = [rng.randint(0, 1000) for _ in range(n)]
        query = union_all(*[select(literal(0).label("g"), literal(v).label("x")) for v in values]).subquery()
        got = kpi.percentiles(session, select(query.c.g, query.c.x), (50, 80, 90))[0]
        expected = statistics.quantiles(values, n=10, method="inclusive") if n > 1 else [values[0]] * 9
        assert got["n"] == n
        assert float(got[50]) == pytest.approx(statistics.median(values))
        assert float(got[80]) == pytest.approx(expected[7]) and float(got[90]) == pytest.approx(expected[8])
        if session.get_bind().dialect.name == "postgresql":
            from sqlalchemy import func, within_group

            cont = session.execute(
                select(within_group(func.percentile_cont(0.8), query.c.x)).select_from(query)
            ).scalar()
            assert float(got[80]) == pytest.approx(float(cont))


def test_the_number_of_queries_does_not_grow_with_the_data(session, data, monkeypatch) -> None:
    """Aggregation is SQL: ten times the deals, the same statements, and no deal rows fetched."""
    engine = session.get_bind()
    sent: list[str] = []

    def grab(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", grab)
    try:
        kpi_summary(session, november())
        first = len(sent)
        for i in range(60):
            d = deals.add_deal(session, title=f"More {i}", amount="100", created_at=at("2026-11-02"), owner="zoe")
            if i % 2:
                deals.win(session, d, at=at("2026-11-04"))
        sent.clear()
        summary = kpi_summary(session, november())
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    assert len(sent) == first
    assert figures(summary)["won_count"][0] == 36
    assert not any(s.lstrip().upper().startswith("SELECT DEAL.ID,") for s in sent)
    assert session.exec(select(Deal).where(Deal.owner == "zoe")).first() is not None


def test_day_buckets_compile_from_the_cache_and_agree_with_the_long_form(session, data, monkeypatch) -> None:
    """A month of day buckets is a cached statement (no fresh compile per run); a period with more
    spans than a compound SELECT may have is a VALUES list, and both count the same follow-ups."""
    scope = kpi.make_scope(session, november())
    first = kpi.followups(session, scope)
    compiled: list[bool] = []

    def grab(conn, clauseelement, multiparams, params, execution_options) -> None:  # noqa: ANN001
        compiled.append(clauseelement._generate_cache_key() is not None)

    engine = session.get_bind()
    event.listen(engine, "before_execute", grab)
    try:
        assert kpi.followups(session, scope) == first
    finally:
        event.remove(engine, "before_execute", grab)
    assert compiled == [True]
    monkeypatch.setattr(kpi, "UNION_LIMIT", 3)  # the same month through the VALUES form
    assert kpi.followups(session, scope) == first == {
        "due": 6, "on_time": 2, "late": 1, "overdue": 1, "open": 2, "on_time_pct": D("66.7"),
    }  # fmt: skip
