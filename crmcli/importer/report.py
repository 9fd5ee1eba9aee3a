"""The import report: one line per thing not taken as it was written.

Beside the input by default (`contacts.xlsx` → `contacts.import-report.csv`), UTF-8 with a BOM so
Excel opens it, formula-neutralised like crm's exports, readable by the user alone (0600: it holds
personal data). Columns: row (the line or row of the file), event, record (#id name), column (the
file's header), value (as written) and reason. Events:

- rejected: nothing of the row could be stored (its values are in `value`, Header=value; …)
- value dropped: a value that cannot be used, left out of the record the row made or changed
- value filled: a value the row lacked, taken from elsewhere (a contact named after its email)
- value not taken: the record matched keeps a different value of its own (merge fills empty fields)
- merged into / updated / skipped: the row matched an existing record (skipped: identical to it)
- possible duplicate: the row's record shares an address or name with another that is not the same
- column ignored: a column (or vCard property) whose values are not stored

Lines are written as they come, so memory stays flat however many there are; a dry run keeps only
the first ones, to show.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

COLUMNS = ("row", "event", "record", "column", "value", "reason")


def default_path(path: Path) -> Path:
    """contacts.xlsx → contacts.import-report.csv, beside the input."""
    return path.with_name(f"{path.stem}.import-report.csv")


def check_writable(path: Path, option: str) -> None:
    """Refuse a report or rejects file that could not be written before the import stores
    anything (not after it has): a directory, a missing or read-only directory, a read-only file."""
    from crmcli.errors import Invalid
    from crmcli.export import check_writable as writable_dir

    if path.is_dir():
        raise Invalid(f"cannot write {path}: it is a directory; {option} FILE chooses the file")
    try:
        writable_dir(path)
    except Invalid as exc:
        raise Invalid(f"{exc}; {option} FILE chooses another place") from None
    if path.exists() and not os.access(path, os.W_OK):
        raise Invalid(f"cannot write {path}: the file is read-only; {option} FILE chooses another place")


class _Written:
    """A CSV file written as lines come: opened with the first, closed at the end."""

    path: Path | None
    _fh: Any = None

    def close(self) -> Path | None:
        """The file's path, if anything was written."""
        if self._fh is None:
            return None
        self._fh.close()
        self._fh = None
        return self.path

    def discard(self) -> None:
        """A failed import leaves no file behind."""
        if self.close() is not None and self.path is not None:
            self.path.unlink(missing_ok=True)


class Report(_Written):
    """Lines to PATH (None: a dry run, nothing written) with the first KEEP kept for the summary."""

    def __init__(self, path: Path | None, keep: int = 50) -> None:
        self.path, self.keep = path, keep
        self.first: list[dict[str, Any]] = []
        self.lines = 0
        self.counts: dict[str, int] = {}
        self._fh: Any = None
        self._writer: Any = None

    def add(self, line: dict[str, Any]) -> None:
        self.lines += 1
        self.counts[line["event"]] = self.counts.get(line["event"], 0) + 1
        if len(self.first) < self.keep:
            self.first.append(line)
        if self.path is None:
            return
        from crmcli.export import neutralize

        if self._writer is None:
            self._fh, self._writer = _open(self.path, COLUMNS)
        self._writer.writerow([neutralize(_text(line.get(c))) for c in COLUMNS])


def _open(path: Path, header: Any) -> tuple[Any, Any]:
    """PATH for writing CSV (UTF-8 with BOM), readable by its owner alone, with HEADER written."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an older file of the same name may have had other rights
    fh = os.fdopen(fd, "w", encoding="utf-8-sig", newline="")
    writer = csv.writer(fh)
    writer.writerow(header)
    return fh, writer


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


class Rejects(_Written):
    """--rejects FILE: the rejected rows in the file's own columns plus a reason, to be fixed and
    imported again (UTF-8 with BOM, formula-neutralised, 0600), written as rows are rejected."""

    def __init__(self, path: Path | None, headers: list[str]) -> None:
        self.path, self.headers = path, headers
        self._fh: Any = None
        self._writer: Any = None

    def add(self, cells: list[Any], reason: str) -> None:
        if self.path is None:
            return
        from crmcli.export import neutralize
        from crmcli.importer.values import text

        if self._writer is None:
            self._fh, self._writer = _open(self.path, [*self.headers, "reason"])
        width = len(self.headers)
        padded = [*cells, *[""] * (width - len(cells))][:width]
        self._writer.writerow([neutralize(text(c) if not isinstance(c, str) else c) for c in padded] + [reason])
