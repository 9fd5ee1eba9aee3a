"""crm kpi, crm targets and crm report through the CLI (CliRunner), on SQLite and PostgreSQL,
against the hand-built fixture of tests/kpi_data.py (now: 2026-11-20 12:00 UTC)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from kpi_data import NOW, build
from test_cli import ok, one_line_error


@pytest.fixture(autouse=True)
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_NOW", NOW)


@pytest.fixture
def filled(session, cli, monkeypatch: pytest.MonkeyPatch):
    build(session, monkeypatch)
    session.commit()
    return cli


def figure(rows: list[dict], key: str, currency: str | None = None) -> tuple:
    found = [r for r in rows if r["key"] == key and r["currency"] == currency]
    assert len(found) == 1, (key, currency)
    return found[0]["current"], found[0]["previous"], found[0]["change"]


def test_kpi_json_has_every_figure_as_exact_text(filled) -> None:
    data = json.loads(ok(filled("kpi", "-f", "json")).stdout)
    rows = data["figures"]
    assert figure(rows, "won_count") == (6, 1, 5)
    assert figure(rows, "won_value", "EUR") == ("42000.00", "0.00", "42000.00")
    assert figure(rows, "won_value", "USD") == ("9000.50", "8000.00", "1000.50")
    assert figure(rows, "open_weighted", "EUR") == ("20500.00", "25250.00", "-4750.00")
    assert figure(rows, "forecast", "EUR") == ("15500.00", None, None)
    assert figure(rows, "win_rate") == ("75.0", "50.0", "25.0")
    assert figure(rows, "median_won", "EUR") == ("6000.00", None, None)
    assert figure(rows, "cycle_median_days") == ("22.5", "44.0", "-21.5")
    assert figure(rows, "cycle_p80_days") == ("33.0", "44.0", "-11.0")
    assert figure(rows, "speed_to_lead_hours") == ("6.0", "36.0", "-30.0")
    assert figure(rows, "followups_overdue") == (1, 1, 0)
    assert data["period"] == {"label": "November 2026", "kind": "month", "first_day": "2026-11-01",
                              "last_day": "2026-11-30", "elapsed": 0.65}  # fmt: skip
    assert [(r["stage"], r["entered"], r["moved_on_pct"], r["won_pct"]) for r in data["conversion"][:5]] == [
        ("Lead", 4, "50.0", "25.0"), ("Qualified", 2, "100.0", "50.0"), ("Proposal", 3, "33.3", "33.3"),
        ("Negotiation", 1, "100.0", "100.0"), ("Won", 5, None, "100.0"),
    ]  # fmt: skip
    assert data["lost_reasons"][1] == {"reason": "price", "count": 1, "value": {"EUR": "3000.00"}, "share": "50.0",
                                       "previous": 1}  # fmt: skip


def test_kpi_periods_owner_pipeline_and_usage_errors(filled) -> None:
    def won(*args: str) -> tuple:
        return figure(json.loads(ok(filled("kpi", "-f", "json", *args)).stdout)["figures"], "won_count")

    assert won("--period", "2026-10") == (1, 0, 1)
    assert won("--period", "quarter") == (7, 0, 7)  # Q4 against Q3 (Pi was won in May)
    assert won("--period", "year") == (8, 1, 7)  # 2026 against 2025 (Omicron)
    assert won("--since", "2026-11-01", "--until", "2026-11-30") == (6, 1, 5)  # the 30 days before: Oct 2-31
    assert won("--owner", "ben") == (2, 1, 1)
    assert won("--pipeline", "Sales") == (5, 1, 4)
    assert won("-p", "week") == (2, 3, -1)  # 16-22 Nov: Xi, Nu; the week before: Beta, Gamma, Mu
    one_line_error(filled("kpi", "--period", "fortnight"), 2, "unknown period 'fortnight'")
    one_line_error(filled("kpi", "--period", "month", "--since", "2026-11-01"), 2, "either --period or --since")
    one_line_error(filled("kpi", "--since", "2026-11-31"), 2, "invalid --since")
    one_line_error(filled("kpi", "--pipeline", "Nope"), 1, "Nope")


def test_kpi_screen_for_people_and_lines_for_scripts(filled) -> None:
    table = ok(filled("kpi", "-f", "table", env={"COLUMNS": "120", "NO_COLOR": "1"})).stdout
    assert "KPIs · November 2026 (2026-11-01 – 2026-11-30, 65% elapsed) vs October 2026" in table
    assert "Won value (EUR)" in table and "€42,000.00" in table and "▲ +€42,000.00" in table
    assert "▼ −21.5 d (−48.9%)" in table  # the cycle got shorter
    assert "Stage conversion" in table and "████" in table  # bars, in characters: readable without colour
    assert "Top lost reasons" in table and "Activity by owner" in table
    assert "\x1b[" not in table
    plain = ok(filled("kpi")).stdout.splitlines()  # not a terminal: tab-separated lines
    assert "Won deals\t6\t1\t▲ +5 (+500.0%)" in plain
    assert "Forecast, weighted (EUR)\t€15,500.00\t—\t" in plain
    rows = list(csv.DictReader(io.StringIO(ok(filled("kpi", "-f", "csv")).stdout)))
    won = next(r for r in rows if r["key"] == "won_value" and r["currency"] == "USD")
    assert (won["current"], won["previous"], won["change"], won["change_pct"]) == ("9000.50", "8000.00", "1000.50",
                                                                                   "12.5")  # fmt: skip


def test_targets_set_list_rm_and_the_mark_when_behind(filled) -> None:
    first = ok(filled("targets", "set", "won_value", "60000", "--period", "month"))
    assert first.stderr.strip() == "Set target #1: won_value €60,000.00 per month for team"
    again = ok(filled("targets", "set", "won_value", "60,000"))
    assert again.stderr.startswith("Changed target #1") and again.stdout.strip() == "1"
    ok(filled("targets", "set", "activities", "20"))
    ok(filled("targets", "set", "won_count", "3", "--owner", "ben", "-f", "json"))
    ok(filled("targets", "set", "win_rate", "80%", "--period", "quarter"))
    listed = json.loads(ok(filled("targets", "list", "-f", "json")).stdout)
    assert [(t["metric"], t["value"], t["period"], t["owner"], t["currency"]) for t in listed] == [
        ("won_value", "60000.00", "month", None, "EUR"), ("activities", "20", "month", None, None),
        ("win_rate", "80", "quarter", None, None), ("won_count", "3", "month", "ben", None),
    ]  # fmt: skip
    assert ok(filled("targets", "list", "-q")).stdout.split() == ["1", "2", "4", "3"]
    data = json.loads(ok(filled("kpi", "-f", "json")).stdout)
    marks = {(t["metric"], t["owner"]): (t["actual"], t["expected"], t["status"], t["behind"]) for t in data["targets"]}
    assert marks == {
        ("won_value", None): ("42000.00", "39000.00", "on pace", False),
        ("activities", None): ("7", "13.00", "behind", True),
        ("win_rate", None): ("70.0", None, "behind", True),  # Q4: 7 won, 3 lost (Epsilon in October)
        ("won_count", "ben"): ("2", "1.95", "on pace", False),
    }
    table = ok(filled("kpi", "-f", "table", env={"COLUMNS": "120"})).stdout
    assert "Targets" in table and "⚠ behind pace" in table and "⚠ Behind: activities (team), win_rate (team)" in table
    plain = ok(filled("kpi")).stdout
    assert "target activities\tteam\tNovember 2026\t20\t7\t⚠ behind pace" in plain
    assert [t["metric"] for t in json.loads(ok(filled("kpi", "--owner", "ben", "-f", "json")).stdout)["targets"]] == [
        "won_count"
    ]
    ok(filled("targets", "rm", "2", "--yes"))
    assert [t["id"] for t in json.loads(ok(filled("targets", "list", "-f", "json")).stdout)] == [1, 4, 3]
    one_line_error(filled("targets", "rm", "2", "--yes"), 1, "no target with id 2")
    one_line_error(filled("targets", "set", "won_count", "2.5"), 1, "a count is a whole number")
    one_line_error(filled("targets", "set", "win_rate", "30", "--currency", "EUR"), 1, "not an amount of money")
    assert filled("targets", "set", "revenue", "5").exit_code == 2
    assert filled("targets", "set", "won_count", "5", "--period", "week").exit_code == 2


def test_reports_in_every_format(filled) -> None:
    env = {"COLUMNS": "120", "NO_COLOR": "1"}
    funnel = json.loads(ok(filled("report", "funnel", "--period", "month", "-f", "json")).stdout)
    assert funnel["pipeline"] == "Sales" and [s["entered"] for s in funnel["stages"]] == [4, 2, 3, 1, 5]
    table = ok(filled("report", "funnel", "-p", "month", "-f", "table", env=env)).stdout
    assert "Sales funnel · deals entering each stage in November 2026" in table and "█" in table
    assert "2 · 50.0%" in table
    rows = list(csv.DictReader(io.StringIO(ok(filled("report", "funnel", "-p", "2026-10", "-f", "csv")).stdout)))
    assert [(r["stage"], r["entered"], r["removed"]) for r in rows][-1] == ("Demo", "1", "true")  # removed since

    forecast = json.loads(ok(filled("report", "forecast", "--months", "2", "-f", "json")).stdout)
    assert [(r["label"], r["deals"], r["weighted"]) for r in forecast] == [
        ("Nov 2026", 2, "15500.00"), ("Dec 2026", 1, "2000.00"), ("No close date", 1, "3000.00")
    ]  # fmt: skip
    assert "€15,500.00" in ok(filled("report", "forecast", "-f", "table", env=env)).stdout

    owners = json.loads(ok(filled("report", "owners", "-p", "month", "-f", "json")).stdout)
    assert [(o["rank"], o["owner"], o["won_value"], o["win_rate"], o["overdue_followups"]) for o in owners] == [
        (1, "ana", {"EUR": "21000.00"}, "75.0", 1), (2, "ben", {"EUR": "20000.00", "USD": "9000.50"}, "66.7", 1),
        (3, "mei", {"EUR": "1000.00"}, "100.0", 0),
    ]  # fmt: skip
    header = ok(filled("report", "owners", "-p", "month", "-f", "csv")).stdout.splitlines()[0]
    assert header == "rank,owner,won,won_value.EUR,won_value.USD,lost,win_rate,activities,open_deals,overdue_followups"
    plain = ok(filled("report", "owners", "-p", "month")).stdout.splitlines()
    assert plain[1] == "2\tben\t2\t€20,000.00, $9,000.50\t1\t66.7%\t2\t2\t1"

    customers = json.loads(ok(filled("report", "customers", "-f", "json")).stdout)
    assert [(c["company"], c["segment"], c["purchases"], c["days_since_last"]) for c in customers] == [
        ("Globex", "champions", 3, 2), ("Acme", "champions", 2, 9), ("Initech", "loyal", 1, 5),
        ("Umbrella", "at risk", 1, 203), ("Old Co", "lost", 1, 657),
    ]  # fmt: skip
    helped = ok(filled("report", "customers", "--help", env={"COLUMNS": "200"})).stdout
    assert "champions: bought in the last 90 days and 2+ won deals" in helped and "lost: longer ago" in helped

    stalled = json.loads(ok(filled("report", "stalled", "-f", "json")).stdout)
    assert [(s["title"], s["days_in_stage"], s["days_over"], s["amount"]) for s in stalled] == [
        ("Iota", 107, 77, "50000.00")
    ]
    assert json.loads(ok(filled("report", "stalled", "--period", "2026-10", "-f", "json")).stdout) == []

    lost = json.loads(ok(filled("report", "lost-reasons", "-p", "month", "-f", "json")).stdout)
    assert [(r["reason"], r["count"], r["share"], r["previous"]) for r in lost] == [
        ("(no reason)", 1, "50.0", 0), ("price", 1, "50.0", 1)
    ]  # fmt: skip
    assert "price" in ok(filled("report", "lost-reasons", "-p", "month", "-f", "table", env=env)).stdout

    trend = json.loads(ok(filled("report", "trend", "--months", "3", "-f", "json")).stdout)
    assert [(t["month"], t["won"], t["won_value"]) for t in trend] == [
        ("2026-09", 0, {"EUR": "0.00", "USD": "0.00"}), ("2026-10", 1, {"EUR": "0.00", "USD": "8000.00"}),
        ("2026-11", 6, {"EUR": "42000.00", "USD": "9000.50"}),
    ]  # fmt: skip
    table = ok(filled("report", "trend", "--months", "3", "-f", "table", env=env)).stdout
    assert "Won EUR" in table and "Won USD" in table and "█" in table
    one_line_error(filled("report", "trend", "--period", "nope"), 2, "unknown period")


def test_export_writes_every_report_with_native_charts(filled, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    target = tmp_path / "kpis.xlsx"
    done = ok(filled("report", "export", str(target), "--period", "month"))
    assert done.stderr.startswith(
        f"Wrote {target}: 9 sheets (KPIs, Funnel, Forecast, Trend, Owners, Customers, Stalled,"
    )
    assert done.stderr.strip().endswith("3 charts")
    book = load_workbook(target)
    assert book.sheetnames == ["KPIs", "Funnel", "Forecast", "Trend", "Owners", "Customers", "Stalled",
                               "Lost reasons", "Targets"]  # fmt: skip
    kpis = book["KPIs"]
    rows = {(r[0], r[1]): r[2:5] for r in kpis.iter_rows(min_row=4, values_only=True) if r[0]}
    assert rows[("Won value", "EUR")] == (42000, 0, 42000)
    assert rows[("Won deals", None)] == (6, 1, 5) and rows[("Win rate %", None)] == (75, 50, 25)
    assert kpis.cell(row=3, column=1).value == "Figure"
    assert any(c.number_format == '#,##0.00 "EUR"' for row in kpis.iter_rows(min_row=4) for c in row)
    funnel = book["Funnel"]
    assert [r[:2] for r in funnel.iter_rows(min_row=3, max_row=7, values_only=True)] == [
        ("Lead", 4), ("Qualified", 2), ("Proposal", 3), ("Negotiation", 1), ("Won", 5)
    ]  # fmt: skip
    charts = {name: book[name]._charts for name in ("Funnel", "Forecast", "Trend")}
    assert [type(c[0]).__name__ for c in charts.values()] == ["BarChart", "BarChart", "LineChart"]
    assert charts["Funnel"][0].type == "bar" and charts["Forecast"][0].type == "col"
    trend = [r for r in book["Trend"].iter_rows(min_row=3, values_only=True)]
    assert trend[-1][:3] == ("Nov 2026", 42000, 9000.5)
    customers = [r[:3] for r in book["Customers"].iter_rows(min_row=2, max_row=3, values_only=True)]
    assert customers == [("Globex", "champions", 3), ("Acme", "champions", 2)]
    with zipfile.ZipFile(target) as z:
        assert sum(1 for n in z.namelist() if n.startswith("xl/charts/chart")) == 3
    one_line_error(filled("report", "export", str(tmp_path / "kpis.csv")), 1, "does not end in .xlsx")
    one_line_error(filled("report", "export", str(tmp_path / "no" / "k.xlsx")), 1, "does not exist")


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_export_opens_in_libreoffice(filled, tmp_path: Path) -> None:
    target = tmp_path / "kpis.xlsx"
    ok(filled("report", "export", str(target)))
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(target)],
                   check=True, capture_output=True, timeout=180)  # fmt: skip
    assert (tmp_path / "kpis.pdf").stat().st_size > 1000


def test_empty_database_is_a_friendly_empty_state(cli) -> None:
    shown = ok(cli("kpi", "-f", "table", env={"COLUMNS": "120"}))
    assert "Nothing to measure in November 2026 or October 2026 yet" in shown.stdout
    assert "Traceback" not in shown.stdout + shown.stderr
    data = json.loads(ok(cli("kpi", "-f", "json")).stdout)
    assert data["empty"] is True and figure(data["figures"], "win_rate") == (None, None, None)
    for report in ("owners", "customers", "stalled", "lost-reasons", "forecast"):
        result = ok(cli("report", report, "-f", "table"))
        assert result.stdout == "" and result.stderr.startswith("No "), report
        assert json.loads(ok(cli("report", report, "-f", "json")).stdout) == []
    funnel = ok(cli("report", "funnel", "-f", "table"))
    assert "No deal entered a stage in Q4 2026" in funnel.stderr
    assert ok(cli("report", "trend", "-f", "table")).stdout.count("\n") > 12


def test_kpi_and_reports_load_no_spreadsheet_prompt_or_migration_code(tmp_path: Path) -> None:
    from test_lazy_imports import NEVER_FOR_LIST, loaded

    from crmcli import storage

    db = tmp_path / "crm.db"
    storage.open_engine(str(db))
    storage.dispose_all()
    env = {"CRM_DB": str(db), "CRM_NOW": NOW}
    for args in (["kpi"], ["kpi", "--format", "json"], ["report", "funnel"], ["report", "owners", "-f", "csv"]):
        modules = loaded(args, env)
        assert "sqlmodel" in modules and not (modules & NEVER_FOR_LIST), (args, modules & NEVER_FOR_LIST)
    assert "openpyxl" in loaded(["report", "export", str(tmp_path / "k.xlsx")], env)


def test_demo_gives_every_figure_and_report_something_to_show(cli, tmp_path: Path) -> None:
    env = {"CRM_NOW": "2026-11-23T09:00:00Z", "COLUMNS": "120"}
    made = ok(cli("init", "--demo", env=env))
    assert "8 targets" in made.stderr
    data = json.loads(ok(cli("kpi", "-f", "json", env=env)).stdout)
    assert not data["empty"]
    current = {f["key"]: f["current"] for f in data["figures"]}
    for key in ("open_deals", "stalled", "won_count", "lost_count", "activities", "new_contacts"):
        assert current[key], key
    for key in ("win_rate", "cycle_median_days", "speed_to_lead_hours"):
        assert current[key] is not None, key
    assert len(data["targets"]) == 8 and {t["status"] for t in data["targets"]} - {"behind", "missed"}
    year = json.loads(ok(cli("kpi", "--period", "year", "-f", "json", env=env)).stdout)
    assert figure(year["figures"], "won_count")[1] > 0  # last year's deals to compare with
    assert any(r["entered"] for r in json.loads(ok(cli("report", "funnel", "-f", "json", env=env)).stdout)["stages"])
    segments = {c["segment"] for c in json.loads(ok(cli("report", "customers", "-f", "json", env=env)).stdout)}
    assert segments == {"champions", "loyal", "at risk", "lost"}
    for report in ("forecast", "owners", "stalled", "lost-reasons", "trend"):
        assert json.loads(ok(cli("report", report, "-f", "json", env=env)).stdout), report
        assert "█" in ok(cli("report", report, "-f", "table", env=env)).stdout or report in ("owners", "stalled")
    ok(cli("report", "export", str(tmp_path / "demo.xlsx"), env=env))
