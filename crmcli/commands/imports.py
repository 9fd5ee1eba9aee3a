"""crm import FILE, and crm imports list / undo."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from crmcli.commands._common import (
    AllowSuppressedOpt,
    ForceOpt,
    FormatOpt,
    ImportOwnerOpt,
    LimitOpt,
    QuietOpt,
    State,
    YesOpt,
    fmt_of,
    option_of,
    session,
)

app = typer.Typer(no_args_is_help=True, help="Imports done so far: list them, undo one.")


class Kind(str, Enum):
    contacts = "contacts"
    companies = "companies"
    deals = "deals"
    activities = "activities"
    followups = "followups"


class OnDuplicate(str, Enum):
    skip = "skip"
    update = "update"
    merge = "merge"
    create = "create"


class Unknown(str, Enum):
    field = "field"
    ignore = "ignore"


def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help=".xlsx, .xlsm, .csv, .tsv, .txt, .json, .jsonl or .vcf")],
    kind: Annotated[
        Optional[Kind], typer.Option("--kind", "-k", help="What the rows are (default: guessed from the columns).")
    ] = None,
    sheet: Annotated[Optional[str], typer.Option("--sheet", help="Sheet name (default: the first).")] = None,
    header_row: Annotated[
        Optional[int],
        typer.Option("--header-row", min=1, help="Row of the headers (default: the first with two filled cells)."),
    ] = None,
    map_: Annotated[
        Optional[list[str]],
        typer.Option(
            "--map", "-m", metavar="HEADER=FIELD", help="'Header=field' (or custom.KEY, or ignore); repeatable."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="Show the mapping, the first rows and the counts; write nothing.")
    ] = False,
    on_duplicate: Annotated[
        OnDuplicate,
        typer.Option("--on-duplicate", help="skip, update (overwrite), merge (fill empty fields) or create."),
    ] = OnDuplicate.merge,
    report: Annotated[
        Optional[Path],
        typer.Option(
            "--report",
            help="Report of what was not taken as given (default: FILE.import-report.csv, replaced by each import).",
        ),
    ] = None,
    rejects: Annotated[
        Optional[Path], typer.Option("--rejects", help="Also write the rejected rows, in FILE's own columns, here.")
    ] = None,
    force: ForceOpt = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Reject a row rather than leave out a value; exit 1 on any rejection.")
    ] = False,
    allow_suppressed: AllowSuppressedOpt = False,
    tag: Annotated[
        Optional[list[str]], typer.Option("--tag", "-t", help="Tag every imported record; repeatable.")
    ] = None,
    owner: ImportOwnerOpt = None,
    source: Annotated[
        Optional[str], typer.Option("--source", help="Source where the file names none, e.g. 'trade fair 2026'.")
    ] = None,
    unknown: Annotated[
        Unknown, typer.Option("--unknown", help="Unknown columns: field (custom fields) or ignore.")
    ] = Unknown.field,
    region: Annotated[
        Optional[str], typer.Option("--region", help="Country for phones without +code (default: config).")
    ] = None,
    dayfirst: Annotated[
        bool, typer.Option("--dayfirst", help="Read 03/04/2026 as 3 April (default: as config date_order says).")
    ] = False,
    fmt: FormatOpt = None,
) -> None:
    """Import contacts, companies, deals, activities or follow-ups from a spreadsheet, CSV, JSON or vCard file.

    Example: crm import hubspot-contacts.csv --dry-run
    """
    from crmcli import importer
    from crmcli.domain import settings
    from crmcli.output import message
    from crmcli.values.normalize import split_multi

    overrides = {}
    for item in map_ or []:
        header, sep, field = item.rpartition("=")
        if not sep or not header.strip():
            from crmcli.errors import UsageError

            raise UsageError(f"--map takes 'Header=field', not '{item}'")
        overrides[header.strip()] = field.strip()
    chosen = fmt_of(fmt)
    show_progress = chosen == "table" and sys.stdout.isatty()
    with _session(ctx, dry_run) as s, _progress(show_progress, file.name) as tick:
        result = importer.import_file(
            s,
            file,
            kind=kind.value if kind else None,
            sheet=sheet,
            header_row=header_row,
            mapping=overrides,
            dry_run=dry_run,
            on_duplicate=on_duplicate.value,
            report=report,
            rejects=rejects,
            force=force,
            tags=split_multi(tag),
            owner=owner,
            source=source,
            unknown=unknown.value,
            region=region,
            dayfirst=dayfirst,
            strict=strict,
            allow_suppressed=allow_suppressed,
            by=settings.current_user(),
            progress=tick,
            workers=None,  # a worker process cleans rows for big files on several cores
        )
    # the library's advice says what to do in the terms of its call: here, in terms of the options
    result = {**result, "hint": _spelled(result["hint"]), "hints": [_spelled(h) for h in result["hints"]]}
    _report(result, chosen)
    counts = result["counts"]
    if result["run_id"]:  # on stderr, in a pipe too: how to take it back
        message(f"Import #{result['run_id']}; undo with: crm imports undo {result['run_id']}")
    if counts["read"] and counts["rejected"] == counts["read"]:
        from crmcli.errors import Invalid

        for line in (result["hint"] or "").splitlines():
            message(line)
        raise Invalid(f"every row of {file.name} was rejected; the report says why: {result['report_file']}")
    if strict and counts["rejected"]:
        from crmcli.errors import Invalid

        raise Invalid(f"{counts['rejected']:,} rows rejected (--strict); the report says why: {result['report_file']}")


def _spelled(note: str | None) -> str | None:
    """NOTE (a crmcli.domain.lookup.Note) as the line a user reads: its hint in terms of the options."""
    hint = getattr(note, "hint", None)
    return hint.line(note, option_of) if hint and note is not None else note


@contextmanager
def _session(ctx: typer.Context, dry_run: bool) -> Iterator[Any]:
    """The import's session. A dry run writes nothing, not even a new database file: when the
    SQLite file does not exist yet, it runs against a throw-away one."""
    from crmcli import storage

    state = ctx.find_root().obj
    db = state.db if isinstance(state, State) else None
    target = storage.sqlite_path(storage.resolve_url(db))
    if dry_run and target is not None and not target.exists():
        import tempfile

        with tempfile.TemporaryDirectory(prefix="crm-dry-run-") as folder:
            url = f"sqlite:///{Path(folder) / 'crm.db'}"
            try:
                with storage.session_scope(url, write=True) as s:
                    yield s
            finally:
                storage.dispose_all()
        return
    with session(ctx, write=True) as s:
        yield s


class _progress:
    """A Rich progress bar (rows, rows/s, time left) on a terminal; nothing in a pipe."""

    def __init__(self, enabled: bool, name: str) -> None:
        self.enabled = enabled
        self.name = name
        self.bar = None

    def __enter__(self):  # noqa: ANN204
        if not self.enabled:
            return None
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        class Rate(ProgressColumn):
            def render(self, task):  # noqa: ANN001, ANN202
                return Text(f"{task.speed:,.0f} rows/s" if task.speed else "")

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            Rate(),
            TimeRemainingColumn(),
            transient=True,
        )
        self.bar.start()
        from rich.markup import escape

        from crmcli.output import shown

        task = self.bar.add_task(escape(shown(f"importing {self.name}")), total=None)  # a file name is data

        def tick(done: int, total: int | None = None) -> None:
            self.bar.update(task, completed=done, total=total if total and total >= done else None)

        return tick

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


REPORT_COLS = ("row", "event", "record", "column", "value", "reason")


def _report(result: dict, fmt: str) -> None:
    """The summary: figures that add up, where the report is; a dry run shows the mapping, the
    first rows as they would be stored and the report's lines for them."""
    from crmcli.output import Col, emit_json, emit_list, message

    counts = result["counts"]
    line = (
        f"read {counts['read']:,} = created {counts['created']:,} + updated {counts['updated']:,} + "
        f"merged {counts['merged']:,} + skipped {counts['skipped']:,} + rejected {counts['rejected']:,}"
    )
    if fmt == "json":
        emit_json(result)
        return
    report_cols = [Col(k, k.capitalize(), wrap=k in ("value", "reason")) for k in REPORT_COLS]
    if fmt in ("csv", "ids", "plain"):
        flat = "csv" if fmt == "csv" else "plain"
        if result["dry_run"]:  # the same as the table, as data: the mapping, then the report's lines
            emit_list([{"id": i, **m} for i, m in enumerate(result["mapping"])], [Col("column", "column"),
                      Col("field", "field")], flat)  # fmt: skip
            sys.stdout.write("\n")
            emit_list([{"id": i, **r} for i, r in enumerate(result["report"])], report_cols, flat)
            return
        rows = [{"id": k, "count": v} for k, v in counts.items()]
        emit_list(rows, [Col("id", "What"), Col("count", "Rows")], flat)
        return
    from crmcli.output import make_console, rich_text

    console = make_console()
    label = "Dry run: nothing written. " if result["dry_run"] else ""
    console.print(
        rich_text(
            f"{label}{result['file']} ({', '.join([result['format'], *result['notes'][:1]])}) as {result['kind']}"
        )
    )
    if result["dry_run"]:
        emit_list(
            [{"id": i, **m} for i, m in enumerate(result["mapping"])],
            [Col("column", "Column"), Col("field", "Field")],
            "table",
        )
        stored = [r for r in result["preview"] if "rejected" not in r]
        if stored:
            rows = [
                {
                    "id": i,
                    **{k: v for k, v in r.items() if k != "custom"},
                    **{f"custom.{k}": v for k, v in (r.get("custom") or {}).items()},
                }
                for i, r in enumerate(stored)
            ]
            keys = [k for k in dict.fromkeys(k for r in rows for k in r) if k != "id"]
            cols = [
                Col(k, k, kind="phones" if k == "phones" else "text", drop=0 if i < 3 else i)
                for i, k in enumerate(keys)
            ]
            emit_list(rows, cols, "table", title="First rows as they would be stored")
        if result["report"]:
            emit_list(
                [{"id": i, **r} for i, r in enumerate(result["report"])],
                report_cols,
                "table",
                title="What the report would say about them",
            )
    if result["unknown"]:
        what = "custom fields" if any(m["field"].startswith("custom.") for m in result["mapping"]) else "ignored"
        message(f"Columns nobody recognised ({what}): {', '.join(result['unknown'])}")
    console.print(("would be: " if result["dry_run"] else "") + line)
    extra = []
    if counts.get("dropped"):
        extra.append(f"{counts['dropped']:,} value{'s' if counts['dropped'] != 1 else ''} left out")
    if counts.get("possible"):
        extra.append(f"{counts['possible']:,} possible duplicate{'s' if counts['possible'] != 1 else ''}")
    if result["report_file"]:
        message(f"{', '.join(extra) + '; ' if extra else ''}what was not taken as given, a line each: "
                f"{result['report_file']}")  # fmt: skip
    elif extra:
        message(", ".join(extra))
    if result.get("rejects_file"):
        message(f"Rejected rows, in the file's own columns: {result['rejects_file']}")
    for hint in result.get("hints", [])[1 if result.get("hint") else 0 :]:
        message(hint)


