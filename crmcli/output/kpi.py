"""Showing KPIs and reports: the one-screen summary, tables with bars drawn in block characters
(readable without colour), and the flat rows scripts get. Built on crmcli.output.

Money per currency arrives as {currency: Decimal}; for people it is shown with its symbol, one
currency after another, never added up across currencies.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Any

from crmcli.analytics.targets import unconverted_text
from crmcli.output import Col, make_console, message, one_line, rich_table, rich_text, write_csv
from crmcli.values.cells import dumps

EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(value: Any, maximum: Any, width: int = 24) -> str:
    """VALUE as a bar of block characters, MAXIMUM filling WIDTH cells; a sliver for any value above 0."""
    if value is None or maximum is None or float(maximum) <= 0 or float(value) <= 0:
        return ""
    eighths = max(1, round(float(value) / float(maximum) * width * 8))
    full, part = divmod(eighths, 8)
    return "█" * full + (EIGHTHS[part] if part else "")


def money_text(values: dict[str, Decimal] | None, sep: str = ", ") -> str:
    from crmcli.values.money import format_money

    if not values:
        return ""
    return sep.join(format_money(v, c) for c, v in values.items())


def value_text(unit: str, value: Any, currency: str | None = None) -> str:
    if value is None:
        return "—"
    if unit == "money":
        from crmcli.values.money import format_money

        return format_money(value, currency or "EUR")
    if unit == "percent":
        return f"{value}%"
    if unit == "days":
        return f"{value} d"
    if unit == "hours":
        return f"{value} h"
    return f"{value:,}" if isinstance(value, int) else str(value)


def change_text(fig: dict[str, Any]) -> str:
    """'▲ +20 (+33.9%)', '▼ −4.5 pts', '= 0'; empty when there is nothing to compare."""
    change = fig["change"]
    if change is None:
        return ""
    if change == 0:
        return "= 0"
    arrow = "▲" if change > 0 else "▼"
    sign = "+" if change > 0 else "−"
    size = abs(change)
    if fig["unit"] == "money":
        from crmcli.values.money import format_money

        text = format_money(size, fig["currency"] or "EUR")
    elif fig["unit"] == "percent":
        text = f"{size} pts"
    else:
        text = value_text(fig["unit"], size)
    pct = fig.get("change_pct")
    pct = f" ({'+' if pct > 0 else '−' if pct < 0 else ''}{abs(pct)}%)" if pct is not None else ""
    return f"{arrow} {sign}{text}{pct}"


def _style(fig: dict[str, Any]) -> str:
    change, better = fig.get("change"), fig.get("better")
    if not change or better is None:
        return ""
    good = (change > 0) == (better == "up")
    return "green" if good else "red"


def _figure_label(fig: dict[str, Any]) -> str:
    return f"{fig['label']} ({fig['currency']})" if fig.get("currency") else fig["label"]


STATUS_MARK = {"met": "✓ met", "on target": "✓ on target", "on pace": "✓ on pace", "behind": "⚠ behind pace",
               "missed": "✗ missed", "no data": "— no data", "incomplete": "? rate missing"}  # fmt: skip


def _target_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for t in data.get("targets", []):
        rows.append({
            **t, "who": t["owner"] or "team",
            "target_text": value_text(t["unit"], t["target"], t["currency"]),
            "actual_text": value_text(t["unit"], t["actual"], t["currency"]) + ("*" if t.get("unconverted") else ""),
            "unconverted_text": unconverted_text(t),
            "expected_text": value_text(t["unit"], t["expected"], t["currency"]) if t["expected"] is not None else "",
            "attainment_text": f"{t['attainment_pct']}%" if t["attainment_pct"] is not None else "",
            "mark": "⚠ behind target" if t["status"] == "behind" and not t["paced"] else STATUS_MARK[t["status"]],
        })  # fmt: skip
    return rows


def emit_kpi(data: dict[str, Any], fmt: str) -> None:
    """`crm kpi`: one screen for people; one line per figure (plain, csv) or everything (json)."""
    out = sys.stdout
    if fmt == "json":
        out.write(dumps(data) + "\n")
        return
    figures = data["figures"]
    if fmt == "csv":
        keys = ("key", "label", "unit", "currency", "current", "previous", "change", "change_pct")
        write_csv([{k: f[k] for k in keys} for f in figures], out)
        return
    if fmt in ("plain", "ids"):
        for f in figures:
            cells = [_figure_label(f), value_text(f["unit"], f["current"], f["currency"])]
            cells += [value_text(f["unit"], f["previous"], f["currency"]), change_text(f)]
            out.write("\t".join(one_line(c) for c in cells) + "\n")
        for t in _target_rows(data):
            actual = " ".join(x for x in (t["actual_text"].rstrip("*"), t["unconverted_text"]) if x)
            cells = ["target " + t["metric"], t["who"], t["window"], t["target_text"], actual, t["mark"]]
            out.write("\t".join(one_line(c) for c in cells) + "\n")
        return
    _kpi_screen(data)


def _header(data: dict[str, Any]) -> str:
    period, previous = data["period"], data["previous"]
    first, last = period["first_day"], period["last_day"]
    elapsed = f", {round(period['elapsed'] * 100)}% elapsed" if 0 < period["elapsed"] < 1 else ""
    who = "".join(f" · {k} {data[k]}" for k in ("owner", "pipeline") if data.get(k))
    return f"KPIs · {period['label']} ({first} – {last}{elapsed}) vs {previous['label']}{who}"


def _kpi_screen(data: dict[str, Any]) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    console = make_console()
    console.print(rich_text(_header(data), "bold"))  # owner and pipeline names are data
    if data["empty"]:
        console.print(
            f"Nothing to measure in {data['period']['label']} or {data['previous']['label']} yet: no deals, contacts, "
            "activities or follow-ups. Add some (crm deals add, crm contacts add, crm log), or look at another "
            "period (--period year, --since 2026-01-01)."
        )
        _targets_table(console, data)
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("Figure", no_wrap=True, overflow="ellipsis")
    table.add_column("This period", justify="right", no_wrap=True)
    table.add_column("Previous", justify="right", no_wrap=True)
    table.add_column("Change", no_wrap=True, overflow="ellipsis")
    for f in data["figures"]:
        table.add_row(
            rich_text(_figure_label(f)),
            value_text(f["unit"], f["current"], f["currency"]),
            value_text(f["unit"], f["previous"], f["currency"]) if f["key"] != "forecast" else "",
            Text(change_text(f), style=_style(f)),
        )
    console.print(table)
    width = console.width
    stages = [
        {**s, "name": _stage_name(s), "value": money_text({t["currency"]: t["amount"] for t in s["totals"]}, "\n"),
         "weighted_text": money_text({t["currency"]: t["weighted"] for t in s["totals"]}, "\n")}
        for s in data["open_pipeline"]
    ]  # fmt: skip
    if stages:
        cols = [Col("name", "Stage"), Col("count", "Deals", justify="right"),
                Col("stalled", "Stalled", justify="right"), Col("value", "Value", justify="right", wrap=True),
                Col("weighted_text", "Weighted", justify="right", wrap=True, drop=1)]  # fmt: skip
        console.print(rich_table(stages, cols, "Open pipeline by stage (stalled: past the stage's rot days)", width))
    conversion = _conversion_rows(data["conversion"])
    if conversion:
        console.print(rich_table(conversion, _conversion_cols(), "Stage conversion: deals entering each stage", width))
    if data["lost_reasons"]:
        cols = [Col("reason", "Lost reason"), Col("count", "Deals", justify="right"),
                Col("share_text", "Share", justify="right"), Col("previous", "Previous", justify="right")]  # fmt: skip
        rows = [{**r, "share_text": f"{r['share']}%" if r["share"] is not None else ""} for r in data["lost_reasons"]]
        console.print(rich_table(rows, cols, "Top lost reasons", width))
    if data["activity"]:
        cols = [Col("owner", "Owner"), Col("current", "Activities", justify="right"),
                Col("previous", "Previous", justify="right"), Col("change_text", "Change")]  # fmt: skip
        rows = [{**r, "change_text": f"{r['change']:+}".replace("-", "−") if r["change"] else "= 0"}
                for r in data["activity"]]  # fmt: skip
        console.print(rich_table(rows, cols, "Activity by owner", width))
    fu = data["followups"]
    lead = data["speed_to_lead"]
    console.print(
        f"Follow-ups due in the period: {fu['due']} — {fu['on_time']} done on time, {fu['late']} done late, "
        f"{fu['overdue']} overdue, {fu['open']} still open. New contacts: {lead['contacts']}, "
        f"{lead['not_reached']} without activity yet."
    )
    _targets_table(console, data)


def _targets_table(console: Any, data: dict[str, Any]) -> None:
    rows = _target_rows(data)
    if not rows:
        return

    cols = [Col("metric", "Target"), Col("who", "For"), Col("window", "Period", drop=2),
            Col("target_text", "Goal", justify="right"), Col("actual_text", "Actual", justify="right"),
            Col("expected_text", "Pace", justify="right", drop=1), Col("attainment_text", "Done", justify="right"),
            Col("mark", "Status")]  # fmt: skip
    console.print(rich_table(rows, cols, "Targets (pace: where a count or sum should be by now)", console.width))
    for r in rows:
        if r["unconverted_text"]:  # the * beside Actual
            console.print(rich_text(f"* {r['metric']} ({r['who']}): {r['unconverted_text']}"))
    behind = [r for r in rows if r["behind"]]
    if behind:
        names = ", ".join(f"{r['metric']} ({r['who']})" for r in behind)
        console.print(rich_text(f"⚠ Behind: {names}", "bold red"))


def _stage_name(row: dict[str, Any]) -> str:
    name = row.get("stage") or row.get("name") or ""
    if row.get("removed"):
        name += " (removed)"
    return name


def _conversion_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    top = max((r["entered"] for r in rows), default=0)
    out = []
    for r in rows:
        out.append({
            **r, "name": _stage_name(r), "bar": bar(r["entered"], top, 20),
            "moved_on_text": f"{r['moved_on']} · {r['moved_on_pct']}%" if r["moved_on_pct"] is not None else "",
            "won_text": f"{r['won']} · {r['won_pct']}%" if r["won_pct"] is not None else "",
        })  # fmt: skip
    return out


def _conversion_cols() -> list[Col]:
    return [
        Col("name", "Stage"),
        Col("entered", "Entered", justify="right"),
        Col("bar", "", drop=2),
        Col("moved_on_text", "Moved on", justify="right"),
        Col("won_text", "Won", justify="right"),
    ]


# ---------------------------------------------------------------- reports


def flat_money(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """For people: money dicts as text."""
    return [{**r, **{k: money_text(r.get(k)) for k in keys if k in r}} for r in rows]


def _even(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For CSV: every row with the same currencies in its money columns (empty where it has none),
    so the header lists a money column's currencies side by side."""
    subkeys: dict[str, list[str]] = {}
    for row in rows:
        for key, value in row.items():
            if isinstance(value, dict):
                subkeys[key] = sorted(set(subkeys.get(key, [])) | set(value))
    if not subkeys:
        return rows
    return [{k: ({c: v.get(c) for c in subkeys[k]} if k in subkeys else v) for k, v in row.items()} for row in rows]


