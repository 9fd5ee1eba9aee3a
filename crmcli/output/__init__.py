"""One renderer for every command: Rich tables for people; plain, JSON, CSV and ids for scripts.

Data goes to stdout, messages to stderr. Domain functions hand over plain dicts; the columns
a command shows are described by Col, and every other format derives from the same rows.

Stored text is shown, never obeyed: whatever a record holds, no output (table, plain, CSV, JSON,
messages, errors) carries a terminal escape sequence, Rich markup or a link from it. Controls are
shown as symbols (ESC as ␛), bidi overrides as \u202e, Rich markup literally; plain and CSV rows
stay one line; JSON escapes what json.dumps leaves raw (DEL, C1, bidi controls, U+2028/U+2029).
"""

from __future__ import annotations

import csv
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crmcli.values.cells import dumps, neutralize

SHRINK = 18  # a column shortened to this many cells still says enough


# ---------------------------------------------------------------- inert text


def _visible() -> dict[int, str]:
    table = {c: chr(0x2400 + c) for c in range(0x20)}  # C0 controls as their symbols: ␀ ␇ ␛ …
    table[0x7F] = "\u2421"  # ␡
    table.update({c: f"\\x{c:02x}" for c in range(0x80, 0xA0)})  # C1 has no symbols: \x85
    # bidi embeddings, overrides and isolates would reorder what follows on the screen: \u202e
    table.update({c: f"\\u{c:04x}" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))})
    table.update({0x09: " ", 0x2028: " ", 0x2029: " "})
    del table[0x0A]  # tables and messages keep their line breaks
    return table


_SHOW = _visible()
_LINE = {**_SHOW, **{ord(c): " " for c in "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85"}}
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def shown(text: str) -> str:
    """TEXT safe for a terminal, line breaks kept: controls as symbols (␛), bidi overrides as \\u202e."""
    if (text.isascii() and text.isprintable()) or not _UNSAFE.search(text):
        return text
    return text.translate(_SHOW)


def one_line(text: str) -> str:
    """TEXT safe for a terminal on one line (plain and CSV cells, errors): tabs and breaks as spaces."""
    if (text.isascii() and text.isprintable()) or not _UNSAFE.search(text):
        return text
    return text.translate(_LINE)


def rich_text(text: str, style: str = "") -> Any:
    """TEXT for Rich, shown literally: no markup, no link, no control character."""
    from rich.text import Text

    return Text(shown(text), style=style)


@dataclass(frozen=True)
class Col:
    key: str
    header: str
    kind: str = "text"  # text | time | date (a time shown as its day) | phone | phones | money (row's currency)
    justify: str = "left"
    drop: int = 0  # on a narrow terminal, columns with the highest drop go first (0: never)
    wrap: bool = False  # long text wraps inside its column instead of ending in an ellipsis


@dataclass(frozen=True)
class Section:
    """A list inside a record (a contact's activities, a company's people)."""

    title: str
    key: str
    cols: list[Col] = field(default_factory=list)
    empty: str = ""


def choose(fmt: str | None, quiet: bool = False) -> str:
    """The format asked for; else a table on a terminal and plain lines in a pipe."""
    if quiet:
        return "ids"
    if fmt:
        return fmt
    return "table" if sys.stdout.isatty() else "plain"


# ---------------------------------------------------------------- values


def cell(row: dict[str, Any], col: Col) -> str:
    """ROW's value for COL as a person reads it."""
    value = row.get(col.key)
    if col.kind == "money" and value is not None:
        from crmcli.values.money import format_money

        return format_money(value, row.get("currency") or "EUR")
    return _show(value, col.kind)


