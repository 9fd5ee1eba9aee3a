"""Bulk import of spreadsheets, CSV and vCard files, with every row accounted for.

    read N = created + updated + merged + skipped + rejected

Rows are committed in batches; a run is recorded (ImportRun, ImportChange) so that it can be
listed and undone, and an interrupted run is completed by running the same import again
(rows already in match and are skipped).
"""

from __future__ import annotations

import csv
import hashlib
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmcli import clock
from crmcli.errors import CrmError, Invalid, UsageError
from crmcli.importer.headers import KINDS, Mapping, guess_kind, map_headers
from crmcli.importer.readers import open_table

if TYPE_CHECKING:  # the package stays light: the cleaning worker imports it without SQLAlchemy
    from sqlmodel import Session

ON_DUPLICATE = ("skip", "update", "merge", "create")
COUNTS = ("read", "created", "updated", "merged", "skipped", "rejected")


class Interrupted(CrmError):
    """Ctrl-C during an import: the batches already committed stay; run the import again."""

    exit_code = 130


def default_rejects(path: Path) -> Path:
    """contacts.xlsx → contacts.rejects.csv, beside the input."""
    return path.with_name(f"{path.stem}.rejects.csv")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _declare(session: Session, entity: str, mapping: Mapping) -> list[str]:
    """Custom-field columns nobody declared yet become text fields (declared on the fly)."""
    from crmcli.fields import field_defs
    from crmcli.models import FieldDef

    known = field_defs(session, entity)
    made = []
    for column in mapping.columns:
        if column and column.startswith("custom.") and column[7:] not in known and column[7:] not in made:
            session.add(FieldDef(entity=entity, name=column[7:], type="text", choices=[]))
            made.append(column[7:])
    session.flush()
    return made


def _engine_for(kind: str, session: Session, options: dict[str, Any], run_id: int | None) -> Any:
    now = clock.now()
    common = {
        "region": options["region"],
        "on_duplicate": options["on_duplicate"],
        "tags": options["tags"],
        "owner": options["owner"],
        "source": options["source"],
        "dayfirst": options["dayfirst"],
        "run_id": run_id,
        "now": now,
    }
    if kind == "contacts":
        from crmcli.importer.contacts import ContactImport

        return ContactImport(session, **common)
    from crmcli.importer.generic import ActivityImport, CompanyImport, DealImport

    return {"companies": CompanyImport, "deals": DealImport, "activities": ActivityImport}[kind](session, **common)


