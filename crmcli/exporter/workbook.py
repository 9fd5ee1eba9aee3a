"""`crm report export FILE.xlsx`: every report on its own sheet, with native Excel charts
(openpyxl.chart) that Excel and LibreOffice draw themselves: funnel bars, forecast columns and
a monthly won-value line. The only module that imports openpyxl.

Numbers are written as numbers (money as exact decimals with the currency in the cell format),
times as local times, so the sheets can be sorted, summed and charted further.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlmodel import Session

from crmcli.analytics import kpi, reports, targets
from crmcli.analytics.summary import kpi_summary
from crmcli.errors import Invalid
from crmcli.values import clock
from crmcli.values.money import digits
from crmcli.values.periods import Window


def _money_format(currency: str) -> str:
    places = digits(currency)
    return ("#,##0." + "0" * places if places else "#,##0") + f' "{currency}"'


class _Sheet:
    """A write-only sheet that remembers how many rows it has, for chart references."""

    def __init__(self, book: Any, title: str) -> None:
        self.ws = book.create_sheet(title)
        self.rows = 0

    def cell(self, value: Any, number_format: str | None = None, bold: bool = False) -> Any:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font

        if isinstance(value, datetime):
            value = clock.to_local(value).replace(tzinfo=None)
        c = WriteOnlyCell(self.ws, value=value)
        if number_format:
            c.number_format = number_format
        elif isinstance(value, datetime):
            c.number_format = "yyyy-mm-dd hh:mm"
        elif isinstance(value, date):
            c.number_format = "yyyy-mm-dd"
        if bold:
            c.font = Font(bold=True)
        return c

    def append(self, values: list[Any]) -> int:
        self.ws.append([v if hasattr(v, "coordinate") or v is None else self.cell(v) for v in values])
        self.rows += 1
        return self.rows

    def header(self, names: list[str]) -> int:
        self.ws.append([self.cell(n, bold=True) for n in names])
        self.rows += 1
        return self.rows

    def title(self, text: str) -> None:
        self.ws.append([self.cell(text, bold=True)])
        self.rows += 1

    def blank(self) -> None:
        self.ws.append([])
        self.rows += 1

    def widths(self, *widths: int) -> None:
        from openpyxl.utils import get_column_letter

        for i, w in enumerate(widths, 1):
            self.ws.column_dimensions[get_column_letter(i)].width = w


def _pct(value: Decimal | None) -> Decimal | None:
    return value / 100 if value is not None else None


def export(
    session: Session,
    path: str | Path,
    window: Window,
    *,
    owner: str | None = None,
    pipeline: str | None = None,
    months: int = 6,
    trend_months: int = 12,
    force: bool = False,
) -> dict[str, Any]:
    """Write the workbook (not over an existing file unless FORCE); returns {"path", "sheets", "charts"}."""
    from openpyxl import Workbook

    from crmcli.values import files

    target = Path(path).expanduser()
    if target.suffix.lower() != ".xlsx":
        raise Invalid(f"'{path}' does not end in .xlsx: the export is an Excel workbook")
    files.target(target, force=force, example="report.xlsx")  # before the work, not after it
    scope = kpi.make_scope(session, window, owner, pipeline)
    book = Workbook(write_only=True)
    charts = 0
    summary = kpi_summary(session, window, owner=owner, pipeline=pipeline)
    _kpis(book, summary)
    charts += _funnel(book, reports.funnel(session, scope))
    charts += _forecast(book, reports.forecast(session, scope, months))
    charts += _trend(book, reports.trend(session, scope, trend_months))
    _owners(book, reports.owners(session, scope))
    _customers(book, reports.customers(session, scope))
    _stalled(book, reports.stalled(session, scope))
    _lost(book, reports.lost_reasons_report(session, scope))
    _targets(book, summary["targets"])
    sheets = [ws.title for ws in book.worksheets]
    with files.atomic(target, force=force) as out:  # mode 0600 like crm export: the reports name customers
        book.save(out)
    return {"path": str(target), "sheets": sheets, "charts": charts}


def _kpis(book: Any, data: dict[str, Any]) -> None:
    s = _Sheet(book, "KPIs")
    s.widths(32, 10, 18, 18, 18, 10)
    period, previous = data["period"], data["previous"]
    s.title(f"KPIs · {period['label']} ({period['first_day']} – {period['last_day']}) vs {previous['label']}")
    if data.get("owner") or data.get("pipeline"):
        s.append([f"owner: {data.get('owner') or 'all'} · pipeline: {data.get('pipeline') or 'all'}"])
    s.blank()
    s.header(["Figure", "Currency", "This period", "Previous", "Change", "Change %"])
    for f in data["figures"]:
        fmt = {"money": _money_format(f["currency"] or "EUR"), "percent": '0.0"%"', "days": '0.0" d"',
               "hours": '0.0" h"'}.get(f["unit"], "#,##0")  # fmt: skip
        s.append([
            f["label"], f["currency"], s.cell(f["current"], fmt), s.cell(f["previous"], fmt),
            s.cell(f["change"], fmt), s.cell(_pct(f["change_pct"]), "0.0%"),
        ])  # fmt: skip


def _funnel(book: Any, data: dict[str, Any]) -> int:
    from openpyxl.chart import BarChart, Reference

    s = _Sheet(book, "Funnel")
    s.widths(24, 10, 10, 11, 8, 8)
    s.title(f"{data['pipeline']} funnel · deals entering each stage in {data['period']['label']}")
    first = s.header(["Stage", "Entered", "Moved on", "Moved on %", "Won", "Won %"]) + 1
    for r in data["stages"]:
        name = r["stage"] + (" (removed)" if r["removed"] else "")
        s.append([name, r["entered"], r["moved_on"], s.cell(_pct(r["moved_on_pct"]), "0.0%"), r["won"],
                  s.cell(_pct(r["won_pct"]), "0.0%")])  # fmt: skip
    last = s.rows
    if last < first:
        return 0
    chart = BarChart()
    chart.type = "bar"  # horizontal bars, top stage first: a funnel
    chart.title = "Deals entering each stage"
    chart.y_axis.title = "Deals"
    chart.x_axis.scaling.orientation = "maxMin"
    chart.add_data(Reference(s.ws, min_col=2, min_row=first - 1, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(s.ws, min_col=1, min_row=first, max_row=last))
    chart.legend = None
    chart.height, chart.width = 8, 16
    s.ws.add_chart(chart, "H2")
    return 1


def _pivot(rows: list[dict[str, Any]], key: str, label: str, value: str) -> tuple[list[str], list[tuple[str, dict]]]:
    """Rows keyed by KEY and currency → (currencies, [(label, {currency: value})]) in row order."""
    currencies = sorted({r["currency"] for r in rows})
    order: dict[str, tuple[str, dict]] = {}
    for r in rows:
        order.setdefault(r[key], (r[label], {}))[1][r["currency"]] = r[value]
    return currencies, list(order.values())


def _forecast(book: Any, rows: list[dict[str, Any]]) -> int:
    from openpyxl.chart import BarChart, Reference

    s = _Sheet(book, "Forecast")
    s.title("Forecast: open deals by expected close month, weighted by stage probability")
    currencies, months = _pivot(rows, "month", "label", "weighted")
    s.widths(18, *[16] * (2 * len(currencies)))
    first = s.header(["Close month", *[f"Weighted {c}" for c in currencies], *[f"Value {c}" for c in currencies]]) + 1
    values = {(r["month"], r["currency"]): r["amount"] for r in rows}
    keys = list(dict.fromkeys(r["month"] for r in rows))
    for key, (label, weighted) in zip(keys, months, strict=True):
        s.append([
            label, *[s.cell(weighted.get(c, Decimal(0)), _money_format(c)) for c in currencies],
            *[s.cell(values.get((key, c), Decimal(0)), _money_format(c)) for c in currencies],
        ])  # fmt: skip
    last = s.rows
    if not currencies or last < first:
        return 0
    chart = BarChart()
    chart.type = "col"
    chart.title = "Weighted forecast by close month"
    chart.y_axis.title = "Weighted value"
    chart.add_data(
        Reference(s.ws, min_col=2, max_col=1 + len(currencies), min_row=first - 1, max_row=last), titles_from_data=True
    )
    chart.set_categories(Reference(s.ws, min_col=1, min_row=first, max_row=last))
    chart.height, chart.width = 8, 18
    s.ws.add_chart(chart, f"{chr(ord('B') + 2 * len(currencies) + 1)}2")
    return 1


def _trend(book: Any, rows: list[dict[str, Any]]) -> int:
    from openpyxl.chart import LineChart, Reference

    s = _Sheet(book, "Trend")
    s.title("Month by month")
    currencies = sorted({c for r in rows for c in r["won_value"]})
    s.widths(12, *[16] * len(currencies), 8, 8, 9, 13, 11)
    names = ["Month", *[f"Won value {c}" for c in currencies], "Won", "Lost", "Win rate", "New contacts", "Activities"]
    first = s.header(names) + 1
    for r in rows:
        s.append([
            r["label"], *[s.cell(r["won_value"].get(c, Decimal(0)), _money_format(c)) for c in currencies],
            r["won"], r["lost"], s.cell(_pct(r["win_rate"]), "0.0%"), r["new_contacts"], r["activities"],
        ])  # fmt: skip
    last = s.rows
    if not currencies or last < first:
        return 0
    chart = LineChart()
    chart.title = "Won value by month"
    chart.y_axis.title = "Won value"
    chart.add_data(
        Reference(s.ws, min_col=2, max_col=1 + len(currencies), min_row=first - 1, max_row=last), titles_from_data=True
    )
    chart.set_categories(Reference(s.ws, min_col=1, min_row=first, max_row=last))
    chart.height, chart.width = 8, 18
    s.ws.add_chart(chart, f"{chr(ord('A') + len(names) + 1)}2")
    return 1


def _money_columns(rows: list[dict[str, Any]], key: str) -> list[str]:
    return sorted({c for r in rows for c in (r.get(key) or {})})


def _owners(book: Any, rows: list[dict[str, Any]]) -> None:
    s = _Sheet(book, "Owners")
    currencies = _money_columns(rows, "won_value")
    s.widths(6, 14, 8, *[16] * len(currencies), 8, 10, 11, 11, 11)
    s.header(["Rank", "Owner", "Won", *[f"Won value {c}" for c in currencies], "Lost", "Win rate", "Activities",
              "Open deals", "Overdue follow-ups"])  # fmt: skip
    for r in rows:
        s.append([
            r["rank"], r["owner"], r["won"], *[s.cell(r["won_value"].get(c), _money_format(c)) for c in currencies],
            r["lost"], s.cell(_pct(r["win_rate"]), "0.0%"), r["activities"], r["open_deals"], r["overdue_followups"],
        ])  # fmt: skip


def _customers(book: Any, rows: list[dict[str, Any]]) -> None:
    s = _Sheet(book, "Customers")
    currencies = _money_columns(rows, "lifetime_value")
    s.widths(34, 11, 10, *[18] * len(currencies), 17, 17, 10, 10)
    s.header(["Company", "Segment", "Won deals", *[f"Lifetime {c}" for c in currencies], "First purchase",
              "Last purchase", "Days since", "Won in period"])  # fmt: skip
    for r in rows:
        s.append([
            r["company"], r["segment"], r["purchases"],
            *[s.cell(r["lifetime_value"].get(c), _money_format(c)) for c in currencies],
            r["first_purchase"], r["last_purchase"], r["days_since_last"], r["won_in_period"],
        ])  # fmt: skip
    s.blank()
    s.append(["Segments: " + reports.SEGMENT_RULES])


def _stalled(book: Any, rows: list[dict[str, Any]]) -> None:
    s = _Sheet(book, "Stalled")
    s.widths(7, 34, 14, 14, 10, 9, 9, 16, 10, 24)
    s.header(["ID", "Deal", "Pipeline", "Stage", "Days in stage", "Rot days", "Days over", "Amount", "Owner",
              "Company"])  # fmt: skip
    for r in rows:
        amount = s.cell(r["amount"], _money_format(r["currency"])) if r["amount"] is not None else None
        s.append([r["id"], r["title"], r["pipeline"], r["stage"], r["days_in_stage"], r["rot_days"], r["days_over"],
                  amount, r["owner"], r["company"]])  # fmt: skip


def _lost(book: Any, rows: list[dict[str, Any]]) -> None:
    s = _Sheet(book, "Lost reasons")
    currencies = _money_columns(rows, "value")
    s.widths(22, 8, 8, *[16] * len(currencies), 9)
    s.header(["Reason", "Deals", "Share", *[f"Value {c}" for c in currencies], "Previous"])
    for r in rows:
        s.append([r["reason"], r["count"], s.cell(_pct(r["share"]), "0.0%"),
                  *[s.cell(r["value"].get(c), _money_format(c)) for c in currencies], r["previous"]])  # fmt: skip


def _targets(book: Any, rows: list[dict[str, Any]]) -> None:
    s = _Sheet(book, "Targets")
    s.widths(22, 10, 12, 14, 16, 16, 16, 10, 14, 40)
    s.header(["Metric", "For", "Period", "Currency", "Target", "Actual", "Pace (by now)", "Done %", "Status",
              "Not converted (no rate)"])  # fmt: skip
    from crmcli.analytics.targets import unconverted_text

    for r in rows:
        fmt = _money_format(r["currency"]) if r["unit"] == "money" else None
        s.append([r["metric"], r["owner"] or "team", r["window"], r["currency"], s.cell(r["target"], fmt),
                  s.cell(r["actual"], fmt), s.cell(r["expected"], fmt), s.cell(_pct(r["attainment_pct"]), "0.0%"),
                  r["status"], unconverted_text(r) or None])  # fmt: skip
    if not rows:
        s.append(
            [f"No targets: set one with crm targets set METRIC VALUE --period month ({', '.join(targets.METRICS)})"]
        )
