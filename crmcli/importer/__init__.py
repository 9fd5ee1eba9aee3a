"""Bulk import of spreadsheets, CSV, JSON and vCard files, with every row accounted for.

    read N = created + updated + merged + skipped + rejected

A row becomes a record whenever something identifies one; a value that cannot be used is left
out of its record, not the row. Everything not taken as it was written goes to one report
beside the input, a line per event (importer.report). Rows are committed in batches; a run is
recorded (ImportRun, ImportChange) so that it can be listed and undone, and an interrupted run
is completed by running the same import again (rows already in match and are skipped).
"""

from __future__ import annotations

import functools
import hashlib
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from crmcli import changelog
from crmcli.errors import CrmError, Hint, Invalid, UsageError, literal
from crmcli.importer.headers import KINDS, Mapping, guess_kind, map_headers
from crmcli.importer.readers import open_table
from crmcli.values import clock

if TYPE_CHECKING:  # the package stays light: the cleaning worker imports it without SQLAlchemy
    from sqlmodel import Session

ON_DUPLICATE = ("skip", "update", "merge", "create")
COUNTS = ("read", "created", "updated", "merged", "skipped", "rejected")
EXTRA_COUNTS = ("dropped", "possible")  # values left out of records; possible duplicates reported
# what the dry run's preview of a row leaves out: matching keys and bookkeeping, not data
_INTERNAL = {"key", "company_key", "doc", "dropped", "filled", "types", "number", "is_org", "cadence"}


class Interrupted(CrmError):
    """Ctrl-C during an import: the batches already committed stay; run the import again."""

    exit_code = 130


class ImportResult(TypedDict):
    """What import_file did (and `crm import` shows): the counts add up, read = created + updated +
    merged + skipped + rejected; dropped (values left out) and possible (duplicates reported) apart."""

    run_id: int | None  # None for a dry run
    undo: str | None  # the command that undoes the run
    file: str
    format: str  # csv, xlsx, json, vcard, …
    sheet: str | None
    kind: str  # contacts, companies, deals, activities or followups
    dry_run: bool
    strict: bool
    mapping: list[dict[str, str]]  # {column (the file's header), field (crm's, or "(ignored)")}
    unknown: list[str]  # headers that became custom fields or were ignored
    declared_fields: list[str]  # custom fields declared on the fly
    counts: dict[str, int]  # COUNTS and EXTRA_COUNTS
    report_file: str | None
    report_lines: int
    report: list[dict[str, Any]]  # the report's first lines: row, event, record, column, value, reason
    rejects_file: str | None
    preview: list[dict[str, Any]]  # the first rows as they would be stored (or why rejected)
    notes: list[str]  # about the file, from its reader
    # why nothing was stored, when nothing was; then other advice. Each a crmcli.domain.lookup.Note:
    # the text about the data, its .hint what to do in the terms of this call (a Hint).
    hint: str | None
    hints: list[str]


