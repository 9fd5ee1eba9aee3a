"""What every reader of the importer yields: a Table of rows, an Unreadable in place of a record
that could not be made out, and the limits each reader holds a file to (importer.readers reads
spreadsheets and CSV and hands JSON and vCard files to importer.jsonfile and importer.vcard; all
three build their tables from here).

Limits, so that memory and time stay bounded whatever the file (each refused in one line, before
anything is stored): a CSV line, or a record whose quoted cells span lines, of at most MAX_LINE
characters (1 MiB: the csv module holds a whole line in memory, and a 200 MB file of one line
took 3.6 GB; lines are read through a reader that stops at the limit); at most MAX_COLUMNS
(2,000) columns in any file (a 600 KB CSV of 200,000 columns took minutes to map); a cell of at
most MAX_CELL characters (Excel's 32,767).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

MAX_CELL = 32_767  # Excel's own limit for a cell; CSV fields are held to it too
MAX_LINE = 1024 * 1024  # characters in a CSV line, or a record with quoted line breaks
MAX_COLUMNS = 2_000  # columns of any file (Excel allows 16,384; no CRM export comes near 2,000)


@dataclass
class Table:
    headers: list[str]
    rows: Iterator[tuple[int, list[Any]]]  # (row number in the file, values)
    format: str
    sheet: str | None = None
    estimate: int | None = None  # rows expected, for progress
    notes: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # source columns or properties whose values are not taken


class Unreadable:
    """In place of a row's cells: a record the reader could not make out (a broken vCard, a bad
    JSON line). The importer reports it as a rejected row, with REASON, and goes on."""

    def __init__(self, reason: str, raw: str = "") -> None:
        self.reason, self.raw = reason, raw

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return Unreadable, (self.reason, self.raw)

    def __repr__(self) -> str:
        return f"Unreadable({self.reason!r})"