def emit_rows(
    rows: list[dict[str, Any]], cols: list[Col], fmt: str, *, noun: str, title: str | None = None,
    money_keys: tuple[str, ...] = (), people_rows: list[dict[str, Any]] | None = None,
) -> None:  # fmt: skip
    """A report: raw rows for json and csv (money per currency as nested values), people's rows
    (money as text, bars) for the table and plain lines."""
    if fmt in ("json", "csv"):
        from crmcli.output import emit_list

        emit_list(rows if fmt == "json" else _even(rows), cols, fmt, noun=noun)
        return
    shown = people_rows if people_rows is not None else flat_money(rows, money_keys)
    if fmt in ("plain", "ids"):
        cols = [c for c in cols if not c.key.startswith("bar")]
        for row in shown:
            from crmcli.output import cell

            sys.stdout.write("\t".join(one_line(cell(row, c)) for c in cols) + "\n")
        return
    if not rows:
        message(f"No {noun}.")
        return
    console = make_console()
    console.print(rich_table(shown, cols, title, console.width))


def emit_funnel(data: dict[str, Any], fmt: str) -> None:
    rows = data["stages"]
    if fmt == "json":
        sys.stdout.write(dumps(data) + "\n")
        return
    cols = _conversion_cols()
    if fmt == "csv":
        keys = ("pipeline", "stage", "kind", "removed", "entered", "moved_on", "moved_on_pct", "won", "won_pct")
        write_csv([{k: r[k] for k in keys} for r in rows], sys.stdout)
        return
    title = f"{data['pipeline']} funnel · deals entering each stage in {data['period']['label']}"
    if fmt == "table" and not any(r["entered"] for r in rows):
        make_console().print(rich_text(title))
        message(f"No deal entered a stage in {data['period']['label']}: try a longer period (--period year).")
        return
    emit_rows(rows, cols, fmt, noun="stages", title=title, people_rows=_conversion_rows(rows))