@app.command("list")
def list_(
    ctx: typer.Context,
    limit: LimitOpt = None,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """List imports: file, time, user and figures, newest first.

    Example: crm imports list --limit 5
    """
    from crmcli.importer.runs import list_imports
    from crmcli.output import Col, emit_list

    with session(ctx) as s:
        rows = list_imports(s, limit=limit or None)
    cols = [
        Col("id", "ID", justify="right"),
        Col("started_at", "When", kind="time"),
        Col("file", "File", drop=2),
        Col("kind", "Kind"),
        Col("status", "Status"),
        Col("read", "Read", justify="right"),
        Col("created", "Created", justify="right"),
        Col("updated", "Updated", justify="right", drop=3),
        Col("merged", "Merged", justify="right", drop=3),
        Col("skipped", "Skipped", justify="right", drop=4),
        Col("rejected", "Rejected", justify="right"),
        Col("by", "By", drop=1),
    ]
    emit_list(rows, cols, fmt_of(fmt, quiet), noun="imports")


@app.command("undo")
def undo(
    ctx: typer.Context,
    import_id: Annotated[int, typer.Argument(help="The import's id (crm imports list).")],
    yes: YesOpt = False,
    fmt: FormatOpt = None,
) -> None:
    """Undo an import: remove what it created, restore what it changed. Records edited since,
    or with activities, follow-ups, deals or people added since, are kept, each named with the
    reason. It commits in batches, so others keep working; an interrupted undo completes when run again.

    Example: crm imports undo 3 --yes
    """
    from crmcli.commands._prompts import Cancelled, confirm
    from crmcli.errors import CrmError
    from crmcli.importer.runs import check_undoer, get_run, undo_import
    from crmcli.output import emit_json, message

    with session(ctx) as s:  # no write lock while a person answers
        run = get_run(s, import_id)
        check_undoer(s, import_id)  # a team's member: their own imports only
    if not confirm(f"Undo import #{run.id} of {Path(run.file).name}?", assume_yes=yes):
        raise Cancelled("nothing undone")
    from crmcli.domain import backups

    state = ctx.find_root().obj
    before = backups.automatic(state.db if isinstance(state, State) else None, f"imports-undo-{import_id}")
    if before is None:  # a team's member: the undo's batches are changes in the history, which take it back
        message("No backup before the undo: only the database's owner can read every row for one")
    try:
        with session(ctx, write=True) as s:
            report = undo_import(s, import_id)
    except KeyboardInterrupt:
        error = CrmError(
            f"interrupted: what was undone so far stays undone; run crm imports undo {import_id} again to complete it"
        )
        error.exit_code = 130
        raise error from None
    if fmt_of(fmt) == "json":
        emit_json(report)
        return
    kept = f", kept {report['kept_count']:,}" if report["kept_count"] else ""
    message(f"Undid import #{import_id}: removed {report['removed']:,}, restored {report['restored']:,}{kept}")
    for entry in report["kept"]:
        message(f"  {entry['entity']} #{entry['id']}: {entry['reason']}")
    if report["kept_count"] > len(report["kept"]):
        message(f"  … and {report['kept_count'] - len(report['kept']):,} more")