def default_report(path: Path) -> Path:
    from crmcli.importer.report import default_path

    return default_path(path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _declare(session: Session, entity: str, mapping: Mapping) -> list[str]:
    """Custom-field columns nobody declared yet are declared on the fly: with the type their header
    carries (crm's own exports write `custom.KEY:TYPE`), else as text."""
    from crmcli.domain.fields import TYPES, field_defs
    from crmcli.models import FieldDef

    known = field_defs(session, entity)
    types: dict[str, tuple[str, list[str]]] = getattr(mapping, "types", None) or {}
    made = []
    for column in mapping.columns:
        if column and column.startswith("custom.") and column[7:] not in known and column[7:] not in made:
            kind, choices = types.get(column[7:], ("text", []))
            if kind not in TYPES or (kind == "choice" and not choices):
                kind, choices = "text", []
            session.add(FieldDef(entity=entity, name=column[7:], type=kind, choices=list(choices)))
            made.append(column[7:])
    session.flush()
    return made


def _engine_for(kind: str, session: Session, options: dict[str, Any], run_id: int | None) -> Any:
    common = {**options, "run_id": run_id, "now": clock.now()}
    if kind == "contacts":
        from crmcli.importer.contacts import ContactImport

        return ContactImport(session, **common)
    from crmcli.importer.generic import ActivityImport, CompanyImport, DealImport, FollowUpImport

    engines = {"companies": CompanyImport, "deals": DealImport, "activities": ActivityImport}
    return {**engines, "followups": FollowUpImport}[kind](session, **common)


class _Columns:
    """Which header of the file a reported field came from."""

    NAME_PARTS = ("name", "prefix", "first_name", "middle_name", "last_name", "suffix")

    def __init__(self, headers: list[str], columns: list[str | None]) -> None:
        self.headers = headers
        self.by_field: dict[str, list[int]] = {}
        for i, column in enumerate(columns):
            if column:
                self.by_field.setdefault(column, []).append(i)

    def header(self, field: str, value: Any, cells: list[Any] | None) -> str:
        if not field:
            return ""
        found = self.by_field.get(field, [])
        if len(found) > 1 and cells is not None and value not in (None, ""):
            from crmcli.importer.values import text

            wanted = text(value)
            for i in found:
                if i < len(cells) and wanted and wanted in text(cells[i]):
                    return self.headers[i]
        if found:
            return self.headers[found[0]]
        if field == "name":
            parts = [self.headers[i] for part in self.NAME_PARTS for i in self.by_field.get(part, [])]
            if parts:
                return " + ".join(parts)
        return field


def _as_written(headers: list[str], cells: Any) -> str:
    """A rejected row's values as Header=value pairs, for the report."""
    from crmcli.importer.values import text

    if not isinstance(cells, list):  # table.Unreadable: a record the reader could not make out
        return str(getattr(cells, "raw", "") or "")
    pairs = []
    for header, cell in zip(headers, cells, strict=False):
        shown = text(cell) if not isinstance(cell, str) else cell.strip()
        if shown:
            pairs.append(f"{header or '?'}={shown}")
    return "; ".join(pairs)


def _import_file(
    session: Session,
    path: Path | str,
    *,
    kind: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
    mapping: dict[str, str] | None = None,
    dry_run: bool = False,
    on_duplicate: str = "merge",
    report: Path | str | None = None,
    rejects: Path | str | None = None,
    force: bool = False,
    tags: list[str] | None = None,
    owner: str | None = None,
    source: str | None = None,
    unknown: str = "field",
    region: str | None = None,
    dayfirst: bool = False,
    strict: bool = False,
    allow_suppressed: bool = False,
    by: str | None = None,
    batch_size: int = 2000,
    preview: int = 5,
    progress: Callable[[int, int | None], None] | None = None,
    workers: int | None = 0,
) -> ImportResult:
    """Import PATH; commits SESSION after every batch (a dry run rolls everything back).

    REPORT: where the report goes (default: beside PATH, see importer.report); REJECTS: also
    write the rejected rows in the file's own columns there. FORCE: REPORT and REJECTS may replace
    files that exist (the default report replaces an older import report of its own without it).
    STRICT: a row that would lose a value is rejected instead. A contact row with an email or
    phone of a person erased on request is skipped and reported, unless ALLOW_SUPPRESSED.

    WORKERS: processes that clean contact rows while this one writes. None: CRM_IMPORT_WORKERS,
    else one for files of 20,000 rows or more on a machine with several cores (what `crm import`
    does). The default, 0, cleans in this process: workers are started with "spawn", which runs
    the caller's main module again, and a script without `if __name__ == "__main__":` would not
    survive that.

    Returns {run_id, file, format, kind, mapping, unknown, counts, report_file, report,
    preview, notes, …}; counts add up: read = created + updated + merged + skipped + rejected."""
    from crmcli.domain import settings
    from crmcli.importer.report import Rejects, Report
    from crmcli.models import ImportRun
    from crmcli.values.when import locale_order

    path = Path(path)
    for keyword, what, value, choices in (
        ("on_duplicate", "way to handle a duplicate", on_duplicate, ON_DUPLICATE),
        ("unknown", "way to handle an unknown column", unknown, ("field", "ignore")),
        ("kind", "kind of record", kind, (None, *KINDS)),
    ):
        if value not in choices:
            said = ", ".join(c for c in choices if c)
            raise UsageError(
                f"'{value}' is no {what}: {said}",
                hint=Hint(f"{{{keyword}}} takes {said}, not '{literal(str(value))}'", form="{hint}"),
            )
    table = open_table(path, sheet=sheet, header_row=header_row)
    chosen = kind or guess_kind(table.headers)
    if table.format == "vcard" and not mapping:  # the reader names its columns by the fields they fill
        columns = Mapping(chosen, list(table.headers), list(table.headers), [])
    else:
        columns = map_headers(table.headers, chosen, mapping, unknown)
    if not any(columns.columns):
        from crmcli.importer.headers import explain_unmapped

        why = explain_unmapped(columns)
        raise Invalid(f"none of the columns of {path.name} maps to a {chosen} field. {why}", hint=why.hint)
    # The owner of new records where the file names none: --owner, else the user importing
    # (CRM_USER, else the login name), as `crm contacts add` does; records that exist keep theirs.
    # A file with an owner column (activities: by) keeps what it says, an empty cell too (crm's own
    # exports travel back unchanged); so do vCards of crm's own export (X-CRM-ID).
    default_owner = None if owner else (by or settings.current_user())
    own_column = ("by" if chosen == "activities" else "owner") in columns.columns
    options = {
        "region": (region or settings.get(session, "default_region") or "US").upper(),
        "on_duplicate": on_duplicate,
        "tags": list(tags or []),
        "owner": owner,
        "default_owner": default_owner if table.format == "vcard" or not own_column else None,
        "source": source,
        "dayfirst": dayfirst,
        # how 1/2/2027 reads: --dayfirst, else config date_order, else the locale's (crmcli.values.when)
        "date_order": "dmy" if dayfirst else settings.get(session, "date_order") or locale_order(),
        "strict": strict,
        "allow_suppressed": allow_suppressed,
        "own_export": bool(columns.own_export),
        "lines": table.format == "vcard",
    }
    if chosen in ("activities", "followups"):  # they have no custom fields: such columns are reported, not stored
        columns.columns = [None if c and c.startswith("custom.") else c for c in columns.columns]
    report_to = None if dry_run else Path(report) if report else default_report(path)
    replace_report = force
    if report_to is not None:  # before anything is stored: an import must not store and then fail
        from crmcli.importer.report import check_writable, is_report

        # the default report is crm's own: a re-run replaces the one an earlier run left
        replace_report = force or (not report and is_report(report_to) and not report_to.is_symlink())
        check_writable(report_to, "report", force=replace_report)
        if rejects:
            check_writable(Path(rejects), "rejects", force=force)
    declared = _declare(session, chosen, columns)
    run = None
    if not dry_run:
        from crmcli.importer.runs import mark_killed, process_mark

        mark_killed(session)  # runs whose process is gone are not "running" any more
        run = ImportRun(
            file=str(path.resolve()),
            sha256=_sha256(path),
            kind=chosen,
            by=by,
            status="running",
            options={
                **options,
                "mapping": mapping or {},
                "sheet": table.sheet,
                "unknown": unknown,
                "process": process_mark(),  # who imports: a killed run is told from a running one
            },
            counts=dict.fromkeys(COUNTS + EXTRA_COUNTS, 0),
            started_at=clock.now(),
            report_file=str(report_to.resolve()) if report_to else None,
        )
        session.add(run)
        session.commit()
    run_id = run.id if run is not None else None  # read now: after Ctrl-C, run may be unreadable
    if run_id is not None:
        changelog.update(import_id=run_id)  # the batches' change sets name the run
    engine = _engine_for(chosen, session, options, run.id if run else None)
    _bulk_pragmas(session)
    counts = dict.fromkeys(COUNTS + EXTRA_COUNTS, 0)
    lines = Report(report_to, keep=200 if dry_run else 50, force=replace_report)
    rejected = Rejects(None if dry_run or not rejects else Path(rejects), table.headers, force=force)
    where = _Columns(table.headers, columns.columns)
    for header, column in zip(table.headers, columns.columns, strict=True):
        if header and column is None:
            why = "not recognised (unknown columns ignored)" if header in columns.unknown else "not stored by crm"
            lines.add({"row": "", "event": "column ignored", "record": "", "column": header, "value": "",
                       "reason": why})  # fmt: skip
    for name in getattr(table, "ignored", None) or []:
        lines.add({"row": "", "event": "column ignored", "record": "", "column": name, "value": "",
                   "reason": "not stored by crm"})  # fmt: skip
    shown: list[dict[str, Any]] = []
    last_shown = [0]
    region_misses = [0]  # phones no number of the region could be: written for another country?
    from crmcli.importer.parallel import Cleaning, Layout, workers_for

    # contacts, the bulk of every migration, clean in a worker; the other kinds look up records as they clean
    cleaner = getattr(engine, "cleaner", None)
    layout = Layout([(i, column) for i, column in enumerate(columns.columns) if column is not None], path.name)
    cleaning = Cleaning(cleaner or engine, layout, workers_for(table.estimate, workers) if cleaner else 0)
    raw: list[tuple[int, list[Any]]] = []
    pending: deque[tuple[list[tuple[int, Any]], Callable[[], list[Any]]]] = deque()

    def handle(read: list[tuple[int, Any]], results: Callable[[], list[Any]]) -> None:
        """One cleaned batch: rejects noted, the rest matched and written, the run's counts committed."""
        batch = []
        cells_by_row: dict[int, Any] = {}
        events: list[dict[str, Any]] = []
        for (number, cells), outcome in zip(read, results(), strict=True):
            if outcome is None:
                continue  # a blank row (Excel's trailing empty ones too)
            counts["read"] += 1
            cells_by_row[number] = cells
            if isinstance(outcome, str):
                rejected.add(cells if isinstance(cells, list) else [], outcome)
                counts["rejected"] += 1
                events.append({"row": number, "event": "rejected", "record": "", "column": "",
                               "value": _as_written(table.headers, cells), "reason": outcome})  # fmt: skip
                if len(shown) < preview:
                    shown.append({"row": number, "rejected": outcome})
                    last_shown[0] = number
                continue
            if len(shown) < preview:
                shown.append(_plain(outcome, number))
                last_shown[0] = number
            batch.append(outcome)
        if batch:
            for key, value in engine.process(batch).items():
                counts[key] += value
        for line in engine.drain():
            cells = cells_by_row.get(line["row"]) if isinstance(line["row"], int) else None
            line["column"] = where.header(line.pop("field"), line["value"], cells if isinstance(cells, list) else None)
            events.append(line)
        events.sort(key=lambda e: e["row"] if isinstance(e["row"], int) else 0)
        for line in events:
            if line["event"] == "value dropped":
                counts["dropped"] += 1
                if "for region" in line["reason"]:
                    region_misses[0] += 1
            elif line["event"] == "possible duplicate":
                counts["possible"] += 1
            if dry_run and isinstance(line["row"], int) and line["row"] > last_shown[0]:
                continue  # a dry run shows the report's lines of the rows it shows
            lines.add(line)
        if run is not None:
            run.counts = dict(counts)
            session.add(run)
            session.commit()
        if progress:
            progress(counts["read"], table.estimate)

    def submit() -> None:
        """RAW goes to be cleaned; the batch before it is written meanwhile."""
        pending.append((raw[:], cleaning.submit(raw[:])))
        raw.clear()
        if len(pending) > 1:
            handle(*pending.popleft())

    interrupted = False
    try:
        for row in table.rows:
            raw.append(row)
            if len(raw) >= batch_size:
                submit()
        if raw:
            submit()
        while pending:
            handle(*pending.popleft())
    except KeyboardInterrupt:
        interrupted = True  # handled below, once this exception and the frames it holds are gone
    except BaseException:
        cleaning.close(wait=False)
        lines.discard()
        rejected.discard()
        # A file that turns out broken or hostile halfway changes nothing: what earlier batches
        # committed is undone before the error is reported.
        session.rollback()
        if run is not None:
            from crmcli.importer.runs import undo_import

            undo_import(session, run.id, own=True)  # type: ignore[arg-type]
            run.status = "failed"
            run.finished_at = clock.now()
            session.add(run)
            session.commit()
        raise
    if interrupted:
        # A statement Ctrl-C cut short keeps its SQLite connection, and the write lock, alive
        # until the statement is finalised: collect it before writing the run's status.
        import gc

        gc.collect()
        cleaning.close()  # the worker ignores Ctrl-C: it ends its batch and leaves, its semaphores released
        lines.close()  # what was reported so far; the run that completes the import reports it all again
        rejected.close()
        try:
            session.rollback()
        except Exception:  # Ctrl-C cut a commit short and left its connection unusable: start afresh
            session.close()
        if run_id is not None:
            stopped = session.get(ImportRun, run_id)
            if stopped is not None:
                stopped.status = "interrupted"
                stopped.finished_at = clock.now()
                session.add(stopped)
                session.commit()
        raise Interrupted(
            f"interrupted after {counts['read']:,} rows; what was committed stays. "
            "Run the same import again to complete it (rows already in are matched, not duplicated)"
        )
    cleaning.close()
    if progress:
        progress(counts["read"], counts["read"])
    report_path = lines.close()
    rejects_path = rejected.close()
    if run is not None:
        run.status = "done"
        run.counts = dict(counts)
        run.report_file = str(report_path.resolve()) if report_path else None
        run.rejects_file = str(rejects_path) if rejects_path else None
        run.finished_at = clock.now()
        session.add(run)
        session.commit()
    else:
        session.rollback()
    stored = counts["created"] + counts["updated"] + counts["merged"] + counts["skipped"]
    hint = None
    if counts["read"] and not stored:
        from crmcli.importer.headers import explain_unmapped

        hint = explain_unmapped(columns)
    hints = [hint] if hint else []
    if region_misses[0]:
        from crmcli.domain.lookup import Note

        hints.append(
            Note(
                f"{region_misses[0]:,} phones without a country code were no valid {options['region']} number",
                Hint(
                    "if the file is from another country, import it again with {region} (e.g. {region} FR)",
                    form="{message}: {hint}",
                ),
            )
        )
    return {
        "run_id": run.id if run else None,
        "undo": f"crm imports undo {run.id}" if run else None,
        "file": str(path),
        "format": table.format,
        "sheet": table.sheet,
        "kind": chosen,
        "dry_run": dry_run,
        "strict": strict,
        "mapping": [{"column": h, "field": f} for h, f in columns.describe()],
        "unknown": columns.unknown,
        "declared_fields": declared,
        "counts": counts,
        "report_file": str(report_path) if report_path else None,
        "report_lines": lines.lines,
        "report": lines.first,
        "rejects_file": str(rejects_path) if rejects_path else None,
        "preview": shown,
        "notes": table.notes,
        "hint": hint,
        "hints": hints,
    }


def _bulk_pragmas(session: Session) -> None:
    """SQLite, for this connection: a 16 MiB page cache (the default 2 MiB makes many index inserts
    of a big import reads from the OS; more would count against the import's memory budget), and
    a checkpoint every 40 MiB of WAL rather than 4, so index pages written by batch after batch
    are copied back once. Neither changes durability."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA cache_size = -16384")
        conn.exec_driver_sql("PRAGMA wal_autocheckpoint = 10000")


def _plain(row: Any, number: int) -> dict[str, Any]:
    """A cleaned row for the dry-run preview, as it would be stored: records it links to by name,
    no matching keys or bookkeeping."""
    data = dict(row) if isinstance(row, dict) else dict(vars(row))
    out: dict[str, Any] = {"row": number}
    for key, value in data.items():
        if key in _INTERNAL or key == "row" or value in (None, "", [], {}):
            continue
        if hasattr(value, "__table__"):
            value = getattr(value, "name", None) or getattr(value, "title", None) or value.id
        out[key] = value
    return out


@functools.wraps(_import_file)
def import_file(session: Session, path: Path | str, **options: Any) -> ImportResult:
    # every batch's writes are one change set of kind "import" in the history, naming the run
    with changelog.acting(kind="import"):
        return _import_file(session, path, **options)