def forecast_people(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    tops: dict[str, Decimal] = {}
    for r in rows:
        tops[r["currency"]] = max(tops.get(r["currency"], Decimal(0)), r["weighted"])
    return [{**r, "bar": bar(r["weighted"], tops[r["currency"]], 20)} for r in rows]


def emit_forecast(rows: list[dict[str, Any]], fmt: str) -> None:
    cols = [
        Col("label", "Close month"),
        Col("currency", "Cur", drop=3),
        Col("deals", "Deals", justify="right"),
        Col("amount", "Value", kind="money", justify="right", drop=2),
        Col("weighted", "Weighted", kind="money", justify="right"),
        Col("bar", "", drop=1),
    ]
    emit_rows(rows, cols, fmt, noun="open deals with a value", people_rows=forecast_people(rows),
              title="Forecast: open deals by expected close month, weighted by stage probability")  # fmt: skip


def trend_people(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Col]]:
    currencies = sorted({c for r in rows for c in r["won_value"]})
    tops = {c: max((r["won_value"].get(c, Decimal(0)) for r in rows), default=Decimal(0)) for c in currencies}
    from crmcli.values.money import format_money

    people = []
    for r in rows:
        extra: dict[str, Any] = {"win_rate_text": f"{r['win_rate']}%" if r["win_rate"] is not None else ""}
        for c in currencies:
            extra[f"v_{c}"] = format_money(r["won_value"].get(c, Decimal(0)), c)
            extra[f"bar_{c}"] = bar(r["won_value"].get(c), tops[c], 12)
        people.append({**r, **extra})
    cols = [Col("label", "Month"), Col("won", "Won", justify="right"), Col("lost", "Lost", justify="right", drop=4),
            Col("win_rate_text", "Win %", justify="right", drop=3),
            Col("new_contacts", "New contacts", justify="right", drop=5),
            Col("activities", "Activities", justify="right", drop=6)]  # fmt: skip
    for c in currencies:
        cols += [Col(f"v_{c}", f"Won {c}", justify="right"), Col(f"bar_{c}", "", drop=2)]
    return people, cols


def emit_trend(rows: list[dict[str, Any]], fmt: str) -> None:
    people, cols = trend_people(rows)
    if fmt in ("json", "csv"):
        emit_rows(rows, [Col("month", "Month")], fmt, noun="months")
        return
    emit_rows(rows, cols, fmt, noun="months", people_rows=people, title="Month by month: deals won, value won")