def import_file(
    session: Session,
    path: Path | str,
    *,
    kind: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
    mapping: dict[str, str] | None = None,
    dry_run: bool = False,
    on_duplicate: str = "merge",
    rejects: Path | str | None = None,
    tags: list[str] | None = None,
    owner: str | None = None,
    source: str | None = None,
    unknown: str = "field",
    region: str | None = None,
    dayfirst: bool = False,
    by: str | None = None,
    batch_size: int = 2000,
    preview: int = 5,
    progress: Callable[[int, int | None], None] | None = None,
    workers: int | None = 0,
) -> dict[str, Any]:
    """Import PATH; commits SESSION after every batch (a dry run rolls everything back).

    WORKERS: processes that clean contact rows while this one writes. None: CRM_IMPORT_WORKERS,
    else one for files of 20,000 rows or more on a machine with several cores (what `crm import`
    does). The default, 0, cleans in this process: workers are started with "spawn", which runs
    the caller's main module again, and a script without `if __name__ == "__main__":` would not
    survive that.

    Returns {run_id, file, format, kind, mapping, unknown, counts, rejects_file, preview, notes}."""
    from crmcli import settings
    from crmcli.models import ImportRun

    path = Path(path)
    if on_duplicate not in ON_DUPLICATE:
        raise UsageError(f"--on-duplicate takes {', '.join(ON_DUPLICATE)}, not '{on_duplicate}'")
    if unknown not in ("field", "ignore"):
        raise UsageError(f"--unknown takes field or ignore, not '{unknown}'")
    if kind is not None and kind not in KINDS:
        raise UsageError(f"--kind takes {', '.join(KINDS)}, not '{kind}'")
    table = open_table(path, sheet=sheet, header_row=header_row)
    chosen = kind or guess_kind(table.headers)
    columns = map_headers(table.headers, chosen, mapping, unknown)
    if not any(columns.columns):
        raise Invalid(f"none of the columns of {path.name} maps to a {chosen} field: use --map 'Header=field'")
    options = {
        "region": (region or settings.get(session, "default_region") or "US").upper(),
        "on_duplicate": on_duplicate,
        "tags": list(tags or []),
        "owner": owner,
        "source": source,
        "dayfirst": dayfirst,
    }
    declared = _declare(session, chosen, columns)
    run = None
    if not dry_run:
        run = ImportRun(
            file=str(path.resolve()),
            sha256=_sha256(path),
            kind=chosen,
            by=by,
            status="running",
            options={**options, "mapping": mapping or {}, "sheet": table.sheet, "unknown": unknown},
            counts=dict.fromkeys(COUNTS, 0),
            started_at=clock.now(),
        )
        session.add(run)
        session.commit()
    engine = _engine_for(chosen, session, options, run.id if run else None)
    _bulk_pragmas(session)
    counts = dict.fromkeys(COUNTS, 0)
    rejects_to = None if dry_run else Path(rejects) if rejects else default_rejects(path)
    rejected = _Rejects(rejects_to, table.headers, preview)
    shown: list[dict[str, Any]] = []
    from crmcli.importer.parallel import Cleaning, Layout, workers_for

    # contacts, the bulk of every migration, clean in a worker; the other kinds look up records as they clean
    cleaner = getattr(engine, "cleaner", None)
    layout = Layout([(i, column) for i, column in enumerate(columns.columns) if column is not None], path.name)
    cleaning = Cleaning(cleaner or engine, layout, workers_for(table.estimate, workers) if cleaner else 0)
    raw: list[tuple[int, list[Any]]] = []
    pending: deque[tuple[list[list[Any]], Callable[[], list[Any]]]] = deque()

    def handle(cells_of: list[list[Any]], results: Callable[[], list[Any]]) -> None:
        """One cleaned batch: rejects noted, the rest matched and written, the run's counts committed."""
        batch = []
        for cells, outcome in zip(cells_of, results(), strict=True):
            if outcome is None:
                continue  # a blank row (Excel's trailing empty ones too)
            counts["read"] += 1
            if isinstance(outcome, str):
                rejected.add(cells, outcome)
                counts["rejected"] += 1
                continue
            if len(shown) < preview:
                shown.append(_plain(outcome))
            batch.append(outcome)
        if batch:
            for key, value in engine.process(batch).items():
                counts[key] += value
        if run is not None:
            run.counts = dict(counts)
            session.add(run)
            session.commit()
        if progress:
            progress(counts["read"], table.estimate)

    def submit() -> None:
        """RAW goes to be cleaned; the batch before it is written meanwhile."""
        pending.append(([cells for _, cells in raw], cleaning.submit(raw[:])))
        raw.clear()
        if len(pending) > 1:
            handle(*pending.popleft())

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
        cleaning.close(wait=False)
        rejected.close()  # the rows rejected so far; the run that completes the import writes them all again
        session.rollback()
        if run is not None:
            run.status = "interrupted"
            run.finished_at = clock.now()
            session.add(run)
            session.commit()
        raise Interrupted(
            f"interrupted after {counts['read']:,} rows; what was committed stays. "
            "Run the same import again to complete it (rows already in are matched, not duplicated)"
        ) from None
    except BaseException:
        cleaning.close(wait=False)
        rejected.discard()
        # A file that turns out broken or hostile halfway changes nothing: what earlier batches
        # committed is undone before the error is reported.
        session.rollback()
        if run is not None:
            from crmcli.importer.runs import undo_import

            undo_import(session, run.id)  # type: ignore[arg-type]
            run.status = "failed"
            run.finished_at = clock.now()
            session.add(run)
            session.commit()
        raise
    cleaning.close()
    if progress:
        progress(counts["read"], counts["read"])
    rejects_path = rejected.close()
    if run is not None:
        run.status = "done"
        run.counts = dict(counts)
        run.rejects_file = str(rejects_path) if rejects_path else None
        run.finished_at = clock.now()
        session.add(run)
        session.commit()
    else:
        session.rollback()
    return {
        "run_id": run.id if run else None,
        "file": str(path),
        "format": table.format,
        "sheet": table.sheet,
        "kind": chosen,
        "dry_run": dry_run,
        "mapping": [{"column": h, "field": f} for h, f in columns.describe()],
        "unknown": columns.unknown,
        "declared_fields": declared,
        "counts": counts,
        "rejects_file": str(rejects_path) if rejects_path else None,
        "rejects": [
            {"row": dict(zip(table.headers, map(str, cells), strict=False)), "reason": why}
            for cells, why in rejected.first
        ],
        "preview": shown,
        "notes": table.notes,
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


def _plain(row: Any) -> dict[str, Any]:
    """A cleaned row for the dry-run preview: records it links to appear by name."""
    data = dict(row) if isinstance(row, dict) else dict(vars(row))
    for key, value in data.items():
        if hasattr(value, "__table__"):
            data[key] = getattr(value, "name", None) or getattr(value, "title", None) or value.id
    return data


class _Rejects:
    """The rejects file (original values + a reason column, UTF-8 with BOM so Excel opens it,
    formula-neutralised), written as rows are rejected: memory stays flat however many there are.
    PATH None (a dry run): only the first few are kept, for the summary."""

    def __init__(self, path: Path | None, headers: list[str], keep: int) -> None:
        self.path, self.headers, self.keep = path, headers, keep
        self.first: list[tuple[list[Any], str]] = []
        self._fh: Any = None
        self._writer: Any = None

    def add(self, cells: list[Any], reason: str) -> None:
        if len(self.first) < self.keep:
            self.first.append((cells, reason))
        if self.path is None:
            return
        from crmcli.export import neutralize
        from crmcli.importer.values import text

        if self._writer is None:
            self._fh = self.path.open("w", encoding="utf-8-sig", newline="")
            self._writer = csv.writer(self._fh)
            self._writer.writerow([*self.headers, "reason"])
        width = len(self.headers)
        padded = [*cells, *[""] * (width - len(cells))][:width]
        self._writer.writerow([neutralize(text(c) if not isinstance(c, str) else c) for c in padded] + [reason])

    def close(self) -> Path | None:
        """The file's path, if anything was rejected."""
        if self._fh is None:
            return None
        self._fh.close()
        self._fh = None
        return self.path

    def discard(self) -> None:
        """A failed import leaves no rejects file behind."""
        if self.close() is not None and self.path is not None:
            self.path.unlink(missing_ok=True)