def _show(value: Any, kind: str) -> str:
    """VALUE as a person reads it (tables and plain lines)."""
    if value is None or value == [] or value == {}:
        return ""
    if isinstance(value, datetime):
        from crmcli.values.clock import show_local

        return show_local(value) if kind != "date" else show_local(value)[:10]
    if kind == "phone":
        from crmcli.values.normalize import format_phone

        return format_phone(value)
    if kind == "phones":
        from crmcli.values.normalize import format_phone

        return ", ".join(format_phone(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_show(v, "text") for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_show(v, 'text')}" for k, v in value.items())
    return str(value)


def _csv_value(value: Any) -> str:
    from crmcli.values.clock import iso_utc

    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "; ".join(_csv_value(v) for v in value)
    return str(value)


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """A row for CSV: nested dicts become prefix.key columns; lists of records are left out."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            for sub, subvalue in value.items():
                out[f"{key}.{sub}"] = subvalue
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            continue
        else:
            out[key] = value
    return out


# ---------------------------------------------------------------- writers


def make_console() -> Any:
    """A Rich console on stdout that prints what it is given as it is (no markup, emoji or highlighting)."""
    from rich.console import Console

    # markup off too: a string that reaches Rich unwrapped is still printed as it is
    return Console(highlight=False, soft_wrap=False, emoji=False, markup=False)


def _layout(rows: list[list[str]], cols: list[Col], width: int) -> list[tuple[int, int]]:
    """(column index, width) of the columns to show so that the table fits WIDTH: drop the most
    droppable columns while even their shortened forms do not fit, then narrow the widest."""
    from rich.cells import cell_len

    natural = [max([cell_len(c.header)] + [cell_len(r[i]) for r in rows]) for i, c in enumerate(cols)]
    floor = [n if c.key == "id" else min(n, 6) for n, c in zip(natural, cols, strict=True)]
    keep = list(range(len(cols)))

    def budget() -> int:
        return width - 3 * len(keep)  # padding and the gap between columns

    while sum(min(natural[i], SHRINK) for i in keep) > budget():
        candidates = [i for i in keep if cols[i].drop > 0]
        if not candidates:
            break
        keep.remove(max(candidates, key=lambda i: (cols[i].drop, i)))
    widths = {i: natural[i] for i in keep}
    while sum(widths.values()) > budget():
        widest = max((i for i in keep if widths[i] > floor[i]), key=lambda i: widths[i], default=None)
        if widest is None:
            break
        widths[widest] -= 1
    return [(i, widths[i]) for i in keep]


def rich_table(rows: list[dict[str, Any]], cols: list[Col], title: str | None = None, width: int = 80) -> Any:
    """ROWS as a Rich table of COLS fitted to WIDTH (droppable columns go first), cells shown literally."""
    from rich import box
    from rich.table import Table

    cells = [[shown(cell(row, c)) for c in cols] for row in rows]
    layout = _layout(cells, cols, width)
    table = Table(title=rich_text(title) if title else None, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
    for i, w in layout:
        # One line per record unless the column wraps: a long cell ends in an ellipsis.
        col = cols[i]
        table.add_column(
            rich_text(col.header),
            justify=col.justify,
            width=w,
            no_wrap=not col.wrap,  # type: ignore[arg-type]
            overflow="fold" if col.wrap else "ellipsis",
        )
    from rich.text import Text

    for row in cells:
        table.add_row(*(Text(row[i]) for i, _ in layout))  # Text: data is never read as markup
    return table


def write_csv(rows: list[dict[str, Any]], out: Any) -> None:
    flat = [_flat(r) for r in rows]
    headers: dict[str, None] = {}
    for row in flat:
        headers.update(dict.fromkeys(row))

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([neutralize(one_line(h)) for h in headers])
    for row in flat:  # one line a row, and no cell a spreadsheet would run as a formula
        writer.writerow([neutralize(one_line(_csv_value(row.get(h)))) for h in headers])


def emit_json(data: Any) -> None:
    sys.stdout.write(dumps(data) + "\n")


def emit_list(
    rows: list[dict[str, Any]], cols: list[Col], fmt: str, *, noun: str = "records", title: str | None = None
) -> None:
    out = sys.stdout
    if fmt == "json":
        out.write(dumps(rows) + "\n")
    elif fmt == "csv":
        write_csv(rows, out)
    elif fmt == "ids":
        for row in rows:
            out.write(f"{row['id']}\n")
    elif fmt == "plain":
        for row in rows:
            out.write("\t".join(one_line(cell(row, c)) for c in cols) + "\n")
    elif not rows:
        message(f"No {noun}.")
    else:
        console = make_console()
        console.print(rich_table(rows, cols, title, console.width))


def emit_record(record: dict[str, Any], cols: list[Col], fmt: str, sections: list[Section] = ()) -> None:  # type: ignore[assignment]
    """One record: key/value details, then its sections (tables on a terminal)."""
    out = sys.stdout
    if fmt == "json":
        out.write(dumps(record) + "\n")
        return
    if fmt == "csv":
        write_csv([record], out)
        return
    if fmt == "ids":
        out.write(f"{record['id']}\n")
        return
    pairs = [(c.header, cell(record, c)) for c in cols]
    pairs = [(k, v) for k, v in pairs if v]
    if fmt == "plain":
        for key, value in pairs:
            out.write(f"{key}\t{one_line(value)}\n")
        for section in sections:
            items = record.get(section.key) or []
            for row in items:
                out.write(section.key + "\t" + "\t".join(one_line(cell(row, c)) for c in section.cols) + "\n")
        return
    from rich.table import Table

    console = make_console()
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for key, value in pairs:
        grid.add_row(rich_text(key), rich_text(value))
    console.print(grid)
    for section in sections:
        items = record.get(section.key) or []
        console.print()
        if items:
            console.print(rich_table(items, section.cols, section.title, console.width))
        elif section.empty:
            console.print(rich_text(section.title, "bold"), rich_text(f": {section.empty}"), sep="")


def emit_written(record: dict[str, Any], fmt: str, text: str) -> None:
    """After a write: a message for people on stderr; for scripts, the record (json, csv) or its id
    (ids, plain: -q or a pipe) on stdout; nothing more for a table. FMT as choose() gives it."""
    message(text)
    if fmt == "json":
        sys.stdout.write(dumps(record) + "\n")
    elif fmt == "csv":
        write_csv([record], sys.stdout)
    elif fmt in ("ids", "plain"):
        sys.stdout.write(f"{record['id']}\n")


def message(text: str) -> None:
    """A line for people, on stderr, so stdout stays data (controls in it shown as symbols)."""
    sys.stderr.write(shown(text) + "\n")


ERROR_MAX = 2_000  # an error is one line a person reads: a value quoted in it whole could be megabytes


def error(text: str) -> None:
    """`Error: …`, one line on stderr, whatever data the message quotes."""
    line = one_line(text)
    if len(line) > ERROR_MAX:
        line = line[: ERROR_MAX - 1] + "…"
    sys.stderr.write(f"Error: {line}\n")


# ---------------------------------------------------------------- the pipeline board


def _board_rows(board: dict[str, Any]) -> list[dict[str, Any]]:
    """The board as one row per deal shown, for csv/plain/ids."""
    rows = []
    for stage in board["stages"]:
        for deal in stage["deals"]:
            rows.append(
                {
                    "stage": stage["name"],
                    **{
                        k: deal[k]
                        for k in (
                            "id",
                            "title",
                            "amount",
                            "currency",
                            "weighted",
                            "company",
                            "owner",
                            "days_in_stage",
                            "stalled",
                        )
                    },
                }
            )
    return rows


def _stage_money(totals: list[dict[str, Any]]) -> str:
    """Each currency's total and weighted value, two lines apiece."""
    from crmcli.values.money import format_money

    if not totals:
        return "—"
    return "\n".join(
        f"{format_money(t['amount'], t['currency'])}\nw {format_money(t['weighted'], t['currency'])}" for t in totals
    )


def _totals(totals: list[dict[str, Any]], weighted: bool = True) -> str:
    from crmcli.values.money import format_money

    if not totals:
        return "—"
    parts = []
    for t in totals:
        text = format_money(t["amount"], t["currency"])
        if weighted:
            text += f" (w {format_money(t['weighted'], t['currency'])})"
        parts.append(text)
    return ", ".join(parts)


def emit_board(board: dict[str, Any], fmt: str) -> None:
    """Stages as columns on a wide terminal, one after another on a narrow one; flat rows for scripts."""
    if fmt == "json":
        sys.stdout.write(dumps(board) + "\n")
        return
    if fmt in ("csv", "ids", "plain"):
        cols = [
            Col("stage", "Stage"),
            Col("id", "ID"),
            Col("title", "Deal"),
            Col("amount", "Amount", kind="money"),
            Col("owner", "Owner"),
            Col("days_in_stage", "Days"),
            Col("stalled", "Stalled"),
        ]
        emit_list(_board_rows(board), cols, fmt, noun="open deals")
        return
    from rich import box
    from rich.table import Table
    from rich.text import Text

    console = make_console()
    stages = board["stages"]
    count = sum(s["count"] for s in stages)
    who = f" · owner {board['owner']}" if board.get("owner") else ""
    console.print(
        Text.assemble(
            (shown(f"{board['pipeline']}"), "bold"),
            shown(f"{who} · {count} open deal{'s' if count != 1 else ''} · "),
            _totals(board["totals"]),
        )
    )
    if not stages:
        return
    width = console.width
    per_column = (width - 1) // len(stages) - 3
    if per_column >= 16:
        table = Table(box=box.SQUARE, expand=True, show_lines=False, pad_edge=True)
        for stage in stages:
            stalled = f" · {stage['stalled']} stalled" if stage["stalled"] else ""
            table.add_column(
                rich_text(
                    f"{stage['name']} {stage['probability']}%\n"
                    f"{stage['count']} deal{'s' if stage['count'] != 1 else ''}{stalled}\n"
                    f"{_stage_money(stage['totals'])}"
                ),
                overflow="ellipsis",
                ratio=1,
                vertical="top",
            )
        table.add_row(*(_stage_cards(stage) for stage in stages))
        console.print(table)
        return
    deal_cols = [
        Col("id", "ID", justify="right"),
        Col("title", "Deal"),
        Col("amount", "Amount", kind="money", justify="right"),
        Col("owner", "Owner", drop=2),
        Col("days_in_stage", "Days", justify="right", drop=1),
    ]
    for stage in stages:
        stalled = f", {stage['stalled']} stalled" if stage["stalled"] else ""
        console.print()
        console.print(
            Text.assemble(
                (shown(f"{stage['name']} {stage['probability']}%"), "bold"),
                f" · {stage['count']} deals{stalled} · {_totals(stage['totals'])}",
            )
        )
        if stage["deals"]:
            rows = [{**d, "title": ("⚠ " if d["stalled"] else "") + d["title"]} for d in stage["deals"]]
            console.print(rich_table(rows, deal_cols, None, width))
        if stage["more"]:
            console.print(f"  … {stage['more']} more")


def _stage_cards(stage: dict[str, Any]) -> Any:
    """A stage's deals as cards: title, amount and owner, and a warning for a stalled deal."""
    from rich.console import Group
    from rich.text import Text

    from crmcli.values.money import format_money

    lines: list[Any] = []
    for deal in stage["deals"]:
        lines.append(Text(shown(f"#{deal['id']} {deal['title']}"), style="bold", no_wrap=True, overflow="ellipsis"))
        amount = format_money(deal["amount"], deal["currency"]) if deal["amount"] is not None else "no amount"
        owner = f" · {deal['owner']}" if deal["owner"] else ""
        lines.append(Text(shown(amount + owner), no_wrap=True, overflow="ellipsis"))
        if deal["stalled"]:
            lines.append(Text(f"⚠ {deal['days_in_stage']}d in stage", style="bold red", no_wrap=True))
        lines.append(Text(""))
    if stage["more"]:
        lines.append(Text(f"… {stage['more']} more", style="dim"))
    return Group(*lines)
