"""The import report: one line per thing not taken as it was written.

Beside the input by default (`contacts.xlsx` → `contacts.import-report.csv`), UTF-8 with a BOM so
Excel opens it, formula-neutralised like crm's exports, readable by the user alone (0600: it holds
personal data), written atomically through crmcli.values.files. The default report is crm's own: importing
the same file again replaces it with the new run's report (no --force needed; a file of that name
that is not an import report is not replaced without --force). A report or rejects file named with
--report or --rejects is the user's: one that exists is replaced only with --force.

Columns: row (the line or row of the file), event, record (#id name), column (the file's header),
value (as written) and reason. Events:

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
from pathlib import Path
from typing import Any

COLUMNS = ("row", "event", "record", "column", "value", "reason")


def default_path(path: Path) -> Path:
    """contacts.xlsx → contacts.import-report.csv, beside the input."""
    return path.with_name(f"{path.stem}.import-report.csv")


def is_report(path: Path) -> bool:
    """PATH is an import report crm wrote (it starts with the report's header row)."""
    header = ("\ufeff" + ",".join(COLUMNS)).encode("utf-8")
    try:
        with path.open("rb") as fh:
            return fh.read(len(header) + 2).rstrip(b"\r\n") == header
    except OSError:
        return False


def check_writable(path: Path, keyword: str, *, force: bool) -> None:
    """Refuse a report or rejects file that could not be written before the import stores
    anything (not after it has): a directory, a missing or read-only directory, a symbolic link,
    a file that exists (without FORCE). KEYWORD is the argument of import_file that named PATH
    (report, rejects): the hint says it chooses another file."""
    from crmcli.errors import Conflict, Hint, Invalid
    from crmcli.values.files import check

    if path.is_dir():
        raise Invalid(
            f"cannot write {path}: it is a directory",
            hint=Hint("{" + keyword + "} FILE chooses the file", form="{message}; {hint}"),
        )
    try:
        check(path, force=force)
    except (Invalid, Conflict) as exc:
        elsewhere = "{" + keyword + "} FILE chooses another place"
        hint = Hint(f"{exc.hint.says}; {elsewhere}", exc.hint.form) if exc.hint else None
        hint = hint or Hint(elsewhere, "{message}; {hint}")
        raise type(exc)(exc.message, hint=hint) from None


class _Written:
    """A CSV file written as lines come: opened with the first (as a temporary file beside PATH),
    put in place at the end."""

    path: Path | None
    force: bool
    _out: Any = None

    def close(self) -> Path | None:
        """The file's path, if anything was written."""
        if self._out is None:
            return None
        out, self._out = self._out, None
        return out.commit()

    def discard(self) -> None:
        """A failed import leaves no file behind (an older one of the same name stays as it was)."""
        if self._out is not None:
            self._out.abort()
            self._out = None

    def _open(self, header: Any) -> Any:
        """A CSV writer into PATH's temporary file (UTF-8 with BOM, 0600), HEADER written."""
        from crmcli.values.files import Atomic

        assert self.path is not None
        self._out = Atomic(self.path, force=self.force, binary=False, encoding="utf-8-sig", newline="")
        writer = csv.writer(self._out.fh)
        writer.writerow(header)
        return writer


class Report(_Written):
    """Lines to PATH (None: a dry run, nothing written) with the first KEEP kept for the summary;
    FORCE: PATH may be replaced."""

    def __init__(self, path: Path | None, keep: int = 50, *, force: bool = False) -> None:
        self.path, self.keep, self.force = path, keep, force
        self.first: list[dict[str, Any]] = []
        self.lines = 0
        self.counts: dict[str, int] = {}
        self._out: Any = None
        self._writer: Any = None

    def add(self, line: dict[str, Any]) -> None:
        self.lines += 1
        self.counts[line["event"]] = self.counts.get(line["event"], 0) + 1
        if len(self.first) < self.keep:
            self.first.append(line)
        if self.path is None:
            return
        from crmcli.values.cells import neutralize

        if self._writer is None:
            self._writer = self._open(COLUMNS)
        self._writer.writerow([neutralize(_text(line.get(c))) for c in COLUMNS])


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


class Rejects(_Written):
    """--rejects FILE: the rejected rows in the file's own columns plus a reason, to be fixed and
    imported again (UTF-8 with BOM, formula-neutralised, 0600), written as rows are rejected."""

    def __init__(self, path: Path | None, headers: list[str], *, force: bool = False) -> None:
        self.path, self.headers, self.force = path, headers, force
        self._out: Any = None
        self._writer: Any = None

    def add(self, cells: list[Any], reason: str) -> None:
        if self.path is None:
            return
        from crmcli.importer.values import text
        from crmcli.values.cells import neutralize

        if self._writer is None:
            self._writer = self._open([*self.headers, "reason"])
        width = len(self.headers)
        padded = [*cells, *[""] * (width - len(cells))][:width]
        self._writer.writerow([neutralize(text(c) if not isinstance(c, str) else c) for c in padded] + [reason])
